from django import forms
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.forms import PasswordResetForm, SetPasswordMixin
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from . import emails
from .models import username_for

User = get_user_model()

# The longest address a reader account takes: its lower-cased form is the account's username.
EMAIL_MAX_LENGTH = User._meta.get_field("username").max_length


def email_field(**kwargs) -> forms.EmailField:
    return forms.EmailField(
        label=_("Email"),
        max_length=EMAIL_MAX_LENGTH,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
        **kwargs,
    )


class SignupForm(SetPasswordMixin, forms.Form):
    email = email_field(help_text=_("Your login. We send a link to it to confirm it is yours."))
    password1, password2 = SetPasswordMixin.create_password_fields()

    def clean(self):
        self.validate_passwords()
        email = self.cleaned_data.get("email")
        # The password validators compare the password with the email and the name made from it.
        candidate = User(username=username_for(email or ""), email=email or "")
        self.validate_password_for_user(candidate)
        return super().clean()


class LoginForm(forms.Form):
    """Email and password. The account must be confirmed: an unconfirmed one is told to confirm,
    but only once the password has shown that the person typing owns it."""

    email = email_field()
    password = forms.CharField(
        label=_("Password"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )

    error_messages = {
        "invalid_login": _("The email or the password is not right. Note that the password is case-sensitive."),
        "unconfirmed": _(
            "This account is not confirmed yet: follow the link in the email we sent to %(email)s, or ask for a new one."
        ),
        "inactive": _("This account is inactive."),
    }

    def __init__(self, request=None, *args, **kwargs):
        self.request = request
        self.user_cache = None
        self.unconfirmed = False
        super().__init__(*args, **kwargs)

    def clean(self):
        email = self.cleaned_data.get("email")
        password = self.cleaned_data.get("password")
        if email and password:
            self.user_cache = authenticate(self.request, username=username_for(email), password=password)
            if self.user_cache is None:
                user = User.objects.select_related("reader").filter(username=username_for(email)).first()
                reader = getattr(user, "reader", None) if user else None
                if user is not None and not user.is_active and user.check_password(password):
                    if reader is not None and not reader.is_confirmed:
                        self.unconfirmed = True
                        raise ValidationError(
                            self.error_messages["unconfirmed"], code="unconfirmed", params={"email": user.email}
                        )
                    raise ValidationError(self.error_messages["inactive"], code="inactive")
                raise ValidationError(self.error_messages["invalid_login"], code="invalid_login")
        return self.cleaned_data

    def get_user(self):
        return self.user_cache


class ResendConfirmationForm(forms.Form):
    email = email_field()


class ReaderPasswordResetForm(PasswordResetForm):
    """Django's reset form (who gets a link, and the link's token), its mail queued in the outbox
    like all the site's mail (accounts.emails)."""

    email = email_field()

    def send_mail(self, subject_template_name, email_template_name, context, from_email, to_email, **kwargs):
        emails.send_password_reset(user=context["user"], uid=context["uid"], token=context["token"])

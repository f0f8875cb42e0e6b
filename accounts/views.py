"""Sign-up with a confirmed email, log-in and log-out, password reset: Django's auth views where
they exist, with the site's templates and its mail in the site's language.

Everything that sends mail (sign-up, a new confirmation link, a password reset) is rate-limited
per client address and per recipient, so the forms cannot be used to flood a mailbox.
"""

import hashlib
import math
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse, reverse_lazy
from django.utils.decorators import method_decorator
from django.utils.http import urlsafe_base64_decode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from newsarchive import ratelimit
from newsarchive.http import own_address, private_response

from . import services
from .forms import LoginForm, ReaderPasswordResetForm, ResendConfirmationForm, SignupForm
from .models import Reader
from .tokens import confirmation_token

MAIL_SCOPE = "account-mail"
MAIL_TO_SCOPE = "account-mail-to"
SIGNED_UP_EMAIL = "accounts_signed_up_email"
ACCOUNT_PAGES = "/accounts/"


def safe_next(request, value: str) -> str:
    """`value` when it is a page of this site other than these account pages (going back to the
    log-in page after logging in would loop), else ""."""
    if not own_address(request, value) or urlsplit(value).path.startswith(ACCOUNT_PAGES):
        return ""
    return value


def next_url(request) -> str:
    """Where to go after the form: `next` from the form or the address, when it is safe."""
    return safe_next(request, request.POST.get("next") or request.GET.get("next") or "")


def mail_rate_limited(request, email: str) -> str | None:
    """Count one message to `email` from this client; the reason to refuse it, or None to send it."""
    window = settings.ACCOUNTS_MAIL_RATE_WINDOW_SECONDS
    recipient = hashlib.sha256(email.strip().lower().encode()).hexdigest()
    retry_after = max(
        ratelimit.hit(request, MAIL_SCOPE, limit=settings.ACCOUNTS_MAIL_RATE_LIMIT, window=window) or 0,
        ratelimit.hit(
            request, MAIL_TO_SCOPE, limit=settings.ACCOUNTS_MAIL_PER_RECIPIENT_LIMIT, window=window, subject=recipient
        )
        or 0,
    )
    if not retry_after:
        return None
    minutes = max(1, math.ceil(retry_after / 60))
    return ngettext(
        "Too many emails were asked for from your address or to this email address. Try again in %(minutes)d minute.",
        "Too many emails were asked for from your address or to this email address. Try again in %(minutes)d minutes.",
        minutes,
    ) % {"minutes": minutes}


# --- signing up ----------------------------------------------------------------------------------


@sensitive_post_parameters("password1", "password2")
@require_http_methods(["GET", "HEAD", "POST"])
def signup(request):
    """The sign-up form. A new account stays inactive until the emailed link is followed."""
    after = next_url(request)
    if request.user.is_authenticated:
        return redirect(after or resolve_url(settings.LOGIN_REDIRECT_URL))
    status = 200
    if request.method == "POST":
        form = SignupForm(request.POST)
        if form.is_valid():
            email = form.cleaned_data["email"]
            refusal = mail_rate_limited(request, email)
            if refusal:
                form.add_error(None, ValidationError(refusal, code="rate_limited"))
                status = 429
            else:
                try:
                    services.reader_sign_up(email=email, password=form.cleaned_data["password1"], next_url=after)
                except services.AccountExists:
                    message = _(
                        "An account with this email already exists: log in, or reset its password if you forgot it."
                    )
                    form.add_error("email", ValidationError(message, code="exists"))
                else:
                    request.session[SIGNED_UP_EMAIL] = email
                    return redirect("accounts:signup_done")
    else:
        form = SignupForm()
    return render(request, "accounts/signup_form.html", {"form": form, "next": after}, status=status)


def signup_done(request):
    return render(request, "accounts/signup_done.html", {"email": request.session.get(SIGNED_UP_EMAIL, "")})


def _user_from(uidb64: str, token: str):
    """The unconfirmed account a confirmation link names, or None when the link is wrong or used up."""
    try:
        pk = int(urlsafe_base64_decode(uidb64).decode())
        reader = Reader.objects.select_related("user").get(user_id=pk)
    except (TypeError, ValueError, OverflowError, Reader.DoesNotExist):
        return None
    if reader.is_confirmed or not confirmation_token.check_token(reader.user, token):
        return None
    return reader.user


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def confirm(request, uidb64, token):
    """The link in the sign-up email. Opening it changes nothing (mail scanners open links too):
    it shows a button, and pressing it confirms the account and logs the reader in."""
    user = _user_from(uidb64, token)
    after = next_url(request)
    if user is not None and request.method == "POST":
        try:
            user = services.reader_confirm(user_id=user.pk)
        except services.NotConfirmable:
            user = None
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, _("Your email address is confirmed and you are logged in."))
            return redirect(after or resolve_url(settings.LOGIN_REDIRECT_URL))
    response = render(
        request,
        "accounts/confirm.html",
        {"valid": user is not None, "email": user.email if user else "", "next": after},
    )
    return private_response(response)


@require_http_methods(["GET", "HEAD", "POST"])
def resend_confirmation(request):
    """A new confirmation link for an account not yet confirmed. The answer is the same whether or
    not such an account exists."""
    after = next_url(request)
    status = 200
    if request.method == "POST":
        form = ResendConfirmationForm(request.POST)
        if form.is_valid():
            email = form.cleaned_data["email"]
            refusal = mail_rate_limited(request, email)
            if refusal:
                form.add_error(None, ValidationError(refusal, code="rate_limited"))
                status = 429
            else:
                services.reader_resend_confirmation(email=email, next_url=after)
                request.session[SIGNED_UP_EMAIL] = email
                return redirect("accounts:signup_done")
    else:
        form = ResendConfirmationForm(initial={"email": request.GET.get("email", "")})
    return render(request, "accounts/resend_confirmation.html", {"form": form, "next": after}, status=status)


# --- logging in and out --------------------------------------------------------------------------


class LoginView(auth_views.LoginView):
    form_class = LoginForm
    template_name = "accounts/login.html"
    redirect_authenticated_user = True

    def get_redirect_url(self):
        return safe_next(self.request, super().get_redirect_url())

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        after = self.get_redirect_url()
        query = f"?{urlencode({'next': after})}" if after else ""
        context.update(
            signup_url=reverse("accounts:signup") + query,
            resend_url=reverse("accounts:resend_confirmation") + query,
        )
        return context


class LogoutView(auth_views.LogoutView):
    """Log-out is a POST (the button in the header); Django's view refuses GET."""


# --- resetting a password ------------------------------------------------------------------------


@method_decorator(sensitive_post_parameters(), name="dispatch")
class PasswordResetView(auth_views.PasswordResetView):
    form_class = ReaderPasswordResetForm
    template_name = "accounts/password_reset_form.html"
    email_template_name = "accounts/email/password_reset.txt"
    subject_template_name = "accounts/email/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password_reset_done")
    token_generator = default_token_generator

    def form_valid(self, form):
        refusal = mail_rate_limited(self.request, form.cleaned_data["email"])
        if refusal:
            form.add_error(None, ValidationError(refusal, code="rate_limited"))
            return self.render_to_response(self.get_context_data(form=form), status=429)
        self.extra_email_context = {"site_url": settings.SITE_URL}
        return super().form_valid(form)


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")

    def dispatch(self, *args, **kwargs):
        return private_response(super().dispatch(*args, **kwargs))


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"

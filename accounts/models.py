"""Reader accounts.

A reader is a Django `User` whose username is their email address in lower case, so the email is
the login identifier and the `auth_user.username` unique index makes it unique whatever its case.
The account stays inactive until the emailed link is followed; `Reader.confirmed_at` tells an
account that was never confirmed (which may be confirmed, or signed up for again) from one an
administrator deactivated (which may not).
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


def username_for(email: str) -> str:
    """The username of the reader account of `email`: the address, trimmed and in lower case."""
    return email.strip().lower()


class Reader(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, models.CASCADE, primary_key=True, related_name="reader", verbose_name=_("user")
    )
    signed_up_at = models.DateTimeField(_("signed up"), auto_now_add=True)
    confirmed_at = models.DateTimeField(
        _("email confirmed"), null=True, blank=True, help_text=_("Empty until the emailed link is followed.")
    )

    class Meta:
        verbose_name = _("reader")
        verbose_name_plural = _("readers")

    def __str__(self):
        return self.user.email

    @property
    def is_confirmed(self) -> bool:
        return self.confirmed_at is not None

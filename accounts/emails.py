"""The mail of reader accounts, plain text from templates/accounts/email/, in the site's language."""

from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from .tokens import confirmation_token

User = get_user_model()


def confirmation_url(user, next_url: str = "") -> str:
    path = reverse(
        "accounts:confirm",
        kwargs={"uidb64": urlsafe_base64_encode(force_bytes(user.pk)), "token": confirmation_token.make_token(user)},
    )
    query = f"?{urlencode({'next': next_url})}" if next_url else ""
    return f"{settings.SITE_URL}{path}{query}"


def send_confirmation(*, user_id: int, next_url: str = "") -> None:
    user = User.objects.select_related("reader").get(pk=user_id)
    with translation.override(settings.LANGUAGE_CODE):
        context = {"user": user, "confirm_url": confirmation_url(user, next_url), "site_url": settings.SITE_URL}
        subject = " ".join(render_to_string("accounts/email/confirm_subject.txt", context).split())
        body = render_to_string("accounts/email/confirm.txt", context)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email])

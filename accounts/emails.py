"""The mail of reader accounts, plain text from templates/accounts/email/, in the site's language,
stored in the outbox in the transaction that causes it (outbox.services). Each carries a link that
acts for the reader: it is the message's secret, never shown in the admin and forgotten once sent."""

from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from outbox.models import SECRET_PLACEHOLDER, Message
from outbox.services import compose, message_queue

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
    user = User.objects.get(pk=user_id)
    subject, body = compose(
        "accounts/email/confirm", {"user": user, "confirm_url": SECRET_PLACEHOLDER, "site_url": settings.SITE_URL}
    )
    message_queue(
        stream=Message.Stream.ACCOUNTS,
        kind="confirm",
        to=user.email,
        subject=subject,
        body=body,
        secret=confirmation_url(user, next_url),
        reference=f"user {user.pk}",
    )


def send_password_reset(*, user, uid: str, token: str) -> None:
    reset_url = settings.SITE_URL + reverse("accounts:password_reset_confirm", kwargs={"uidb64": uid, "token": token})
    subject, body = compose(
        "accounts/email/password_reset",
        {"email": user.email, "reset_url": SECRET_PLACEHOLDER, "site_url": settings.SITE_URL},
    )
    message_queue(
        stream=Message.Stream.ACCOUNTS,
        kind="password_reset",
        to=user.email,
        subject=subject,
        body=body,
        secret=reset_url,
        reference=f"user {user.pk}",
    )

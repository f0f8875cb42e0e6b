"""The digest email: plain text from templates/subscriptions/email/, in the site's language, with a
one-click unsubscribe link (RFC 8058) that needs no log-in."""

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

UNSUBSCRIBE_SALT = "subscriptions.digest-unsubscribe"


def unsubscribe_token(reader_id: int) -> str:
    """A signed, non-expiring token naming the reader whose digests a link stops."""
    return signing.Signer(salt=UNSUBSCRIBE_SALT).sign(str(reader_id))


def reader_from_unsubscribe_token(token: str) -> int | None:
    try:
        return int(signing.Signer(salt=UNSUBSCRIBE_SALT).unsign(token))
    except (signing.BadSignature, ValueError):
        return None


def unsubscribe_url(reader_id: int) -> str:
    return settings.SITE_URL + reverse(
        "subscriptions:digest_unsubscribe", kwargs={"token": unsubscribe_token(reader_id)}
    )


def send_digest(*, reader, snapshots, more: int, sent_at) -> None:
    unsubscribe = unsubscribe_url(reader.pk)
    with translation.override(settings.LANGUAGE_CODE):
        context = {
            "reader": reader,
            "snapshots": snapshots,
            "more": more,
            "date": sent_at,
            "site_url": settings.SITE_URL,
            "page_url": settings.SITE_URL + reverse("subscriptions:index"),
            "unsubscribe_url": unsubscribe,
        }
        subject = " ".join(render_to_string("subscriptions/email/digest_subject.txt", context).split())
        body = render_to_string("subscriptions/email/digest.txt", context)
    message = EmailMessage(
        subject,
        body,
        settings.DEFAULT_FROM_EMAIL,
        [reader.email],
        headers={"List-Unsubscribe": f"<{unsubscribe}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
    )
    message.send()

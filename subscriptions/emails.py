"""The digest email: plain text from templates/subscriptions/email/, in the site's language, with a
one-click unsubscribe link (RFC 8058) that needs no log-in, queued in the outbox."""

from django.conf import settings
from django.core import signing
from django.urls import reverse

from outbox.models import Message
from outbox.services import compose, message_queue

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


def send_digest(*, reader, snapshots, more: int, sent_at) -> Message:
    unsubscribe = unsubscribe_url(reader.pk)
    context = {
        "reader": reader,
        "snapshots": snapshots,
        "more": more,
        "date": sent_at,
        "site_url": settings.SITE_URL,
        "page_url": settings.SITE_URL + reverse("subscriptions:index"),
        "unsubscribe_url": unsubscribe,
    }
    subject, body = compose("subscriptions/email/digest", context)
    return message_queue(
        stream=Message.Stream.DIGESTS,
        kind="digest",
        to=reader.email,
        subject=subject,
        body=body,
        headers={"List-Unsubscribe": f"<{unsubscribe}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
        reference=f"user {reader.pk}",
    )

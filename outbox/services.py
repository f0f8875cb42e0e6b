"""Queue, send and send again. Every email of the site goes through `message_queue`."""

import logging
import random
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from .mail import build
from .models import SECRET_PLACEHOLDER, Message

logger = logging.getLogger(__name__)

Status = Message.Status
Stream = Message.Stream

# The permission that lets a staff member read, and the one that lets them send again, the
# messages of a stream; superusers hold every permission, and other streams are theirs alone.
STREAM_PERMISSIONS = {
    Stream.MODERATION: ("outbox.view_moderation_mail", "outbox.resend_moderation_mail"),
}


class ResendError(Exception):
    """A message that cannot be sent again now, or not by this user. The message says why."""


def compose(template: str, context: dict) -> tuple[str, str]:
    """The subject (`<template>_subject.txt`, on one line) and body (`<template>.txt`) of a message,
    written in the site's language whatever language the request that caused it was in."""
    with translation.override(settings.LANGUAGE_CODE):
        subject = " ".join(render_to_string(f"{template}_subject.txt", context).split())
        body = render_to_string(f"{template}.txt", context)
    return subject, body


def message_queue(
    *,
    stream: str,
    kind: str,
    to: str,
    subject: str,
    body: str,
    headers: dict | None = None,
    secret: str = "",
    reference: str = "",
) -> Message:
    """Store a message and enqueue its delivery, in the caller's transaction: it is sent only if
    that commits, and it is kept (and retried) whatever the mail server does.

    `secret` is a link that acts for the recipient; the body holds SECRET_PLACEHOLDER where it goes.
    It is put in when the message is sent and forgotten once it has been."""
    if secret and SECRET_PLACEHOLDER not in body:
        raise ValueError("A message with a secret must show where it goes (SECRET_PLACEHOLDER).")
    # The caller's transaction when there is one (no savepoint needed), else one of its own.
    with transaction.atomic(savepoint=False):
        message = Message.objects.create(
            stream=stream,
            kind=kind,
            reference=reference[:40],
            to=to,
            subject=subject[:500],
            body=body,
            headers=headers or {},
            secret=secret,
        )
        _enqueue(message)
    return message


def _enqueue(message: Message, *, at=None) -> None:
    from .tasks import deliver_message

    (deliver_message.using(run_after=at) if at else deliver_message).enqueue(message.pk)


def retry_delay(attempts: int) -> timedelta:
    """Wait before the next attempt: OUTBOX_RETRY_SECONDS doubled for each attempt made, capped at
    six hours, with up to a tenth more at random so a mail server coming back is not met by every
    message at once."""
    seconds = min(settings.OUTBOX_RETRY_SECONDS * 2 ** (attempts - 1), 6 * 3600)
    return timedelta(seconds=seconds * (1 + random.random() / 10))


def message_deliver(*, message_id: int) -> str:
    """Send one queued message (the worker's task). Returns what happened.

    The row is marked `sending` and committed before the mail server is called, so a message is
    never handed to it twice by two workers; a worker that dies in the middle leaves it `sending`
    for a person to look at and send again, rather than risk a second copy. A refusal or an
    unreachable server puts it back to `pending` with its error and a later attempt (OUTBOX_RETRY_*),
    and re-raises, so the task's own record keeps the traceback; after OUTBOX_MAX_ATTEMPTS it is
    `failed` and waits for "send again" in the admin."""
    with transaction.atomic():
        message = Message.objects.select_for_update().filter(pk=message_id).first()
        if message is None or message.status != Status.PENDING:
            return f"skipped ({message.status if message else 'gone'})"
        message.status = Status.SENDING
        message.attempts += 1
        message.last_attempt_at = timezone.now()
        message.next_attempt_at = None
        message.save(update_fields=["status", "attempts", "last_attempt_at", "next_attempt_at"])
    try:
        _email(message).send()
    except Exception as error:
        with transaction.atomic():
            message.last_error = f"{type(error).__name__}: {error}"[:2000]
            if message.attempts < settings.OUTBOX_MAX_ATTEMPTS:
                message.status = Status.PENDING
                message.next_attempt_at = timezone.now() + retry_delay(message.attempts)
                _enqueue(message, at=message.next_attempt_at)
            else:
                message.status = Status.FAILED
            message.save(update_fields=["status", "last_error", "next_attempt_at"])
        logger.warning(
            "Email %s to %s not sent (attempt %d, now %s): %s",
            message.pk,
            message.to,
            message.attempts,
            message.status,
            message.last_error,
        )
        raise
    Message.objects.filter(pk=message.pk).update(
        status=Status.SENT, sent_at=timezone.now(), secret="", last_error="", next_attempt_at=None
    )
    return "sent"


def _email(message: Message):
    secret = message.secret or _("(this link was in the first copy of this message and is not kept)")
    body = message.body.replace(SECRET_PLACEHOLDER, secret)
    return build(to=message.to, subject=message.subject, body=body, headers=message.headers)


def visible_body(message: Message) -> str:
    """The body as staff may read it: a secret link is never shown."""
    return message.body.replace(SECRET_PLACEHOLDER, _("[a private link, in the email only]"))


def can_view(user, stream: str) -> bool:
    if user.is_superuser:
        return True
    permissions = STREAM_PERMISSIONS.get(stream)
    return bool(permissions and user.is_active and user.is_staff and user.has_perm(permissions[0]))


def can_resend(user, stream: str) -> bool:
    if user.is_superuser:
        return user.is_active
    permissions = STREAM_PERMISSIONS.get(stream)
    return bool(permissions and user.is_active and user.is_staff and user.has_perm(permissions[1]))


def viewable_streams(user) -> list[str]:
    return [stream for stream in Stream.values if can_view(user, stream)]


# A message `sending` for longer than this was cut off by a worker that stopped: it may be sent again.
STALE_SENDING = timedelta(minutes=10)


@transaction.atomic
def message_resend(*, message_id: int, actor: AbstractBaseUser) -> Message:
    """Queue a message again (a failed one, one sent that the recipient lost, or one a stopped
    worker left half-sent), for a person allowed to read its stream. Its attempts count anew."""
    message = Message.objects.select_for_update().filter(pk=message_id).first()
    if message is None or not can_resend(actor, message.stream):
        raise ResendError(_("You may not send this email again."))
    if message.status == Status.PENDING:
        raise ResendError(_("“%(subject)s” is already waiting to be sent.") % {"subject": message.subject})
    if message.status == Status.SENDING and message.last_attempt_at > timezone.now() - STALE_SENDING:
        raise ResendError(_("“%(subject)s” is being sent right now.") % {"subject": message.subject})
    message.status = Status.PENDING
    message.attempts = 0
    message.next_attempt_at = None
    message.save(update_fields=["status", "attempts", "next_attempt_at"])
    _enqueue(message)
    logger.info("Email %s to %s queued again by %s.", message.pk, message.to, actor.get_username())
    return message

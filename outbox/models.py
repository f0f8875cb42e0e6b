"""Every email the site sends, kept from the moment it is queued until it is sent or given up.

A message is stored in the same transaction as the change it reports (a removal request filed, a
decision, a sign-up), and its delivery is a task the worker runs after that transaction commits;
a failing mail server delays it, never loses it. Nothing here has side effects: see services.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

# Stands in the stored body for the one secret a message may carry (a status or confirmation link),
# which is kept apart, put back only when the message goes to the mail server and forgotten once it
# is sent: the admin and a copy of the database never show a link that acts for its recipient.
SECRET_PLACEHOLDER = "[[outbox:secret]]"  # noqa: S105 (a marker, not a secret)


class MessageStatus(models.TextChoices):
    PENDING = "pending", _("waiting")
    SENDING = "sending", _("being sent")
    SENT = "sent", _("sent")
    FAILED = "failed", _("failed")


class MessageStream(models.TextChoices):
    """Who may read a message in the admin: superusers read every stream, moderators the first."""

    MODERATION = "moderation", _("removal requests")
    ACCOUNTS = "accounts", _("reader accounts")
    DIGESTS = "digests", _("digests")


class Message(models.Model):
    Status = MessageStatus
    Stream = MessageStream

    stream = models.CharField(_("stream"), max_length=20, choices=MessageStream)
    kind = models.CharField(_("kind"), max_length=40, help_text=_("the template it was written from"))
    reference = models.CharField(
        _("about"), max_length=40, blank=True, help_text=_("what it reports: a request's reference, an account")
    )
    to = models.EmailField(_("to"), max_length=254)
    subject = models.CharField(_("subject"), max_length=500)
    body = models.TextField(_("body"))
    headers = models.JSONField(_("extra headers"), default=dict, blank=True)
    secret = models.TextField(blank=True, editable=False)

    status = models.CharField(_("status"), max_length=10, choices=MessageStatus, default=MessageStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(
        _("attempts"), default=0, help_text=_("attempts since it was queued or last sent again")
    )
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("queued"), auto_now_add=True)
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("outgoing email")
        verbose_name_plural = _("outgoing emails")
        indexes = [
            models.Index(fields=["status", "created_at"], name="outbox_by_status"),
            models.Index(fields=["stream", "created_at"], name="outbox_by_stream"),
            models.Index(fields=["to", "created_at"], name="outbox_by_recipient"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=MessageStatus.values), name="outbox_status_valid"),
            models.CheckConstraint(condition=models.Q(stream__in=MessageStream.values), name="outbox_stream_valid"),
        ]
        permissions = [
            ("view_moderation_mail", "Can view the mail of removal requests"),
            ("resend_moderation_mail", "Can send the mail of removal requests again"),
        ]

    def __str__(self):
        return f"{self.subject} → {self.to}"

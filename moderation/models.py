"""Removal (takedown) requests and the record of how each was decided.

State changes happen only in `moderation.services`; nothing here has side effects. Events are
append-only: a saved event refuses to be saved again or deleted.
"""

import hashlib
import secrets

from django.conf import settings
from django.core.files.storage import storages
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from articles.models import Snapshot


def evidence_storage():
    """Evidence files live under EVIDENCE_ROOT, which no URL serves (see settings.STORAGES)."""
    return storages["evidence"]


def hash_token(token: str) -> str:
    """Only this digest of a status token is stored; the token itself is shown once."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


class Requester(models.Model):
    """Whoever files notices from one email address: their history and any measure against abuse
    (DSA art. 23: warned, then suspended for a period)."""

    email = models.EmailField(_("email"), unique=True)
    warned_at = models.DateTimeField(_("warned at"), null=True, blank=True)
    suspended_until = models.DateTimeField(_("suspended until"), null=True, blank=True)
    abuse_note = models.TextField(_("note on abuse"), blank=True)
    created_at = models.DateTimeField(_("first seen"), auto_now_add=True)

    class Meta:
        verbose_name = _("requester")
        verbose_name_plural = _("requesters")

    def __str__(self):
        return self.email

    def is_suspended(self, at=None) -> bool:
        return bool(self.suspended_until and self.suspended_until > (at or timezone.now()))


class TakedownStatus(models.TextChoices):
    SUBMITTED = "submitted", _("submitted")
    IN_REVIEW = "in_review", _("in review")
    INFO_REQUESTED = "info_requested", _("information requested")
    APPROVED = "approved", _("approved")
    REJECTED = "rejected", _("rejected")
    WITHDRAWN = "withdrawn", _("withdrawn")
    DISPUTED = "disputed", _("disputed")
    RESTORED = "restored", _("restored")


class RequesterRole(models.TextChoices):
    RIGHTS_HOLDER = "rights_holder", _("the rights holder")
    AGENT = "agent", _("an agent acting for the rights holder")


class DecisionGround(models.TextChoices):
    COPYRIGHT = "copyright", _("copyright (信息网络传播权)")
    PERSONALITY = "personality", _("personality rights: reputation, privacy, personal information")
    OTHER_LAW = "other_law", _("another legal ground")
    NONE = "none", _("no ground established")


class ItemOutcome(models.TextChoices):
    PENDING = "pending", _("pending")
    ACTIONED = "actioned", _("withheld")
    NOT_FOUND = "not_found", _("not found here")
    ALREADY_WITHHELD = "already_withheld", _("already withheld")
    REFUSED = "refused", _("refused")


class TakedownRequest(models.Model):
    Status = TakedownStatus
    Role = RequesterRole
    Ground = DecisionGround

    # Open states can still be decided; the rest carry a decision or are closed.
    OPEN_STATUSES = (TakedownStatus.SUBMITTED, TakedownStatus.IN_REVIEW, TakedownStatus.INFO_REQUESTED)
    DECIDED_STATUSES = (
        TakedownStatus.APPROVED,
        TakedownStatus.REJECTED,
        TakedownStatus.DISPUTED,
        TakedownStatus.RESTORED,
    )

    reference = models.CharField(_("reference"), max_length=20, unique=True, editable=False)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    status = models.CharField(_("status"), max_length=20, choices=TakedownStatus, default=TakedownStatus.SUBMITTED)
    requester = models.ForeignKey(Requester, models.PROTECT, related_name="requests", verbose_name=_("requester"))

    # Who asks (条例 art. 14(1), 民法典 art. 1195, DMCA §512(c)(3)(A)(iv), DSA art. 16(2)(c)).
    name = models.CharField(_("name"), max_length=200)
    organisation = models.CharField(_("organisation"), max_length=200, blank=True)
    role = models.CharField(_("acting as"), max_length=20, choices=RequesterRole)
    email = models.EmailField(_("email"))
    phone = models.CharField(_("phone"), max_length=50)
    address = models.TextField(_("postal address"))
    # What (条例 art. 14(2)-(3), DMCA (ii)-(iii), DSA (a)-(b)).
    work = models.TextField(_("the work claimed"))
    work_date = models.DateField(_("date of the work"), null=True, blank=True)
    explanation = models.TextField(_("why it infringes"))
    evidence = models.TextField(_("proof of rights"))
    # Statements and signature (DMCA (i), (v), (vi); DSA (d)).
    good_faith = models.BooleanField(_("good-faith statement"))
    accurate_and_authorised = models.BooleanField(_("accuracy and authority statement"))
    signature = models.CharField(_("signature"), max_length=200)

    submitted_ip = models.GenericIPAddressField(_("submitted from"), null=True, blank=True)
    received_at = models.DateTimeField(_("received"), default=timezone.now)
    due_at = models.DateTimeField(_("due"))
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_takedowns",
        verbose_name=_("assignee"),
    )
    ground = models.CharField(_("ground"), max_length=20, choices=DecisionGround, blank=True)
    decision_reason = models.TextField(_("statement of reasons"), blank=True)
    info_request = models.TextField(_("question to the requester"), blank=True)
    info_due_at = models.DateTimeField(
        _("answer due"),
        null=True,
        blank=True,
        help_text=_("Unanswered by then, the request is closed by moderation_tick (TAKEDOWN_INFO_DAYS)."),
    )
    restore_after = models.DateTimeField(_("restore after"), null=True, blank=True)
    lawsuit_reported_at = models.DateTimeField(_("lawsuit or complaint reported"), null=True, blank=True)
    lawsuit_note = models.TextField(_("lawsuit or complaint"), blank=True)

    class Meta:
        ordering = ["due_at", "id"]
        verbose_name = _("removal request")
        verbose_name_plural = _("removal requests")
        indexes = [
            models.Index(fields=["status", "due_at"], name="takedown_queue"),
            # The admin's queue over every state: its default order, read a page at a time.
            models.Index(fields=["due_at", "id"], name="takedown_by_due"),
            models.Index(fields=["status", "decided_at"], name="takedown_decided"),
            models.Index(fields=["submitted_ip", "received_at"], name="takedown_by_address"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=TakedownStatus.values), name="takedown_status_valid"),
        ]
        permissions = [("decide_takedownrequest", "Can decide removal requests")]

    def __str__(self):
        return self.reference

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    @property
    def is_overdue(self) -> bool:
        return self.is_open and self.due_at < timezone.now()


class TakedownItem(models.Model):
    """One URL of a request and what was done with it (Lumen's partial action, GitHub's [invalid])."""

    Outcome = ItemOutcome

    request = models.ForeignKey(TakedownRequest, models.CASCADE, related_name="items", verbose_name=_("request"))
    position = models.PositiveIntegerField(_("position"))
    url = models.URLField(_("URL"), max_length=2000)
    snapshot = models.ForeignKey(
        Snapshot, models.PROTECT, null=True, blank=True, related_name="takedown_items", verbose_name=_("snapshot")
    )
    outcome = models.CharField(_("outcome"), max_length=20, choices=ItemOutcome, default=ItemOutcome.PENDING)
    # The snapshot's state when it was withheld, so that a restoration gives back exactly that.
    status_before = models.CharField(_("state before withholding"), max_length=10, blank=True, editable=False)
    # For an `already_withheld` outcome: the decision that withholds the snapshot.
    withheld_by = models.ForeignKey(
        "TakedownRequest",
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("withheld by"),
    )

    class Meta:
        ordering = ["request", "position"]
        verbose_name = _("listed URL")
        verbose_name_plural = _("listed URLs")
        constraints = [
            models.UniqueConstraint(fields=["request", "position"], name="takedown_item_position_unique"),
            models.CheckConstraint(
                condition=models.Q(outcome__in=ItemOutcome.values), name="takedown_item_outcome_valid"
            ),
        ]

    def __str__(self):
        return self.url

    def outcome_label(self) -> str:
        """The outcome as people read it; an `already_withheld` one names the decision that withholds it
        (select_related("withheld_by") where it is shown for many items)."""
        if self.outcome == ItemOutcome.ALREADY_WITHHELD and self.withheld_by_id:
            return _("already withheld by %(reference)s") % {"reference": self.withheld_by.reference}
        return self.get_outcome_display()


class EvidenceFile(models.Model):
    """A file a requester attached as proof. Its storage has no URL at all (`PrivateStorage`); only
    moderators can download it, through the admin's permission-checked view."""

    request = models.ForeignKey(TakedownRequest, models.CASCADE, related_name="files", verbose_name=_("request"))
    file = models.FileField(_("file"), upload_to="%Y/%m/", storage=evidence_storage)
    original_name = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(_("type"), max_length=100)
    size = models.PositiveIntegerField(_("size"))

    class Meta:
        verbose_name = _("evidence file")
        verbose_name_plural = _("evidence files")

    def __str__(self):
        return self.original_name


class AppendOnlyQuerySet(models.QuerySet):
    """Events are written once: no bulk rewrite or deletion either."""

    def update(self, **kwargs):
        raise ValueError("Moderation events are append-only.")

    def delete(self):
        raise ValueError("Moderation events are append-only.")


class ModerationEvent(models.Model):
    """One append-only line of a request's history: who moved it from where to where, when and why."""

    # PROTECT: a request with a history cannot be deleted out from under it.
    request = models.ForeignKey(TakedownRequest, models.PROTECT, related_name="events", verbose_name=_("request"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("moderator")
    )
    actor_label = models.CharField(_("actor"), max_length=50, help_text=_("requester, system, or a username"))
    action = models.CharField(_("action"), max_length=30)
    from_status = models.CharField(_("from"), max_length=20, blank=True)
    to_status = models.CharField(_("to"), max_length=20)
    note = models.TextField(_("note"), blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("moderation event")
        verbose_name_plural = _("moderation events")

    def __str__(self):
        return f"{self.action}: {self.from_status} → {self.to_status}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("Moderation events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Moderation events are append-only.")


class CounterNotice(models.Model):
    """The elements of 条例 art. 16 and DMCA §512(g)(3) from someone who says a removal was a mistake."""

    request = models.ForeignKey(
        TakedownRequest, models.CASCADE, related_name="counter_notices", verbose_name=_("request")
    )
    snapshot = models.ForeignKey(Snapshot, models.PROTECT, related_name="+", verbose_name=_("snapshot"))
    name = models.CharField(_("name"), max_length=200)
    email = models.EmailField(_("email"))
    phone = models.CharField(_("phone"), max_length=50)
    address = models.TextField(_("postal address"))
    explanation = models.TextField(_("why the removal was a mistake"))
    good_faith = models.BooleanField(_("good-faith statement"))
    consent_to_jurisdiction = models.BooleanField(_("consent to jurisdiction"))
    signature = models.CharField(_("signature"), max_length=200)
    submitted_ip = models.GenericIPAddressField(null=True, blank=True)
    received_at = models.DateTimeField(_("received"), default=timezone.now)

    class Meta:
        verbose_name = _("counter-notice")
        verbose_name_plural = _("counter-notices")

    def __str__(self):
        return f"{self.request.reference}: {self.name}"

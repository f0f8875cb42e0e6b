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

from articles.models import Snapshot, Source

from .states import (  # noqa: F401 - the models' states, imported from here by the rest
    LIFTED_CLAIMS,
    STANDING_CLAIMS,
    AppealParty,
    AppealStatus,
    ClaimState,
    ItemOutcome,
    RequesterState,
    TakedownStatus,
)
from .workflow import EventAction


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
    # Days after a decision before it appears in the public record (an organisation may be given
    # some, e.g. to tell its clients first); moderators set it (requester_set_publication_delay).
    publication_delay_days = models.PositiveIntegerField(_("publication delay (days)"), default=0)
    created_at = models.DateTimeField(_("first seen"), auto_now_add=True)

    class Meta:
        verbose_name = _("requester")
        verbose_name_plural = _("requesters")

    def __str__(self):
        return self.email

    def is_suspended(self, at=None) -> bool:
        return bool(self.suspended_until and self.suspended_until > (at or timezone.now()))


class RequesterRole(models.TextChoices):
    RIGHTS_HOLDER = "rights_holder", _("the rights holder")
    AGENT = "agent", _("an agent acting for the rights holder")


class DecisionGround(models.TextChoices):
    COPYRIGHT = "copyright", _("copyright (信息网络传播权)")
    PERSONALITY = "personality", _("personality rights: reputation, privacy, personal information")
    OTHER_LAW = "other_law", _("another legal ground")
    NONE = "none", _("no ground established")


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
        TakedownStatus.REVERSED,
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
    # What (条例 art. 14(2)-(3), DMCA (ii)-(iii), DSA (a)-(b)): the works, each with its URLs (Work),
    # and why they infringe.
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
    # When the decision appears on /transparency/ and in its exports: decided_at plus the requester's
    # publication delay, set with the decision.
    publish_after = models.DateTimeField(_("published from"), null=True, blank=True, db_index=True)
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
    # The requester's latest report of a lawsuit or complaint, as they typed it. Which claims it
    # answered is each claim's own `lawsuit_reported_at`.
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


class Work(models.Model):
    """One work a notice claims (DMCA §512(c)(3)(A)(ii): "or, if multiple works …, a representative
    list"), with the date the requester gives for it; its URLs are the items that point to it."""

    request = models.ForeignKey(TakedownRequest, models.CASCADE, related_name="works", verbose_name=_("request"))
    position = models.PositiveIntegerField(_("position"))
    description = models.TextField(_("the work claimed"))
    work_date = models.DateField(_("date of the work"), null=True, blank=True)

    class Meta:
        ordering = ["request", "position"]
        verbose_name = _("work")
        verbose_name_plural = _("works")
        constraints = [models.UniqueConstraint(fields=["request", "position"], name="takedown_work_position_unique")]

    def __str__(self):
        return self.description[:80]


class TakedownItem(models.Model):
    """One URL of a request, what was decided for it (Lumen's partial action, GitHub's [invalid]),
    and the request's claim on its snapshot: one line of the withholding ledger."""

    Outcome = ItemOutcome
    Claim = ClaimState

    request = models.ForeignKey(TakedownRequest, models.CASCADE, related_name="items", verbose_name=_("request"))
    work = models.ForeignKey(Work, models.CASCADE, related_name="items", verbose_name=_("work"))
    position = models.PositiveIntegerField(_("position"))
    url = models.URLField(_("URL"), max_length=2000)
    snapshot = models.ForeignKey(
        Snapshot, models.PROTECT, null=True, blank=True, related_name="takedown_items", verbose_name=_("snapshot")
    )
    outcome = models.CharField(_("outcome"), max_length=20, choices=ItemOutcome, default=ItemOutcome.PENDING)
    claim = models.CharField(_("claim"), max_length=20, choices=ClaimState, default=ClaimState.NONE)
    effective_at = models.DateTimeField(_("withheld since"), null=True, blank=True)
    lifted_at = models.DateTimeField(_("lifted"), null=True, blank=True)
    # While disputed: when the claim lapses unless the requester reports a lawsuit or complaint.
    restore_after = models.DateTimeField(_("restore after"), null=True, blank=True)
    lawsuit_reported_at = models.DateTimeField(_("lawsuit or complaint reported"), null=True, blank=True)
    # Whether another decision withheld the snapshot already when the notice came (a duplicate
    # notice, counted on the transparency page); the request's own claim is decided all the same.
    withheld_when_filed = models.BooleanField(_("already withheld when filed"), default=False)

    class Meta:
        ordering = ["request", "position"]
        verbose_name = _("listed URL")
        verbose_name_plural = _("listed URLs")
        indexes = [
            # The ledger: the claims on a snapshot, read under its row lock at every change.
            models.Index(fields=["snapshot", "claim"], name="takedown_item_ledger"),
            # The clock: disputed claims whose waiting period ends.
            models.Index(fields=["restore_after"], condition=models.Q(claim="disputed"), name="takedown_item_disputed"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["request", "position"], name="takedown_item_position_unique"),
            models.UniqueConstraint(
                fields=["request", "snapshot"],
                condition=models.Q(snapshot__isnull=False),
                name="takedown_item_one_claim_per_snapshot",
            ),
            models.CheckConstraint(
                condition=models.Q(outcome__in=ItemOutcome.values), name="takedown_item_outcome_valid"
            ),
            models.CheckConstraint(condition=models.Q(claim__in=ClaimState.values), name="takedown_item_claim_valid"),
            # Only a URL the moderator actioned carries a claim, and only on a snapshot.
            models.CheckConstraint(
                condition=models.Q(claim=ClaimState.NONE)
                | models.Q(outcome=ItemOutcome.ACTIONED, snapshot__isnull=False),
                name="takedown_item_claim_actioned",
            ),
        ]

    def __str__(self):
        return self.url

    @property
    def is_standing(self) -> bool:
        return self.claim in STANDING_CLAIMS

    def outcome_label(self) -> str:
        """What became of this URL as people read it: its claim's state once it has one, else the
        decision on it."""
        if self.claim != ClaimState.NONE:
            return self.get_claim_display()
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
    """One append-only line of the desk's log: who took which action of the workflow table
    (moderation.workflow) on a request or a requester, from which state to which, when and why.
    The database refuses to update or delete a row (migration 0009's triggers)."""

    Action = EventAction

    # PROTECT: a request or requester with a history cannot be deleted out from under it.
    request = models.ForeignKey(
        TakedownRequest, models.PROTECT, null=True, blank=True, related_name="events", verbose_name=_("request")
    )
    requester = models.ForeignKey(
        Requester, models.PROTECT, null=True, blank=True, related_name="events", verbose_name=_("requester")
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("moderator")
    )
    actor_label = models.CharField(_("actor"), max_length=50, help_text=_("requester, system, or a username"))
    action = models.CharField(_("action"), max_length=30, choices=EventAction)
    from_status = models.CharField(_("from"), max_length=20, blank=True)
    to_status = models.CharField(_("to"), max_length=20)
    note = models.TextField(_("note"), blank=True)
    # What the move did besides the request's state, so that the log alone replays to the current
    # state: {"claims": {item id: new claim state}, "outcomes": {item id: outcome}, ...}.
    data = models.JSONField(_("data"), default=dict, blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("moderation event")
        verbose_name_plural = _("moderation events")
        constraints = [
            models.CheckConstraint(condition=models.Q(action__in=EventAction.values), name="moderation_event_action"),
            # Each event is about one request or one requester, never both nor neither.
            models.CheckConstraint(
                condition=models.Q(request__isnull=False, requester__isnull=True)
                | models.Q(request__isnull=True, requester__isnull=False),
                name="moderation_event_one_subject",
            ),
        ]
        indexes = [models.Index(fields=["action", "created_at"], name="moderation_event_by_action")]

    def __str__(self):
        return f"{self.action}: {self.from_status} → {self.to_status}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("Moderation events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Moderation events are append-only.")


class CounterNotice(models.Model):
    """The elements of 条例 art. 16 and DMCA §512(g)(3) from someone who says a removal was a mistake.
    It names the snapshots it disputes, and disputes the claims standing on those snapshots, of
    whichever requests they are, and no others."""

    snapshots = models.ManyToManyField(Snapshot, related_name="+", verbose_name=_("snapshots"))
    claims = models.ManyToManyField(TakedownItem, related_name="counter_notices", verbose_name=_("claims disputed"))
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
    restore_after = models.DateTimeField(_("restore after"), null=True, blank=True)

    class Meta:
        verbose_name = _("counter-notice")
        verbose_name_plural = _("counter-notices")

    def __str__(self):
        return f"{self.name} ({timezone.localtime(self.received_at):%Y-%m-%d})"


class Appeal(models.Model):
    """An internal complaint against a decision (DSA art. 20), by the requester against a refusal or
    by the source of a withheld snapshot against its withholding, within six months of the decision
    (TAKEDOWN_APPEAL_DAYS). A moderator other than the one who decided reviews it: upheld, or
    reversed, which the public record shows. `items` are the URLs it concerns."""

    Status = AppealStatus
    Party = AppealParty

    request = models.ForeignKey(TakedownRequest, models.PROTECT, related_name="appeals", verbose_name=_("request"))
    party = models.CharField(_("appellant"), max_length=20, choices=AppealParty)
    source = models.ForeignKey(
        Source, models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("source")
    )
    items = models.ManyToManyField(TakedownItem, related_name="appeals", verbose_name=_("URLs concerned"))
    reason = models.TextField(_("why the decision is wrong"))
    status = models.CharField(_("status"), max_length=20, choices=AppealStatus, default=AppealStatus.OPEN)
    filed_at = models.DateTimeField(_("filed"), default=timezone.now)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("reviewer")
    )
    decision_reason = models.TextField(_("reasons of the review"), blank=True)

    class Meta:
        ordering = ["request", "filed_at", "id"]
        verbose_name = _("appeal")
        verbose_name_plural = _("appeals")
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=AppealStatus.values), name="appeal_status_valid"),
            models.CheckConstraint(
                condition=models.Q(party=AppealParty.REQUESTER, source__isnull=True)
                | models.Q(party=AppealParty.SOURCE, source__isnull=False),
                name="appeal_party_source",
            ),
            # One open appeal per appellant and decision at a time.
            models.UniqueConstraint(
                fields=["request"],
                condition=models.Q(status=AppealStatus.OPEN, party=AppealParty.REQUESTER),
                name="appeal_one_open_by_the_requester",
            ),
            models.UniqueConstraint(
                fields=["request", "source"],
                condition=models.Q(status=AppealStatus.OPEN, party=AppealParty.SOURCE),
                name="appeal_one_open_per_source",
            ),
        ]

    def __str__(self):
        return f"{self.request.reference}: {self.get_party_display()}"


class SourceNotice(models.Model):
    """What the source of snapshots a request names was sent (条例 art. 15): the notice, redacted of
    the requester's private data, and the decision; and the secret link to its own page of the
    request, where it follows the claims on its snapshots and may appeal (only the token's hash is
    stored, as for requesters)."""

    request = models.ForeignKey(
        TakedownRequest, models.CASCADE, related_name="source_notices", verbose_name=_("request")
    )
    source = models.ForeignKey(Source, models.PROTECT, related_name="+", verbose_name=_("source"))
    email = models.EmailField(_("sent to"))
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    sent_at = models.DateTimeField(_("sent"), default=timezone.now)

    class Meta:
        verbose_name = _("notice to a source")
        verbose_name_plural = _("notices to sources")
        constraints = [models.UniqueConstraint(fields=["request", "source"], name="source_notice_once_per_source")]

    def __str__(self):
        return f"{self.request.reference}: {self.source.name}"


class SourceRecord(Source):
    """A source as the removal desk sees it: how many decisions withheld its snapshots (a repeat
    infringer past TAKEDOWN_REPEAT_INFRINGER_THRESHOLD). The same rows as articles' Source; the
    desk's own admin page of them (articles imports nothing from moderation)."""

    class Meta:
        proxy = True
        verbose_name = _("source's removal record")
        verbose_name_plural = _("sources' removal records")

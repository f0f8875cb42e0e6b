"""The removal workflow: one function per transition.

Each transition locks the request row, checks that the move is allowed for that actor, writes one
append-only ModerationEvent, changes the affected snapshots and queues its emails (stored in the
outbox, sent by the worker once the transaction commits), all in one transaction. The admin, the public forms, the JSON API and the `takedown`
management command all call these functions and nothing else.

    submitted ─review─▶ in_review ─approve─▶ approved ─counter-notice─▶ disputed ─┬─restore/tick─▶ restored
        │                  │ ├─reject──▶ rejected                                  └─uphold──────▶ approved
        │                  │ └─ask─────▶ info_requested ─answer─▶ in_review
        │                  │               ├─reject (a moderator)─────────────▶ rejected
        │                  │               └─lapse (tick, no answer in time)──▶ rejected
        └──────────────────┴──────(withdraw, by the requester, before a decision)──▶ withdrawn
"""

import logging
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from articles.models import Snapshot, archive_key

from . import emails
from .models import (
    CounterNotice,
    EvidenceFile,
    ModerationEvent,
    Requester,
    TakedownItem,
    TakedownRequest,
    hash_token,
    new_token,
)

logger = logging.getLogger(__name__)

Status = TakedownRequest.Status
Outcome = TakedownItem.Outcome


class TransitionError(Exception):
    """A move the workflow does not allow now, or not for this actor. The message says why."""


class SubmissionError(Exception):
    """A request that cannot be accepted; `errors` maps each field (or `urls.<index>`) to its reasons."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


# --- helpers ---------------------------------------------------------------------------------


def is_moderator(user) -> bool:
    return bool(user and user.is_active and user.has_perm("moderation.decide_takedownrequest"))


def _require_moderator(user) -> None:
    if not is_moderator(user):
        raise TransitionError(_("Only moderators may decide removal requests."))


def _lock(request_id: int) -> TakedownRequest:
    try:
        return TakedownRequest.objects.select_for_update().get(pk=request_id)
    except TakedownRequest.DoesNotExist:
        raise TransitionError(_("There is no removal request %(id)s.") % {"id": request_id}) from None


def _ensure_state(req: TakedownRequest, allowed: tuple, action: str) -> None:
    if req.status not in allowed:
        last = req.events.order_by("-created_at", "-id").first()
        detail = ""
        if last is not None:
            detail = " " + _("It was moved to “%(status)s” by %(actor)s at %(time)s.") % {
                "status": req.get_status_display(),
                "actor": last.actor_label,
                "time": timezone.localtime(last.created_at).strftime("%Y-%m-%d %H:%M:%S"),
            }
        raise TransitionError(
            _("Cannot %(action)s %(reference)s: it is %(status)s.")
            % {"action": action, "reference": req.reference, "status": req.get_status_display()}
            + detail
        )


def _require_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise TransitionError(_("A reason is required: it becomes the statement of reasons sent to the requester."))
    return reason


def _record(req: TakedownRequest, *, action: str, from_status: str, actor=None, label: str = "", note: str = ""):
    ModerationEvent.objects.create(
        request=req,
        actor=actor,
        actor_label=label or (actor.get_username() if actor else "system"),
        action=action,
        from_status=from_status,
        to_status=req.status,
        note=note,
    )


def _withhold(items: list[TakedownItem]) -> None:
    """Withhold the items' snapshots, remembering each one's state so a restoration is exact."""
    snapshots = Snapshot.objects.select_for_update().filter(pk__in=[i.snapshot_id for i in items]).order_by("pk")
    by_id = {s.pk: s for s in snapshots}
    for item in items:
        snapshot = by_id[item.snapshot_id]
        if snapshot.status == Snapshot.Status.WITHHELD:
            # Withheld by another decision since this request arrived (checked on the locked row,
            # so two approvals at once cannot both withhold it): answered as such, naming it.
            item.outcome = Outcome.ALREADY_WITHHELD
            item.withheld_by = withholding_request(snapshot)
            item.save(update_fields=["outcome", "withheld_by"])
            continue
        item.status_before = snapshot.status
        item.save(update_fields=["status_before", "outcome"])
        snapshot.status = Snapshot.Status.WITHHELD
        snapshot.save(update_fields=["status", "updated_at"])


def _restore(req: TakedownRequest) -> list[Snapshot]:
    """Give the request's withheld snapshots back the state they had before."""
    restored = []
    for item in req.items.filter(outcome=Outcome.ACTIONED).select_related("snapshot"):
        snapshot = Snapshot.objects.select_for_update().get(pk=item.snapshot_id)
        if snapshot.status == Snapshot.Status.WITHHELD:
            snapshot.status = item.status_before or Snapshot.Status.PUBLISHED
            snapshot.save(update_fields=["status", "updated_at"])
            restored.append(snapshot)
    return restored


# --- filing ----------------------------------------------------------------------------------


@dataclass
class Submission:
    """A removal request as the form or the API received it, already checked field by field."""

    name: str
    organisation: str
    role: str
    email: str
    phone: str
    address: str
    work: str
    work_date: date | None
    urls: list[str]
    explanation: str
    evidence: str
    good_faith: bool
    accurate_and_authorised: bool
    signature: str
    files: list = field(default_factory=list)  # UploadedFile objects, already type- and size-checked
    ip: str | None = None


@dataclass
class Receipt:
    request: TakedownRequest
    token: str  # shown once; only its hash is stored


def resolve_urls(urls: list[str]) -> tuple[list[Snapshot | None], dict[str, list[str]]]:
    """The snapshot each URL names (None when it names none here), and errors by `urls.<index>`."""
    errors: dict[str, list[str]] = {}
    keys = []
    for index, url in enumerate(urls):
        key = archive_key(url)
        if key is None:
            errors[f"urls.{index}"] = [
                _("%(url)s is not the address of a snapshot page of this site (/detail/<key>.html).") % {"url": url}
            ]
        keys.append(key)
    found = {s.key: s for s in Snapshot.objects.filter(key__in=[k for k in keys if k])}
    snapshots = []
    for index, key in enumerate(keys):
        snapshot = found.get(key) if key else None
        if key and snapshot is None:
            errors[f"urls.{index}"] = [_("%(url)s: there is no snapshot with this address.") % {"url": urls[index]}]
        snapshots.append(snapshot)
    return snapshots, errors


def _length_errors(model, values: dict[str, str]) -> dict[str, list[str]]:
    """Each value longer than its model field allows, named by field, so that nothing reaches the
    database only to be refused there (PostgreSQL raises on an over-long varchar)."""
    errors = {}
    for name, value in values.items():
        limit = model._meta.get_field(name).max_length
        if limit and value and len(value) > limit:
            errors[name] = [
                _("At most %(limit)d characters (this has %(length)d).") % {"limit": limit, "length": len(value)}
            ]
    return errors


MAX_URL_LENGTH = TakedownItem._meta.get_field("url").max_length


def _requester_locked(email: str) -> Requester:
    """The requester of `email` (created when new), its row locked until the transaction ends.

    Submissions from one address are so checked one after the other: the second waits for the
    first to commit and then finds it as an open duplicate. Without the lock, identical notices
    sent at once all passed the duplicate check before any was stored. A new address's row is
    made once whoever races for it (the unique email: the loser of the insert reads the winner's
    row). SQLite needs no lock: its writers take turns (transactions begin IMMEDIATE)."""
    requester = Requester.objects.select_for_update().filter(email__iexact=email).order_by("pk").first()
    if requester is None:
        requester, _created = Requester.objects.get_or_create(email=email.lower())
        requester = Requester.objects.select_for_update().get(pk=requester.pk)
    return requester


def submission_check(submission: Submission) -> tuple[Requester | None, list[Snapshot | None]]:
    """The checks that need the database: each URL resolves to a snapshot here, none repeats, the
    requester is not suspended, the request is no duplicate of an open one, and no URL names a
    work restored after this requester's earlier notice (条例 art. 17). Also each value fits its
    field. Raises SubmissionError."""
    limit = settings.TAKEDOWN_MAX_URLS
    if not submission.urls:
        raise SubmissionError({"urls": [_("List at least one snapshot address.")]})
    if len(submission.urls) > limit:
        raise SubmissionError(
            {"urls": [_("At most %(limit)d addresses per request; send the rest in another.") % {"limit": limit}]}
        )
    errors = _length_errors(
        TakedownRequest,
        {name: getattr(submission, name) for name in ("name", "organisation", "email", "phone", "signature")},
    )
    for index, url in enumerate(submission.urls):
        if len(url) > MAX_URL_LENGTH:
            errors[f"urls.{index}"] = [
                _("The address is longer than %(limit)d characters.") % {"limit": MAX_URL_LENGTH}
            ]
    if errors:
        raise SubmissionError(errors)
    snapshots, url_errors = resolve_urls(submission.urls)
    errors.update(url_errors)
    seen = {}
    for index, snapshot in enumerate(snapshots):
        if snapshot is not None and snapshot.pk in seen:
            errors.setdefault(f"urls.{index}", []).append(
                _("The same snapshot as address %(n)d.") % {"n": seen[snapshot.pk] + 1}
            )
        elif snapshot is not None:
            seen[snapshot.pk] = index

    requester = _requester_locked(submission.email)
    if requester is not None and requester.is_suspended():
        raise SubmissionError(
            {
                "email": [
                    _(
                        "Requests from this address are suspended until %(date)s because earlier notices "
                        "were repeatedly unfounded."
                    )
                    % {"date": timezone.localtime(requester.suspended_until).strftime("%Y-%m-%d")}
                ]
            }
        )
    if requester is not None and seen:
        restored = set(
            TakedownItem.objects.filter(
                request__requester=requester,
                request__status=Status.RESTORED,
                outcome=Outcome.ACTIONED,
                snapshot__in=list(seen),
            ).values_list("snapshot_id", flat=True)
        )
        for pk in restored:
            errors.setdefault(f"urls.{seen[pk]}", []).append(
                _(
                    "This snapshot was restored after a counter-notice to your earlier request; "
                    "the same requester cannot notify it again."
                )
            )
        open_duplicate = (
            TakedownRequest.objects.filter(requester=requester, status__in=TakedownRequest.OPEN_STATUSES)
            .filter(items__snapshot__in=list(seen))
            .distinct()
            .first()
        )
        if open_duplicate is not None:
            errors.setdefault("urls", []).append(
                _("You already have an open request for these snapshots: %(reference)s.")
                % {"reference": open_duplicate.reference}
            )
    if errors:
        raise SubmissionError(errors)
    return requester, snapshots


@transaction.atomic
def takedown_submit(*, submission: Submission) -> Receipt:
    """File a removal request: check it, store it with its URLs and files, answer snapshots already
    withheld as such, and send the receipt (DSA art. 16(4)). Returns the one-time status token."""
    requester, snapshots = submission_check(submission)
    if requester is None:
        requester, _created = Requester.objects.get_or_create(email=submission.email.lower())
    token = new_token()
    now = timezone.now()
    req = TakedownRequest.objects.create(
        reference=f"TD-pending-{hash_token(token)[:8]}",
        token_hash=hash_token(token),
        requester=requester,
        name=submission.name,
        organisation=submission.organisation,
        role=submission.role,
        email=submission.email,
        phone=submission.phone,
        address=submission.address,
        work=submission.work,
        work_date=submission.work_date,
        explanation=submission.explanation,
        evidence=submission.evidence,
        good_faith=submission.good_faith,
        accurate_and_authorised=submission.accurate_and_authorised,
        signature=submission.signature,
        submitted_ip=submission.ip,
        received_at=now,
        due_at=now + timedelta(hours=settings.TAKEDOWN_DUE_HOURS),
    )
    req.reference = f"TD-{timezone.localtime(now).year}-{req.pk:06d}"
    req.save(update_fields=["reference"])
    TakedownItem.objects.bulk_create(
        [
            TakedownItem(
                request=req,
                position=position,
                url=url,
                snapshot=snapshot,
                outcome=Outcome.ALREADY_WITHHELD if snapshot.status == Snapshot.Status.WITHHELD else Outcome.PENDING,
                withheld_by=withholding_request(snapshot) if snapshot.status == Snapshot.Status.WITHHELD else None,
            )
            for position, (url, snapshot) in enumerate(zip(submission.urls, snapshots, strict=True), start=1)
        ]
    )
    for upload in submission.files:
        EvidenceFile.objects.create(
            request=req,
            file=upload,
            original_name=upload.name[:255],
            content_type=getattr(upload, "checked_content_type", upload.content_type or ""),
            size=upload.size,
        )
    _record(req, action="submit", from_status="", label="requester")
    emails.send_receipt(req.pk, token)
    return Receipt(request=req, token=token)


def takedown_by_token(token: str) -> TakedownRequest | None:
    return TakedownRequest.objects.filter(token_hash=hash_token(token)).first()


# --- requester's moves -----------------------------------------------------------------------


@transaction.atomic
def takedown_withdraw(*, request_id: int, note: str = "") -> TakedownRequest:
    """The requester withdraws a request that has not been decided yet."""
    req = _lock(request_id)
    _ensure_state(req, TakedownRequest.OPEN_STATUSES, _("withdraw"))
    before = req.status
    req.status = Status.WITHDRAWN
    req.save(update_fields=["status"])
    _record(req, action="withdraw", from_status=before, label="requester", note=note.strip())
    return req


@transaction.atomic
def takedown_answer(*, request_id: int, answer: str) -> TakedownRequest:
    """The requester answers a request for information; the request goes back into review."""
    req = _lock(request_id)
    _ensure_state(req, (Status.INFO_REQUESTED,), _("answer"))
    answer = (answer or "").strip()
    if not answer:
        raise TransitionError(_("The answer is empty."))
    before = req.status
    req.status = Status.IN_REVIEW
    req.info_due_at = None
    req.save(update_fields=["status", "info_due_at"])
    _record(req, action="answer", from_status=before, label="requester", note=answer)
    return req


@transaction.atomic
def takedown_report_lawsuit(*, request_id: int, note: str) -> TakedownRequest:
    """During a dispute the requester reports a lawsuit or complaint (民法典 art. 1196): the
    snapshots are then not restored when the waiting period ends; a moderator decides."""
    req = _lock(request_id)
    _ensure_state(req, (Status.DISPUTED,), _("report a lawsuit for"))
    note = (note or "").strip()
    if not note:
        raise TransitionError(_("Say where and when the lawsuit or complaint was filed."))
    req.lawsuit_reported_at = timezone.now()
    req.lawsuit_note = note
    req.save(update_fields=["lawsuit_reported_at", "lawsuit_note"])
    _record(req, action="report_lawsuit", from_status=req.status, label="requester", note=note)
    return req


# --- moderators' moves -----------------------------------------------------------------------


@transaction.atomic
def takedown_assign(*, request_id: int, moderator: AbstractBaseUser) -> TakedownRequest:
    """A moderator takes a request on (assignment is not a state change but is recorded). Only a
    request that still needs a moderator can be assigned: an open one, or a dispute."""
    _require_moderator(moderator)
    req = _lock(request_id)
    _ensure_state(req, (*TakedownRequest.OPEN_STATUSES, Status.DISPUTED), _("assign"))
    req.assignee = moderator
    req.save(update_fields=["assignee"])
    _record(req, action="assign", from_status=req.status, actor=moderator)
    return req


@transaction.atomic
def takedown_add_items(*, request_id: int, snapshot_ids: list[int], moderator: AbstractBaseUser) -> list[TakedownItem]:
    """Add snapshots to an open request, so that its decision covers them too: a moderator's
    addition (the other reprints of a listed snapshot's story, `articles.stories.story_siblings`).
    Snapshots already listed are left out. The addition is recorded, and the requester is told
    which were added. Returns the items added."""
    _require_moderator(moderator)
    req = _lock(request_id)
    _ensure_state(req, TakedownRequest.OPEN_STATUSES, _("add snapshots to"))
    items = list(req.items.all())
    listed = {item.snapshot_id for item in items}
    snapshots = [
        s for s in Snapshot.objects.filter(pk__in=snapshot_ids).order_by("published_at", "id") if s.pk not in listed
    ]
    if not snapshots:
        return []
    position = max((item.position for item in items), default=0)
    added = TakedownItem.objects.bulk_create(
        [
            TakedownItem(request=req, position=position + n, url=settings.SITE_URL + s.get_absolute_url(), snapshot=s)
            for n, s in enumerate(snapshots, start=1)
        ]
    )
    _record(
        req,
        action="add_items",
        from_status=req.status,
        actor=moderator,
        note="\n".join(item.url for item in added),
    )
    emails.send_items_added(req.pk, [item.pk for item in added])
    return added


@transaction.atomic
def takedown_review(*, request_id: int, moderator: AbstractBaseUser, note: str = "") -> TakedownRequest:
    """Take a submitted request into review (and assign it to oneself when nobody has it)."""
    _require_moderator(moderator)
    req = _lock(request_id)
    _ensure_state(req, (Status.SUBMITTED,), _("take into review"))
    before = req.status
    req.status = Status.IN_REVIEW
    if req.assignee_id is None:
        req.assignee = moderator
    req.save(update_fields=["status", "assignee"])
    _record(req, action="review", from_status=before, actor=moderator, note=note.strip())
    return req


@transaction.atomic
def takedown_ask(*, request_id: int, moderator: AbstractBaseUser, question: str) -> TakedownRequest:
    """Ask the requester for information; they answer on their status page by `info_due_at`
    (TAKEDOWN_INFO_DAYS from now), or `takedown_tick` closes the request."""
    _require_moderator(moderator)
    question = _require_reason(question)
    req = _lock(request_id)
    _ensure_state(req, (Status.IN_REVIEW,), _("ask for information on"))
    before = req.status
    req.status = Status.INFO_REQUESTED
    req.info_request = question
    req.info_due_at = timezone.now() + timedelta(days=settings.TAKEDOWN_INFO_DAYS)
    req.save(update_fields=["status", "info_request", "info_due_at"])
    _record(req, action="ask", from_status=before, actor=moderator, note=question)
    emails.send_info_request(req.pk)
    return req


@transaction.atomic
def takedown_approve(
    *,
    request_id: int,
    moderator: AbstractBaseUser,
    reason: str,
    ground: str = TakedownRequest.Ground.COPYRIGHT,
    outcomes: dict[int, str] | None = None,
) -> TakedownRequest:
    """Approve a request, in whole or in part: each pending URL is withheld (`actioned`) or
    `refused`; `outcomes` maps item ids to one of the two, and pending items not named are
    actioned. The actioned snapshots are withheld at once; the requester gets the statement of
    reasons.

    A snapshot another decision withholds already (when the request arrived, or since) is
    `already_withheld` and names that decision. The approval stands even when that leaves nothing
    newly withheld: the notice was well-founded and its snapshots are withheld, which the record
    says. Refusing every pending URL is a rejection, not an approval."""
    _require_moderator(moderator)
    reason = _require_reason(reason)
    if ground not in TakedownRequest.Ground.values or ground == TakedownRequest.Ground.NONE:
        raise TransitionError(_("Name the legal ground of an approval."))
    req = _lock(request_id)
    _ensure_state(req, (Status.IN_REVIEW,), _("approve"))
    pending = list(req.items.filter(outcome=Outcome.PENDING))
    outcomes = outcomes or {}
    unknown = set(outcomes) - {item.pk for item in pending}
    if unknown:
        raise TransitionError(_("These URLs are not pending in this request: %(ids)s.") % {"ids": sorted(unknown)})
    for item in pending:
        item.outcome = outcomes.get(item.pk, Outcome.ACTIONED)
        if item.outcome not in (Outcome.ACTIONED, Outcome.REFUSED):
            raise TransitionError(_("A URL can be withheld or refused, not “%(o)s”.") % {"o": item.outcome})
    actioned = [item for item in pending if item.outcome == Outcome.ACTIONED]
    already = req.items.filter(outcome=Outcome.ALREADY_WITHHELD).exists()
    if not actioned and not already:
        raise TransitionError(_("Nothing would be withheld: reject the request instead."))
    _withhold(actioned)
    for item in pending:
        if item.outcome != Outcome.ACTIONED:
            item.save(update_fields=["outcome"])
    before = req.status
    req.status = Status.APPROVED
    req.ground = ground
    req.decision_reason = reason
    req.decided_at = timezone.now()
    req.save(update_fields=["status", "ground", "decision_reason", "decided_at"])
    _record(req, action="approve", from_status=before, actor=moderator, note=reason)
    emails.send_decision(req.pk)
    return req


@transaction.atomic
def takedown_reject(
    *, request_id: int, moderator: AbstractBaseUser, reason: str, ground: str = TakedownRequest.Ground.NONE
) -> TakedownRequest:
    """Reject a request in review, or one whose requester was asked for information (answered or
    not); every pending URL is refused and the requester gets the statement of reasons."""
    _require_moderator(moderator)
    reason = _require_reason(reason)
    req = _lock(request_id)
    _ensure_state(req, (Status.IN_REVIEW, Status.INFO_REQUESTED), _("reject"))
    ground = ground if ground in TakedownRequest.Ground.values else TakedownRequest.Ground.NONE
    return _do_reject(req, ground=ground, reason=reason, action="reject", actor=moderator)


def _do_reject(req: TakedownRequest, *, ground: str, reason: str, action: str, actor) -> TakedownRequest:
    req.items.filter(outcome=Outcome.PENDING).update(outcome=Outcome.REFUSED)
    before = req.status
    req.status = Status.REJECTED
    req.ground = ground
    req.decision_reason = reason
    req.decided_at = timezone.now()
    req.save(update_fields=["status", "ground", "decision_reason", "decided_at"])
    _record(req, action=action, from_status=before, actor=actor, note=reason)
    emails.send_decision(req.pk)
    return req


def lapse_reason(req: TakedownRequest) -> str:
    """The standard statement of reasons of a request closed because its question went unanswered."""
    return _(
        "The requester was asked for information on %(asked)s and did not answer by %(due)s. Without it the "
        "notice is not complete enough to act on, so the request was closed automatically when that deadline "
        "passed; no one judged the claim itself. A new request with the information may be filed at any time."
    ) % {
        "asked": timezone.localtime(req.events.filter(action="ask").latest("created_at", "id").created_at).strftime(
            "%Y-%m-%d"
        ),
        "due": timezone.localtime(req.info_due_at).strftime("%Y-%m-%d %H:%M"),
    }


@transaction.atomic
def takedown_uphold(*, request_id: int, moderator: AbstractBaseUser, reason: str) -> TakedownRequest:
    """End a dispute by keeping the snapshots withheld (typically after a reported lawsuit)."""
    _require_moderator(moderator)
    reason = _require_reason(reason)
    req = _lock(request_id)
    _ensure_state(req, (Status.DISPUTED,), _("uphold"))
    before = req.status
    req.status = Status.APPROVED
    req.restore_after = None
    req.save(update_fields=["status", "restore_after"])
    _record(req, action="uphold", from_status=before, actor=moderator, note=reason)
    emails.send_dispute_outcome(req.pk)
    return req


@transaction.atomic
def takedown_restore(*, request_id: int, moderator: AbstractBaseUser, reason: str) -> TakedownRequest:
    """A moderator ends a dispute by restoring the snapshots exactly as they were. (The system's
    restoration after the waiting period is `takedown_tick`.)"""
    _require_moderator(moderator)
    reason = _require_reason(reason)
    req = _lock(request_id)
    _ensure_state(req, (Status.DISPUTED,), _("restore"))
    return _do_restore(req, actor=moderator, reason=reason)


def _do_restore(req: TakedownRequest, *, actor, reason: str) -> TakedownRequest:
    _restore(req)
    before = req.status
    req.status = Status.RESTORED
    req.save(update_fields=["status"])
    _record(req, action="restore", from_status=before, actor=actor, label="" if actor else "system", note=reason)
    emails.send_dispute_outcome(req.pk)
    return req


@transaction.atomic
def counter_notice_submit(
    *,
    snapshot: Snapshot,
    name: str,
    email: str,
    phone: str,
    address: str,
    explanation: str,
    good_faith: bool,
    consent_to_jurisdiction: bool,
    signature: str,
    ip: str | None = None,
) -> TakedownRequest:
    """Record a counter-notice against the approved request that withheld `snapshot`: the request
    becomes disputed, the requester gets a copy, and the snapshots come back when the waiting
    period ends (at once when it is 0) unless a lawsuit is reported. Raises SubmissionError for a
    value longer than its field, TransitionError when the snapshot cannot be disputed."""
    errors = _length_errors(CounterNotice, {"name": name, "email": email, "phone": phone, "signature": signature})
    if errors:
        raise SubmissionError(errors)
    item = (
        TakedownItem.objects.filter(snapshot=snapshot, outcome=Outcome.ACTIONED, request__status=Status.APPROVED)
        .order_by("-request__decided_at")
        .first()
    )
    if item is None:
        raise TransitionError(_("This snapshot is not withheld by a removal decision that can be disputed."))
    req = _lock(item.request_id)
    _ensure_state(req, (Status.APPROVED,), _("dispute"))
    CounterNotice.objects.create(
        request=req,
        snapshot=snapshot,
        name=name,
        email=email,
        phone=phone,
        address=address,
        explanation=explanation,
        good_faith=good_faith,
        consent_to_jurisdiction=consent_to_jurisdiction,
        signature=signature,
        submitted_ip=ip,
    )
    before = req.status
    req.status = Status.DISPUTED
    req.restore_after = timezone.now() + timedelta(days=settings.TAKEDOWN_RESTORE_AFTER_DAYS)
    req.lawsuit_reported_at = None
    req.save(update_fields=["status", "restore_after", "lawsuit_reported_at"])
    _record(req, action="counter_notice", from_status=before, label="counter-notice", note=explanation)
    emails.send_counter_notice(req.pk)
    if settings.TAKEDOWN_RESTORE_AFTER_DAYS == 0:
        # 条例 art. 17: restore at once on a counter-notice.
        _do_restore(req, actor=None, reason=_("Restored at once on a counter-notice (waiting period 0)."))
    return req


@dataclass
class TickResult:
    restored: list[str] = field(default_factory=list)  # references of disputes restored
    lapsed: list[str] = field(default_factory=list)  # references closed for want of an answer
    failed: list[tuple[str, str]] = field(default_factory=list)  # (request id, error) of moves that failed


def takedown_tick(*, now=None) -> TickResult:
    """The workflow's clock: restore the snapshots of every dispute whose waiting period has ended
    with no lawsuit or complaint reported, and close (as rejected, with the standard statement of
    reasons) every request whose question went unanswered past `info_due_at`. Safe to run as
    often as cron likes: each move re-checks its request under the row lock. Each request is its
    own transaction: one that fails is logged and reported in `failed`, and the rest go on."""
    now = now or timezone.now()
    result = TickResult()
    due_disputes = TakedownRequest.objects.filter(
        status=Status.DISPUTED, restore_after__lte=now, lawsuit_reported_at__isnull=True
    ).values_list("pk", flat=True)
    for request_id in list(due_disputes):
        _tick_one(request_id, result, _restore_if_due, now)
    unanswered = TakedownRequest.objects.filter(status=Status.INFO_REQUESTED, info_due_at__lte=now).values_list(
        "pk", flat=True
    )
    for request_id in list(unanswered):
        _tick_one(request_id, result, _lapse_if_due, now)
    return result


def _tick_one(request_id: int, result: TickResult, move, now) -> None:
    try:
        move(request_id, now, result)
    except Exception as error:
        logger.exception("moderation tick: request %s could not be moved; the next tick tries again.", request_id)
        result.failed.append((str(request_id), f"{type(error).__name__}: {error}"))


@transaction.atomic
def _restore_if_due(request_id: int, now, result: TickResult) -> None:
    req = _lock(request_id)
    if req.status != Status.DISPUTED or req.lawsuit_reported_at or not req.restore_after or req.restore_after > now:
        return
    _do_restore(
        req,
        actor=None,
        reason=_("The waiting period after the counter-notice ended with no lawsuit or complaint reported."),
    )
    result.restored.append(req.reference)


@transaction.atomic
def _lapse_if_due(request_id: int, now, result: TickResult) -> None:
    req = _lock(request_id)
    if req.status != Status.INFO_REQUESTED or not req.info_due_at or req.info_due_at > now:
        return
    _do_reject(req, ground=TakedownRequest.Ground.NONE, reason=lapse_reason(req), action="lapse", actor=None)
    result.lapsed.append(req.reference)


# --- abuse -----------------------------------------------------------------------------------


@transaction.atomic
def requester_warn(*, requester_id: int, moderator: AbstractBaseUser, note: str) -> Requester:
    """Warn a requester whose notices are repeatedly unfounded (DSA art. 23(1))."""
    _require_moderator(moderator)
    note = _require_reason(note)
    requester = Requester.objects.select_for_update().get(pk=requester_id)
    requester.warned_at = timezone.now()
    requester.abuse_note = (requester.abuse_note + "\n" if requester.abuse_note else "") + note
    requester.save(update_fields=["warned_at", "abuse_note"])
    emails.send_abuse_notice(requester.pk, "warned")
    return requester


@transaction.atomic
def requester_suspend(*, requester_id: int, moderator: AbstractBaseUser, days: int, note: str) -> Requester:
    """Suspend a requester already warned, for a period (DSA art. 23(1)): new requests are refused."""
    _require_moderator(moderator)
    note = _require_reason(note)
    if days < 1:
        raise TransitionError(_("A suspension lasts at least one day."))
    requester = Requester.objects.select_for_update().get(pk=requester_id)
    if requester.warned_at is None:
        raise TransitionError(_("Warn a requester before suspending them."))
    requester.suspended_until = timezone.now() + timedelta(days=days)
    requester.abuse_note = (requester.abuse_note + "\n" if requester.abuse_note else "") + note
    requester.save(update_fields=["suspended_until", "abuse_note"])
    emails.send_abuse_notice(requester.pk, "suspended")
    return requester


def withholding_request(snapshot: Snapshot) -> TakedownRequest | None:
    """The decided request that keeps `snapshot` withheld, for its 451 page."""
    item = (
        TakedownItem.objects.filter(snapshot=snapshot, outcome=Outcome.ACTIONED)
        .filter(Q(request__status=Status.APPROVED) | Q(request__status=Status.DISPUTED))
        .select_related("request")
        .order_by("-request__decided_at")
        .first()
    )
    return item.request if item else None

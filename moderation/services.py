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
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from articles.models import Snapshot, Source, archive_key, key_for_url
from articles.stories import story_siblings

from . import emails, ledger, workflow
from .models import (
    STANDING_CLAIMS,
    Appeal,
    ClaimState,
    CounterNotice,
    EvidenceFile,
    ModerationEvent,
    Requester,
    SourceNotice,
    TakedownItem,
    TakedownRequest,
    Work,
    hash_token,
    new_token,
)

logger = logging.getLogger(__name__)

TransitionError = workflow.TransitionError
Actor = workflow.Actor

Status = TakedownRequest.Status
Outcome = TakedownItem.Outcome
Claim = ClaimState


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


def _check(req: TakedownRequest, name: str, actor: str) -> workflow.Action:
    """The move `name` by `actor` on the locked request, as the workflow table allows it; else a
    TransitionError naming the state and who moved the request there last."""

    def describe(move: workflow.Action) -> str:
        last = req.events.order_by("-created_at", "-id").first()
        detail = ""
        if last is not None:
            detail = " " + _("It was moved to “%(status)s” by %(actor)s at %(time)s.") % {
                "status": req.get_status_display(),
                "actor": last.actor_label,
                "time": timezone.localtime(last.created_at).strftime("%Y-%m-%d %H:%M:%S"),
            }
        return (
            _("Cannot %(action)s %(reference)s: it is %(status)s.")
            % {"action": move.verb, "reference": req.reference, "status": req.get_status_display()}
            + detail
        )

    return workflow.check(name, req.status, actor, describe=describe)


def _require_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise TransitionError(_("A reason is required: it becomes the statement of reasons sent to the requester."))
    return reason


def _record(
    req: TakedownRequest, *, action: str, from_status: str, actor=None, label: str = "", note: str = "", data=None
):
    """Write the move's event, after checking that it ends where the workflow table says it may."""
    workflow.check_target(action, from_status, req.status)
    ModerationEvent.objects.create(
        request=req,
        actor=actor,
        actor_label=label or (actor.get_username() if actor else "system"),
        action=action,
        from_status=from_status,
        to_status=req.status,
        note=note,
        data=data or {},
    )


def _decided(req: TakedownRequest) -> None:
    """Stamp a decision: when it was taken, and when it may appear in the public record (the
    requester's publication delay later)."""
    req.decided_at = timezone.now()
    req.publish_after = req.decided_at + timedelta(days=req.requester.publication_delay_days)


def _settled_status(req: TakedownRequest) -> str:
    """Where a decided request stands once its claims have moved: disputed while a counter-notice
    disputes one of its claims, approved while one withholds (or will), restored when all were
    lifted after counter-notices, else as it was."""
    claims = set(req.items.exclude(claim=Claim.NONE).values_list("claim", flat=True))
    if Claim.DISPUTED in claims:
        return Status.DISPUTED
    if claims & {Claim.STANDING, Claim.SCHEDULED}:
        return Status.APPROVED
    if Claim.RESTORED in claims:
        return Status.RESTORED
    return req.status


# --- filing ----------------------------------------------------------------------------------


@dataclass
class SubmittedWork:
    """One work a notice claims, with the addresses where it is copied."""

    description: str
    work_date: date | None
    urls: list[str]


@dataclass
class Submission:
    """A removal request as the form or the API received it, already checked field by field. Its
    URLs are numbered across its works in order (`urls`): errors about one are keyed `urls.<index>`."""

    name: str
    organisation: str
    role: str
    email: str
    phone: str
    address: str
    works: list[SubmittedWork]
    explanation: str
    evidence: str
    good_faith: bool
    accurate_and_authorised: bool
    signature: str
    files: list = field(default_factory=list)  # UploadedFile objects, already type- and size-checked
    ip: str | None = None

    @property
    def urls(self) -> list[str]:
        return [url for work in self.works for url in work.urls]


@dataclass
class Receipt:
    request: TakedownRequest
    token: str  # shown once; only its hash is stored


def _key_of(url: str) -> str | None:
    """The key of the snapshot an address names: one of this archive's pages names its own, any
    other web address the snapshot captured from it. None for what is no web address."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return archive_key(url) or key_for_url(url)


def resolve_urls(urls: list[str]) -> tuple[list[Snapshot | None], dict[str, list[str]]]:
    """The snapshot each URL names in this archive, None where it names none (not captured here,
    or hidden by an editor: to the public both are not in this archive), and errors by
    `urls.<index>` for what is no web address at all."""
    errors: dict[str, list[str]] = {}
    keys = []
    for index, url in enumerate(urls):
        key = _key_of(url)
        if key is None:
            errors[f"urls.{index}"] = [_("%(url)s is not a web address (https://…).") % {"url": url}]
        keys.append(key)
    found = {s.key: s for s in Snapshot.objects.with_page().filter(key__in=[k for k in keys if k])}
    return [found.get(key) if key else None for key in keys], errors


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
    """The checks that need the database: each URL is looked up here (one that names nothing in
    this archive is recorded as not found, not refused, as long as one URL names something), none
    repeats, the requester is not suspended, the request is no duplicate of an open one, and no URL
    names a work restored after this requester's earlier notice (条例 art. 17). Also each value
    fits its field. Raises SubmissionError."""
    _check_sizes(submission)
    snapshots, url_errors = resolve_urls(submission.urls)
    errors = dict(url_errors)
    seen = _check_repeats(submission.urls, snapshots, errors)
    if not seen and not url_errors:
        errors["urls"] = [
            _(
                "None of these addresses names a snapshot in this archive: there is nothing here to remove. "
                "Give the address of the snapshot page here (…/detail/<key>.html) or of the original article."
            )
        ]
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
        _check_history(requester, seen, errors)
    if errors:
        raise SubmissionError(errors)
    return requester, snapshots


def _check_sizes(submission: Submission) -> None:
    """How many addresses and works, and each value within its field. Raises SubmissionError."""
    limit = settings.TAKEDOWN_MAX_URLS
    urls = submission.urls
    if not urls:
        raise SubmissionError({"urls": [_("List at least one snapshot address.")]})
    if len(urls) > limit:
        raise SubmissionError(
            {"urls": [_("At most %(limit)d addresses per request; send the rest in another.") % {"limit": limit}]}
        )
    if len(submission.works) > settings.TAKEDOWN_MAX_WORKS:
        raise SubmissionError(
            {"works": [_("At most %(limit)d works per request.") % {"limit": settings.TAKEDOWN_MAX_WORKS}]}
        )
    errors = _length_errors(
        TakedownRequest,
        {name: getattr(submission, name) for name in ("name", "organisation", "email", "phone", "signature")},
    )
    for index, url in enumerate(urls):
        if len(url) > MAX_URL_LENGTH:
            errors[f"urls.{index}"] = [
                _("The address is longer than %(limit)d characters.") % {"limit": MAX_URL_LENGTH}
            ]
    if errors:
        raise SubmissionError(errors)


def _check_repeats(urls: list[str], snapshots: list, errors: dict) -> dict[int, int]:
    """Addresses that name the same snapshot, or repeat the same address, as an earlier one, added
    to `errors`; returns the position of each snapshot named."""
    seen, seen_urls = {}, {}
    for index, (url, snapshot) in enumerate(zip(urls, snapshots, strict=True)):
        if snapshot is not None and snapshot.pk in seen:
            errors.setdefault(f"urls.{index}", []).append(
                _("The same snapshot as address %(n)d.") % {"n": seen[snapshot.pk] + 1}
            )
        elif snapshot is not None:
            seen[snapshot.pk] = index
        elif url.strip() in seen_urls:
            errors.setdefault(f"urls.{index}", []).append(
                _("The same address as address %(n)d.") % {"n": seen_urls[url.strip()] + 1}
            )
        else:
            seen_urls[url.strip()] = index
    return seen


def _check_history(requester: Requester, seen: dict[int, int], errors: dict) -> None:
    """What this requester notified before: a snapshot restored after their earlier notice cannot
    be notified again by them (条例 art. 17), and an open request of theirs for these snapshots
    makes this one a duplicate."""
    restored = set(
        TakedownItem.objects.filter(
            request__requester=requester, claim=Claim.RESTORED, snapshot__in=list(seen)
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


@transaction.atomic
def takedown_submit(*, submission: Submission) -> Receipt:
    """File a removal request: check it, store it with its works, their URLs (each found here or
    not) and the files, and send the receipt (DSA art. 16(4)). Returns the one-time status token."""
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
    items, found = [], iter(snapshots)
    for number, submitted in enumerate(submission.works, start=1):
        work = Work.objects.create(
            request=req, position=number, description=submitted.description, work_date=submitted.work_date
        )
        for url in submitted.urls:
            snapshot = next(found)
            items.append(
                TakedownItem(
                    request=req,
                    work=work,
                    position=len(items) + 1,
                    url=url,
                    snapshot=snapshot,
                    outcome=Outcome.PENDING if snapshot else Outcome.NOT_FOUND,
                    withheld_when_filed=bool(snapshot and snapshot.withheld),
                )
            )
    TakedownItem.objects.bulk_create(items)
    for upload in submission.files:
        EvidenceFile.objects.create(
            request=req,
            file=upload,
            original_name=upload.name[:255],
            content_type=getattr(upload, "checked_content_type", upload.content_type or ""),
            size=upload.size,
        )
    _record(
        req,
        action="submit",
        from_status=workflow.NEW,
        label="requester",
        data={"outcomes": {str(item.pk): item.outcome for item in req.items.all()}},
    )
    emails.send_receipt(req.pk, token)
    return Receipt(request=req, token=token)


def takedown_by_token(token: str) -> TakedownRequest | None:
    return TakedownRequest.objects.filter(token_hash=hash_token(token)).first()


# --- requester's moves -----------------------------------------------------------------------


@transaction.atomic
def takedown_withdraw(*, request_id: int, note: str = "") -> TakedownRequest:
    """The requester withdraws a request, at any time. Before a decision it will not be decided;
    after an approval their claims are lifted (and only theirs: another decision that withholds
    the same snapshot still does)."""
    req = _lock(request_id)
    _check(req, "withdraw", Actor.REQUESTER)
    claims = list(req.items.filter(claim__in=(*STANDING_CLAIMS, Claim.SCHEDULED)))
    moved = ledger.move(claims, Claim.WITHDRAWN)
    ledger.sync(item.snapshot_id for item in claims)
    before = req.status
    req.status = Status.WITHDRAWN
    req.save(update_fields=["status"])
    _record(req, action="withdraw", from_status=before, label="requester", note=note.strip(), data={"claims": moved})
    return req


@transaction.atomic
def takedown_answer(*, request_id: int, answer: str) -> TakedownRequest:
    """The requester answers a request for information; the request goes back into review."""
    req = _lock(request_id)
    _check(req, "answer", Actor.REQUESTER)
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
    """During a dispute the requester reports a lawsuit or complaint (民法典 art. 1196): their
    disputed claims are then not lifted when the waiting period ends; a moderator decides."""
    req = _lock(request_id)
    _check(req, "report_lawsuit", Actor.REQUESTER)
    note = (note or "").strip()
    if not note:
        raise TransitionError(_("Say where and when the lawsuit or complaint was filed."))
    unanswered = list(req.items.filter(claim=Claim.DISPUTED, lawsuit_reported_at__isnull=True))
    if not unanswered:
        raise TransitionError(_("A lawsuit or complaint has already been reported for every disputed snapshot."))
    now = timezone.now()
    for item in unanswered:
        item.lawsuit_reported_at = now
        item.save(update_fields=["lawsuit_reported_at"])
    req.lawsuit_note = note
    req.save(update_fields=["lawsuit_note"])
    _record(
        req,
        action="report_lawsuit",
        from_status=req.status,
        label="requester",
        note=note,
        data={"answered": [str(item.pk) for item in unanswered]},
    )
    return req


# --- moderators' moves -----------------------------------------------------------------------


@transaction.atomic
def takedown_assign(*, request_id: int, moderator: AbstractBaseUser) -> TakedownRequest:
    """A moderator takes a request on (assignment is not a state change but is recorded). Only a
    request that still needs a moderator can be assigned: an open one, or a dispute."""
    _require_moderator(moderator)
    req = _lock(request_id)
    _check(req, "assign", Actor.MODERATOR)
    req.assignee = moderator
    req.save(update_fields=["assignee"])
    _record(req, action="assign", from_status=req.status, actor=moderator)
    return req


@transaction.atomic
def takedown_add_items(*, request_id: int, snapshot_ids: list[int], moderator: AbstractBaseUser) -> list[TakedownItem]:
    """Add snapshots to an open request, so that its decision covers them too: a moderator's
    addition (the other reprints of a listed snapshot's story, `articles.stories.story_siblings`).
    Snapshots already listed are left out. Each added URL claims the work of a listed snapshot of
    its story (the request's first work when none is). The addition is recorded, and the
    requester is told which were added. Returns the items added."""
    _require_moderator(moderator)
    req = _lock(request_id)
    _check(req, "add_items", Actor.MODERATOR)
    items = list(req.items.select_related("snapshot").order_by("position"))
    listed = {item.snapshot_id for item in items}
    snapshots = [
        s for s in Snapshot.objects.filter(pk__in=snapshot_ids).order_by("published_at", "id") if s.pk not in listed
    ]
    if not snapshots:
        return []
    work_of_story = {}
    for item in items:
        if item.snapshot is not None and item.snapshot.story_id is not None:
            work_of_story.setdefault(item.snapshot.story_id, item.work_id)
    first_work = req.works.order_by("position").values_list("pk", flat=True).first()
    position = max((item.position for item in items), default=0)
    added = TakedownItem.objects.bulk_create(
        [
            TakedownItem(
                request=req,
                work_id=work_of_story.get(s.story_id, first_work),
                position=position + n,
                url=settings.SITE_URL + s.get_absolute_url(),
                snapshot=s,
                withheld_when_filed=s.withheld,
            )
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


def takedown_add_story_siblings(*, request_id: int, moderator: AbstractBaseUser) -> list[TakedownItem]:
    """Add to a request the other snapshots of its listed snapshots' stories (`add_items`)."""
    listed = TakedownItem.objects.filter(request_id=request_id, snapshot__isnull=False).values_list(
        "snapshot", flat=True
    )
    siblings = [s.pk for s in story_siblings(snapshot_ids=listed)]
    return takedown_add_items(request_id=request_id, snapshot_ids=siblings, moderator=moderator)


@transaction.atomic
def takedown_review(*, request_id: int, moderator: AbstractBaseUser, note: str = "") -> TakedownRequest:
    """Take a submitted request into review (and assign it to oneself when nobody has it)."""
    _require_moderator(moderator)
    req = _lock(request_id)
    _check(req, "review", Actor.MODERATOR)
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
    _check(req, "ask", Actor.MODERATOR)
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
    actioned. Each actioned URL becomes a standing claim on its snapshot, which is withheld at once
    (whether or not another decision withholds it too: each claim stands on its own), or, with a
    changes window (TAKEDOWN_CHANGES_WINDOW_HOURS), a scheduled claim that takes effect when it
    ends; the requester gets the statement of reasons and the sources are told. Refusing every
    pending URL is a rejection."""
    _require_moderator(moderator)
    reason = _require_reason(reason)
    if ground not in TakedownRequest.Ground.values or ground == TakedownRequest.Ground.NONE:
        raise TransitionError(_("Name the legal ground of an approval."))
    req = _lock(request_id)
    _check(req, "approve", Actor.MODERATOR)
    pending = list(req.items.filter(outcome=Outcome.PENDING))
    outcomes = outcomes or {}
    unknown = set(outcomes) - {item.pk for item in pending}
    if unknown:
        raise TransitionError(_("These URLs are not pending in this request: %(ids)s.") % {"ids": sorted(unknown)})
    for item in pending:
        item.outcome = outcomes.get(item.pk, Outcome.ACTIONED)
        if item.outcome not in (Outcome.ACTIONED, Outcome.REFUSED):
            raise TransitionError(_("A URL can be withheld or refused, not “%(o)s”.") % {"o": item.outcome})
    actioned = [item for item in pending if item.outcome == Outcome.ACTIONED and item.snapshot_id]
    if not actioned:
        raise TransitionError(_("Nothing would be withheld: reject the request instead."))
    for item in pending:
        item.save(update_fields=["outcome"])
    window = settings.TAKEDOWN_CHANGES_WINDOW_HOURS
    if window:
        # The changes window: the claims take effect later (takedown_tick), the sources told now.
        moved = ledger.move(actioned, Claim.SCHEDULED, effective_at=timezone.now() + timedelta(hours=window))
    else:
        moved = ledger.move(actioned, Claim.STANDING)
    ledger.sync(item.snapshot_id for item in actioned)
    before = req.status
    req.status = Status.APPROVED
    req.ground = ground
    req.decision_reason = reason
    _decided(req)
    req.save(update_fields=["status", "ground", "decision_reason", "decided_at", "publish_after"])
    _record(
        req,
        action="approve",
        from_status=before,
        actor=moderator,
        note=reason,
        data={"outcomes": {str(item.pk): item.outcome for item in pending}, "claims": moved},
    )
    emails.send_decision(req.pk)
    _notify_sources(req, actioned)
    return req


def _notify_sources(req: TakedownRequest, items: list[TakedownItem]) -> None:
    """Tell the source of each snapshot newly withheld (条例 art. 15), once per request and source,
    where it has a contact address: the notice without the requester's private data, the decision,
    and the secret link to its page of the request (counter-notice, appeal)."""
    sources = (
        Source.objects.filter(pk__in={item.snapshot.source_id for item in items if item.snapshot_id})
        .exclude(contact_email="")
        .exclude(pk__in=req.source_notices.values("source_id"))
        .order_by("pk")
    )
    for source in sources:
        token = new_token()
        notice = SourceNotice.objects.create(
            request=req, source=source, email=source.contact_email, token_hash=hash_token(token)
        )
        emails.send_source_notice(notice.pk, token)


def source_notice_by_token(token: str) -> SourceNotice | None:
    return SourceNotice.objects.select_related("request", "source").filter(token_hash=hash_token(token)).first()


@transaction.atomic
def takedown_reject(
    *, request_id: int, moderator: AbstractBaseUser, reason: str, ground: str = TakedownRequest.Ground.NONE
) -> TakedownRequest:
    """Reject a request in review, or one whose requester was asked for information (answered or
    not); every pending URL is refused and the requester gets the statement of reasons."""
    _require_moderator(moderator)
    reason = _require_reason(reason)
    req = _lock(request_id)
    _check(req, "reject", Actor.MODERATOR)
    ground = ground if ground in TakedownRequest.Ground.values else TakedownRequest.Ground.NONE
    return _do_reject(req, ground=ground, reason=reason, action="reject", actor=moderator)


def _do_reject(req: TakedownRequest, *, ground: str, reason: str, action: str, actor) -> TakedownRequest:
    refused = list(req.items.filter(outcome=Outcome.PENDING).values_list("pk", flat=True))
    req.items.filter(pk__in=refused).update(outcome=Outcome.REFUSED)
    before = req.status
    req.status = Status.REJECTED
    req.ground = ground
    req.decision_reason = reason
    _decided(req)
    req.save(update_fields=["status", "ground", "decision_reason", "decided_at", "publish_after"])
    _record(
        req,
        action=action,
        from_status=before,
        actor=actor,
        note=reason,
        data={"outcomes": {str(pk): Outcome.REFUSED for pk in refused}},
    )
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
    """End a dispute by keeping this request's disputed claims standing (typically after a reported
    lawsuit). Other requests' claims on the same snapshots are theirs to settle."""
    _require_moderator(moderator)
    reason = _require_reason(reason)
    req = _lock(request_id)
    _check(req, "uphold", Actor.MODERATOR)
    disputed = list(req.items.filter(claim=Claim.DISPUTED))
    moved = ledger.move(disputed, Claim.STANDING)
    ledger.sync(item.snapshot_id for item in disputed)
    before = req.status
    req.status = _settled_status(req)
    req.save(update_fields=["status"])
    _record(req, action="uphold", from_status=before, actor=moderator, note=reason, data={"claims": moved})
    emails.send_dispute_outcome(req.pk, claim_ids=[item.pk for item in disputed])
    return req


@transaction.atomic
def takedown_restore(*, request_id: int, moderator: AbstractBaseUser, reason: str) -> TakedownRequest:
    """A moderator ends a dispute by lifting this request's disputed claims now. A snapshot comes
    back, exactly as its editor left it, once no other claim withholds it. (The system's
    restoration after the waiting period is `takedown_tick`.)"""
    _require_moderator(moderator)
    reason = _require_reason(reason)
    req = _lock(request_id)
    _check(req, "restore", Actor.MODERATOR)
    return _do_restore(req, list(req.items.filter(claim=Claim.DISPUTED)), actor=moderator, reason=reason)


def _do_restore(req: TakedownRequest, claims: list[TakedownItem], *, actor, reason: str) -> TakedownRequest:
    moved = ledger.move(claims, Claim.RESTORED)
    ledger.sync(item.snapshot_id for item in claims)
    before = req.status
    req.status = _settled_status(req)
    req.save(update_fields=["status"])
    _record(
        req,
        action="restore" if actor else "restore_due",
        from_status=before,
        actor=actor,
        label="" if actor else "system",
        note=reason,
        data={"claims": moved},
    )
    emails.send_dispute_outcome(req.pk, claim_ids=[item.pk for item in claims])
    return req


def disputable_claims(snapshot: Snapshot) -> list[TakedownItem]:
    """The claims a counter-notice naming `snapshot` would dispute: those standing and not yet
    disputed."""
    return list(TakedownItem.objects.filter(snapshot=snapshot, claim=Claim.STANDING))


@transaction.atomic
def counter_notice_submit(
    *,
    snapshots: list[Snapshot],
    name: str,
    email: str,
    phone: str,
    address: str,
    explanation: str,
    good_faith: bool,
    consent_to_jurisdiction: bool,
    signature: str,
    ip: str | None = None,
) -> CounterNotice:
    """Record a counter-notice against the claims that withhold `snapshots`: each claim standing
    on them, of whichever request, becomes disputed, and only those. Every request concerned
    becomes disputed and its requester is sent the counter-notice and the date its disputed claims
    lapse (after the waiting period; at once when it is 0) unless they report a lawsuit. Raises
    SubmissionError for a value longer than its field, TransitionError when a snapshot cannot be
    disputed."""
    errors = _length_errors(CounterNotice, {"name": name, "email": email, "phone": phone, "signature": signature})
    if errors:
        raise SubmissionError(errors)
    snapshots = list({snapshot.pk: snapshot for snapshot in snapshots}.values())
    if not snapshots:
        raise TransitionError(_("Name at least one withheld snapshot."))
    request_ids = sorted(
        set(
            TakedownItem.objects.filter(snapshot__in=snapshots, claim=Claim.STANDING).values_list(
                "request_id", flat=True
            )
        )
    )
    requests = [_lock(pk) for pk in request_ids]  # in primary-key order: no deadlock between two
    claims = list(
        TakedownItem.objects.filter(snapshot__in=snapshots, claim=Claim.STANDING, request_id__in=request_ids)
        .select_related("request")
        .order_by("request_id", "position")
    )
    disputed_snapshots = {item.snapshot_id for item in claims}
    for snapshot in snapshots:
        if snapshot.pk not in disputed_snapshots:
            raise TransitionError(
                _("%(key)s is not withheld by a removal decision that can be disputed now.") % {"key": snapshot.key}
            )
    now = timezone.now()
    restore_after = now + timedelta(days=settings.TAKEDOWN_RESTORE_AFTER_DAYS)
    notice = CounterNotice.objects.create(
        name=name,
        email=email,
        phone=phone,
        address=address,
        explanation=explanation,
        good_faith=good_faith,
        consent_to_jurisdiction=consent_to_jurisdiction,
        signature=signature,
        submitted_ip=ip,
        received_at=now,
        restore_after=restore_after,
    )
    notice.snapshots.set(snapshots)
    notice.claims.set(claims)
    for req in requests:
        mine = [item for item in claims if item.request_id == req.pk]
        _check(req, "counter_notice", Actor.COUNTER_NOTIFIER)
        moved = ledger.move(mine, Claim.DISPUTED, now=now, restore_after=restore_after, lawsuit_reported_at=None)
        before = req.status
        req.status = Status.DISPUTED
        req.save(update_fields=["status"])
        _record(
            req,
            action="counter_notice",
            from_status=before,
            label="counter-notice",
            note=explanation,
            data={"claims": moved, "counter_notice": notice.pk},
        )
        emails.send_counter_notice(req.pk, notice.pk)
    if settings.TAKEDOWN_RESTORE_AFTER_DAYS == 0:
        # 条例 art. 17: restore at once on a counter-notice.
        for req in requests:
            due = list(req.items.filter(claim=Claim.DISPUTED, counter_notices=notice))
            _do_restore(req, due, actor=None, reason=_("Restored at once on a counter-notice (waiting period 0)."))
    return notice


# --- appeals (DSA art. 20) -----------------------------------------------------------------------


def _decision_event(req: TakedownRequest) -> ModerationEvent | None:
    return req.events.filter(action__in=("approve", "reject", "lapse")).order_by("-created_at", "-id").first()


def appealable_items(req: TakedownRequest, *, party: str, source=None) -> list[TakedownItem]:
    """What an appeal by `party` would concern: for the requester, the URLs refused (a rejection,
    or the refused part of an approval); for a snapshot's source, this request's claims that
    withhold (or will withhold) its snapshots."""
    if party == Appeal.Party.REQUESTER:
        return list(req.items.filter(outcome=Outcome.REFUSED, snapshot__isnull=False).order_by("position"))
    return list(
        req.items.filter(claim__in=(*STANDING_CLAIMS, Claim.SCHEDULED), snapshot__source=source).order_by("position")
    )


def appeal_deadline(req: TakedownRequest):
    return req.decided_at + timedelta(days=settings.TAKEDOWN_APPEAL_DAYS) if req.decided_at else None


@transaction.atomic
def appeal_file(*, request_id: int, party: str, reason: str, source=None) -> Appeal:
    """The requester, or the source of a withheld snapshot, appeals the decision on a request
    within TAKEDOWN_APPEAL_DAYS (six months) of it. The appeal names the URLs it concerns; a
    moderator other than the one who decided reviews it (appeal_uphold, appeal_reverse)."""
    reason = (reason or "").strip()
    if not reason:
        raise TransitionError(_("Say why the decision is wrong."))
    req = _lock(request_id)
    actor = Actor.SOURCE if party == Appeal.Party.SOURCE else Actor.REQUESTER
    _check(req, "appeal", actor)
    deadline = appeal_deadline(req)
    if deadline is None or timezone.now() > deadline:
        raise TransitionError(
            _("The time to appeal %(reference)s ended on %(date)s.")
            % {
                "reference": req.reference,
                "date": timezone.localtime(deadline).strftime("%Y-%m-%d") if deadline else "—",
            }
        )
    items = appealable_items(req, party=party, source=source)
    if not items:
        raise TransitionError(_("Nothing in %(reference)s is yours to appeal.") % {"reference": req.reference})
    if req.appeals.filter(party=party, source=source, status=Appeal.Status.OPEN).exists():
        raise TransitionError(
            _("An appeal of yours against %(reference)s is already open.") % {"reference": req.reference}
        )
    appeal = Appeal.objects.create(request=req, party=party, source=source, reason=reason)
    appeal.items.set(items)
    _record(
        req,
        action="appeal",
        from_status=req.status,
        label=f"source: {source.name}"[:50] if source else "requester",
        note=reason,
        data={"appeal": appeal.pk, "party": party, "items": [str(item.pk) for item in items]},
    )
    emails.send_appeal_received(appeal.pk)
    return appeal


def _lock_open_appeal(appeal_id: int, moderator) -> tuple[Appeal, TakedownRequest]:
    try:
        appeal = Appeal.objects.get(pk=appeal_id)
    except Appeal.DoesNotExist:
        raise TransitionError(_("There is no appeal %(id)s.") % {"id": appeal_id}) from None
    req = _lock(appeal.request_id)
    appeal = Appeal.objects.select_for_update().get(pk=appeal_id)
    if appeal.status != Appeal.Status.OPEN:
        raise TransitionError(
            _("The appeal against %(reference)s was already decided: %(status)s.")
            % {"reference": req.reference, "status": appeal.get_status_display()}
        )
    decision = _decision_event(req)
    if decision is not None and decision.actor_id == moderator.pk:
        raise TransitionError(
            _("You decided %(reference)s yourself: a moderator other than the one who decided reviews the appeal.")
            % {"reference": req.reference}
        )
    return appeal, req


def _close_appeal(appeal: Appeal, *, status: str, moderator, reason: str) -> None:
    appeal.status = status
    appeal.decided_at = timezone.now()
    appeal.decided_by = moderator
    appeal.decision_reason = reason
    appeal.save(update_fields=["status", "decided_at", "decided_by", "decision_reason"])


@transaction.atomic
def appeal_uphold(*, appeal_id: int, moderator: AbstractBaseUser, reason: str) -> Appeal:
    """Review an appeal and keep the decision; the appellant is told why."""
    _require_moderator(moderator)
    reason = _require_reason(reason)
    appeal, req = _lock_open_appeal(appeal_id, moderator)
    _check(req, "appeal_uphold", Actor.MODERATOR)
    _close_appeal(appeal, status=Appeal.Status.UPHELD, moderator=moderator, reason=reason)
    _record(
        req,
        action="appeal_uphold",
        from_status=req.status,
        actor=moderator,
        note=reason,
        data={"appeal": appeal.pk},
    )
    emails.send_appeal_outcome(appeal.pk)
    return appeal


@transaction.atomic
def appeal_reverse(
    *, appeal_id: int, moderator: AbstractBaseUser, reason: str, ground: str = TakedownRequest.Ground.COPYRIGHT
) -> Appeal:
    """Review an appeal and reverse the decision for the URLs it concerns: a requester's appeal
    withholds the URLs that were refused (on `ground`), a source's lifts this request's claims on
    its snapshots. The public record shows the reversal."""
    _require_moderator(moderator)
    reason = _require_reason(reason)
    appeal, req = _lock_open_appeal(appeal_id, moderator)
    _check(req, "appeal_reverse", Actor.MODERATOR)
    before = req.status
    items = list(appeal.items.all())
    data = {"appeal": appeal.pk}
    if appeal.party == Appeal.Party.REQUESTER:
        if ground not in TakedownRequest.Ground.values or ground == TakedownRequest.Ground.NONE:
            raise TransitionError(_("Name the legal ground of an approval."))
        items = [item for item in items if item.outcome == Outcome.REFUSED and item.snapshot_id]
        for item in items:
            item.outcome = Outcome.ACTIONED
            item.save(update_fields=["outcome"])
        data["outcomes"] = {str(item.pk): Outcome.ACTIONED for item in items}
        data["claims"] = ledger.move(items, Claim.STANDING)
        _notify_sources(req, items)
        if req.ground in ("", TakedownRequest.Ground.NONE):
            req.ground = ground
        req.status = _settled_status(req)  # a rejection reversed is an approval now
    else:
        items = [item for item in items if item.claim in (*STANDING_CLAIMS, Claim.SCHEDULED)]
        data["claims"] = ledger.move(items, Claim.REVERSED)
        active = req.items.filter(claim__in=(*STANDING_CLAIMS, Claim.SCHEDULED)).exists()
        req.status = _settled_status(req) if active else Status.REVERSED
    ledger.sync(item.snapshot_id for item in items)
    req.save(update_fields=["status", "ground"])
    _close_appeal(appeal, status=Appeal.Status.REVERSED, moderator=moderator, reason=reason)
    _record(req, action="appeal_reverse", from_status=before, actor=moderator, note=reason, data=data)
    emails.send_appeal_outcome(appeal.pk)
    return appeal


@dataclass
class TickResult:
    restored: list[str] = field(default_factory=list)  # references of disputes restored
    lapsed: list[str] = field(default_factory=list)  # references closed for want of an answer
    took_effect: list[str] = field(default_factory=list)  # references whose changes window ended
    failed: list[tuple[str, str]] = field(default_factory=list)  # (request id, error) of moves that failed


def takedown_tick(*, now=None) -> TickResult:
    """The workflow's clock: lift every disputed claim whose waiting period has ended with no
    lawsuit or complaint reported (its snapshot comes back once no other claim withholds it), and
    close (as rejected, with the standard statement of reasons) every request whose question went
    unanswered past `info_due_at`. Safe to run as often as cron likes: each move re-checks its
    request under the row lock. Each request is its own transaction: one that fails is logged and
    reported in `failed`, and the rest go on."""
    now = now or timezone.now()
    result = TickResult()
    due_disputes = (
        TakedownItem.objects.filter(claim=Claim.DISPUTED, restore_after__lte=now, lawsuit_reported_at__isnull=True)
        .values_list("request_id", flat=True)
        .distinct()
    )
    for request_id in sorted(set(due_disputes)):
        _tick_one(request_id, result, _restore_if_due, now)
    due_effects = (
        TakedownItem.objects.filter(claim=Claim.SCHEDULED, effective_at__lte=now)
        .values_list("request_id", flat=True)
        .distinct()
    )
    for request_id in sorted(set(due_effects)):
        _tick_one(request_id, result, _take_effect_if_due, now)
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
    due = list(
        req.items.filter(claim=Claim.DISPUTED, restore_after__lte=now, lawsuit_reported_at__isnull=True).order_by(
            "position"
        )
    )
    if req.status != Status.DISPUTED or not due:
        return
    _check(req, "restore_due", Actor.SYSTEM)
    _do_restore(
        req,
        due,
        actor=None,
        reason=_("The waiting period after the counter-notice ended with no lawsuit or complaint reported."),
    )
    result.restored.append(req.reference)


@transaction.atomic
def _take_effect_if_due(request_id: int, now, result: TickResult) -> None:
    """The changes window of an approval has ended: its scheduled claims take effect, except those
    on the snapshots of a source whose appeal is still open (its answer, reviewed first)."""
    req = _lock(request_id)
    held = set(req.appeals.filter(status=Appeal.Status.OPEN, party=Appeal.Party.SOURCE).values_list("items", flat=True))
    due = [
        item
        for item in req.items.filter(claim=Claim.SCHEDULED, effective_at__lte=now).order_by("position")
        if item.pk not in held
    ]
    if not due:
        return
    _check(req, "take_effect", Actor.SYSTEM)
    moved = ledger.move(due, Claim.STANDING)
    ledger.sync(item.snapshot_id for item in due)
    _record(
        req,
        action="take_effect",
        from_status=req.status,
        note=_("The changes window ended; the withholding took effect automatically."),
        data={"claims": moved},
    )
    emails.send_taken_effect(req.pk, [item.pk for item in due])
    result.took_effect.append(req.reference)


@transaction.atomic
def _lapse_if_due(request_id: int, now, result: TickResult) -> None:
    req = _lock(request_id)
    if req.status != Status.INFO_REQUESTED or not req.info_due_at or req.info_due_at > now:
        return
    _check(req, "lapse", Actor.SYSTEM)
    _do_reject(req, ground=TakedownRequest.Ground.NONE, reason=lapse_reason(req), action="lapse", actor=None)
    result.lapsed.append(req.reference)


# --- abuse ---------------------------------------------------------------------------------------


def _lock_requester(requester_id: int) -> Requester:
    try:
        return Requester.objects.select_for_update().get(pk=requester_id)
    except Requester.DoesNotExist:
        raise TransitionError(_("There is no requester %(id)s.") % {"id": requester_id}) from None


def _measure(requester: Requester, name: str, moderator) -> tuple[workflow.Action, str]:
    """Check a measure against the workflow table: the requester's state now, and the move."""
    before = workflow.requester_state(requester)

    def describe(move: workflow.Action) -> str:
        return _("Cannot %(action)s %(email)s: the requester is %(state)s.") % {
            "action": move.verb,
            "email": requester.email,
            "state": workflow.STATE_LABELS[before],
        }

    return workflow.check(name, before, Actor.MODERATOR, describe=describe), before


def _record_measure(requester: Requester, *, action: str, before: str, moderator, note: str, data=None) -> None:
    after = workflow.requester_state(requester)
    workflow.check_target(action, before, after)
    ModerationEvent.objects.create(
        requester=requester,
        actor=moderator,
        actor_label=moderator.get_username(),
        action=action,
        from_status=before,
        to_status=after,
        note=note,
        data=data or {},
    )


def _append_note(requester: Requester, note: str) -> str:
    return (requester.abuse_note + "\n" if requester.abuse_note else "") + note


@transaction.atomic
def requester_warn(*, requester_id: int, moderator: AbstractBaseUser, note: str) -> Requester:
    """Warn a requester whose notices are repeatedly unfounded (DSA art. 23(1)); an event records
    who did and why, and the requester is told by email."""
    _require_moderator(moderator)
    note = _require_reason(note)
    requester = _lock_requester(requester_id)
    _move, before = _measure(requester, "warn", moderator)
    requester.warned_at = timezone.now()
    requester.abuse_note = _append_note(requester, note)
    requester.save(update_fields=["warned_at", "abuse_note"])
    _record_measure(requester, action="warn", before=before, moderator=moderator, note=note)
    emails.send_abuse_notice(requester.pk, "warned")
    return requester


@transaction.atomic
def requester_suspend(*, requester_id: int, moderator: AbstractBaseUser, days: int, note: str) -> Requester:
    """Suspend a requester already warned, for a period (DSA art. 23(1)): new requests are refused."""
    _require_moderator(moderator)
    note = _require_reason(note)
    if days < 1:
        raise TransitionError(_("A suspension lasts at least one day."))
    requester = _lock_requester(requester_id)
    if requester.warned_at is None:
        raise TransitionError(_("Warn a requester before suspending them."))
    _move, before = _measure(requester, "suspend", moderator)
    requester.suspended_until = timezone.now() + timedelta(days=days)
    requester.abuse_note = _append_note(requester, note)
    requester.save(update_fields=["suspended_until", "abuse_note"])
    _record_measure(
        requester,
        action="suspend",
        before=before,
        moderator=moderator,
        note=note,
        data={"until": requester.suspended_until.isoformat()},
    )
    emails.send_abuse_notice(requester.pk, "suspended")
    return requester


@transaction.atomic
def requester_set_publication_delay(
    *, requester_id: int, moderator: AbstractBaseUser, days: int, note: str
) -> Requester:
    """Give a requester (an organisation, typically) a delay between each decision on their requests
    and its publication on /transparency/; it applies to decisions taken from now on."""
    _require_moderator(moderator)
    note = _require_reason(note)
    if not 0 <= days <= 365:
        raise TransitionError(_("A publication delay is between 0 and 365 days."))
    requester = _lock_requester(requester_id)
    _move, before = _measure(requester, "set_publication_delay", moderator)
    previous = requester.publication_delay_days
    requester.publication_delay_days = days
    requester.save(update_fields=["publication_delay_days"])
    _record_measure(
        requester,
        action="set_publication_delay",
        before=before,
        moderator=moderator,
        note=note,
        data={"days": days, "previous": previous},
    )
    return requester


@transaction.atomic
def requester_lift(*, requester_id: int, moderator: AbstractBaseUser, note: str) -> Requester:
    """End a suspension before its time (the warning stays on record); the requester is told."""
    _require_moderator(moderator)
    note = _require_reason(note)
    requester = _lock_requester(requester_id)
    _move, before = _measure(requester, "lift", moderator)
    requester.suspended_until = timezone.now()
    requester.abuse_note = _append_note(requester, note)
    requester.save(update_fields=["suspended_until", "abuse_note"])
    _record_measure(requester, action="lift", before=before, moderator=moderator, note=note)
    emails.send_abuse_notice(requester.pk, "lifted")
    return requester

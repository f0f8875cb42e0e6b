"""Reads of the removal workflow: the public record of decisions (/transparency/, its JSON export,
451 pages), what a counter-notice may dispute, and the moderators' reads (the timeline check).

What is public about a request is decided here and only here: the reference, the dates, the
organisation, the snapshots (keys and titles) with each one's outcome and claim, the decision, its
ground, and the free texts redacted of personal data (`publish`). Requesters' emails, phones and
postal addresses are never loaded by these queries, and their names only to be taken out of the
texts, so no template can show them by mistake.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.db.models import (
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Coalesce, TruncDate, TruncMonth
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext as _

from articles import withholding
from articles.models import Snapshot, archive_key
from articles.stories import story_siblings

from . import ledger, workflow
from .models import (
    STANDING_CLAIMS,
    Appeal,
    ClaimState,
    CounterNotice,
    ModerationEvent,
    TakedownItem,
    TakedownRequest,
    Work,
)
from .redaction import redact

Status = TakedownRequest.Status
Outcome = TakedownItem.Outcome

# The workflow table's automatic steps, and those of them that decide a request.
AUTOMATIC_STEPS = [action.name for action in workflow.ACTIONS if action.automatic]
AUTOMATIC_DECISIONS = [name for name in AUTOMATIC_STEPS if name in ("approve", "reject", "lapse")]

# The public fields of a request and of its listed URLs.
PUBLIC_REQUEST_FIELDS = (
    "id",
    "reference",
    "status",
    "organisation",
    "received_at",
    "decided_at",
    "ground",
    "decision_reason",
)
PUBLIC_ITEM_FIELDS = (
    "id",
    "request_id",
    "position",
    "outcome",
    "snapshot_id",
    "snapshot__key",
    "snapshot__title",
    "snapshot__editor_status",
    "claim",
)

# The public pages' words for a request's state and outcome. The context keeps them apart from the
# models' own labels, which the admin and the management command show.
STATES = {
    Status.SUBMITTED: pgettext_lazy("removal request", "submitted"),
    Status.IN_REVIEW: pgettext_lazy("removal request", "in review"),
    Status.INFO_REQUESTED: pgettext_lazy("removal request", "information requested"),
    Status.APPROVED: pgettext_lazy("removal request", "approved"),
    Status.REJECTED: pgettext_lazy("removal request", "rejected"),
    Status.WITHDRAWN: pgettext_lazy("removal request", "withdrawn"),
    Status.DISPUTED: pgettext_lazy("removal request", "disputed"),
    Status.RESTORED: pgettext_lazy("removal request", "restored"),
    Status.REVERSED: pgettext_lazy("removal request", "reversed on appeal"),
}

# Outcomes of requests as the transparency report counts them, in the chart's order.
OUTCOMES = {
    "approved": pgettext_lazy("removal request", "approved"),
    "partly_approved": pgettext_lazy("removal request", "approved in part"),
    "rejected": pgettext_lazy("removal request", "rejected"),
    "disputed": pgettext_lazy("removal request", "disputed by a counter-notice"),
    "restored": pgettext_lazy("removal request", "restored after a counter-notice"),
    "reversed": pgettext_lazy("removal request", "reversed on appeal"),
    "withdrawn": pgettext_lazy("removal request", "withdrawn"),
    "pending": pgettext_lazy("removal request", "not decided yet"),
}


def public_record_url(reference: str) -> str:
    """Where a decision's public record is: the transparency page narrowed to it, with its anchor
    (the list is paginated, so the anchor alone would not find an older decision)."""
    return f"{reverse('moderation:transparency')}?{urlencode({'reference': reference})}#{reference}"


@dataclass
class Disputable:
    """What a counter-notice naming `url` would dispute: the snapshot, the claims standing on it,
    or the problem that stops it."""

    url: str
    snapshot: Snapshot | None = None
    claims: list = field(default_factory=list)
    problem: str = ""


def disputable(url: str) -> Disputable:
    """The withheld snapshot an address names and the claims a counter-notice would dispute on it,
    or a message saying why none can be sent against it. A snapshot an editor hid is not in this
    archive as far as the public is concerned."""
    key = archive_key(url) if url else None
    snapshot = Snapshot.objects.with_page().filter(key=key).first() if key else None
    if snapshot is None:
        return Disputable(url, problem=str(_("%(url)s does not name a snapshot page of this site.") % {"url": url}))
    claims = list(ledger.standing_on(snapshot))
    if not claims:
        return Disputable(
            url, snapshot, problem=str(_("%(url)s is not withheld: there is nothing to dispute.") % {"url": url})
        )
    open_claims = [item for item in claims if item.claim == ClaimState.STANDING]
    if not open_claims:
        references = ", ".join(sorted({item.request.reference for item in claims}))
        return Disputable(
            url,
            snapshot,
            claims,
            problem=str(
                _(
                    "%(url)s: a counter-notice against %(references)s has already been received; the dispute is "
                    "under way."
                )
                % {"url": url, "references": references}
            ),
        )
    return Disputable(url, snapshot, open_claims)


def withholding_notice(snapshot, *, page_url: str) -> withholding.Notice:
    """What a withheld snapshot's 451 page says: each standing claim's decision and its public
    record, and where to send a counter-notice while a claim on it can still be disputed. One query,
    however many decisions withhold it (registered with articles.withholding in AppConfig.ready)."""
    claims = list(
        TakedownItem.objects.filter(snapshot=snapshot, claim__in=STANDING_CLAIMS)
        .select_related("request")
        .only(
            "claim",
            "restore_after",
            "lawsuit_reported_at",
            "request__reference",
            "request__decided_at",
            "request__ground",
        )
        .order_by("request__decided_at", "request_id")
    )
    disputable = any(item.claim == ClaimState.STANDING for item in claims)
    return withholding.Notice(
        claims=[
            withholding.Claim(
                reference=item.request.reference,
                decided_at=item.request.decided_at,
                ground=item.request.get_ground_display() if item.request.ground else "",
                record_url=public_record_url(item.request.reference),
                disputed=item.claim == ClaimState.DISPUTED,
                lawsuit_reported=item.lawsuit_reported_at is not None,
                restore_after=item.restore_after,
            )
            for item in claims
        ],
        record_url=reverse("moderation:transparency"),
        counter_url=f"{reverse('moderation:counter')}?{urlencode({'url': page_url})}" if disputable else "",
    )


def public_decisions() -> QuerySet[TakedownRequest]:
    """Decided requests (approved, rejected, disputed, restored, reversed) whose publication delay
    has passed (`publish_after`), newest decision first, each
    marked `decided_automatically` when an automatic step of the workflow table decided it (a
    request closed for an unanswered question), with their URLs and snapshots
    prefetched: one query for the page, one for all its URLs. Withdrawn requests
    were never decided and are only counted in the report."""
    items = TakedownItem.objects.select_related("snapshot").only(*PUBLIC_ITEM_FIELDS).order_by("position")
    return (
        TakedownRequest.objects.filter(status__in=TakedownRequest.DECIDED_STATUSES, publish_after__lte=timezone.now())
        .only(*PUBLIC_REQUEST_FIELDS)
        .annotate(
            decided_automatically=Exists(
                ModerationEvent.objects.filter(request=OuterRef("pk"), action__in=AUTOMATIC_DECISIONS)
            )
        )
        .prefetch_related(Prefetch("items", queryset=items))
        .order_by("-decided_at", "-id")
    )


@dataclass
class AutomaticStep:
    action: str
    label: str
    at: object


@dataclass
class PublicWork:
    position: int
    description: str  # redacted
    work_date: date | None


@dataclass
class PublicCounterNotice:
    received_at: object
    explanation: str  # redacted


def publish(requests) -> list[TakedownRequest]:
    """Give each decided request of a page its public texts, redacted (moderation.redaction) of the
    requester's own name and signature, email addresses, phone numbers and ID numbers:
    `public_reason`, `public_works` (each work's description and date) and
    `public_counter_notices` (date and explanation, redacted of the counter-notifier's name too);
    `automatic_steps`, every step the system took automatically (the workflow table's label and
    when); and `public_appeals` (who appealed, when, and the outcome). Five queries: the names, read
    here for redaction only; the works; the counter-notices; the automatic steps; the appeals."""
    requests = list(requests)
    ids = [req.pk for req in requests]
    private = {
        pk: (name, signature)
        for pk, name, signature in TakedownRequest.objects.filter(pk__in=ids).values_list("pk", "name", "signature")
    }
    by_request: dict[int, dict[int, PublicCounterNotice]] = {}
    notices = (
        CounterNotice.objects.filter(claims__request_id__in=ids)
        .annotate(request_id=F("claims__request_id"))
        .only("received_at", "explanation", "name", "signature")
        .order_by("received_at", "pk")
    )
    for notice in notices:
        by_request.setdefault(notice.request_id, {})[notice.pk] = PublicCounterNotice(
            received_at=notice.received_at,
            explanation=redact(notice.explanation, names=(notice.name, notice.signature)),
        )
    steps: dict[int, list[AutomaticStep]] = {}
    automatic = ModerationEvent.objects.filter(request_id__in=ids, action__in=AUTOMATIC_STEPS).order_by(
        "created_at", "id"
    )
    for event in automatic.only("request_id", "action", "created_at"):
        steps.setdefault(event.request_id, []).append(
            AutomaticStep(event.action, workflow.action(event.action).done, event.created_at)
        )
    appeals: dict[int, list[Appeal]] = {}
    for appeal in (
        Appeal.objects.filter(request_id__in=ids)
        .only("request_id", "party", "status", "filed_at", "decided_at")
        .order_by("filed_at", "pk")
    ):
        appeals.setdefault(appeal.request_id, []).append(appeal)
    works: dict[int, list] = {}
    for work in Work.objects.filter(request_id__in=ids).only("request_id", "position", "description", "work_date"):
        works.setdefault(work.request_id, []).append(work)
    for req in requests:
        names = private.get(req.pk, ())
        req.public_reason = redact(req.decision_reason, names=names)
        req.automatic_steps = steps.get(req.pk, [])
        req.public_appeals = appeals.get(req.pk, [])
        req.public_works = [
            PublicWork(work.position, redact(work.description, names=names), work.work_date)
            for work in sorted(works.get(req.pk, []), key=lambda work: work.position)
        ]
        req.public_counter_notices = list(by_request.get(req.pk, {}).values())
    return requests


def decision_of(req: TakedownRequest, items=None) -> str:
    """What the moderator decided: approved, approved in part (some URLs refused) or rejected.
    Reads `items`, else the request's prefetched items."""
    if req.status == Status.REJECTED:
        return "rejected"
    if any(item.outcome == Outcome.REFUSED for item in (req.items.all() if items is None else items)):
        return "partly_approved"
    return "approved"


def outcome_of(status: str, partly: bool) -> str:
    """A request's outcome for the report: its decision, or where it went after it."""
    if status in TakedownRequest.OPEN_STATUSES:
        return "pending"
    if status == Status.APPROVED:
        return "partly_approved" if partly else "approved"
    return str(status)


@dataclass
class Month:
    month: date
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass
class Report:
    months: list[Month]
    totals: dict[str, int]
    decided: int
    median_time_to_decision: timedelta | None
    urls_not_found: int = 0  # listed URLs that named nothing in this archive
    urls_already_withheld: int = 0  # listed URLs another decision withheld already when filed (duplicates)

    @property
    def received(self) -> int:
        return sum(self.totals.values())


def transparency_report() -> Report:
    """Requests received per month (Asia/Shanghai) by outcome, and the median time from receipt to
    decision. Two queries whatever the number of requests: the counts are grouped in the database,
    and the median is read as the middle row(s) of the decided requests ordered by duration."""
    refused = Exists(TakedownItem.objects.filter(request=OuterRef("pk"), outcome=Outcome.REFUSED))
    rows = (
        TakedownRequest.objects.annotate(month=TruncMonth("received_at"), partly=refused)
        .values("month", "status", "partly")
        .annotate(n=Count("pk"))
        .order_by("month")
    )
    months: dict[date, Month] = {}
    totals = dict.fromkeys(OUTCOMES, 0)
    decided = 0
    for row in rows:
        month_start = timezone.localtime(row["month"]).date() if hasattr(row["month"], "hour") else row["month"]
        month = months.setdefault(month_start, Month(month_start, dict.fromkeys(OUTCOMES, 0)))
        outcome = outcome_of(row["status"], row["partly"])
        month.counts[outcome] += row["n"]
        totals[outcome] += row["n"]
        if row["status"] in TakedownRequest.DECIDED_STATUSES:
            decided += row["n"]
    urls = TakedownItem.objects.aggregate(
        not_found=Count("pk", filter=Q(outcome=Outcome.NOT_FOUND)),
        already_withheld=Count("pk", filter=Q(withheld_when_filed=True)),
    )
    return Report(
        months=list(months.values()),
        totals=totals,
        decided=decided,
        median_time_to_decision=_median_time_to_decision(decided),
        urls_not_found=urls["not_found"],
        urls_already_withheld=urls["already_withheld"],
    )


def _median_time_to_decision(decided: int) -> timedelta | None:
    duration = ExpressionWrapper(F("decided_at") - F("received_at"), output_field=DurationField())
    middle = list(
        TakedownRequest.objects.filter(status__in=TakedownRequest.DECIDED_STATUSES, decided_at__isnull=False)
        .annotate(duration=duration)
        .order_by("duration", "id")
        .values_list("duration", flat=True)[max(decided - 1, 0) // 2 : decided // 2 + 1]
    )
    if not middle:
        return None
    return sum(middle, timedelta()) / len(middle)


# --- the moderators' reads: the timeline check ---------------------------------------------------


@dataclass
class ListedURL:
    """One URL of a request beside what the archive knows of its snapshot, so that a claim to a
    work dated after the snapshot was published or captured (a backdated "stolen article") shows."""

    item: TakedownItem
    work_date: date | None

    @property
    def snapshot(self) -> Snapshot | None:
        return self.item.snapshot

    @property
    def published_on(self) -> date | None:
        return timezone.localdate(self.snapshot.published_at) if self.snapshot else None

    @property
    def captured_on(self) -> date | None:
        return timezone.localdate(self.snapshot.captured_at) if self.snapshot else None

    @property
    def claimed_after_publication(self) -> bool:
        return bool(self.work_date and self.snapshot and self.work_date > self.published_on)

    @property
    def claimed_after_capture(self) -> bool:
        return bool(self.work_date and self.snapshot and self.work_date > self.captured_on)

    @property
    def timeline_warning(self) -> str:
        dates = {"claimed": self.work_date, "published": self.published_on, "captured": self.captured_on}
        if self.claimed_after_publication and self.claimed_after_capture:
            return (
                gettext(
                    "The requester dates the work %(claimed)s: later than this snapshot's publication at its "
                    "source (%(published)s) and later than its capture here (%(captured)s)."
                )
                % dates
            )
        if self.claimed_after_publication:
            return (
                gettext(
                    "The requester dates the work %(claimed)s: later than this snapshot's publication at its "
                    "source (%(published)s)."
                )
                % dates
            )
        if self.claimed_after_capture:
            return (
                gettext(
                    "The requester dates the work %(claimed)s: later than this snapshot's capture here (%(captured)s)."
                )
                % dates
            )
        return ""


def listed_urls(req: TakedownRequest, *, pending_only: bool = False) -> list[ListedURL]:
    items = req.items.select_related("snapshot", "work").defer("snapshot__body").order_by("position")
    if pending_only:
        items = items.filter(outcome=Outcome.PENDING)
    return [ListedURL(item=item, work_date=item.work.work_date) for item in items]


# --- the moderators' reads: risk flags and repeat infringers -----------------------------------------

# Claims that count against a source: a decision withheld (or withholds, or will) its snapshot and
# was not reversed on appeal.
INFRINGING_CLAIMS = (ClaimState.SCHEDULED, ClaimState.STANDING, ClaimState.DISPUTED, ClaimState.RESTORED)


def with_risk_flags(requests: QuerySet) -> QuerySet:
    """The queue's risk flags, each a column computed in the queue's one query:

    - `flag_backdated`: a work dated after the publication or the capture of a snapshot it lists
      (a "stolen article" that is older than the work);
    - `flag_repeat_requester`: the requester was warned, or had TAKEDOWN_REPEAT_REQUESTER_REJECTIONS
      other requests rejected;
    - `flag_large`: TAKEDOWN_LARGE_NOTICE_URLS or more URLs;
    - `flag_disputed`: a snapshot it lists was disputed by a counter-notice before;
    - `flag_repeat_infringer`: a snapshot it lists is of a source past
      TAKEDOWN_REPEAT_INFRINGER_THRESHOLD decisions."""
    items = TakedownItem.objects.filter(request=OuterRef("pk"))
    backdated = items.filter(
        Q(work__work_date__gt=TruncDate("snapshot__published_at"))
        | Q(work__work_date__gt=TruncDate("snapshot__captured_at"))
    )
    rejected = (
        TakedownRequest.objects.filter(requester=OuterRef("requester"), status=Status.REJECTED)
        .exclude(pk=OuterRef("pk"))
        .order_by()
        .values("requester")
        .annotate(n=Count("pk"))
        .values("n")
    )
    url_count = TakedownItem.objects.filter(request=OuterRef("pk")).order_by().values("request").annotate(n=Count("pk"))
    disputed_snapshots = CounterNotice.snapshots.through.objects.filter(
        snapshot_id__in=TakedownItem.objects.filter(request=OuterRef(OuterRef("pk"))).values("snapshot_id")
    )
    infringers = (
        TakedownItem.objects.filter(claim__in=INFRINGING_CLAIMS)
        .values("snapshot__source")
        .annotate(n=Count("request", distinct=True))
        .filter(n__gte=settings.TAKEDOWN_REPEAT_INFRINGER_THRESHOLD)
        .values("snapshot__source")
    )
    return requests.annotate(
        flag_backdated=Exists(backdated),
        flag_repeat_requester=Q(requester__warned_at__isnull=False)
        | Q(Exists(rejected.filter(n__gte=settings.TAKEDOWN_REPEAT_REQUESTER_REJECTIONS))),
        flag_large=Q(Exists(url_count.filter(n__gte=settings.TAKEDOWN_LARGE_NOTICE_URLS))),
        flag_disputed=Exists(disputed_snapshots),
        flag_repeat_infringer=Exists(items.filter(snapshot__source__in=infringers)),
    )


def sources_with_records(sources: QuerySet) -> QuerySet:
    """Sources with `decisions`: how many requests withheld (or withhold, or will withhold) their
    snapshots, not reversed on appeal; and `repeat_infringer` past the threshold."""
    decisions = (
        TakedownItem.objects.filter(snapshot__source=OuterRef("pk"), claim__in=INFRINGING_CLAIMS)
        .order_by()
        .values("snapshot__source")
        .annotate(n=Count("request", distinct=True))
        .values("n")
    )
    return sources.annotate(decisions=Coalesce(Subquery(decisions), 0)).annotate(
        repeat_infringer=Q(decisions__gte=settings.TAKEDOWN_REPEAT_INFRINGER_THRESHOLD)
    )


# --- the monthly report (DSA art. 15, 24) ------------------------------------------------------------


@dataclass
class MonthReport:
    """One month of decisions (by the month they were taken, Asia/Shanghai)."""

    month: date
    by_ground: dict[str, int]
    by_outcome: dict[str, int]
    by_person: int  # decided by a moderator
    automatically: int  # closed by the clock (lapses)
    median: timedelta | None  # time from receipt to decision, decisions by a person only
    p90: timedelta | None
    lapse_median: timedelta | None  # the same for automatic lapses, apart

    @property
    def decided(self) -> int:
        return self.by_person + self.automatically


def percentile(values: list[timedelta], fraction: float) -> timedelta | None:
    """The `fraction` percentile of `values`, interpolated between the two nearest ranks (as
    PostgreSQL's percentile_cont and numpy's default do)."""
    if not values:
        return None
    values = sorted(values)
    position = (len(values) - 1) * fraction
    below, above = int(position), min(int(position) + 1, len(values) - 1)
    return values[below] + (values[above] - values[below]) * (position - below)


def monthly_report(*, since: date | None = None, until: date | None = None) -> list[MonthReport]:
    """Decisions per month: counts by ground, by outcome and by who decided (a person or the clock),
    and the median and 90th percentile of the time from receipt to decision, lapses apart. Months
    from `since` to `until` (first days, inclusive), every month with decisions when not given. One
    query: the decided requests' month, ground, outcome, automation and duration."""
    refused = Exists(TakedownItem.objects.filter(request=OuterRef("pk"), outcome=Outcome.REFUSED))
    lapsed = Exists(ModerationEvent.objects.filter(request=OuterRef("pk"), action__in=AUTOMATIC_DECISIONS))
    # Every request a decision was taken on, including those withdrawn after it (counted as withdrawn).
    rows = TakedownRequest.objects.filter(decided_at__isnull=False).order_by()
    zone = timezone.get_current_timezone()
    if since:
        rows = rows.filter(decided_at__gte=datetime.combine(since, time(), zone))
    if until:
        following = (until.replace(day=28) + timedelta(days=4)).replace(day=1)
        rows = rows.filter(decided_at__lt=datetime.combine(following, time(), zone))
    months: dict[date, dict] = {}
    for decided_at, received_at, status, ground, partly, automatic in rows.annotate(
        partly=refused, automatic=lapsed
    ).values_list("decided_at", "received_at", "status", "ground", "partly", "automatic"):
        month = timezone.localtime(decided_at).date().replace(day=1)
        data = months.setdefault(
            month,
            {
                "ground": dict.fromkeys(TakedownRequest.Ground.values, 0),
                "outcome": dict.fromkeys(OUTCOMES, 0),
                "person": [],
                "lapse": [],
            },
        )
        data["ground"][ground or TakedownRequest.Ground.NONE] += 1
        data["outcome"][outcome_of(status, partly)] += 1
        data["lapse" if automatic else "person"].append(decided_at - received_at)
    return [
        MonthReport(
            month=month,
            by_ground=data["ground"],
            by_outcome={key: count for key, count in data["outcome"].items() if key != "pending"},
            by_person=len(data["person"]),
            automatically=len(data["lapse"]),
            median=percentile(data["person"], 0.5),
            p90=percentile(data["person"], 0.9),
            lapse_median=percentile(data["lapse"], 0.5),
        )
        for month, data in sorted(months.items())
    ]


def story_siblings_of(req: TakedownRequest) -> list:
    """For the moderators' page of a request: the other snapshots, in any state, of the stories of
    its listed snapshots, which may copy the same work (`takedown_add_story_siblings` adds them)."""
    return story_siblings(snapshot_ids=req.items.filter(snapshot__isnull=False).values_list("snapshot", flat=True))

"""Reads for the public record of removal decisions (/transparency/, its JSON export, 451 pages).

What is public about a request is decided here and only here: the reference, the dates, the
organisation, the snapshots (keys and titles) with each one's outcome, the decision, its ground and
the statement of reasons. Requesters' names, emails, phones and postal addresses are never loaded
by these queries, so no template can show them by mistake.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta
from urllib.parse import urlencode

from django.db.models import Count, DurationField, Exists, ExpressionWrapper, F, OuterRef, Prefetch, QuerySet
from django.db.models.functions import TruncMonth
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import pgettext_lazy

from .models import ModerationEvent, TakedownItem, TakedownRequest

Status = TakedownRequest.Status
Outcome = TakedownItem.Outcome

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
    "withheld_by_id",
    "withheld_by__reference",
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
}

# Outcomes of requests as the transparency report counts them, in the chart's order.
OUTCOMES = {
    "approved": pgettext_lazy("removal request", "approved"),
    "partly_approved": pgettext_lazy("removal request", "approved in part"),
    "rejected": pgettext_lazy("removal request", "rejected"),
    "disputed": pgettext_lazy("removal request", "disputed by a counter-notice"),
    "restored": pgettext_lazy("removal request", "restored after a counter-notice"),
    "withdrawn": pgettext_lazy("removal request", "withdrawn"),
    "pending": pgettext_lazy("removal request", "not decided yet"),
}


def public_record_url(reference: str) -> str:
    """Where a decision's public record is: the transparency page narrowed to it, with its anchor
    (the list is paginated, so the anchor alone would not find an older decision)."""
    return f"{reverse('moderation:transparency')}?{urlencode({'reference': reference})}#{reference}"


def public_decisions() -> QuerySet[TakedownRequest]:
    """Decided requests (approved, rejected, disputed, restored), newest decision first, each
    marked `lapsed` when it was closed for an unanswered question, with their URLs and snapshots
    prefetched: one query for the page, one for all its URLs. Withdrawn requests
    were never decided and are only counted in the report."""
    items = (
        TakedownItem.objects.select_related("snapshot", "withheld_by").only(*PUBLIC_ITEM_FIELDS).order_by("position")
    )
    return (
        TakedownRequest.objects.filter(status__in=TakedownRequest.DECIDED_STATUSES)
        .only(*PUBLIC_REQUEST_FIELDS)
        .annotate(lapsed=Exists(ModerationEvent.objects.filter(request=OuterRef("pk"), action="lapse")))
        .prefetch_related(Prefetch("items", queryset=items))
        .order_by("-decided_at", "-id")
    )


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
    return Report(
        months=list(months.values()),
        totals=totals,
        decided=decided,
        median_time_to_decision=_median_time_to_decision(decided),
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

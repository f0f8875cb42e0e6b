"""The withholding ledger: which claims stand on which snapshots, and the snapshots that follow.

Each listed URL a moderator actions becomes a claim of its request on its snapshot
(`TakedownItem.claim`). A snapshot is withheld while at least one claim on it stands (standing or
disputed) and public when none does and its editor's status is published. Requests,
counter-notices, appeals, withdrawals and restorations change claims, never a snapshot's status:
after changing claims, a service calls `sync()` with their snapshots, in the same transaction, and
the snapshots' `withheld` flag (and so their public `status`) is recomputed from the claims.

Locking: a service locks its request rows first (in primary-key order), writes its claims, then
`sync()` locks the snapshot rows (in primary-key order) and only then reads the claims on them.
Under PostgreSQL's READ COMMITTED every statement sees what committed before it, so whichever of two
transactions touching one snapshot takes its row lock second recomputes from both sets of claims;
SQLite has a single writer. Editors lock the same snapshot rows (articles.services).
"""

from collections.abc import Iterable

from django.utils import timezone

from articles.models import Snapshot
from articles.purge import keys_of, purge_enqueue

from .models import LIFTED_CLAIMS, STANDING_CLAIMS, ClaimState, TakedownItem


def sync(snapshot_ids: Iterable[int | None]) -> list[int]:
    """Recompute `withheld` for these snapshots from the claims on them, under their row locks.
    Returns the ids of those whose flag changed."""
    ids = sorted({pk for pk in snapshot_ids if pk is not None})
    if not ids:
        return []
    snapshots = list(Snapshot.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
    claimed = set(
        TakedownItem.objects.filter(snapshot_id__in=ids, claim__in=STANDING_CLAIMS).values_list(
            "snapshot_id", flat=True
        )
    )
    changed = []
    for snapshot in snapshots:
        withheld = snapshot.pk in claimed
        if snapshot.withheld != withheld:
            snapshot.withheld = withheld
            snapshot.save(update_fields=["withheld", "status", "updated_at"])  # save() derives status
            changed.append(snapshot)
    if changed:
        # The pages that show them, on a CDN in front of the site (articles.purge).
        purge_enqueue(keys_of((snapshot.key, snapshot.category_id) for snapshot in changed))
    return [snapshot.pk for snapshot in changed]


def move(items: Iterable[TakedownItem], to: str, *, now=None, **fields) -> dict[str, str]:
    """Put claims into state `to`, stamping when they took effect or were lifted, and save them.
    Returns {item id: new state} for the event that records the move (its `data`). The caller
    syncs the snapshots afterwards."""
    now = now or timezone.now()
    moved = {}
    for item in items:
        item.claim = to
        if to in STANDING_CLAIMS and (item.effective_at is None or item.effective_at > now):
            item.effective_at = now
        if to in LIFTED_CLAIMS:
            item.lifted_at = now
        if to != ClaimState.DISPUTED:
            item.restore_after = None
            item.lawsuit_reported_at = None
        for name, value in fields.items():
            setattr(item, name, value)
        item.save(update_fields=["claim", "effective_at", "lifted_at", "restore_after", "lawsuit_reported_at", *fields])
        moved[str(item.pk)] = to
    return moved


def standing_on(snapshot: Snapshot):
    """The claims that withhold `snapshot` now, oldest decision first, with their requests."""
    return (
        TakedownItem.objects.filter(snapshot=snapshot, claim__in=STANDING_CLAIMS)
        .select_related("request")
        .order_by("request__decided_at", "request_id")
    )

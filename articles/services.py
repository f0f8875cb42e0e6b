"""Writes with rules on snapshots. The admin and management commands call these, never `update()` directly."""

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from simple_history.utils import bulk_update_with_history

from .models import Category, Snapshot


@dataclass(frozen=True)
class BulkResult:
    changed: int
    unchanged: int
    refused: int  # withheld snapshots, which only the moderation workflow may move


def _ensure_history_baseline(snapshots: list[Snapshot]) -> None:
    """Give snapshots that have no history yet (demo data, fixtures) a record of their current
    state first, so the first change an editor makes can be reverted."""
    with_history = set(
        Snapshot.history.filter(id__in=[s.pk for s in snapshots]).values_list("id", flat=True).distinct()
    )
    for snapshot in snapshots:
        if snapshot.pk not in with_history:
            Snapshot.history.model.objects.create(
                history_type="+",
                history_change_reason="baseline",
                history_date=snapshot.updated_at,
                **{
                    field.attname: getattr(snapshot, field.attname)
                    for field in Snapshot._meta.fields
                    if field.attname != "updated_at"
                },
            )


def snapshot_ensure_history(*, snapshot: Snapshot) -> None:
    """Record the stored state of `snapshot` as its first history entry if it has none."""
    stored = Snapshot.objects.filter(pk=snapshot.pk).first()
    if stored is not None:
        _ensure_history_baseline([stored])


@transaction.atomic
def snapshot_set_status(*, snapshot_ids: list[int], status: str, actor: AbstractBaseUser) -> BulkResult:
    """Publish or hide snapshots as an editor. Withheld snapshots are refused and left alone:
    they return only through the moderation workflow."""
    if status not in Snapshot.EDITOR_STATUSES:
        raise ValueError(f"Editors may only set {', '.join(Snapshot.EDITOR_STATUSES)}, not {status!r}.")
    snapshots = list(Snapshot.objects.select_for_update().filter(pk__in=snapshot_ids).order_by("pk"))
    refused = [s for s in snapshots if s.status == Snapshot.Status.WITHHELD]
    to_change = [s for s in snapshots if s.status not in (Snapshot.Status.WITHHELD, status)]
    _ensure_history_baseline(to_change)
    for snapshot in to_change:
        snapshot.status = status
    bulk_update_with_history(
        to_change, Snapshot, ["status"], default_user=actor, default_change_reason=f"status: {status}"
    )
    return BulkResult(
        changed=len(to_change), unchanged=len(snapshots) - len(to_change) - len(refused), refused=len(refused)
    )


@transaction.atomic
def snapshot_move_to_category(*, snapshot_ids: list[int], category: Category, actor: AbstractBaseUser) -> BulkResult:
    """Move snapshots to another category, keeping a history entry for each one moved."""
    snapshots = list(Snapshot.objects.select_for_update().filter(pk__in=snapshot_ids).order_by("pk"))
    to_change = [s for s in snapshots if s.category_id != category.pk]
    _ensure_history_baseline(to_change)
    for snapshot in to_change:
        snapshot.category = category
    bulk_update_with_history(
        to_change, Snapshot, ["category"], default_user=actor, default_change_reason=f"category: {category.name}"
    )
    return BulkResult(changed=len(to_change), unchanged=len(snapshots) - len(to_change), refused=0)

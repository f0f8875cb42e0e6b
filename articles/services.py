"""Writes with rules on snapshots. The admin and management commands call these, never `update()` directly."""

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import DatabaseError, transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone
from django.utils.text import slugify
from simple_history.utils import bulk_update_with_history

from .bulk import insert_rows as _insert
from .importing import Capture, Rejection
from .models import Category, RelatedLink, Snapshot, Source
from .purge import category_key, keys_of, purge_enqueue
from .statistics import statistics_refresh
from .stories import analysis_enqueue


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
                    if field.attname not in ("updated_at", "story_id")  # neither is in the history
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
        raise ValueError(f"Editors may only set {' or '.join(Snapshot.EDITOR_STATUSES)}, not '{status}'.")
    snapshots = list(Snapshot.objects.select_for_update().filter(pk__in=snapshot_ids).order_by("pk"))
    refused = [s for s in snapshots if s.status == Snapshot.Status.WITHHELD]
    to_change = [s for s in snapshots if s.status not in (Snapshot.Status.WITHHELD, status)]
    _ensure_history_baseline(to_change)
    for snapshot in to_change:
        snapshot.status = status
    bulk_update_with_history(
        to_change, Snapshot, ["status"], default_user=actor, default_change_reason=f"status: {status}"
    )
    purge_enqueue(keys_of((s.key, s.category_id) for s in to_change) if to_change else ())
    return BulkResult(
        changed=len(to_change), unchanged=len(snapshots) - len(to_change) - len(refused), refused=len(refused)
    )


@transaction.atomic
def snapshot_move_to_category(*, snapshot_ids: list[int], category: Category, actor: AbstractBaseUser) -> BulkResult:
    """Move snapshots to another category, keeping a history entry for each one moved."""
    snapshots = list(Snapshot.objects.select_for_update().filter(pk__in=snapshot_ids).order_by("pk"))
    to_change = [s for s in snapshots if s.category_id != category.pk]
    moved_from = keys_of((s.key, s.category_id) for s in to_change) if to_change else set()
    _ensure_history_baseline(to_change)
    for snapshot in to_change:
        snapshot.category = category
    bulk_update_with_history(
        to_change, Snapshot, ["category"], default_user=actor, default_change_reason=f"category: {category.name}"
    )
    purge_enqueue(moved_from | ({category_key(category.pk)} if to_change else set()))
    return BulkResult(changed=len(to_change), unchanged=len(snapshots) - len(to_change), refused=0)


# --- imports ---------------------------------------------------------------------------------


@dataclass
class ImportStats:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0

    @property
    def total(self) -> int:
        return self.new + self.updated + self.unchanged + self.rejected

    def add(self, other: "ImportStats") -> None:
        self.new += other.new
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.rejected += other.rejected


CAPTURED_FIELDS = [
    "title",
    "category",
    "source",
    "reprinted_from",
    "byline",
    "body",
    "published_at",
    "captured_at",
    "collected_by",
    "original_url",
    "content_hash",
    "updated_at",
]


def _ids_by_name(model, names: set[str]) -> dict[str, int]:
    """Ids of categories or sources by name, creating those seen for the first time."""
    found = dict(model.objects.filter(name__in=names).values_list("name", "id"))
    for name in sorted(names - found.keys()):
        if model is Category:
            found[name] = _create_category(name).pk
        else:
            found[name] = model.objects.create(name=name).pk
    return found


def _create_category(name: str) -> Category:
    limit = Category._meta.get_field("slug").max_length
    base = (slugify(name, allow_unicode=True) or "category")[:limit]
    slug, n = base, 1
    while Category.objects.filter(slug=slug).exists():
        n += 1
        suffix = f"-{n}"
        slug = base[: limit - len(suffix)] + suffix
    return Category.objects.create(name=name, slug=slug)


def _link_rows(snapshot_id: int, capture: Capture, targets: dict[str, int]) -> list[dict]:
    return [
        {
            "snapshot_id": snapshot_id,
            "position": position,
            "title": link.title,
            "excerpt": link.excerpt,
            "date": link.date,
            "url": link.stored_url,
            "target_key": link.target_key,
            "target_id": targets.get(link.target_key),
        }
        for position, link in enumerate(capture.related, start=1)
    ]


# Keys per `IN (...)` list in the import's lookups. Every list has exactly this many parameters (the
# last one of a batch padded with strings no key can equal), so each lookup has one SQL text: the
# sqlite3 module caches up to 128 prepared statements, and one per distinct list length made an
# import of 100,000 snapshots hold 750 MB.
KEYS_PER_LOOKUP = 500


def _key_chunks(keys: Iterable[str]) -> Iterator[list[str]]:
    keys = list(keys)
    for start in range(0, len(keys), KEYS_PER_LOOKUP):
        chunk = keys[start : start + KEYS_PER_LOOKUP]
        yield chunk + [f"-{n}" for n in range(KEYS_PER_LOOKUP - len(chunk))]


def _pks_by_key(keys: Iterable[str]) -> dict[str, int]:
    return {
        key: pk
        for chunk in _key_chunks(keys)
        for key, pk in Snapshot.objects.filter(key__in=chunk).values_list("key", "pk")
    }


@transaction.atomic
def snapshots_import_batch(
    *, captures: list[Capture], dry_run: bool = False, simulated: dict[str, str] | None = None
) -> ImportStats:
    """Write one batch of valid captures, whole records only: new keys are created, changed captures
    update their snapshot (the earlier version stays in its history), unchanged ones are left alone.
    A snapshot's status is never touched, so an import cannot publish what an editor hid or a
    moderator withheld. Related links find their archived targets, in either direction."""
    stats = ImportStats()
    by_key = {capture.key: capture for capture in captures}
    if len(by_key) != len(captures):
        raise ValueError("a batch must not hold the same key twice")
    existing = {
        key: (pk, content_hash)
        for chunk in _key_chunks(by_key)
        for key, pk, content_hash in Snapshot.objects.filter(key__in=chunk).values_list("key", "pk", "content_hash")
    }
    hashes = {key: capture.content_hash for key, capture in by_key.items()}
    if simulated is not None:
        # A dry run writes nothing, so what earlier batches "wrote" is remembered here instead.
        for key in by_key:
            if key in simulated:
                existing[key] = (None, simulated[key])
            simulated[key] = hashes[key]
    new_keys = [key for key in by_key if key not in existing]
    changed_keys = [key for key in by_key if key in existing and existing[key][1] != hashes[key]]
    stats.new, stats.updated = len(new_keys), len(changed_keys)
    stats.unchanged = len(by_key) - stats.new - stats.updated
    if dry_run or not (new_keys or changed_keys):
        return stats

    written = [by_key[key] for key in new_keys + changed_keys]
    categories = _ids_by_name(Category, {c.category for c in written})
    sources = _ids_by_name(Source, {c.source for c in written})
    now = timezone.now()

    def captured_values(capture: Capture, key: str) -> dict:
        return {
            "title": capture.title,
            "category_id": categories[capture.category],
            "source_id": sources[capture.source],
            "reprinted_from": capture.reprinted_from,
            "byline": capture.byline,
            "body": capture.body,
            "published_at": capture.published_at,
            "captured_at": capture.captured_at,
            "collected_by": capture.collected_by,
            "original_url": capture.original_url,
            "content_hash": hashes[key],
            "updated_at": now,
        }

    if new_keys:
        _insert(
            Snapshot,
            [
                {"key": key, "created_at": now, "status": Snapshot.Status.PUBLISHED, "is_featured": False}
                | captured_values(by_key[key], key)
                for key in new_keys
            ],
        )
    snapshot_ids = _pks_by_key(new_keys)

    if changed_keys:
        changed = [
            snapshot
            for chunk in _key_chunks(changed_keys)
            for snapshot in Snapshot.objects.select_for_update().filter(key__in=chunk)
        ]
        purge_keys = keys_of((s.key, s.category_id) for s in changed)  # with the categories before the change
        _ensure_history_baseline(changed)
        for snapshot in changed:
            for name, value in captured_values(by_key[snapshot.key], snapshot.key).items():
                setattr(snapshot, name, value)
            snapshot_ids[snapshot.key] = snapshot.pk
        bulk_update_with_history(
            changed, Snapshot, CAPTURED_FIELDS, default_change_reason="import: the capture changed"
        )
        RelatedLink.objects.filter(snapshot__in=changed).delete()
        purge_enqueue(purge_keys | keys_of((s.key, s.category_id) for s in changed))

    wanted = {link.target_key for capture in written for link in capture.related if link.target_key}
    targets = _pks_by_key(wanted)
    _insert(
        RelatedLink,
        [row for key in new_keys + changed_keys for row in _link_rows(snapshot_ids[key], by_key[key], targets)],
    )
    if new_keys:
        # Links imported earlier that were waiting for one of these snapshots now point at it.
        for chunk in _key_chunks(new_keys):
            RelatedLink.objects.filter(target__isnull=True, target_key__in=chunk).update(
                target_id=Subquery(Snapshot.objects.filter(key=OuterRef("target_key")).values("pk")[:1])
            )
        # New snapshots appear in lists and in their categories (and in links that waited for them).
        purge_enqueue(keys_of((key, categories[by_key[key].category]) for key in new_keys))
    # Stories and related news are computed by the worker: one queued task per batch here.
    analysis_enqueue(snapshot_ids=[snapshot_ids[key] for key in new_keys + changed_keys])
    return stats


def snapshots_import(
    *,
    records: Iterable[Capture | Rejection],
    dry_run: bool = False,
    batch_size: int | None = None,
    on_rejection: Callable[[Rejection], None] = lambda rejection: None,
    on_batch: Callable[[ImportStats], None] = lambda stats: None,
) -> ImportStats:
    """Import a stream of records batch by batch (see `snapshots_import_batch`). A rejected record is
    reported and skipped; the good ones around it are still written. A batch the database refuses
    as a whole is retried record by record, so only the offending record is rejected."""
    batch_size = batch_size or settings.IMPORT_BATCH_SIZE
    stats = ImportStats()
    # Only a dry run needs this memory (a key and a hash per snapshot seen); a real run asks the database.
    simulated: dict[str, str] | None = {} if dry_run else None
    batch: dict[str, Capture] = {}

    def reject(rejection: Rejection) -> None:
        stats.rejected += 1
        on_rejection(rejection)

    def flush() -> None:
        if not batch:
            return
        captures = list(batch.values())
        batch.clear()
        try:
            stats.add(snapshots_import_batch(captures=captures, dry_run=dry_run, simulated=simulated))
        except DatabaseError:
            for capture in captures:
                try:
                    stats.add(snapshots_import_batch(captures=[capture], dry_run=dry_run, simulated=simulated))
                except DatabaseError as error:
                    reject(Rejection(capture.origin, f"the database refused it: {error}".strip()))
        on_batch(stats)

    for record in records:
        if isinstance(record, Rejection):
            reject(record)
            continue
        if record.key in batch:
            # The same snapshot twice in a row of input: write the first before reading the second.
            flush()
        batch[record.key] = record
        if len(batch) >= batch_size:
            flush()
    flush()
    if not dry_run:
        statistics_refresh(changed=stats.new + stats.updated)
    return stats

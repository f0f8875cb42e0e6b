"""Writes with rules on snapshots. The admin and management commands call these, never `update()` directly."""

from collections.abc import Callable, Iterable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import DatabaseError, router, transaction
from django.db.models import F, OuterRef, Subquery
from django.db.models.lookups import IsNull
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.text import slugify
from simple_history.utils import bulk_update_with_history

from .bulk import ids_by_key, sqlite_bulk_session
from .bulk import insert_rows as _insert
from .bulk import key_chunks as _key_chunks
from .importing import Capture, InvalidRecord, Origin, Rejection, RelatedCapture, Skipped
from .models import Category, RelatedLink, Snapshot, SnapshotCapture, Source, derive_status
from .purge import category_key, keys_of, purge_enqueue
from .statistics import statistics_refresh
from .stories import analysis_enqueue
from .warc import StoredRecord, WarcStore


@dataclass(frozen=True)
class BulkResult:
    changed: int
    unchanged: int
    # Of those changed, how many a removal decision withholds: they stay withheld (not public) until
    # the moderation workflow lifts it, and then take the state the editor gave them.
    withheld: int = 0


def _ensure_history_baseline(snapshots: list[Snapshot]) -> None:
    """Give snapshots that have no history yet (demo data, fixtures) a record of their current
    state first, so the first change an editor makes can be reverted."""
    kept = {field.attname for field in Snapshot.history.model._meta.fields}
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
                    if field.attname in kept
                },
            )


def snapshot_ensure_history(*, snapshot: Snapshot) -> None:
    """Record the stored state of `snapshot` as its first history entry if it has none."""
    stored = Snapshot.objects.filter(pk=snapshot.pk).first()
    if stored is not None:
        _ensure_history_baseline([stored])


@transaction.atomic
def snapshot_set_status(*, snapshot_ids: list[int], status: str, actor: AbstractBaseUser) -> BulkResult:
    """Publish or hide snapshots as an editor: their editor's status. Whether a removal decision
    withholds a snapshot is the withholding ledger's, not the editor's: a withheld snapshot an
    editor publishes stays withheld, and is public only once no decision withholds it."""
    if status not in Snapshot.EDITOR_STATUSES:
        raise ValueError(f"Editors may only set {' or '.join(Snapshot.EDITOR_STATUSES)}, not '{status}'.")
    snapshots = list(Snapshot.objects.select_for_update().filter(pk__in=snapshot_ids).order_by("pk"))
    to_change = [s for s in snapshots if s.editor_status != status]
    _ensure_history_baseline(to_change)
    for snapshot in to_change:
        snapshot.editor_status = status
        snapshot.status = derive_status(status, snapshot.withheld)
    bulk_update_with_history(
        to_change, Snapshot, ["editor_status", "status"], default_user=actor, default_change_reason=f"status: {status}"
    )
    purge_enqueue(keys_of((s.key, s.category_id) for s in to_change) if to_change else ())
    return BulkResult(
        changed=len(to_change),
        unchanged=len(snapshots) - len(to_change),
        withheld=sum(1 for s in to_change if s.withheld),
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
    return BulkResult(changed=len(to_change), unchanged=len(snapshots) - len(to_change))


# --- imports ---------------------------------------------------------------------------------


@dataclass
class ImportStats:
    new: int = 0
    updated: int = 0  # a new capture of a known key (another version)
    unchanged: int = 0
    rejected: int = 0
    skipped: int = 0  # records passed over on purpose (a WARC file's requests, redirects, images)

    @property
    def total(self) -> int:
        return self.new + self.updated + self.unchanged + self.rejected

    def add(self, other: "ImportStats") -> None:
        self.new += other.new
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.rejected += other.rejected
        self.skipped += other.skipped

    def summary(self, *, elapsed: float, dry_run: bool = False) -> str:
        """The line `import_snapshots` ends with (and an uploaded import's summary in the admin)."""
        accepted = self.new + self.updated + self.unchanged
        skipped = f", skipped {self.skipped:,}" if self.skipped else ""
        return (
            f"{'dry run, nothing written: ' if dry_run else ''}"
            f"new {self.new:,}, updated {self.updated:,}, unchanged {self.unchanged:,}, "
            f"rejected {self.rejected:,}{skipped} in {elapsed:.1f} s ({accepted / max(elapsed, 1e-9):,.0f} snapshots/s)"
        )


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


def _pks_by_key(keys: Iterable[str]) -> dict[str, int]:
    return ids_by_key(Snapshot, keys)


def _version_row(snapshot_id: int, capture: Capture, stored: StoredRecord | None) -> SnapshotCapture:
    return SnapshotCapture(
        snapshot_id=snapshot_id,
        captured_at=capture.captured_at,
        collected_by=capture.collected_by,
        content_hash=capture.version_hash,
        title=capture.title,
        category=capture.category,
        source=capture.source,
        reprinted_from=capture.reprinted_from,
        byline=capture.byline,
        body=capture.body,
        published_at=capture.published_at,
        original_url=capture.original_url,
        related=[
            {
                "title": link.title,
                "excerpt": link.excerpt,
                "date": link.date.isoformat() if link.date else None,
                "url": link.url,
            }
            for link in capture.related
        ],
        final_url=capture.final_url[:2000],
        warc_file=stored.file if stored else "",
        warc_offset=stored.offset if stored else None,
        warc_length=stored.length if stored else None,
    )


def _row_as_capture(snapshot: Snapshot) -> Capture:
    """What a snapshot row shows, as a Capture: its first version, made when a second one arrives.
    (A key captured once from JSON Lines has no SnapshotCapture row of its own.)"""
    links = sorted(snapshot.related_links.all(), key=lambda link: (link.position, link.id))
    return Capture(
        origin=Origin("archive", 0),
        title=snapshot.title,
        category=snapshot.category.name,
        source=snapshot.source.name,
        reprinted_from=snapshot.reprinted_from,
        byline=snapshot.byline,
        body=snapshot.body,
        published_at=snapshot.published_at,
        captured_at=snapshot.captured_at,
        collected_by=snapshot.collected_by,
        original_url=snapshot.original_url,
        related=[
            RelatedCapture(
                title=link.title,
                excerpt=link.excerpt,
                date=link.date,
                url=link.url or (f"{settings.SITE_URL}/detail/{link.target_key}.html" if link.target_key else ""),
            )
            for link in links
        ],
    )


def version_as_capture(version: SnapshotCapture) -> Capture:
    """A stored capture as the importer's Capture, to show it on its snapshot again."""
    return Capture(
        origin=Origin("archive", 0),
        title=version.title,
        category=version.category,
        source=version.source,
        reprinted_from=version.reprinted_from,
        byline=version.byline,
        body=version.body,
        published_at=version.published_at,
        captured_at=version.captured_at,
        collected_by=version.collected_by,
        original_url=version.original_url,
        related=[
            RelatedCapture(
                title=link.get("title") or "",
                excerpt=link.get("excerpt") or "",
                date=parse_datetime(link["date"]) if link.get("date") else None,
                url=link.get("url") or "",
            )
            for link in version.related
        ],
    )


def _show(snapshots: list[Snapshot], by_key: dict[str, Capture], *, reason: str, actor=None) -> None:
    """Make each snapshot row show the capture given for its key: its captured fields, content hash
    and related links. The state it leaves is kept in the snapshot's history."""
    if not snapshots:
        return
    captures = [by_key[snapshot.key] for snapshot in snapshots]
    categories = _ids_by_name(Category, {c.category for c in captures})
    sources = _ids_by_name(Source, {c.source for c in captures})
    now = timezone.now()
    purge_keys = keys_of((s.key, s.category_id) for s in snapshots)  # with the categories before the change
    _ensure_history_baseline(snapshots)
    for snapshot in snapshots:
        for name, value in _captured_values(by_key[snapshot.key], categories, sources, now).items():
            setattr(snapshot, name, value)
    bulk_update_with_history(snapshots, Snapshot, CAPTURED_FIELDS, default_user=actor, default_change_reason=reason)
    RelatedLink.objects.filter(snapshot__in=snapshots).delete()
    _write_links({s.key: s.pk for s in snapshots}, by_key)
    purge_enqueue(purge_keys | keys_of((s.key, s.category_id) for s in snapshots))
    # The body or title shown may be another: its story and related news (by the worker).
    analysis_enqueue(snapshot_ids=[s.pk for s in snapshots])


def _captured_values(capture: Capture, categories: dict, sources: dict, now) -> dict:
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
        "content_hash": capture.content_hash,
        "updated_at": now,
    }


def _write_links(snapshot_ids: dict[str, int], by_key: dict[str, Capture]) -> None:
    wanted = {link.target_key for key in snapshot_ids for link in by_key[key].related if link.target_key}
    targets = _pks_by_key(wanted)
    _insert(
        RelatedLink,
        [row for key, pk in snapshot_ids.items() for row in _link_rows(pk, by_key[key], targets)],
    )


def _stored_hashes(keys: Iterable[str]) -> dict[str, tuple[int | None, str]]:
    """The id and content hash of each of `keys` the archive already holds."""
    return {
        key: (pk, content_hash)
        for chunk in _key_chunks(keys)
        for key, pk, content_hash in Snapshot.objects.filter(key__in=chunk).values_list("key", "pk", "content_hash")
    }


def _simulate(existing: dict, by_key: dict[str, Capture], simulated: dict[str, str]) -> None:
    """A dry run writes nothing, so what earlier batches "wrote" is remembered in `simulated` instead."""
    for key, capture in by_key.items():
        if key in simulated:
            existing[key] = (None, simulated[key])
        simulated[key] = capture.content_hash


@dataclass
class _Recaptures:
    """Captures of known keys that say something new: the snapshots that get another version."""

    added: list[Snapshot]
    # Rows that become their snapshot's first version (a key captured once from JSON Lines has none).
    first_versions: list[tuple[int, Capture]]
    # The time of each recaptured snapshot's newest capture so far.
    newest: dict[int, object]


def _recaptures(differing: list[str], by_key: dict[str, Capture]) -> _Recaptures:
    """Of the known keys whose capture differs from what their snapshot shows, those that make a new
    version, unless an earlier capture said the same. Their rows are locked."""
    found = _Recaptures(added=[], first_versions=[], newest={})
    if not differing:
        return found
    recaptured = [
        snapshot
        for chunk in _key_chunks(differing)
        for snapshot in Snapshot.objects.select_for_update()
        .select_related("category", "source")
        .prefetch_related("related_links")
        .filter(key__in=chunk)
    ]
    versions: dict[int, list[tuple[str, object]]] = {}
    for snapshot_id, content_hash, captured_at in SnapshotCapture.objects.filter(snapshot__in=recaptured).values_list(
        "snapshot_id", "content_hash", "captured_at"
    ):
        versions.setdefault(snapshot_id, []).append((content_hash, captured_at))
    for snapshot in recaptured:
        capture = by_key[snapshot.key]
        known = versions.get(snapshot.pk)
        if not known:
            row = _row_as_capture(snapshot)
            known = [(row.version_hash, snapshot.captured_at)]
            if capture.version_hash != row.version_hash:
                found.first_versions.append((snapshot.pk, row))
        if capture.version_hash in {content_hash for content_hash, _ in known}:
            continue
        snapshot.capture_count = len(known) + 1
        found.newest[snapshot.pk] = max(captured_at for _, captured_at in known)
        found.added.append(snapshot)
    return found


def _store_raw(captures: list[Capture]) -> dict[str, StoredRecord]:
    """Write the raw records that came with `captures` to the WARC store (flushed), by key: before
    any row that points at them is written."""
    raw_captures = [capture for capture in captures if capture.raw]
    return dict(
        zip(
            (c.key for c in raw_captures),
            WarcStore().append([c.raw for c in raw_captures]),
            strict=True,
        )
    )


def _insert_snapshots(
    new_keys: list[str], by_key: dict[str, Capture], *, new_status: str
) -> tuple[dict[str, int], dict[str, int]]:
    """Insert the snapshots of new keys (in `new_status`). Returns their ids by key and the ids of
    their categories by name."""
    written = [by_key[key] for key in new_keys]
    categories = _ids_by_name(Category, {c.category for c in written})
    sources = _ids_by_name(Source, {c.source for c in written})
    now = timezone.now()
    if new_keys:
        _insert(
            Snapshot,
            [
                {
                    "key": key,
                    "created_at": now,
                    "status": new_status,
                    "editor_status": new_status,
                    "is_featured": False,
                    "capture_count": 1,
                }
                | _captured_values(by_key[key], categories, sources, now)
                for key in new_keys
            ],
        )
    return _pks_by_key(new_keys), categories


def _link_waiting(new_keys: list[str], by_key: dict[str, Capture], categories: dict[str, int]) -> None:
    """Point links imported earlier that were waiting for one of these new snapshots at it, and
    purge the lists the new snapshots appear in."""
    for chunk in _key_chunks(new_keys):
        # Found by their target keys. `target_id + 0`: on `target_id IS NULL` alone SQLite walked
        # the target index over every external link in the archive, once per batch (3.5 million
        # entries per 500 keys at a million snapshots: an import slowed as the archive grew).
        RelatedLink.objects.filter(IsNull(F("target_id") + 0, True), target_key__in=chunk).update(
            target_id=Subquery(Snapshot.objects.filter(key=OuterRef("target_key")).values("pk")[:1])
        )
    # New snapshots appear in lists and in their categories (and in links that waited for them).
    purge_enqueue(keys_of((key, categories[by_key[key].category]) for key in new_keys))


@transaction.atomic
def snapshots_import_batch(
    *,
    captures: list[Capture],
    dry_run: bool = False,
    simulated: dict[str, str] | None = None,
    new_status: str = Snapshot.Status.PUBLISHED,
) -> ImportStats:
    """Write one batch of valid captures, whole records only.

    A new key becomes a snapshot (in `new_status`). A capture of a known key that says something
    new (by content hash, whatever its capture time) is kept as another version (SnapshotCapture),
    and the snapshot shows it if it is the newest and no editor pinned another; the row's earlier
    state stays in its history. A capture whose content the archive already holds changes nothing.
    A snapshot's status is never touched, so an import cannot publish what an editor hid or a
    moderator withheld. Raw HTTP responses that came with the captures are written to the WARC
    store first. Related links find their archived targets, in either direction."""
    stats = ImportStats()
    by_key = {capture.key: capture for capture in captures}
    if len(by_key) != len(captures):
        raise ValueError("a batch must not hold the same key twice")
    existing = _stored_hashes(by_key)
    if simulated is not None:
        _simulate(existing, by_key, simulated)
    new_keys = [key for key in by_key if key not in existing]
    differing = [key for key in by_key if key in existing and existing[key][1] != by_key[key].content_hash]
    stats.new = len(new_keys)
    if dry_run:
        # As the real run counts them: a stored snapshot's capture that repeats one of its earlier
        # versions changes nothing; one that an earlier batch of this run "wrote" is a new version.
        stored = [key for key in differing if existing[key][0] is not None]
        stats.updated = len(differing) - len(stored) + len(_recaptures(stored, by_key).added)
        stats.unchanged = len(by_key) - stats.new - stats.updated
        return stats

    recaptures = _recaptures(differing, by_key)
    added = recaptures.added
    stats.updated = len(added)
    stats.unchanged = len(by_key) - stats.new - stats.updated
    if not (new_keys or added):
        return stats

    stored = _store_raw([by_key[key] for key in new_keys] + [by_key[s.key] for s in added])
    snapshot_ids, categories = _insert_snapshots(new_keys, by_key, new_status=new_status)
    rows = [_version_row(snapshot_ids[key], by_key[key], stored.get(key)) for key in new_keys if key in stored]
    rows += [_version_row(snapshot_id, row, None) for snapshot_id, row in recaptures.first_versions]
    rows += [_version_row(s.pk, by_key[s.key], stored.get(s.key)) for s in added]
    SnapshotCapture.objects.bulk_create(rows, batch_size=500)

    # A recaptured snapshot shows its new capture when it is the newest one and none is pinned.
    shown = [s for s in added if s.pinned_capture_id is None and by_key[s.key].captured_at >= recaptures.newest[s.pk]]
    _show(shown, by_key, reason="import: a new capture")
    Snapshot.objects.bulk_update(added, ["capture_count"])
    # Their pages say how many captures there are (the shown ones were purged by _show as well).
    purge_enqueue(keys_of((s.key, s.category_id) for s in added))
    _write_links({key: snapshot_ids[key] for key in new_keys}, by_key)
    if new_keys:
        _link_waiting(new_keys, by_key, categories)
    # Stories and related news of the new snapshots, by the worker: one queued task per batch
    # (recaptures that are shown were queued by _show).
    analysis_enqueue(snapshot_ids=[snapshot_ids[key] for key in new_keys])
    return stats


def _batches(
    records: Iterable[Capture | Rejection | Skipped],
    *,
    batch_size: int,
    stats: ImportStats,
    reject: Callable[[Rejection], None],
) -> Iterator[list[Capture]]:
    """The captures among `records` in batches of at most `batch_size` keys, in input order. A
    rejection is reported and a record skipped on purpose counted on the way. The same key twice in
    a row of input ends a batch: the first is written before the second is read."""
    batch: dict[str, Capture] = {}
    for record in records:
        if isinstance(record, Rejection):
            reject(record)
        elif isinstance(record, Skipped):
            stats.skipped += 1
        else:
            if record.key in batch:
                yield list(batch.values())
                batch = {}
            batch[record.key] = record
            if len(batch) >= batch_size:
                yield list(batch.values())
                batch = {}
    if batch:
        yield list(batch.values())


def _write_or_retry(
    captures: list[Capture], write: Callable[[list[Capture]], ImportStats], reject: Callable[[Rejection], None]
) -> ImportStats:
    """Write a batch; one the database (or the WARC store) refuses as a whole is written again record
    by record, so only the offending record is rejected."""
    try:
        return write(captures)
    except (DatabaseError, OSError):
        stats = ImportStats()
        for capture in captures:
            try:
                stats.add(write([capture]))
            except DatabaseError as error:
                reject(Rejection(capture.origin, f"the database refused it: {error}".strip()))
            except OSError as error:
                reject(Rejection(capture.origin, f"its raw record could not be stored: {error}"))
        return stats


def snapshots_import(
    *,
    records: Iterable[Capture | Rejection | Skipped],
    dry_run: bool = False,
    batch_size: int | None = None,
    new_status: str = Snapshot.Status.PUBLISHED,
    on_rejection: Callable[[Rejection], None] = lambda rejection: None,
    on_batch: Callable[[ImportStats], None] = lambda stats: None,
) -> ImportStats:
    """Import a stream of records batch by batch (see `snapshots_import_batch`): every way a snapshot
    enters the archive (JSON Lines, saved pages, WARC files, URL captures) comes through here. A
    rejected record is reported and skipped; the good ones around it are still written. A batch the
    database refuses as a whole is retried record by record, so only the offending record is
    rejected. Records skipped on purpose (a WARC file's requests, redirects, images) are counted.
    On SQLite the batches are written in a bulk session (articles.bulk.sqlite_bulk_session: a
    large page cache, rare checkpoints), ended when the stream is. After a load that changed a
    large share of the snapshots, the planner's statistics are refreshed (articles.statistics),
    whichever way the snapshots came."""
    stats = ImportStats()
    # Only a dry run needs this memory (a key and a hash per snapshot seen); a real run asks the database.
    simulated: dict[str, str] | None = {} if dry_run else None

    def reject(rejection: Rejection) -> None:
        stats.rejected += 1
        on_rejection(rejection)

    def write(captures: list[Capture]) -> ImportStats:
        return snapshots_import_batch(captures=captures, dry_run=dry_run, simulated=simulated, new_status=new_status)

    batch_size = batch_size or settings.IMPORT_BATCH_SIZE
    with nullcontext() if dry_run else sqlite_bulk_session(router.db_for_write(Snapshot)):
        for captures in _batches(records, batch_size=batch_size, stats=stats, reject=reject):
            stats.add(_write_or_retry(captures, write, reject))
            on_batch(stats)
    if not dry_run:
        statistics_refresh(changed=stats.new + stats.updated)
    return stats


# --- captures over time -------------------------------------------------------------------------


class CaptureError(Exception):
    """A move on a snapshot's captures that is not allowed; the message says why."""


def shown_capture(snapshot: Snapshot) -> SnapshotCapture | None:
    """The version a snapshot shows: the pinned one, else the newest (None with no stored versions)."""
    if snapshot.pinned_capture_id is not None:
        return snapshot.captures.filter(pk=snapshot.pinned_capture_id).first()
    return snapshot.captures.order_by("-captured_at", "-id").first()


@transaction.atomic
def snapshot_pin_capture(*, snapshot_id: int, capture_id: int | None, actor: AbstractBaseUser) -> Snapshot:
    """Show this capture of the snapshot (an editor's choice that later captures do not override),
    or, with None, go back to showing the newest. The change is kept in the snapshot's history."""
    snapshot = Snapshot.objects.select_for_update().select_related("category", "source").get(pk=snapshot_id)
    if capture_id is None:
        version = snapshot.captures.order_by("-captured_at", "-id").first()
        if version is None:
            raise CaptureError("This snapshot has only one capture.")
    else:
        version = snapshot.captures.filter(pk=capture_id).first()
        if version is None:
            raise CaptureError("That capture is not one of this snapshot's.")
    _show([snapshot], {snapshot.key: version_as_capture(version)}, reason=_pin_reason(version, capture_id), actor=actor)
    snapshot.pinned_capture = version if capture_id is not None else None
    # An update, not save(): the history entry is the one _show wrote, with the editor's name.
    Snapshot.objects.filter(pk=snapshot.pk).update(pinned_capture=snapshot.pinned_capture)
    return snapshot


def _pin_reason(version: SnapshotCapture, capture_id: int | None) -> str:
    when = timezone.localtime(version.captured_at).strftime("%Y-%m-%d %H:%M:%S")
    return f"pinned the capture of {when}" if capture_id is not None else "shows the newest capture again"


@dataclass
class ReextractStats:
    changed: int = 0
    unchanged: int = 0
    failed: int = 0


def snapshot_captures_reextract(
    *, keys: list[str] | None = None, on_failure: Callable[[SnapshotCapture, str], None] = lambda v, reason: None
) -> ReextractStats:
    """Extract again every capture that kept its raw response (of these keys, or all), with the
    extractor as it is now. A capture whose result differs is updated in place (it is the same
    capture, better read); when its snapshot shows it, the snapshot changes too, with history."""
    from .extraction import extract_capture
    from .warc import raw_response

    stats = ReextractStats()
    versions = SnapshotCapture.objects.exclude(warc_file="").select_related("snapshot").order_by("snapshot_id", "id")
    if keys is not None:
        versions = versions.filter(snapshot__key__in=keys)
    store = WarcStore()
    for version in versions.iterator(chunk_size=200):
        try:
            url, content_type, body = raw_response(
                store.read(file=version.warc_file, offset=version.warc_offset, length=version.warc_length)
            )
            capture = extract_capture(
                body=body,
                content_type=content_type,
                url=url,
                captured_at=version.captured_at,
                origin=Origin(version.warc_file, offset=version.warc_offset),
                collected_by=version.collected_by,
                category=version.category,
            )
        except (InvalidRecord, OSError, ValueError) as error:
            stats.failed += 1
            on_failure(version, str(error))
            continue
        if capture.key != version.snapshot.key:
            stats.failed += 1
            on_failure(version, f"the page now names another canonical address ({capture.original_url}); left alone")
            continue
        if capture.version_hash == version.content_hash:
            stats.unchanged += 1
            continue
        try:
            _reextracted(version, capture)
        except DatabaseError as error:
            stats.failed += 1
            on_failure(version, f"the database refused it: {error}")
            continue
        stats.changed += 1
    return stats


@transaction.atomic
def _reextracted(version: SnapshotCapture, capture: Capture) -> None:
    snapshot = Snapshot.objects.select_for_update().select_related("category", "source").get(pk=version.snapshot_id)
    was_shown = shown_capture(snapshot)
    fresh = _version_row(snapshot.pk, capture, None)
    for name in ("content_hash", "title", "category", "source", "reprinted_from", "byline", "body", "published_at"):
        setattr(version, name, getattr(fresh, name))
    version.original_url, version.related = fresh.original_url, fresh.related
    version.save()
    if was_shown is not None and was_shown.pk == version.pk:
        _show([snapshot], {snapshot.key: capture}, reason="extracted again")
    else:
        # The archive version moves with the snapshot row: its captures page shows this version.
        Snapshot.objects.filter(pk=snapshot.pk).update(updated_at=timezone.now())
        purge_enqueue(keys_of([(snapshot.key, snapshot.category_id)]))

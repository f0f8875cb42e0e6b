"""Stories: one article across its reprints.

Chinese news travels by reprint: the same text under many sources, with a new headline, a
paragraph trimmed or added, other punctuation or another byline line. Snapshots whose bodies are
such near-duplicates belong to one `Story` (docs/stories.md has the reasoning and the figures).

How a snapshot finds its story (`stories_place`, run by a task when snapshots arrive or a body
changes):

1. Its body's text is normalized (`story_text`): markup out, NFKC, lower case, and everything but
   letters and digits dropped, so punctuation and spacing never count.
2. The text is cut into overlapping character shingles of SHINGLE_SIZE, each hashed to 32 bits.
3. MinHash: PERMUTATIONS hash functions (multiply-shift, a·x mod 2^64 with a random odd a, a
   universal family for 32-bit keys) each keep the smallest value over the shingles; two texts
   agree at a position with probability equal to the Jaccard similarity of their shingle sets.
4. Locality-sensitive hashing: the signature is cut into BANDS bands of ROWS values; each band is
   hashed into a bucket and stored in `StoryBand`, an indexed table, so that every worker process on
   either database finds what the others stored. Snapshots sharing any bucket are candidates: a
   pair of Jaccard similarity J becomes one with probability 1 − (1 − J^ROWS)^BANDS (the S-curve).
   Those sharing the most buckets are verified first, MAX_CANDIDATES at most; a story's first
   INDEXED_MEMBERS members stand for it in the index, so a story reprinted a thousand times does
   not make its buckets hold a thousand rows.
5. Each candidate is verified on the exact shingle sets (`is_reprint`): a reprint if their Jaccard
   similarity is at least STORIES_SIMILARITY (0.5), or if the smaller text is at least CONTAINMENT
   inside the larger (a hard trim) with a Jaccard similarity of at least MIN_JACCARD.
6. The snapshot joins the story of its most similar verified candidate; if that candidate has no
   story yet, a story is made for the two. Stories never merge: a snapshot matching members of two
   stories joins the closer one. A snapshot whose body changed leaves its story first, and a story
   left with one member is dissolved.

Placing is serialized (one transaction at a time holds the stories lock), so two near-duplicates
placed by two workers at once cannot each miss the other.
"""

import hashlib
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.db import connection, models, transaction

from .bulk import insert_rows
from .models import Snapshot, SnapshotAnalysis, Story, StoryBand
from .prepared import PreparedQuery
from .purge import keys_of, purge_enqueue
from .search_text import body_text, nfkc

SHINGLE_SIZE = 5
PERMUTATIONS = 128
BANDS = 32
ROWS = 4
# A pair below the Jaccard threshold (setting STORIES_SIMILARITY, 0.5) is still a reprint when the
# smaller text is this much contained in the larger and their Jaccard similarity is at least
# MIN_JACCARD: a hard trim. Below MIN_JACCARD, a short piece inside a long digest would tie the
# digest's other articles to its story. The S-curve's midpoint is (1 / BANDS) ** (1 / ROWS) = 0.42.
CONTAINMENT = 0.9
MIN_JACCARD = 0.4
# Texts shorter than this many shingles (about as many characters) are not compared: one
# sentence is in too many articles to say whose copy it is.
MIN_SHINGLES = 50
# Snapshots per query when reading bodies or buckets.
CHUNK = 500
# Candidates verified per snapshot, those sharing the most buckets first: enough to find a
# story's member among copies that are all alike.
MAX_CANDIDATES = 20
# Members of a story that stand for it in the band index (see stories_place).
INDEXED_MEMBERS = 8

assert BANDS * ROWS == PERMUTATIONS

# Fixed: signatures computed by any process, today or in a year, must agree.
_RNG = np.random.default_rng(20261205)
_A = _RNG.integers(0, 1 << 63, size=PERMUTATIONS, dtype=np.uint64) * np.uint64(2) + np.uint64(1)  # odd
_BAND_SEEDS = _RNG.integers(1, 1 << 63, size=BANDS, dtype=np.uint64)
_NOT_TEXT = re.compile(r"[\W_]+")


def story_text(body: str) -> str:
    """The text of a body as stories compare it: markup out, compatibility forms folded (full-width
    letters, digits and punctuation), lower case, and only letters and digits kept."""
    return _NOT_TEXT.sub("", nfkc(body_text(body)).lower())


def _mix(values: np.ndarray) -> np.ndarray:
    """A 64-bit finalizer (MurmurHash3's fmix64): every input bit moves every output bit."""
    with np.errstate(over="ignore"):
        values = values ^ (values >> np.uint64(33))
        values = values * np.uint64(0xFF51AFD7ED558CCD)
        values = values ^ (values >> np.uint64(33))
        values = values * np.uint64(0xC4CEB9FE1A85EC53)
        return values ^ (values >> np.uint64(33))


def shingles(text: str, size: int = SHINGLE_SIZE) -> np.ndarray:
    """The sorted, distinct 32-bit hashes of the text's character shingles of `size`."""
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    count = len(codes) - size + 1
    if count <= 0:
        return np.empty(0, dtype=np.uint64)
    hashes = np.zeros(count, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for offset in range(size):
            hashes = hashes * np.uint64(0x100000001B3) + codes[offset : offset + count]
    return np.unique(_mix(hashes) >> np.uint64(32))


def signature(hashes: np.ndarray) -> np.ndarray:
    """The MinHash signature of a set of shingle hashes: PERMUTATIONS minima."""
    # Arithmetic modulo 2^64 (numpy's unsigned wrap-around); the minimum's top 32 bits are the
    # multiply-shift hash's minimum, as shifting keeps the order.
    with np.errstate(over="ignore"):
        return np.outer(_A, hashes).min(axis=1) >> np.uint64(32)


def band_buckets(sig: np.ndarray) -> list[int]:
    """The LSH buckets of a signature: each band's number and ROWS values hashed to 63 bits."""
    bands = sig.reshape(BANDS, ROWS)
    values = _BAND_SEEDS.copy()
    with np.errstate(over="ignore"):
        for row in range(ROWS):
            values = _mix(values ^ bands[:, row])
    return (values >> np.uint64(1)).astype(np.int64).tolist()


def similarity(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """(containment of the smaller set in the larger, Jaccard similarity) of two shingle sets."""
    if not len(a) or not len(b):
        return 0.0, 0.0
    shared = len(np.intersect1d(a, b, assume_unique=True))
    return shared / min(len(a), len(b)), shared / (len(a) + len(b) - shared)


def is_reprint(containment: float, jaccard: float) -> bool:
    """Whether two texts are copies of one article: Jaccard similarity of at least
    STORIES_SIMILARITY, or, for a copy trimmed hard (a long article's first half), the smaller
    text at least CONTAINMENT inside the larger with a Jaccard similarity of at least MIN_JACCARD."""
    return jaccard >= settings.STORIES_SIMILARITY or (containment >= CONTAINMENT and jaccard >= MIN_JACCARD)


@dataclass
class _Text:
    pk: int
    story_id: int | None
    shingles: np.ndarray
    digest: str
    buckets: list[int] | None = None  # computed beforehand (texts_prepare), else by _Placement


@dataclass(frozen=True)
class Prepared:
    """A body's shingles, digest and LSH buckets, computed before the placing transaction."""

    body: str
    shingles: np.ndarray
    digest: str
    buckets: list[int] | None


def _compared(body: str) -> tuple[np.ndarray, str]:
    """A body's shingle hashes, and the digest of its text (empty when too short to compare)."""
    text = story_text(body)
    hashes = shingles(text)
    digest = hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest() if len(hashes) >= MIN_SHINGLES else ""
    return hashes, digest


def texts_prepare(bodies: dict[int, str]) -> dict[int, Prepared]:
    """What `stories_place(prepared=…)` would compute of each snapshot's body (by id): the placing
    task runs this before its transaction, which holds the stories lock (and, on SQLite, the
    database's one write lock), so that a second worker prepares its batch while the first places.
    A body changed in between is computed again inside."""
    prepared = {}
    for pk, body in bodies.items():
        hashes, digest = _compared(body)
        buckets = band_buckets(signature(hashes)) if digest else None
        prepared[pk] = Prepared(body=body, shingles=hashes, digest=digest, buckets=buckets)
    return prepared


def _read_texts(ids: Iterable[int], prepared: dict[int, Prepared] | None = None) -> dict[int, _Text]:
    texts = {}
    prepared = prepared or {}
    ids = sorted(set(ids))
    for start in range(0, len(ids), CHUNK):
        rows = Snapshot.objects.filter(pk__in=ids[start : start + CHUNK]).values_list("pk", "story_id", "body")
        for pk, story_id, body in rows:
            ready = prepared.get(pk)
            if ready is not None and ready.body == body:
                texts[pk] = _Text(pk, story_id, ready.shingles, ready.digest, ready.buckets)
            else:
                texts[pk] = _Text(pk, story_id, *_compared(body))
    return texts


def _lock_stories() -> None:
    """Let one transaction at a time place snapshots. SQLite's IMMEDIATE transactions already
    serialize writers; PostgreSQL takes a transaction-level advisory lock."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [STORIES_LOCK])


STORIES_LOCK = 180_518  # the advisory lock's number: any constant no other code uses


@dataclass
class PlaceResult:
    compared: int = 0  # snapshots whose text was (re)compared
    unchanged: int = 0  # same text as when last compared: nothing to do
    joined: int = 0  # placed in a story
    stories_made: int = 0
    moved_out: int = 0  # left a story because their body changed
    candidates: int = 0  # candidate pairs verified

    def __str__(self):
        return (
            f"{self.compared} compared, {self.unchanged} unchanged, {self.joined} joined a story "
            f"({self.stories_made} new), {self.moved_out} moved out, {self.candidates} candidates verified"
        )


@transaction.atomic
def stories_place(*, snapshot_ids: list[int], prepared: dict[int, Prepared] | None = None) -> PlaceResult:
    """Place snapshots in stories: compare each one whose text is new or changed since it was last
    compared with the snapshots stored (and with each other), and join it to the story of its
    closest verified reprint. A snapshot whose body changed first leaves its story. See the module's
    docstring for the method. Idempotent: an unchanged text is left where it is. `prepared` (from
    `texts_prepare`) saves computing again what a body unchanged since gives."""
    _lock_stories()
    result = PlaceResult()
    texts = _read_texts(snapshot_ids, prepared)
    stored = dict(SnapshotAnalysis.objects.filter(pk__in=list(texts)).values_list("pk", "text_digest"))
    todo = [t for t in texts.values() if t.pk not in stored or stored[t.pk] != t.digest]
    result.unchanged = len(texts) - len(todo)
    if not todo:
        return result
    result.compared = len(todo)
    placement = _Placement(todo, result)
    placement.leave_stories()
    placement.read_stored_candidates()
    placement.place_each()
    placement.save()
    return result


class _Placement:
    """One call of stories_place, step by step (the names say the steps)."""

    def __init__(self, todo: list, result: PlaceResult):
        self.todo, self.result = todo, result
        self.todo_ids = [t.pk for t in todo]
        self.comparable = [t for t in todo if t.digest]
        self.buckets = {
            t.pk: t.buckets if t.buckets is not None else band_buckets(signature(t.shingles)) for t in self.comparable
        }
        self.left: set[int] = set()
        self.stored_candidates: dict[int, Counter] = defaultdict(Counter)
        self.others: dict = {}
        self.story_sizes: Counter = Counter()
        self.placed: dict[int, _Text] = {}
        self.batch_buckets: dict[int, list[int]] = defaultdict(list)
        self.new_stories: dict[int, list[_Text]] = {}  # keyed by a provisional negative id
        self.joined: dict[int, list[int]] = defaultdict(list)  # story id -> snapshots joining it
        self.indexed: dict[int, list[int]] = {}

    def leave_stories(self) -> None:
        """Out of their stories and out of the index first: a changed text is compared afresh."""
        self.left = {t.story_id for t in self.todo if t.story_id is not None}
        self.result.moved_out = sum(t.story_id is not None for t in self.todo)
        for start in range(0, len(self.todo_ids), CHUNK):
            chunk = self.todo_ids[start : start + CHUNK]
            StoryBand.objects.filter(snapshot_id__in=chunk).delete()
            Snapshot.objects.filter(pk__in=chunk, story__isnull=False).update(story=None)
        for t in self.todo:
            t.story_id = None

    def read_stored_candidates(self) -> None:
        """Candidates stored earlier, by how many buckets they share (identical texts share them
        all), with their texts and the sizes of their stories."""
        by_bucket = defaultdict(list)
        for t in self.comparable:
            for bucket in self.buckets[t.pk]:
                by_bucket[bucket].append(t.pk)
        all_buckets = list(by_bucket)
        for start in range(0, len(all_buckets), CHUNK):
            rows = StoryBand.objects.filter(bucket__in=all_buckets[start : start + CHUNK]).values_list(
                "bucket", "snapshot_id"
            )
            for bucket, other in rows:
                for pk in by_bucket[bucket]:
                    self.stored_candidates[pk][other] += 1
        wanted = {pk for found in self.stored_candidates.values() for pk, _ in found.most_common(MAX_CANDIDATES)}
        self.others = _read_texts(wanted - set(self.todo_ids))
        self.story_sizes = Counter(
            dict(
                Snapshot.objects.filter(story_id__in={o.story_id for o in self.others.values() if o.story_id})
                .order_by()
                .values("story_id")
                .annotate(n=models.Count("pk"))
                .values_list("story_id", "n")
            )
        )

    def place_each(self) -> None:
        """Earliest first, so that within a batch a reprint finds the copy published before it."""
        order = dict(Snapshot.objects.filter(pk__in=self.todo_ids).values_list("pk", "published_at"))
        self.comparable.sort(key=lambda t: (order[t.pk], t.pk))
        for t in self.comparable:
            best = self._closest_reprint(t)
            if best is not None:
                self._join(t, best)
            self.placed[t.pk] = t
            # A story's first INDEXED_MEMBERS members stand for it in the index; later reprints are
            # found through them, so a much-reprinted story never makes a bucket hold thousands.
            if t.story_id is None or self.story_sizes[t.story_id] <= INDEXED_MEMBERS:
                self.indexed[t.pk] = self.buckets[t.pk]
                for bucket in self.buckets[t.pk]:
                    self.batch_buckets[bucket].append(t.pk)

    def _closest_reprint(self, t):
        """The candidate most similar to `t` among those verified as reprints of it, or None."""
        shared = Counter({pk: n for pk, n in self.stored_candidates.get(t.pk, Counter()).items() if pk in self.others})
        for bucket in self.buckets[t.pk]:
            shared.update(self.batch_buckets.get(bucket, ()))
        best, best_score = None, None
        for pk, _ in shared.most_common(MAX_CANDIDATES):
            candidate = self.others.get(pk) or self.placed[pk]
            self.result.candidates += 1
            if candidate.digest == t.digest:
                score = (1.0, 1.0)
            else:
                score = similarity(t.shingles, candidate.shingles)
                if not is_reprint(*score):
                    continue
            if best_score is None or score > best_score:
                best, best_score = candidate, score
        return best

    def _join(self, t, best) -> None:
        if best.story_id is None:
            best.story_id = -(len(self.new_stories) + 1)
            self.new_stories[best.story_id] = [best]
            self.story_sizes[best.story_id] = 1
        t.story_id = best.story_id
        if t.story_id < 0:
            self.new_stories[t.story_id].append(t)
        else:
            self.joined[t.story_id].append(t.pk)
        self.story_sizes[t.story_id] += 1
        self.result.joined += 1

    def save(self) -> None:
        if self.new_stories:
            made = Story.objects.bulk_create([Story() for _ in self.new_stories])
            self.result.stories_made = len(made)
            for members, story in zip(self.new_stories.values(), made, strict=True):
                self.joined[story.pk] = [member.pk for member in members]
                for member in members:
                    member.story_id = story.pk
        for story_id, members in self.joined.items():
            Snapshot.objects.filter(pk__in=members).update(story_id=story_id)
        _purge_pages(self.todo_ids, set(self.joined) | self.left)
        _dissolve_small(self.left)
        _write_analyses(self.todo)
        # 32 rows a snapshot: building model instances for bulk_create took a third of the task.
        insert_rows(
            StoryBand,
            [{"bucket": b, "snapshot_id": pk} for pk, values in self.indexed.items() for b in set(values)],
        )


def _purge_pages(snapshot_ids: list[int], story_ids: set[int]) -> None:
    """Queue the CDN purge of the pages these changes alter: the snapshots placed, every member
    of the stories they joined or left (each lists the others), their categories and the lists."""
    if not settings.ARTICLES_PURGE_HOOK:
        return
    shown = Snapshot.objects.filter(models.Q(pk__in=snapshot_ids) | models.Q(story_id__in=story_ids))
    purge_enqueue(keys_of(shown.values_list("key", "category_id")))


def _dissolve_small(story_ids: set[int]) -> None:
    """Stories left with fewer than two members end: a single snapshot is in no story."""
    if not story_ids:
        return
    sizes = dict(
        Snapshot.objects.filter(story_id__in=story_ids)
        .order_by()
        .values("story_id")
        .annotate(n=models.Count("pk"))
        .values_list("story_id", "n")
    )
    small = [story_id for story_id in story_ids if sizes.get(story_id, 0) < 2]
    if small:
        Snapshot.objects.filter(story_id__in=small).update(story=None)
        Story.objects.filter(pk__in=small).delete()


def _write_analyses(texts: list[_Text]) -> None:
    """Store each text's digest: an upsert, since the related task may have made the row meanwhile
    (it does not take the stories lock)."""
    table = connection.ops.quote_name(SnapshotAnalysis._meta.db_table)
    # Identifiers from the model's metadata; every value a parameter.
    sql = (
        f"INSERT INTO {table} (snapshot_id, text_digest, terms_counted, terms) VALUES (%s, %s, %s, %s) "  # noqa: S608
        "ON CONFLICT (snapshot_id) DO UPDATE SET text_digest = excluded.text_digest"
    )
    with connection.cursor() as cursor:
        cursor.executemany(sql, [(t.pk, t.digest, False, "[]") for t in texts])


# --- reading stories --------------------------------------------------------------------------


def _story_reprints(limit: int, *, snapshot_id: int) -> models.QuerySet:
    same_story = Snapshot.objects.filter(pk=snapshot_id).order_by().values("story_id")[:1]
    return (
        Snapshot.objects.published()
        .filter(story_id=models.Subquery(same_story))
        .exclude(pk=snapshot_id)
        .select_related("source")
        .only(
            "key",
            "title",
            "source__name",
            "reprinted_from",
            "published_at",
            "captured_at",
            "story_id",
        )
        .annotate(reprints_total=models.Window(models.Count("pk")))
        .order_by("published_at", "id")[:limit]
    )


# Compiled once per process and limit (articles.prepared): 1 ms of each snapshot page to build.
prepared_story_reprints = PreparedQuery(Snapshot, _story_reprints)


def story_reprints(snapshot: Snapshot, *, limit: int | None = None) -> list[Snapshot]:
    """The other published snapshots of `snapshot`'s story, earliest first (published_at, then id),
    each with `reprints_total`: how many there are in all, whatever `limit` shows. One query; none
    found when the snapshot is in no story."""
    return prepared_story_reprints(limit or settings.STORIES_REPRINTS_SHOWN, snapshot_id=snapshot.pk)


# Snapshots per task: a batch of the import, and small enough that one task stays short.
TASK_BATCH = 1000


def analysis_enqueue(*, snapshot_ids: list[int]) -> None:
    """Queue the placing in stories and the related news of snapshots that arrived or changed, in
    the caller's transaction: the work happens only if the change commits, and always then."""
    from .tasks import place_in_stories

    ids = sorted(set(snapshot_ids))
    for start in range(0, len(ids), TASK_BATCH):
        place_in_stories.enqueue(ids[start : start + TASK_BATCH])


def story_siblings(*, snapshot_ids: Iterable[int]) -> list[Snapshot]:
    """For moderators, never for public pages: the other snapshots, in any state, of the stories
    these snapshots belong to, earliest first. Reprints of one article, they may copy the same
    work as the snapshots a removal request names."""
    ids = set(snapshot_ids)
    stories = Snapshot.objects.filter(pk__in=ids, story__isnull=False).values("story_id")
    return list(
        Snapshot.objects.filter(story_id__in=stories)
        .exclude(pk__in=ids)
        .select_related("source")
        .defer("body")
        .order_by("published_at", "id")
    )

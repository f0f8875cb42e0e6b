"""Related news computed from the archive, the way the seed page shows its related list.

For every snapshot, by the tasks that follow its placing in a story (articles/tasks.py):

1. Its title and text are cut into words by jieba-rs (rjieba: jieba's dictionary and HMM, compiled
   into the package; no network), and each word is counted once in the archive's own document
   frequencies (`TermFrequency`), the first time the snapshot is analysed (`count_terms`, with the
   placing).
2. Its key phrases are the words, and pairs of neighbouring words that occur together at least
   twice (鲁西 + 新区 → 鲁西新区), with the highest TF-IDF weight: occurrences in the snapshot times
   log((1 + N) / (1 + document frequency)) + 1 over the N snapshots counted. They are stored in
   `KeyPhrase`, indexed by phrase and date (`phrases_compute`, a task of its own).
3. Its related snapshots are recent published snapshots of other stories that have one of those
   phrases among their own key phrases: the newest CANDIDATES_PER_PHRASE per phrase, scored by the
   weights of the phrases they share, the best ARTICLES_COMPUTED_RELATED kept (one per story), each
   with an excerpt of its text centred on the best shared phrase, a leading "…" where it is cut.
   They are stored in `ComputedRelatedLink`; the page reads them with the crawled related links, in
   the same query, and shows only those whose target is still published (`related_compute`, the
   last task).

A list is computed again when its snapshot's text or title changes, and when the archive has
grown by ARTICLES_RELATED_REFRESH_GROWTH since it was computed (`stale_related`): each batch of
arrivals also recomputes up to as many stale lists, oldest first, and `manage.py related_refresh`
queues them all. A refresh weighs the phrase candidates kept from the last computation
(`SnapshotAnalysis.terms`) under the new frequencies, without segmenting the text again.
"""

import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import rjieba
from django.conf import settings
from django.db import connection, models, transaction

from . import purge
from .bulk import insert_rows
from .models import ComputedRelatedLink, KeyPhrase, Snapshot, SnapshotAnalysis, TermFrequency, snapshot_address
from .prepared import PreparedQuery
from .purge import purge_enqueue
from .search_text import body_text, nfkc

KEY_PHRASES = 8
# Phrase candidates kept per snapshot for a refresh to weigh again (a new IDF reorders them, but
# the best 8 come from the best 40 of before).
KEPT_CANDIDATES = 40
CANDIDATES_PER_PHRASE = 30
EXCERPT_CHARS = 80
MAX_TERM_LENGTH = 50
CHUNK = 500
DOCUMENTS = ""  # the TermFrequency row counting the snapshots counted

# Words every news text has; the document frequencies find the rest, but a young archive has too
# few documents to know these.
STOP_WORDS = frozenset(
    """
    一个 一些 一种 一是 二是 三是 我们 他们 她们 它们 你们 自己 这个 这些 那些 这样 那样 这里 那里 这种 以及 及其
    进行 表示 已经 没有 可以 可能 不是 就是 还是 也是 都是 因为 所以 但是 而且 并且 如果 虽然 通过 对于 关于 由于
    其中 之一 之后 之前 以来 以上 以下 目前 当前 今年 去年 明年 同时 此外 另外 其他 有关 相关 方面 情况 问题 工作
    记者 报道 本报 日电 消息 来源 编辑 责任编辑 转自 原标题 图片 视频 据悉 据了解 了解到 介绍 认为 指出 强调
    the and for with that this from have has was were are been will would their there which about into
    """.split()
)
_WORD = re.compile(r"[^\W\d_]")  # a letter of any script: words without one (numbers, signs) are not phrases


def phrase_text(title: str, body: str) -> str:
    """What key phrases are taken from: the title and the body's text, compatibility forms folded."""
    return nfkc(f"{title}\n{body_text(body)}")


def _word(token: str) -> str | None:
    token = token.strip().lower()
    if len(token) < 2 or len(token) > MAX_TERM_LENGTH or token in STOP_WORDS or not _WORD.search(token):
        return None
    return token


# What `_word` made of each token seen, per process: a text repeats its words, and an archive its
# vocabulary. Emptied when it holds WORDS_KEPT tokens, so odd text cannot grow it without bound.
_words_seen: dict[str, str | None] = {}
WORDS_KEPT = 200_000


def words(text: str) -> list[str | None]:
    """The text's words in order, lower-cased; None where a token that is no word (a number, a
    sign, a stop word, a single character) stood, so that it separates its neighbours."""
    seen = _words_seen
    if len(seen) > WORDS_KEPT:
        seen.clear()
    found = []
    for token in rjieba.cut(text, hmm=True):
        word = seen.get(token, seen)
        if word is seen:
            word = seen[token] = _word(token)
        found.append(word)
    return found


@dataclass
class _Doc:
    pk: int
    published_at: object
    story_id: int | None
    words: list[str | None] | None  # None when its stored candidates are reused
    candidates: list[list]


def phrase_candidates(doc_words: list[str | None]) -> list[list]:
    """A text's phrase candidates as [phrase, occurrences, word, (word)]: its words, and pairs of
    neighbouring words seen together at least twice (a word that occurs mostly inside such a pair
    gives way to it)."""
    counts = Counter(word for word in doc_words if word)
    pairs = Counter(
        (a, b) for a, b in zip(doc_words, doc_words[1:], strict=False) if a and b and len(a) + len(b) <= MAX_TERM_LENGTH
    )
    candidates = {word: [word, count, word] for word, count in counts.items()}
    for (a, b), count in pairs.items():
        if count < 2:
            continue
        # Latin words keep their space (new york); Chinese ones join (鲁西新区).
        joined = f"{a} {b}" if a[-1].isascii() and b[0].isascii() else a + b
        candidates[joined] = [joined, count, a, b]
        for part in (a, b):
            if counts[part] - count < 2:  # hardly ever apart from the pair
                candidates.pop(part, None)
    return list(candidates.values())


def key_phrases(candidates: list[list], idf, *, limit: int = KEY_PHRASES) -> list[tuple[str, float]]:
    """The `limit` best candidates and their TF-IDF weights: occurrences times the inverse document
    frequency (`idf(word)`) of the word, or the sum of both words' for a pair."""
    return [(phrase, round(-weight, 4)) for weight, phrase in _ranked(candidates, idf)[:limit]]


def _ranked(candidates: list[list], idf) -> list[tuple[float, str]]:
    """The candidates as (minus the weight, phrase), best first (ties by phrase)."""
    ranked = []
    for phrase, count, first, *rest in candidates:
        weight = count * (idf(first) + idf(rest[0])) if rest else count * idf(first)
        ranked.append((-weight, phrase))
    ranked.sort()
    return ranked


def excerpt(text: str, phrase: str, length: int = EXCERPT_CHARS) -> str:
    """A passage of `length` characters of `text` centred on the first occurrence of `phrase`,
    with a leading "…" when it does not start at the beginning."""
    text = " ".join(text.split())
    position = text.lower().find(phrase)
    if position < 0:
        position = 0
    start = max(0, position - (length - len(phrase)) // 2)
    start = max(0, min(start, len(text) - length))
    return ("…" if start > 0 else "") + text[start : start + length]


def _count_terms(words_of: dict[int, list[str | None]]) -> None:
    """Add each snapshot's words, once each, to the document frequencies, and mark it counted.
    Sorted, so that two workers lock the rows in the same order."""
    frequencies = Counter()
    for found in words_of.values():
        frequencies.update(set(filter(None, found)))
    frequencies[DOCUMENTS] = len(words_of)
    table = connection.ops.quote_name(TermFrequency._meta.db_table)
    # Identifiers from the model's metadata; every value a parameter.
    sql = (
        f"INSERT INTO {table} (term, documents) VALUES (%s, %s) "  # noqa: S608
        f"ON CONFLICT (term) DO UPDATE SET documents = {table}.documents + excluded.documents"
    )
    with connection.cursor() as cursor:
        cursor.executemany(sql, sorted(frequencies.items()))
    counted = sorted(words_of)
    for start in range(0, len(counted), CHUNK):
        SnapshotAnalysis.objects.filter(pk__in=counted[start : start + CHUNK]).update(terms_counted=True)


def _frequencies(terms: set[str]) -> dict[str, int]:
    """The document frequencies of `terms` (and of DOCUMENTS), those counted. A batch of 200 texts
    asks for some 18,000 terms: in SQL written here, since the ORM's preparation of each value of an
    `__in` lookup cost more than the database's answer."""
    terms = sorted(terms | {DOCUMENTS})
    table = connection.ops.quote_name(TermFrequency._meta.db_table)
    found = {}
    with connection.cursor() as cursor:
        for start in range(0, len(terms), CHUNK):
            chunk = terms[start : start + CHUNK]
            # Identifiers from the model's metadata; every value a parameter.
            cursor.execute(
                f"SELECT term, documents FROM {table} WHERE term IN ({', '.join(['%s'] * len(chunk))})",  # noqa: S608
                chunk,
            )
            found.update(cursor.fetchall())
    return found


@dataclass
class RelatedResult:
    computed: int = 0
    links: int = 0
    refreshed: int = 0

    def __str__(self):
        return f"{self.computed} related lists computed ({self.refreshed} refreshed), {self.links} links"

    def add(self, other: "RelatedResult") -> None:
        self.computed += other.computed
        self.links += other.links
        self.refreshed += other.refreshed


_PHRASE = "\x00phrase"  # stands for the phrase while the query is compiled


class _PublishedWith:
    """The newest published snapshots having a phrase among their key phrases, as (id, story,
    date): the QuerySet compiled once, then run per phrase with the phrase as its parameter. A
    batch asks this for thousands of phrases; building the query each time cost ten times running
    it (2.5 ms against 0.2)."""

    def __init__(self):
        published = Snapshot.objects.published().filter(pk=models.OuterRef("snapshot_id"))
        queryset = (
            KeyPhrase.objects.filter(phrase=_PHRASE)
            .filter(models.Exists(published))
            .order_by("-published_at")
            .values_list("snapshot_id", "snapshot__story_id", "published_at")[:CANDIDATES_PER_PHRASE]
        )
        self.sql, params = queryset.query.sql_with_params()
        self.params = list(params)
        self.position = self.params.index(_PHRASE)
        self.cursor = connection.cursor()

    def __call__(self, phrase: str) -> list[tuple]:
        self.params[self.position] = phrase
        self.cursor.execute(self.sql, self.params)
        return self.cursor.fetchall()


@dataclass(frozen=True)
class _Segmented:
    """A snapshot's text as `segment` found it, and its words and phrase candidates."""

    title: str
    body: str
    words: list

    @cached_property
    def candidates(self) -> list:
        # Only when asked: counting the words (the placing task) needs none.
        return phrase_candidates(self.words)


def segment(snapshot_ids: list[int]) -> dict[int, _Segmented]:
    """Each snapshot's words and phrase candidates, for `related_compute(segmented=…)`. A worker runs
    this before its transaction: segmentation is three quarters of computing a new list, and on
    SQLite a writing transaction holds the database's one write lock, so two workers segment at
    the same time and take turns only to write. An entry whose snapshot's text has changed since
    is not used."""
    ids = sorted(set(snapshot_ids))
    found = {}
    for start in range(0, len(ids), CHUNK):
        for pk, title, body in Snapshot.objects.filter(pk__in=ids[start : start + CHUNK]).values_list(
            "pk", "title", "body"
        ):
            tokens = words(phrase_text(title, body))
            found[pk] = _Segmented(title=title, body=body, words=tokens)
    return found


@transaction.atomic
def count_terms(segmented: dict[int, _Segmented]) -> int:
    """Count the segmented snapshots' words in the document frequencies, once per snapshot: those
    counted before are left out. The placing task calls this, so that every snapshot of a bulk load
    is counted before the first of their related lists is weighed (see docs/stories.md); placing
    has made their analysis rows (a snapshot deleted since has none and is left out). Returns how
    many were counted."""
    ids = sorted(segmented)
    uncounted = []
    for start in range(0, len(ids), CHUNK):
        uncounted += (
            SnapshotAnalysis.objects.select_for_update()
            .filter(pk__in=ids[start : start + CHUNK], terms_counted=False)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
    if uncounted:
        _count_terms({pk: segmented[pk].words for pk in uncounted})
    return len(uncounted)


def phrases_compute(
    *, snapshot_ids: list[int], segmented: dict[int, _Segmented] | None = None, then: Callable[[], object] | None = None
) -> int:
    """Weigh and store the key phrases of each snapshot (steps 1 and 2 of the module's docstring),
    without their related lists: the first of the two tasks after placing, so that the phrases of a
    whole bulk load are stored before the first of its lists looks for them. Returns how many.

    The reading and weighing happen before the transaction, which only writes: on SQLite a
    transaction holds the database's one write lock from its start, and two workers weighing inside
    theirs took turns for the whole of it. A snapshot whose text changed in between, or whose words
    are not counted yet, is weighed inside, as `related_compute` does. `then` is called inside the
    transaction, after the writing (the task queues the lists there)."""
    ids = sorted(set(snapshot_ids))
    segmented = segmented or {}
    docs, phrases, ranked, seen = _weigh_apart(ids, segmented)
    with transaction.atomic():
        current = _lock_texts(ids)
        ready = [doc for doc in docs if current.get(doc.pk) == seen[doc.pk]]
        _store_phrases(ready, phrases, ranked)
        done = {doc.pk for doc in ready}
        again, _, _ = _weigh([pk for pk in ids if pk in current and pk not in done], reuse_terms=False, segmented={})
        if then is not None:
            then()
    return len(ready) + len(again)


def lists_compute(*, snapshot_ids: list[int]) -> RelatedResult:
    """The related lists of snapshots whose key phrases are stored (`phrases_compute`): chosen
    before the transaction, written in it (see phrases_compute for why). A snapshot deleted in
    between gets none, and a target deleted in between is left out."""
    result = RelatedResult()
    ids = sorted(set(snapshot_ids))
    docs, phrases, total = _read_weighed(ids)
    holders: dict[str, list] = {}
    published_with = _PublishedWith()
    chosen = {doc.pk: _choose_related(doc, phrases[doc.pk], holders, published_with) for doc in docs}
    rows = _link_rows(chosen)
    with transaction.atomic():
        present = _lock_analyses(list(chosen))
        targets = sorted({row["target_id"] for row in rows})
        kept = set()
        for start in range(0, len(targets), CHUNK):
            kept.update(Snapshot.objects.filter(pk__in=targets[start : start + CHUNK]).values_list("pk", flat=True))
        rows = [row for row in rows if row["snapshot_id"] in present and row["target_id"] in kept]
        result.links = _write_lists([pk for pk in chosen if pk in present], rows, total)
    result.computed = len(present)
    return result


@transaction.atomic
def related_compute(
    *, snapshot_ids: list[int], reuse_terms: bool = False, segmented: dict[int, _Segmented] | None = None
) -> RelatedResult:
    """Compute the key phrases and the related list of each snapshot (see the module's docstring),
    replacing what was stored, in one transaction. Hidden and withheld snapshots get theirs too (they
    may be published again), but are never anyone's related news. `reuse_terms` (a refresh: the
    texts are unchanged) weighs the phrase candidates stored the last time instead of segmenting the
    texts again; `segmented` (from `segment`) saves segmenting the texts that have not changed since."""
    result = RelatedResult()
    docs, phrases, total = _weigh(sorted(set(snapshot_ids)), reuse_terms=reuse_terms, segmented=segmented or {})
    if not docs:
        return result
    holders: dict[str, list] = {}
    published_with = _PublishedWith()
    chosen = {doc.pk: _choose_related(doc, phrases[doc.pk], holders, published_with) for doc in docs}
    result.links = _write_lists(list(chosen), _link_rows(chosen), total)
    result.computed = len(docs)
    return result


def _write_lists(doc_ids: list[int], rows: list[dict], total: int) -> int:
    """Replace the documents' computed links with `rows`, and note the archive's size."""
    ComputedRelatedLink.objects.filter(snapshot_id__in=doc_ids).delete()
    insert_rows(ComputedRelatedLink, rows)
    SnapshotAnalysis.objects.filter(pk__in=doc_ids).update(related_documents=total)
    # Their pages show the new lists (a CDN's copies go; the page cache's key moved by trigger).
    if settings.ARTICLES_PURGE_HOOK:
        keys = Snapshot.objects.filter(pk__in=doc_ids).values_list("key", flat=True)
        purge_enqueue(purge.snapshot_key(key) for key in keys)
    return len(rows)


def _weigh(ids: list[int], *, reuse_terms: bool, segmented: dict[int, _Segmented]) -> tuple[list, dict, int]:
    """The documents, their key phrases weighed and stored, and the number of documents counted."""
    docs, stored = _read_docs(ids, reuse_terms=reuse_terms, segmented=segmented)
    if not docs:
        return [], {}, 0
    uncounted = {doc.pk: doc.words for doc in docs if not stored[doc.pk][0]}
    if uncounted:
        _count_terms(uncounted)
    phrases, ranked, total = _weighed(docs)
    _store_phrases(docs, phrases, ranked)
    return docs, phrases, total


def _weighed(docs: list["_Doc"]) -> tuple[dict, dict, int]:
    """Each document's key phrases and ranked candidates under the frequencies counted, and the
    number of documents counted."""
    needed = {word for doc in docs for _, _, *parts in doc.candidates for word in parts}
    frequencies = _frequencies(needed)
    total = frequencies.get(DOCUMENTS, 0)
    idf = {word: math.log((1 + total) / (1 + frequencies.get(word, 0))) + 1 for word in needed}.__getitem__
    ranked = {doc.pk: _ranked(doc.candidates, idf) for doc in docs}
    phrases = {
        pk: [(phrase, round(-weight, 4)) for weight, phrase in best[:KEY_PHRASES]] for pk, best in ranked.items()
    }
    return phrases, ranked, total


def _weigh_apart(ids: list[int], segmented: dict[int, _Segmented]) -> tuple[list, dict, dict, dict]:
    """Outside any transaction: the documents whose words are counted, weighed (not stored), and
    the (title, body) each was weighed from."""
    counted = set(SnapshotAnalysis.objects.filter(pk__in=ids, terms_counted=True).values_list("pk", flat=True))
    docs, seen = [], {}
    for start in range(0, len(ids), CHUNK):
        rows = Snapshot.objects.filter(pk__in=ids[start : start + CHUNK]).values_list(
            "pk", "published_at", "story_id", "title", "body"
        )
        for pk, published_at, story_id, title, body in rows:
            if pk not in counted:
                continue
            ready = segmented.get(pk)
            if ready is None or ready.title != title or ready.body != body:
                ready = _Segmented(title=title, body=body, words=words(phrase_text(title, body)))
            docs.append(_Doc(pk, published_at, story_id, ready.words, ready.candidates))
            seen[pk] = (title, body)
    if not docs:
        return [], {}, {}, {}
    phrases, ranked, _ = _weighed(docs)
    return docs, phrases, ranked, seen


def _make_analyses(existing) -> None:
    """Make the analysis rows the stories task has not made yet (it fills in the text digest), for
    snapshots known to exist: a row for one deleted since would break its foreign key."""
    SnapshotAnalysis.objects.bulk_create(
        [SnapshotAnalysis(snapshot_id=pk, text_digest="") for pk in existing], ignore_conflicts=True
    )


def _lock_analyses(ids: list[int]) -> set[int]:
    """Lock the snapshots' analysis rows in id order (as `_read_docs` does: two tasks on the same
    snapshot take turns), and return the ids that have one."""
    return set(
        SnapshotAnalysis.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk", flat=True)
    )


def _lock_texts(ids: list[int]) -> dict[int, tuple[str, str]]:
    """In the transaction: lock the snapshots' analysis rows, and return the (title, body) of each
    snapshot whose words are counted; those not counted (and those with no analysis row yet) map to
    None, to be weighed inside."""
    texts = {}
    for start in range(0, len(ids), CHUNK):
        for pk, title, body in Snapshot.objects.filter(pk__in=ids[start : start + CHUNK]).values_list(
            "pk", "title", "body"
        ):
            texts[pk] = (title, body)
    _make_analyses(texts)
    _lock_analyses(ids)
    counted = set(SnapshotAnalysis.objects.filter(pk__in=ids, terms_counted=True).values_list("pk", flat=True))
    return {pk: text if pk in counted else None for pk, text in texts.items()}


def _read_weighed(ids: list[int]) -> tuple[list["_Doc"], dict, int]:
    """The snapshots as documents with the key phrases stored for them, best first (as
    `key_phrases` gives them), and the number of documents counted."""
    docs, phrases = [], {}
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        for pk, published_at, story_id in Snapshot.objects.filter(pk__in=chunk).values_list(
            "pk", "published_at", "story_id"
        ):
            docs.append(_Doc(pk=pk, published_at=published_at, story_id=story_id, words=None, candidates=[]))
            phrases[pk] = []
        for pk, phrase, weight in (
            KeyPhrase.objects.filter(snapshot_id__in=chunk).order_by("snapshot_id", "-weight", "phrase")
        ).values_list("snapshot_id", "phrase", "weight"):
            if pk in phrases:
                phrases[pk].append((phrase, weight))
    total = TermFrequency.objects.filter(term=DOCUMENTS).values_list("documents", flat=True).first() or 0
    return docs, phrases, total


def _read_docs(ids: list[int], *, reuse_terms: bool, segmented: dict[int, _Segmented]) -> tuple[list["_Doc"], dict]:
    """The snapshots as documents, with their phrase candidates (segmented, or the stored ones on a
    refresh), and what was stored of each. Rows are locked in id order: two tasks computing the same
    snapshot (an arrival and a refresh) take turns instead of both replacing its links. A row the
    stories task has not made yet is made here (`_make_analyses`)."""
    existing = []
    for start in range(0, len(ids), CHUNK):
        existing += Snapshot.objects.filter(pk__in=ids[start : start + CHUNK]).values_list("pk", flat=True)
    _make_analyses(existing)
    stored = {
        pk: (counted, terms)
        for pk, counted, terms in SnapshotAnalysis.objects.select_for_update()
        .filter(pk__in=ids)
        .order_by("pk")
        .values_list("pk", "terms_counted", "terms")
    }
    docs = []
    for start in range(0, len(ids), CHUNK):
        rows = Snapshot.objects.filter(pk__in=ids[start : start + CHUNK]).values_list(
            "pk", "published_at", "story_id", "title", "body"
        )
        for pk, published_at, story_id, title, body in rows:
            if pk not in stored:  # not there yet when the analysis rows were made
                continue
            counted, terms = stored[pk]
            doc = _Doc(pk=pk, published_at=published_at, story_id=story_id, words=None, candidates=terms)
            if not (reuse_terms and counted and terms):
                ready = segmented.get(pk)
                if ready is not None and ready.title == title and ready.body == body:
                    doc.words, doc.candidates = ready.words, ready.candidates
                else:
                    doc.words = words(phrase_text(title, body))
                    doc.candidates = phrase_candidates(doc.words)
            docs.append(doc)
    return docs, stored


def _store_phrases(docs: list["_Doc"], phrases: dict, ranked: dict) -> None:
    """Keep each segmented document's best candidates (of those `ranked`) for later refreshes, and
    every document's key phrases."""
    segmented = [doc for doc in docs if doc.words is not None]
    for doc in segmented:
        best = {phrase for _, phrase in ranked[doc.pk][:KEPT_CANDIDATES]}
        doc.candidates = [candidate for candidate in doc.candidates if candidate[0] in best]
    # One UPDATE executed for each row: bulk_update's CASE over 200 rows cost twice as much.
    field = SnapshotAnalysis._meta.get_field("terms")
    sql = "UPDATE {} SET {} = %s WHERE {} = %s".format(  # noqa: S608 (identifiers from the model's metadata)
        *map(connection.ops.quote_name, (SnapshotAnalysis._meta.db_table, field.column, "snapshot_id"))
    )
    with connection.cursor() as cursor:
        cursor.executemany(sql, [(field.get_db_prep_save(doc.candidates, connection), doc.pk) for doc in segmented])
    KeyPhrase.objects.filter(snapshot_id__in=[doc.pk for doc in docs]).delete()
    insert_rows(
        KeyPhrase,
        [
            {"snapshot_id": doc.pk, "phrase": phrase, "weight": weight, "published_at": doc.published_at}
            for doc in docs
            for phrase, weight in phrases[doc.pk]
        ],
    )


def _choose_related(doc: "_Doc", phrases: list, holders: dict, published_with) -> list[tuple[int, str]]:
    """The related snapshots of `doc`: published snapshots of other stories holding its phrases, by
    the weight of the phrases they share, then the newest; one per story."""
    scores: dict[int, float] = defaultdict(float)
    best_phrase: dict[int, str] = {}
    meta: dict[int, tuple] = {}
    for phrase, weight in phrases:
        if phrase not in holders:
            holders[phrase] = published_with(phrase)
        for pk, story_id, published_at in holders[phrase]:
            if pk == doc.pk or (story_id is not None and story_id == doc.story_id):
                continue
            scores[pk] += weight
            best_phrase.setdefault(pk, phrase)
            meta[pk] = (story_id, published_at)
    # Best score first, then the newest (dates compare as the database returns them).
    ranked = sorted(scores, key=lambda pk: (scores[pk], meta[pk][1], pk), reverse=True)
    picked, stories = [], set()
    for pk in ranked:
        story_id = meta[pk][0]
        if story_id is not None and story_id in stories:
            continue  # one reprint of another story is enough
        stories.add(story_id)
        picked.append((pk, best_phrase[pk]))
        if len(picked) == settings.ARTICLES_COMPUTED_RELATED:
            break
    return picked


def _link_rows(chosen: dict[int, list[tuple[int, str]]]) -> list[dict]:
    """The chosen links as rows of ComputedRelatedLink, each with its excerpt."""
    target_ids = sorted({pk for picked in chosen.values() for pk, _ in picked})
    texts = {}
    for start in range(0, len(target_ids), CHUNK):
        rows = Snapshot.objects.filter(pk__in=target_ids[start : start + CHUNK]).values_list("pk", "body")
        texts.update((pk, nfkc(body_text(body))) for pk, body in rows)
    return [
        {
            "snapshot_id": doc_pk,
            "position": position,
            "target_id": pk,
            "phrase": phrase,
            "excerpt": excerpt(texts[pk], phrase),
        }
        for doc_pk, picked in chosen.items()
        for position, (pk, phrase) in enumerate(picked, start=1)
        if pk in texts
    ]


def _related_links(snapshot_id: int) -> models.QuerySet:
    from .models import RelatedLink

    crawled = (
        RelatedLink.objects.visible()
        .filter(snapshot_id=snapshot_id)
        .order_by()
        .values(
            link_kind=models.Value(0),
            link_position=models.F("position"),
            link_title=models.F("title"),
            link_excerpt=models.F("excerpt"),
            link_date=models.F("date"),
            link_url=models.F("url"),
            link_target=models.F("target__key"),
            link_awaited=models.F("target_key"),
        )
    )
    computed = (
        ComputedRelatedLink.objects.visible()
        .filter(snapshot_id=snapshot_id)
        .exclude(
            target__story_id=models.Subquery(Snapshot.objects.filter(pk=snapshot_id).order_by().values("story_id")[:1])
        )
        .order_by()
        .values(
            link_kind=models.Value(1),
            link_position=models.F("position"),
            link_title=models.F("target__title"),
            link_excerpt=models.F("excerpt"),
            link_date=models.F("target__published_at"),
            link_url=models.Value(""),
            link_target=models.F("target__key"),
            link_awaited=models.Value(""),
        )
    )
    return crawled.union(computed, all=True).order_by("link_kind", "link_position")


# Compiled once per process (articles.prepared): building the UNION was 2 ms of each snapshot page.
related_links = PreparedQuery(ComputedRelatedLink, _related_links)


def related_links_of(snapshot: Snapshot) -> tuple[list["ShownLink"], list["ShownLink"]]:
    """What a snapshot's page shows as related: its crawled related links in page order, then the
    computed ones, each only while its target is published (a computed one also while the target is
    not in this snapshot's story). One query."""
    shown: tuple[list, list] = ([], [])
    for row in related_links(snapshot_id=snapshot.pk):
        shown[row["link_kind"]].append(
            ShownLink(
                title=row["link_title"],
                excerpt=row["link_excerpt"],
                date=row["link_date"],
                url=row["link_url"],
                target_key=row["link_target"],
                awaited_key=row["link_awaited"],
            )
        )
    return shown


@dataclass(frozen=True)
class ShownLink:
    """A related link as a page shows it: to a snapshot here (`target_key`) or to an address, whose
    snapshot, once the archive holds one, the link will lead to instead (`awaited_key`)."""

    title: str
    excerpt: str
    date: object
    url: str
    target_key: str | None
    awaited_key: str = ""

    @property
    def href(self) -> str:
        """Where the link leads: the snapshot's page here, else its address, else nowhere ("")."""
        return snapshot_address(self.target_key) if self.target_key else self.url or ""


def stale_related(*, limit: int | None) -> list[int]:
    """Snapshots whose related list was computed before the archive grew by
    ARTICLES_RELATED_REFRESH_GROWTH, oldest computation first."""
    total = TermFrequency.objects.filter(term=DOCUMENTS).values_list("documents", flat=True).first() or 0
    below = math.floor(total / (1 + settings.ARTICLES_RELATED_REFRESH_GROWTH))
    return list(
        SnapshotAnalysis.objects.filter(related_documents__lt=below)
        .order_by("related_documents", "pk")
        .values_list("pk", flat=True)[:limit]
    )

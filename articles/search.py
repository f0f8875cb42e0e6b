"""Full-text search over published snapshots.

    search_snapshots("营商环境")                                   # newest first
    search_snapshots("新区", queryset=Snapshot.objects.published().filter(category=c), order="relevance")

A snapshot matches when its title or body text contains the query (see `search_text`): any
substring of two or more characters, so Chinese needs no word breaking, and Latin words and
numbers are found the same way. The index holds published snapshots only and is kept by database
triggers, so every way a snapshot is written (imports, the admin, moderation, demo data, raw SQL)
keeps it in step, and a hidden or withheld snapshot is gone from it in the same transaction.

Each database uses its own machinery:

- SQLite: an FTS5 table with the trigram tokenizer (queries of three or more characters: every
  trigram of the query must be in a document) and a second FTS5 table holding each document's
  character pairs as tokens (two-character queries). Both are contentless with detail=none: they
  keep which snapshots hold which tokens and nothing else, about 0.6 KB per snapshot each.
- PostgreSQL: a table of documents with a pg_trgm GIN index (`LIKE '%…%'` for three or more
  characters) and each document's character pairs in a column beside it, under a GIN index (two
  characters; pg_trgm cannot use a pattern shorter than a trigram).

How a search runs depends on how many snapshots the index offers (`choose_plan`): few are
looked up by id and sorted; a middling number becomes a set that the newest-first walk of the
snapshot table checks each row against; for very many, the walk checks each row's text directly,
since the first page fills after a few dozen rows. Each plan is one query whose cost stays flat
from one snapshot to a million. PostgreSQL has no middling plan (see `choose_plan`).
"""

import functools
import hashlib
import logging

from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections, models, router
from django.db.models import BooleanField, F, Func, IntegerField, OuterRef, Subquery, Value
from django.db.models.lookups import Lookup
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from newsarchive.logs import warn_now_and_then

from .search_text import FULLWIDTH_MAP, body_text, normalize, search_document

NEWEST = "newest"
RELEVANCE = "relevance"
ORDERS = (NEWEST, RELEVANCE)

MIN_QUERY_LENGTH = 2
MAX_QUERY_LENGTH = 100
# Index candidates below FEW_MATCHES are fetched and sorted; up to MANY_MATCHES they are a set
# the newest-first walk checks rows against; beyond, the walk tests each row's text.
FEW_MATCHES = 500
MANY_MATCHES = 50_000
# PostgreSQL: a query in a first page and one more (COMMON_MATCHES) of the newest COMMON_SAMPLE
# published snapshots (one in a hundred) takes the newest-first walk without asking the index
# (choose_plan). With 500, a word in one snapshot of eighty (milestone) read its candidates from
# the index and then walked: 334 ms; with 2,000 it walks at once, 31 ms, and a rare query pays
# about 20 ms for the test instead of 7.
COMMON_SAMPLE = 2000
COMMON_MATCHES = 21
# How long a plan stays in the cache (search_plans); a change to the archive retires it sooner.
PLAN_CACHE_SECONDS = 3600
# Relevance orders the most recent matches, this many at most: ranking every one of 200,000
# matches of a common word would read 200,000 documents.
RELEVANCE_WINDOW = 200
# Quotes people put around a phrase out of habit; the search is for the phrase anyway.
QUOTE_PAIRS = {('"', '"'), ("'", "'"), ("“", "”"), ("‘", "’"), ("「", "」"), ("『", "』"), ("＂", "＂")}


logger = logging.getLogger(__name__)


class QueryError(ValueError):
    """A query that cannot be searched; the message says why, for the reader."""


def clean_query(raw: str) -> str:
    """The query as it will be searched and shown: control characters dropped, white space
    trimmed and collapsed, surrounding quotes removed. Everything else is kept literally: `%`,
    `*`, `AND` or a line of SQL are text to look for, not syntax. Raises QueryError for a query
    that is empty, a single character or longer than MAX_QUERY_LENGTH."""
    text = "".join(char if char.isprintable() else " " for char in raw or "")
    text = " ".join(text.split())
    while len(text) >= 2 and (text[0], text[-1]) in QUOTE_PAIRS:
        text = text[1:-1].strip()
    if not text:
        raise QueryError(_("Type a word or phrase to search for."))
    if len(normalize(text)) < MIN_QUERY_LENGTH:
        raise QueryError(
            _("Type at least %(min)d characters: a single character is in almost every snapshot.")
            % {"min": MIN_QUERY_LENGTH}
        )
    if len(text) > MAX_QUERY_LENGTH:
        raise QueryError(
            _("Type at most %(max)d characters; this search has %(length)d.")
            % {"max": MAX_QUERY_LENGTH, "length": len(text)}
        )
    return text


# --- lookups: the index's operators, one spelling per database ---------------------------------


class _IndexLookup(Lookup):
    """`document__<name>=query`, where the query is the reader's cleaned text."""

    def as_sql(self, compiler, connection):  # pragma: no cover - every supported vendor has its own
        raise NotImplementedError(f"search is not available on {connection.vendor}")

    def fts_table(self, compiler, connection) -> str:
        """The FTS5 table's hidden column named after it: with detail=none, FTS5 takes queries
        on the whole table only, never on one column."""
        table = connection.ops.quote_name(self.lhs.target.model._meta.db_table)
        return f"{compiler.quote_name(self.lhs.alias)}.{table}"


@models.TextField.register_lookup
class TrigramContains(_IndexLookup):
    """Documents that may contain the query (three or more characters). SQLite: every trigram of
    the query is in the document (trigram order is not stored, so longer queries need a check of
    the text too). PostgreSQL: LIKE through the pg_trgm index, which rechecks the text itself."""

    lookup_name = "search_trigrams"

    def as_sqlite(self, compiler, connection):
        return f"{self.fts_table(compiler, connection)} MATCH %s", [_fts_trigrams(normalize(self.rhs))]

    def as_postgresql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"{lhs} LIKE articles_search_like_pattern(%s)", [*lhs_params, self.rhs]


@models.TextField.register_lookup
class BigramContains(_IndexLookup):
    """Documents that contain the two-character query: exact on both databases. PostgreSQL: the
    document's pairs are stored beside it (`pairs`, migration 0009), under a GIN index."""

    lookup_name = "search_bigram"

    def as_sqlite(self, compiler, connection):
        return f"{self.fts_table(compiler, connection)} MATCH %s", [_fts_string(normalize(self.rhs))]

    def as_postgresql(self, compiler, connection):
        pairs = f"{compiler.quote_name(self.lhs.alias)}.pairs"
        return f"{pairs} @> articles_search_bigrams(articles_search_normalize(%s))", [self.rhs]


@models.TextField.register_lookup
class DocumentContains(_IndexLookup):
    """PostgreSQL: the stored document contains the query, tested on the row (no index)."""

    lookup_name = "search_contains"

    def as_postgresql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"strpos({lhs}, articles_search_normalize(%s)) > 0", [*lhs_params, self.rhs]


def _fts_string(text: str) -> str:
    """An FTS5 string: everything inside double quotes is literal text."""
    return '"' + text.replace('"', '""') + '"'


def _fts_trigrams(text: str) -> str:
    """The trigrams covering `text`, ANDed: every third one and the last, which is as selective
    as all of them and keeps a 100-character query to 34 terms."""
    starts = sorted({*range(0, len(text) - 2, 3), len(text) - 3})
    return " AND ".join(_fts_string(text[start : start + 3]) for start in starts)


# --- SQLite functions: the triggers and the row checks call them ------------------------------


# The insert and update triggers ask for a row's document and then for its pairs, with the same
# columns: the second call finds the document here instead of stripping the body again.
_document = functools.lru_cache(maxsize=4)(search_document)


def character_pairs(document: str) -> str:
    """Each pair of neighbouring characters of `document`, separated by spaces: `abc` gives `ab bc`.
    Interleaved as UTF-32 code units by slices rather than one string per pair, which took 0.2 ms
    of a 1,000-character document, more than the rest of a snapshot's index entries."""
    count = len(document) - 1
    if count < 1:
        return ""
    units = document.encode("utf-32-le")
    pairs = bytearray(12 * count)  # per pair: its two characters and a space, 4 bytes each
    for byte in range(4):
        pairs[byte::12] = units[byte : 4 * count : 4]
        pairs[4 + byte :: 12] = units[4 + byte :: 4]
    pairs[8::12] = b" " * count
    return pairs[:-4].decode("utf-32-le")


def _sqlite_bigrams(title, body, byline="", original_url="") -> str:
    """Each pair of neighbouring characters as a token for the bigram index. A pair with a space
    in it is cut by the tokenizer into single characters, which no query asks for."""
    return character_pairs(_document(title, body, byline, original_url))


def _sqlite_contains(title, body, byline, original_url, query) -> bool:
    return query in search_document(title, body, byline, original_url)


def _sqlite_score(title, body, byline, original_url, query) -> int:
    return 10 * normalize(title or "").count(query) + search_document(title, body, byline, original_url).count(query)


# name → (number of arguments, function). The two-argument document and pairs are what migrations
# 0004 to 0011 ran; from 0012 on the triggers and queries use the others.
SQLITE_FUNCTIONS = [
    ("articles_search_document", 2, search_document),
    ("articles_search_document", 4, _document),
    ("articles_search_bigrams", 2, _sqlite_bigrams),
    ("articles_search_bigrams", 4, _sqlite_bigrams),
    ("articles_search_contains", 5, _sqlite_contains),
    ("articles_search_score", 5, _sqlite_score),
]


def install_sqlite_functions(dbapi_connection) -> None:
    """Register the search functions on a sqlite3 connection. Django does this for its own
    connections (ArticlesConfig.ready); anything else that writes snapshots must do it too,
    or SQLite refuses the write ("no such function") rather than let the index drift."""
    for name, arity, function in SQLITE_FUNCTIONS:
        dbapi_connection.create_function(name, arity, function, deterministic=True)


# --- search ------------------------------------------------------------------------------------

FEW, MIDDLING, MANY = "few", "middling", "many"


def index_candidates(text: str, *, vendor: str):
    """The index entries that may match the cleaned query `text`, and whether they all do."""
    from .models import SearchBigramEntry, SearchEntry

    length = len(normalize(text))
    if length == 2:
        return SearchBigramEntry.objects.filter(document__search_bigram=text), True
    # SQLite's trigram index knows which trigrams a document has, not in what order.
    return SearchEntry.objects.filter(document__search_trigrams=text), vendor != "sqlite" or length == 3


def choose_plan(text: str, candidates, *, vendor: str) -> tuple[str, list[int] | None]:
    """How to run a search for the cleaned query `text`, from how many snapshots the index offers
    (`candidates`): FEW (below FEW_MATCHES; their ids come back, to be looked up directly),
    MIDDLING (below MANY_MATCHES) or MANY. One query, two when there are FEW_MATCHES or more on
    SQLite.

    PostgreSQL asks first whether the query is common among the newest snapshots (see
    `_common_among_newest`): if so the plan is MANY, in one query. Otherwise it reads up to
    FEW_MATCHES candidates, and goes from FEW straight to MANY: both its GIN indexes make it
    re-check candidate rows (the text is re-read), so counting up to MANY_MATCHES cost seconds at
    a million snapshots. Its candidates are exact matches, so with FEW_MATCHES or more the
    newest-first walk fills a page within a few tens of thousands of rows at worst (one match in
    2,000 at a million)."""
    if vendor == "postgresql" and _common_among_newest(text, using=candidates.db):
        return MANY, None
    ids = list(candidates.values_list("snapshot_id", flat=True)[:FEW_MATCHES])
    if len(ids) < FEW_MATCHES:
        return FEW, ids
    if vendor == "postgresql":
        return MANY, None
    return (MIDDLING if candidates[:MANY_MATCHES].count() < MANY_MATCHES else MANY), None


def _common_among_newest(text: str, *, using: str) -> bool:
    """PostgreSQL: whether COMMON_MATCHES of the newest COMMON_SAMPLE published snapshots contain
    `text`, tested on their stored documents: at most COMMON_SAMPLE row checks (about 20 ms at a
    million), and fewer the more common the query (3 ms for 新区). A GIN index cannot answer "at least N"
    that cheaply: it collects every candidate before returning the first (202,834 for 博物馆 at a
    million, 67 ms). Such a query's first pages fill within a few hundred rows of the walk."""
    from .models import SearchEntry, Snapshot

    newest = Snapshot.objects.using(using).published().order_by("-published_at", "-id").values("pk")
    found = SearchEntry.objects.using(using).filter(snapshot__in=newest[:COMMON_SAMPLE], document__search_contains=text)
    return found[:COMMON_MATCHES].count() == COMMON_MATCHES


def search_plans(queries, *, using: str = DEFAULT_DB_ALIAS) -> dict[str, tuple[str, list[int] | None]]:
    """The plans (see choose_plan) of several queries at once, by query as given, for
    `search_snapshots(query, plan=...)`; queries clean_query refuses are left out.

    A plan depends on nothing but the query and what the index holds, so it is cached under the
    archive version (articles.caching), which every change to a snapshot moves: it is right until
    then, and never read again after. One query reads the version and one cache round trip fetches
    every plan; each plan not in the cache runs choose_plan's query or two. A cache that is down
    only costs those queries."""
    from .caching import archive_version

    cleaned = {}
    for query in queries:
        try:
            cleaned[query] = clean_query(query)
        except QueryError:
            continue
    if not cleaned:
        return {}
    vendor = connections[using].vendor
    version = archive_version(using)
    keys = {
        query: f"search-plan:{using}:{version}:{hashlib.sha256(normalize(text).encode()).hexdigest()}"
        for query, text in cleaned.items()
    }
    try:
        cached = cache.get_many(keys.values())
    except Exception:
        warn_now_and_then(logger, "search plan cache unavailable: plans are computed without it")
        cached = {}
    plans, computed = {}, {}
    for query, key in keys.items():
        if key not in cached:
            candidates, _ = index_candidates(cleaned[query], vendor=vendor)
            cached[key] = computed[key] = choose_plan(cleaned[query], candidates.using(using), vendor=vendor)
        plans[query] = cached[key]
    if computed:
        try:
            cache.set_many(computed, PLAN_CACHE_SECONDS)
        except Exception:
            warn_now_and_then(logger, "search plan cache unavailable: plans are computed without it")
    return plans


# The columns a document is made of, in search_document's order.
DOCUMENT_FIELDS = (F("title"), F("body"), F("byline"), F("original_url"))


def search_snapshots(query: str, *, queryset=None, order: str = NEWEST, plan=None):
    """Published snapshots whose title or body contains `query`, newest first (published_at,
    then id, both descending) or by relevance. `queryset` narrows the search first (a category,
    a source, `published_at__gt=since`); whatever it holds, only published snapshots come back.
    Raises QueryError for a query clean_query refuses. Runs one or two queries to choose its plan,
    none when given the query's `plan` from search_plans (on the same database); the returned
    QuerySet is lazy, and can be filtered, sliced or used as a subquery."""
    from .models import SearchEntry, Snapshot

    text = clean_query(query)
    if order not in ORDERS:
        raise ValueError(f"order must be one of {', '.join(ORDERS)}, not {order!r}")
    queryset = (Snapshot.objects.all() if queryset is None else queryset).published()
    vendor = connections[queryset.db or router.db_for_read(Snapshot)].vendor
    normalized = normalize(text)
    candidates, candidates_exact = index_candidates(text, vendor=vendor)
    candidates = candidates.using(queryset.db)
    if vendor == "sqlite":
        row_contains = Func(
            *DOCUMENT_FIELDS, Value(normalized), function="articles_search_contains", output_field=BooleanField()
        )
    else:
        row_contains = models.Exists(
            SearchEntry.objects.filter(snapshot=OuterRef("pk"), document__search_contains=text)
        )

    plan, ids = choose_plan(text, candidates, vendor=vendor) if plan is None else plan
    if plan == FEW:
        # The ids as a list: the database looks each one up, rather than walking the whole
        # newest-first index to test rows against a set it cannot size.
        found = queryset.filter(pk__in=ids)
    elif plan == MIDDLING:
        # `pk + 0` keeps the database from driving the query by the set: the newest-first index
        # drives it, and each row's id is looked up in the set.
        found = queryset.alias(_search_pk=F("pk") + 0).filter(_search_pk__in=candidates.values("snapshot_id"))
    else:
        found = queryset.filter(row_contains)
        candidates_exact = True
    if not candidates_exact:
        found = found.filter(row_contains)
    found = found.order_by("-published_at", "-id")
    if order == NEWEST:
        return found

    window = found.values("pk")[:RELEVANCE_WINDOW]
    if vendor == "sqlite":
        score = Func(*DOCUMENT_FIELDS, Value(normalized), function="articles_search_score")
    else:
        document = Subquery(SearchEntry.objects.filter(snapshot=OuterRef("pk")).values("document")[:1])
        score = Func(F("title"), document, Value(text), function="articles_search_score")
    return (
        queryset.filter(pk__in=window)
        .annotate(relevance=models.ExpressionWrapper(score, output_field=IntegerField()))
        .order_by("-relevance", "-published_at", "-id")
    )


# --- showing results ---------------------------------------------------------------------------

EXCERPT_CHARS = 120
SUMMARY_CHARS = 200


def plain_summary(body: str, length: int = SUMMARY_CHARS) -> str:
    """The start of a body as plain text, cut at `length` characters with an ellipsis."""
    text = " ".join(body_text(body).split())
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"


def _folded(text: str) -> tuple[str, list[int] | None]:
    """`text` (white space already collapsed) as normalize() sees it, and, when that changed its
    length, the position in `text` each folded character came from (None: the same position)."""
    folded = text.translate(FULLWIDTH_MAP).lower()
    if len(folded) == len(text):
        return folded, None
    chars: list[str] = []
    positions: list[int] = []
    for position, char in enumerate(text):
        for lowered in char.translate(FULLWIDTH_MAP).lower():
            chars.append(lowered)
            positions.append(position)
    return "".join(chars), positions


def _spans(text: str, query: str, limit: int | None = None) -> list[tuple[int, int]]:
    """Where the normalized `query` occurs in `text` (white space collapsed), as (start, end)
    positions in `text`."""
    folded, positions = _folded(text)
    spans = []
    start = folded.find(query)
    while start != -1 and (limit is None or len(spans) < limit):
        end = start + len(query)
        spans.append((start, end) if positions is None else (positions[start], positions[end - 1] + 1))
        start = folded.find(query, end)
    return spans


def _marked(text: str, spans: list[tuple[int, int]]) -> SafeString:
    parts = []
    done = 0
    for start, end in spans:
        parts.append(escape(text[done:start]))
        parts.append(f"<mark>{escape(text[start:end])}</mark>")
        done = end
    parts.append(escape(text[done:]))
    return mark_safe("".join(parts))


def highlight_title(title: str, query: str) -> SafeString:
    """The title, escaped, with each occurrence of the query in <mark>."""
    title = " ".join(title.split())
    return _marked(title, _spans(title, normalize(query)))


def highlight_excerpt(body: str, query: str, length: int = EXCERPT_CHARS) -> SafeString:
    """A passage of the body's text around the first occurrence of the query, escaped, the
    occurrences in it in <mark>; the start of the body when only the title matched."""
    text = " ".join(body_text(body).split())
    spans = _spans(text, normalize(query))
    if not spans:
        return _marked(plain_summary(body, length), [])
    match_start, match_end = spans[0]
    start = max(0, match_start - (length - (match_end - match_start)) // 3)
    end = min(len(text), max(match_end, start + length))
    marked = _marked(text[start:end], [(s - start, e - start) for s, e in spans if s >= start and e <= end])
    return mark_safe(("…" if start > 0 else "") + marked + ("…" if end < len(text) else ""))

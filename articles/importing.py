"""Reading crawled snapshots: the JSON Lines contract with crawlers and saved snapshot pages as text.

Readers here only parse and validate; they never touch the database. Each yields `Capture`s (a
complete, valid record) or `Rejection`s (where and why a record was refused), one at a time, so a
file of any size is streamed. `services.snapshots_import` writes them.
"""

import dataclasses
import io
import itertools
import json
import os
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import IO

from django.conf import settings
from django.utils.dateparse import parse_datetime

from .models import (
    SHANGHAI,
    Category,
    RelatedLink,
    Snapshot,
    Source,
    archive_key,
    capture_digest,
    content_digest,
    key_for_url,
    snapshot_key,
)
from .sanitize import sanitize_html, text_to_html

MAX_RELATED = 100
BOM = b"\xef\xbb\xbf"
_HTTP_URL = re.compile(r"^https?://[\w.\-~%]+(?::\d{1,5})?(?:[/?#][^\s\x00-\x1f\x7f]*)?$", re.IGNORECASE)


@dataclass(frozen=True)
class Origin:
    """Where a record came from: a line of a text file, or the byte offset of a WARC record."""

    path: str
    line: int = 0
    offset: int | None = None

    def __str__(self):
        if self.offset is not None:
            return f"{self.path} at byte {self.offset:,}"
        return f"{self.path}:{self.line}"


@dataclass
class RelatedCapture:
    title: str
    excerpt: str
    date: datetime | None
    url: str

    @cached_property
    def target_key(self) -> str:
        return key_for_url(self.url) if self.url else ""

    @cached_property
    def stored_url(self) -> str:
        """The address kept on the link: none for a link to one of our own snapshot pages, which
        is held as its target instead (exports write it back as the page's address)."""
        return "" if self.url and archive_key(self.url) else self.url


@dataclass
class Capture:
    """One valid snapshot as a crawler delivered it, ready to be written."""

    origin: Origin
    title: str
    category: str
    source: str
    reprinted_from: str
    byline: str
    body: str  # sanitized HTML
    published_at: datetime
    captured_at: datetime
    collected_by: str
    original_url: str
    related: list[RelatedCapture] = field(default_factory=list)
    # The raw HTTP exchange as gzipped WARC records (a URL capture or a WARC import), kept with the
    # capture so it can be extracted again (articles.warc); None for JSON Lines and saved pages.
    raw: bytes | None = None
    # The address the page was fetched from, after redirects (raw captures only).
    final_url: str = ""

    @cached_property
    def key(self) -> str:
        return snapshot_key(
            original_url=self.original_url, source=self.source, title=self.title, published_at=self.published_at
        )

    @cached_property
    def content_hash(self) -> str:
        return capture_digest(
            title=self.title,
            category=self.category,
            source=self.source,
            reprinted_from=self.reprinted_from,
            byline=self.byline,
            body=self.body,
            published_at=self.published_at,
            captured_at=self.captured_at,
            collected_by=self.collected_by,
            original_url=self.original_url,
            related=self.related_values,
        )

    @cached_property
    def version_hash(self) -> str:
        """The digest of what this capture says, without when or by whom (SnapshotCapture.content_hash)."""
        return content_digest(
            title=self.title,
            category=self.category,
            source=self.source,
            reprinted_from=self.reprinted_from,
            byline=self.byline,
            body=self.body,
            published_at=self.published_at,
            collected_by=self.collected_by,
            original_url=self.original_url,
            related=self.related_values,
        )

    @property
    def related_values(self) -> list[dict]:
        return [
            {"title": link.title, "excerpt": link.excerpt, "date": link.date, "url": link.url} for link in self.related
        ]


@dataclass(frozen=True)
class Skipped:
    """A record read and passed over on purpose (a WARC request, a redirect, an image): counted, not refused."""

    origin: Origin
    reason: str

    def __str__(self):
        return f"{self.origin}: {self.reason}"


@dataclass(frozen=True)
class Rejection:
    origin: Origin
    reason: str

    def __str__(self):
        return f"{self.origin}: {self.reason}"


class InvalidRecord(ValueError):
    """A record that cannot be imported; the message says why, naming the field."""


# --- field checks shared by both formats ------------------------------------------------------


def _max_length(model, name: str) -> int:
    return model._meta.get_field(name).max_length


def clean_text(value, name: str, *, required: bool, max_length: int) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidRecord(f"{name} must be a string, not {type(value).__name__}")
    value = value.strip()
    if required and not value:
        raise InvalidRecord(f"{name} is missing")
    if len(value) > max_length:
        raise InvalidRecord(f"{name} is {len(value)} characters long; the limit is {max_length}")
    if "\x00" in value:
        raise InvalidRecord(f"{name} contains a NUL character")
    return value


def clean_datetime(value, name: str, *, required: bool) -> datetime | None:
    """ISO 8601 (or `YYYY-MM-DD HH:MM[:SS]`); a time without an offset is Asia/Shanghai."""
    if value in (None, ""):
        if required:
            raise InvalidRecord(f"{name} is missing")
        return None
    if not isinstance(value, str):
        raise InvalidRecord(f"{name} must be a date-time string, not {type(value).__name__}")
    try:
        moment = parse_datetime(value.strip())
    except ValueError:
        moment = None
    if moment is None:
        raise InvalidRecord(f"{name} is not a date-time: {value[:40]!r} (expected e.g. 2023-09-14T11:24:00+08:00)")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=SHANGHAI)
    if not 1900 <= moment.year <= 2999:
        raise InvalidRecord(f"{name} is out of range: {value[:40]!r}")
    return moment


def clean_url(value, name: str) -> str:
    if value in (None, ""):
        return ""
    if not isinstance(value, str):
        raise InvalidRecord(f"{name} must be a string, not {type(value).__name__}")
    value = value.strip()
    if len(value) > 2000:
        raise InvalidRecord(f"{name} is longer than 2000 characters")
    # One regular expression instead of Django's URLValidator, which costs more than all the rest
    # of a record: http(s), a host (no credentials), an optional port, no white space or controls.
    if not _HTTP_URL.match(value):
        raise InvalidRecord(f"{name} is not an http(s) URL: {value[:80]!r}")
    return value


def clean_body(html: str) -> str:
    if len(html.encode("utf-8")) > settings.IMPORT_MAX_BODY_BYTES:
        raise InvalidRecord(
            f"body is {len(html.encode('utf-8')):,} bytes; the limit is {settings.IMPORT_MAX_BODY_BYTES:,}"
        )
    return sanitize_html(html)


def build_capture(origin: Origin, data: dict) -> Capture:
    """Validate one record of the crawler schema (see README) and return it as a Capture."""
    if not isinstance(data, dict):
        raise InvalidRecord(f"a record must be a JSON object, not {type(data).__name__}")
    body_html, body_text = data.get("body_html"), data.get("body_text")
    if body_html not in (None, "") and body_text not in (None, ""):
        raise InvalidRecord("give body_html or body_text, not both")
    if body_html not in (None, ""):
        if not isinstance(body_html, str):
            raise InvalidRecord("body_html must be a string")
        body = clean_body(body_html)
    elif body_text not in (None, ""):
        if not isinstance(body_text, str):
            raise InvalidRecord("body_text must be a string")
        body = clean_body(text_to_html(body_text))
    else:
        raise InvalidRecord("body is missing (body_html or body_text)")

    related_data = data.get("related") or []
    if not isinstance(related_data, list):
        raise InvalidRecord("related must be a list")
    if len(related_data) > MAX_RELATED:
        raise InvalidRecord(f"related has {len(related_data)} links; the limit is {MAX_RELATED}")
    related = []
    for index, link in enumerate(related_data):
        if not isinstance(link, dict):
            raise InvalidRecord(f"related[{index}] must be an object")
        related.append(
            RelatedCapture(
                title=clean_text(
                    link.get("title"),
                    f"related[{index}].title",
                    required=False,
                    max_length=_max_length(RelatedLink, "title"),
                ),
                excerpt=_clean_excerpt(link.get("excerpt"), index),
                date=clean_datetime(link.get("date"), f"related[{index}].date", required=False),
                url=clean_url(link.get("url"), f"related[{index}].url"),
            )
        )

    return Capture(
        origin=origin,
        title=clean_text(data.get("title"), "title", required=True, max_length=_max_length(Snapshot, "title")),
        category=clean_text(data.get("category"), "category", required=True, max_length=_max_length(Category, "name")),
        source=clean_text(data.get("source"), "source", required=True, max_length=_max_length(Source, "name")),
        reprinted_from=clean_text(
            data.get("reprinted_from"),
            "reprinted_from",
            required=False,
            max_length=_max_length(Snapshot, "reprinted_from"),
        ),
        byline=clean_text(data.get("byline"), "byline", required=False, max_length=_max_length(Snapshot, "byline")),
        body=body,
        published_at=clean_datetime(data.get("published_at"), "published_at", required=True),
        captured_at=clean_datetime(data.get("captured_at"), "captured_at", required=True),
        collected_by=clean_text(
            data.get("collected_by"), "collected_by", required=True, max_length=_max_length(Snapshot, "collected_by")
        ),
        original_url=clean_url(data.get("url"), "url"),
        related=related,
    )


# The ellipsis a related excerpt starts with: the page writes its own ("...excerpt"), so one kept in
# the text would show twice ("......"), whatever form the source gave it (..., …, ……, ．．．).
LEADING_ELLIPSIS = re.compile(r"^(?:\.{3}|…|．{3}|⋯)+")


def _clean_excerpt(value, index: int) -> str:
    # Excerpts keep their leading white space (after any ellipsis): it is part of the text as the
    # page showed it.
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidRecord(f"related[{index}].excerpt must be a string")
    if len(value) > 5000:
        raise InvalidRecord(f"related[{index}].excerpt is longer than 5000 characters")
    if "\x00" in value:
        raise InvalidRecord(f"related[{index}].excerpt contains a NUL character")
    return LEADING_ELLIPSIS.sub("", value.rstrip())


# --- JSON Lines ------------------------------------------------------------------------------


def read_json_lines(lines: Iterable[tuple[int, bytes]], path: str) -> Iterator[Capture | Rejection]:
    """Records from numbered raw lines; a line that is not UTF-8 or not JSON is refused alone."""
    for number, raw in lines:
        if not raw.strip():
            continue
        origin = Origin(path, number)
        try:
            data = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError as error:
            yield Rejection(origin, f"not UTF-8 ({error.reason} at byte {error.start} of the line)")
            continue
        except json.JSONDecodeError as error:
            yield Rejection(origin, f"bad JSON: {error.msg} at column {error.colno}")
            continue
        try:
            yield build_capture(origin, data)
        except InvalidRecord as error:
            yield Rejection(origin, str(error))


# --- saved snapshot pages as text --------------------------------------------------------------

_COLON = "[:：]"
_DATE = r"\d{4}-\d{1,2}-\d{1,2}[ T]\d{1,2}:\d{2}(?::\d{2})?"
META_LINE = re.compile(
    rf"^类别{_COLON}\s*(?P<category>.+?)\s+发布时间{_COLON}\s*(?P<published>{_DATE})\s+来源{_COLON}\s*(?P<source>.+?)\s*$"
)
REPRINTED_LINE = re.compile(rf"^本文转自{_COLON}\s*(?P<value>.*?)\s*$")
NOTICE_LINE = re.compile(r"^以上内容为资讯信息快照")
COLLECTOR = re.compile(r"由(?P<collector>.+?)爬虫")
CAPTURED_LINE = re.compile(rf"^快照生成时间{_COLON}\s*(?P<captured>{_DATE})\s*$")
ORIGINAL_LINE = re.compile(rf"^信息原文地址{_COLON}\s*(?P<url>\S*)\s*$")
MORE_LINE = re.compile(rf"^更多关于.+的资讯{_COLON}?\s*$")
DATE_LINE = re.compile(rf"^{_DATE}$")
# The byline closing the last paragraph: "(孙安琪 王燕)" as the seed's page writes every byline, or
# in full-width brackets "（记者 刘洋）", which are kept as captured (Snapshot.byline_shown).
BYLINE_TAIL = re.compile(
    r"^(?P<text>.*?)(?P<byline>\((?P<plain>[^()（）。]{1,60})\)|（[^()（）。]{1,60}）)\s*$", re.DOTALL
)


class _PageError(Exception):
    """What is wrong with a saved page, and the line where it shows."""

    def __init__(self, number: int, reason: str):
        super().__init__(reason)
        self.number, self.reason = number, reason


class _SavedPage:
    """A saved snapshot page read from the top: each method reads one part of it, in page order,
    and raises _PageError naming the line when the part is not there."""

    def __init__(self, text: str):
        lines = [(number, line.strip()) for number, line in enumerate(text.splitlines(), start=1)]
        self.last_number = lines[-1][0] if lines else 1
        self.content = [(number, line) for number, line in lines if line]
        # The navigation (• 我的订阅, • 财经) stands above the title; bullets further down are text.
        while self.content and self.content[0][1].startswith("•"):
            self.content.pop(0)
        self.position = 0

    def _next(self, pattern: re.Pattern) -> re.Match | None:
        """The next line, read only if it matches `pattern`."""
        if self.position < len(self.content) and (match := pattern.match(self.content[self.position][1])):
            self.position += 1
            return match
        return None

    def header(self) -> tuple[int, str, re.Match, str]:
        """The title, its 类别/发布时间/来源 line and the optional 本文转自 line."""
        if not self.content:
            raise _PageError(1, "the page is empty")
        title_number, title = self.content[0]
        if len(self.content) < 2 or not (meta := META_LINE.match(self.content[1][1])):
            number = self.content[1][0] if len(self.content) > 1 else title_number
            raise _PageError(number, "no 类别: 发布时间: 来源: line after the title")
        self.position = 2
        reprinted = self._next(REPRINTED_LINE)
        return title_number, title, meta, reprinted.group("value") if reprinted else ""

    def body(self) -> list[str]:
        """The paragraphs, up to the snapshot notice."""
        paragraphs = []
        while self.position < len(self.content) and not NOTICE_LINE.match(self.content[self.position][1]):
            paragraphs.append(self.content[self.position][1])
            self.position += 1
        if self.position == len(self.content):
            raise _PageError(self.last_number, "no snapshot notice (以上内容为资讯信息快照…) after the body")
        return paragraphs

    def notice(self) -> tuple[int, str]:
        """The snapshot notice's line and the crawler it names."""
        number, notice = self.content[self.position]
        collector = COLLECTOR.search(notice)
        if not collector:
            raise _PageError(number, "the snapshot notice does not name the crawler (由…爬虫)")
        self.position += 1
        return number, collector.group("collector")

    def capture_lines(self, notice_number: int) -> tuple[str, str]:
        """快照生成时间 and 信息原文地址, in the lines after the notice."""
        captured = original_url = None
        while self.position < len(self.content) and original_url is None:
            line = self.content[self.position][1]
            if match := CAPTURED_LINE.match(line):
                captured = match.group("captured")
            elif match := ORIGINAL_LINE.match(line):
                original_url = match.group("url")
            self.position += 1
        if captured is None:
            raise _PageError(notice_number, "no 快照生成时间: line after the snapshot notice")
        if original_url is None:
            raise _PageError(notice_number, "no 信息原文地址: line after the snapshot notice")
        return captured, original_url

    def related(self) -> list[dict]:
        """The related excerpts: "...excerpt" lines, each with its date line and an optional title
        line above it, up to 更多关于…的资讯."""
        related: list[dict] = []
        pending_title = None
        for number, line in self.content[self.position :]:
            if MORE_LINE.match(line):
                break
            if DATE_LINE.match(line):
                if not related or related[-1]["date"] is not None:
                    raise _PageError(number, "a date line that belongs to no related excerpt")
                related[-1]["date"] = line
            elif line.startswith(("...", "…")):
                related.append(
                    {"title": pending_title, "excerpt": LEADING_ELLIPSIS.sub("", line), "date": None, "url": None}
                )
                pending_title = None
            elif pending_title is None:
                pending_title = line
            else:
                raise _PageError(number, "two title lines in a row in the related links")
        return related


def _split_byline(paragraphs: list[str]) -> str:
    """Take the byline off the end of the last paragraph (in place); "" when there is none."""
    if not paragraphs or not (match := BYLINE_TAIL.match(paragraphs[-1])):
        return ""
    paragraphs[-1] = match.group("text").rstrip()
    if not paragraphs[-1]:
        paragraphs.pop()
    return (match.group("plain") or match.group("byline")).strip()


def parse_text_page(text: str, path: str) -> Capture | Rejection:
    """Parse one saved snapshot page (the form of shared/seed/*.txt) into a Capture."""
    page = _SavedPage(text)
    try:
        title_number, title, meta, reprinted_from = page.header()
        paragraphs = page.body()
        notice_number, collected_by = page.notice()
        captured, original_url = page.capture_lines(notice_number)
        related = page.related()
    except _PageError as error:
        return Rejection(Origin(path, error.number), error.reason)
    byline = _split_byline(paragraphs)
    record = {
        "title": title,
        "category": meta.group("category"),
        "source": meta.group("source"),
        "published_at": meta.group("published"),
        "reprinted_from": reprinted_from,
        "byline": byline,
        "body_html": "\n".join(f"<p>{_escape(p)}</p>" for p in paragraphs),
        "captured_at": captured,
        "collected_by": collected_by,
        "url": original_url,
        "related": related,
    }
    try:
        return build_capture(Origin(path, title_number), record)
    except InvalidRecord as error:
        return Rejection(Origin(path, title_number), str(error))


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# --- inputs --------------------------------------------------------------------------------


def expand_paths(paths: Iterable[str]) -> Iterator[str]:
    """Files as given, folders walked in name order (hidden entries skipped), `-` for standard input."""
    for raw in paths:
        path = Path(raw)
        if raw != "-" and path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    if not name.startswith("."):
                        yield str(Path(root) / name)
        else:
            yield raw


class Input:
    """One file (or standard input) read as numbered lines, or as WARC records, counting the bytes
    consumed for progress. `label` names it in messages (an uploaded file's own name); `category`,
    when given, files every snapshot of it under that category, whatever its records or pages say
    (as a URL capture with a category is filed)."""

    def __init__(self, name: str, *, label: str | None = None, category: str = ""):
        self.name = label or ("<stdin>" if name == "-" else name)
        self.path = None if name == "-" else Path(name)
        self.size = None
        self.bytes_read = 0
        self.category = category

    def records(self) -> Iterator[Capture | Rejection | Skipped]:
        """Choose the format by content: WARC (by name or its first bytes), else a saved snapshot
        page when its 类别: 发布时间: 来源: line is near the top, else JSON Lines."""
        try:
            if self.path is None:
                yield from self._choose(sys.stdin.buffer)
            else:
                self.size = self.path.stat().st_size
                with self.path.open("rb") as stream:
                    yield from self._choose(stream)
        except OSError as error:
            yield Rejection(Origin(self.name, 0), f"cannot read: {error.strerror or error}")

    def _choose(self, stream) -> Iterator[Capture | Rejection | Skipped]:
        from .warc import is_warc, read_warc

        stream = io.BufferedReader(stream) if not hasattr(stream, "peek") else stream
        if is_warc(stream.peek(64)[:64], str(self.path or "")):

            def progress(count: int) -> None:
                self.bytes_read = count

            yield from read_warc(stream, self.name, category=self.category, progress=progress)
            return
        yield from self._read(stream)

    def _numbered(self, stream: IO[bytes]) -> Iterator[tuple[int, bytes]]:
        for number, line in enumerate(stream, start=1):
            self.bytes_read += len(line)
            yield number, line

    # How far to look for a saved page's 类别: 发布时间: 来源: line before calling the input JSON Lines.
    SNIFF_LINES = 40

    def _read(self, stream: IO[bytes]) -> Iterator[Capture | Rejection]:
        """Choose the format by content: a saved snapshot page when its 类别: 发布时间: 来源: line
        appears near the top, otherwise JSON Lines, so a damaged first record does not cost the rest."""
        lines = self._numbered(stream)
        head = list(itertools.islice(lines, self.SNIFF_LINES))
        if head and head[0][1].startswith(BOM):
            head[0] = (head[0][0], head[0][1][len(BOM) :])
        if not any(line.strip() for _, line in head):
            return
        if not any(META_LINE.match(line.decode("utf-8", "replace").strip()) for _, line in head):
            yield from map(self._filed, read_json_lines(itertools.chain(head, lines), self.name))
            return
        raw = b"".join(line for _, line in itertools.chain(head, lines))
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            yield Rejection(Origin(self.name, 1), f"not UTF-8 text ({error.reason} at byte {error.start})")
            return
        yield self._filed(parse_text_page(text, self.name))

    def _filed(self, item: Capture | Rejection) -> Capture | Rejection:
        if self.category and isinstance(item, Capture):
            return dataclasses.replace(item, category=self.category[: _max_length(Category, "name")])
        return item

"""Keyset pagination of reader lists: "older" and "newer" links that carry the position of the
last (or first) snapshot shown, `?before=<published_at>,<id>` or `?after=<published_at>,<id>`.

A page is one index range scan of at most `size + 1` rows, however deep it is: the reader lists are
ordered by (published_at DESC, id DESC), the order of the indexes `snapshot_category_page` and
`snapshot_latest`, and a cursor is a position in that order. `OFFSET` would read and throw away every
row before the page, and the links would shift whenever a snapshot arrives; a cursor link shows the
same snapshots tomorrow (less any that were hidden or withheld since), so it can be bookmarked.
"""

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db.models import Q, QuerySet

# ISO 8601 in UTC, seconds or microseconds, then the id: 2024-03-01T01:00:00Z,123
CURSOR_PATTERN = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?)Z,([1-9]\d{0,18})$")
MAX_ID = 2**63 - 1  # the largest id either database stores; a greater one would overflow the query


class InvalidCursor(ValueError):
    pass


@dataclass(frozen=True)
class Cursor:
    """A position in the reader order: a snapshot's publication time and id."""

    published_at: datetime
    pk: int

    @classmethod
    def parse(cls, value: str) -> "Cursor":
        """Read a cursor written by `str()`; anything else raises InvalidCursor."""
        match = CURSOR_PATTERN.match(value)
        if not match:
            raise InvalidCursor(f"not a cursor: {value[:80]!r}")
        pk = int(match.group(2))
        if pk > MAX_ID:
            raise InvalidCursor(f"id out of range: {pk}")
        try:
            published_at = datetime.fromisoformat(match.group(1)).replace(tzinfo=UTC)
        except ValueError as error:  # e.g. month 13
            raise InvalidCursor(str(error)) from None
        return cls(published_at=published_at, pk=pk)

    @classmethod
    def of(cls, snapshot) -> "Cursor":
        return cls(published_at=snapshot.published_at, pk=snapshot.pk)

    def __str__(self) -> str:
        moment = self.published_at.astimezone(UTC)
        text = moment.strftime("%Y-%m-%dT%H:%M:%S")
        if moment.microsecond:
            text += f".{moment.microsecond:06d}"
        return f"{text}Z,{self.pk}"

    def older(self) -> Q:
        """Rows after this position in the reader order. `published_at <= t` bounds the index range;
        the rest only decides among rows of the same time."""
        return Q(published_at__lte=self.published_at) & (Q(published_at__lt=self.published_at) | Q(pk__lt=self.pk))

    def newer(self) -> Q:
        return Q(published_at__gte=self.published_at) & (Q(published_at__gt=self.published_at) | Q(pk__gt=self.pk))


@dataclass
class KeysetPage:
    """One page of a list and the cursors of its neighbours (None where there is no such page)."""

    object_list: list
    older: Cursor | None
    newer: Cursor | None

    @property
    def is_first(self) -> bool:
        return self.newer is None

    @property
    def has_other_pages(self) -> bool:
        return self.older is not None or self.newer is not None

    def __iter__(self):
        return iter(self.object_list)

    def __len__(self):
        return len(self.object_list)


def cursors_from(params) -> tuple[Cursor | None, Cursor | None]:
    """The `before` and `after` cursors of a query string; InvalidCursor when one is malformed or both are given."""
    before, after = params.get("before"), params.get("after")
    if before is not None and after is not None:
        raise InvalidCursor("before and after together")
    return (
        Cursor.parse(before) if before is not None else None,
        Cursor.parse(after) if after is not None else None,
    )


def keyset_page(
    queryset: QuerySet, *, size: int, before: Cursor | None = None, after: Cursor | None = None
) -> KeysetPage:
    """The page of `queryset` (ordered newest first, by published_at then id) that follows `before`,
    or precedes `after`, or the first page: one query of `size + 1` rows."""
    if after is not None:
        rows = list(queryset.filter(after.newer()).order_by("published_at", "id")[: size + 1])
        has_newer = len(rows) > size
        rows = rows[:size][::-1]
        # The row the cursor names was older than these; it may have been withheld since, in which
        # case the older page is empty, which is what a reader following it would find anyway.
        return KeysetPage(
            object_list=rows,
            older=Cursor.of(rows[-1]) if rows else after,
            newer=Cursor.of(rows[0]) if rows and has_newer else None,
        )
    if before is not None:
        queryset = queryset.filter(before.older())
    return older_page(list(queryset[: size + 1]), size=size, before=before)


def older_page(rows: list, *, size: int, before: Cursor | None) -> KeysetPage:
    """The page made of the `size + 1` rows read after `before` (or from the top) in the reader order."""
    has_older = len(rows) > size
    rows = rows[:size]
    newer = None
    if before is not None:
        newer = Cursor.of(rows[0]) if rows else before
    return KeysetPage(object_list=rows, older=Cursor.of(rows[-1]) if has_older else None, newer=newer)

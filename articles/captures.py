"""Reading a snapshot's captures for readers: a lone capture as a version, and what changed between two."""

import difflib
import html
import re
from dataclasses import dataclass

from .models import Snapshot, SnapshotCapture

_PARAGRAPH = re.compile(r"<(p|h[1-6]|li|blockquote)\b[^>]*>(.*?)</\1>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]+>")


def single_capture(snapshot: Snapshot) -> SnapshotCapture:
    """A snapshot captured once (from JSON Lines) has no stored version: the row is its capture."""
    return SnapshotCapture(
        snapshot=snapshot,
        captured_at=snapshot.captured_at,
        collected_by=snapshot.collected_by,
        title=snapshot.title,
        category=snapshot.category.name,
        source=snapshot.source.name,
        reprinted_from=snapshot.reprinted_from,
        byline=snapshot.byline,
        body=snapshot.body,
        published_at=snapshot.published_at,
        original_url=snapshot.original_url,
    )


def paragraphs(body: str) -> list[str]:
    """The text of each paragraph of a sanitized body (tags dropped, entities read)."""
    found = [html.unescape(_TAG.sub("", inner)).strip() for _, inner in _PARAGRAPH.findall(body)]
    if not found and body.strip():
        found = [html.unescape(_TAG.sub("", body)).strip()]
    return [text for text in found if text]


@dataclass
class Change:
    kind: str  # "same", "added", "removed", "changed"
    old: str = ""
    new: str = ""


@dataclass
class Comparison:
    older: SnapshotCapture
    newer: SnapshotCapture
    fields: list[tuple[str, str, str]]  # (field name, old, new) of the fields that differ
    paragraphs: list[Change]

    @property
    def counts(self) -> dict[str, int]:
        counts = {"added": 0, "removed": 0, "changed": 0}
        for change in self.paragraphs:
            if change.kind in counts:
                counts[change.kind] += 1
        return counts


FIELDS = ["title", "published_at", "source", "reprinted_from", "byline", "category", "original_url"]


def compare_captures(older: SnapshotCapture, newer: SnapshotCapture) -> Comparison:
    """Paragraphs added, removed and changed from `older` to `newer` (difflib's matching of whole
    paragraphs; a replaced run is paired paragraph by paragraph as changed), and the fields that differ."""
    fields = [
        (name, str(getattr(older, name)), str(getattr(newer, name)))
        for name in FIELDS
        if getattr(older, name) != getattr(newer, name)
    ]
    old, new = paragraphs(older.body), paragraphs(newer.body)
    changes: list[Change] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if tag == "equal":
            changes += [Change("same", text, text) for text in old[i1:i2]]
        elif tag == "delete":
            changes += [Change("removed", old=text) for text in old[i1:i2]]
        elif tag == "insert":
            changes += [Change("added", new=text) for text in new[j1:j2]]
        else:
            pairs = min(i2 - i1, j2 - j1)
            changes += [Change("changed", old[i1 + n], new[j1 + n]) for n in range(pairs)]
            changes += [Change("removed", old=text) for text in old[i1 + pairs : i2]]
            changes += [Change("added", new=text) for text in new[j1 + pairs : j2]]
    return Comparison(older=older, newer=newer, fields=fields, paragraphs=changes)

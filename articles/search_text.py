"""The text the search index holds, and its twin in SQL.

A snapshot is searched as one *document*: its title, its body with the markup taken out, its
byline and its original address, separated by spaces, white space collapsed to single spaces and
everything lower-cased (full-width digits and Latin letters become their ASCII forms first). A query goes through the same `normalize()`, so
matching is a plain substring test on both sides.

SQLite computes documents with these Python functions (registered on every connection, called by
the triggers); PostgreSQL with SQL functions of the same patterns, written out in migration 0004.
The two must agree character for character: `articles/tests/test_search.py` checks them against
each other. Changing either needs a migration that rebuilds the index, also because the SQLite
triggers recompute a row's old document to take it out of the index."""

import re
import unicodedata

# Markup that separates text: replaced by a space so paragraphs do not run together.
BLOCK_TAGS = (
    "p|br|hr|h[1-6]|blockquote|pre|ul|ol|li|dl|dt|dd|table|caption|thead|tbody|tfoot|tr|th|td|figure|figcaption|div"
)
_ATTRIBUTES = r"""(?:[^>"']|"[^"]*"|'[^']*')*"""
BLOCK_TAG_PATTERN = rf"</?(?:{BLOCK_TAGS})(?:[\s/]{_ATTRIBUTES})?>"
TAG_PATTERN = rf"<{_ATTRIBUTES}>"
# The entities the sanitizer writes in text (html5ever escapes only these); &amp; last.
ENTITIES = [("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&nbsp;", "\xa0"), ("&amp;", "&")]
# Python's str.split() white space, which normalize() collapses; the PostgreSQL pattern lists it.
WHITESPACE = "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B)))
WHITESPACE += "\u2028\u2029\u202f\u205f\u3000"
FULLWIDTH_FROM = "".join(map(chr, [*range(0xFF10, 0xFF1A), *range(0xFF21, 0xFF3B), *range(0xFF41, 0xFF5B)]))
FULLWIDTH_TO = "".join(chr(ord(char) - 0xFEE0) for char in FULLWIDTH_FROM)

_BLOCK_TAG = re.compile(BLOCK_TAG_PATTERN, re.IGNORECASE)
_TAG = re.compile(TAG_PATTERN)
_FULLWIDTH = re.compile(f"[{FULLWIDTH_FROM}]")
FULLWIDTH_MAP = str.maketrans(FULLWIDTH_FROM, FULLWIDTH_TO)


def body_text(body: str) -> str:
    """The text of a sanitized HTML body: block tags become spaces, other tags disappear (so a
    <strong> inside a word keeps the word whole), the sanitizer's entities are decoded."""
    text = _TAG.sub("", _BLOCK_TAG.sub(" ", body or ""))
    if "&" in text:
        for entity, char in ENTITIES:
            text = text.replace(entity, char)
    return text


def normalize(text: str) -> str:
    """Full-width digits and letters to ASCII, white space runs to one space, trimmed, lower case."""
    if _FULLWIDTH.search(text):  # rare in news text; translate() on every document would cost more
        text = text.translate(FULLWIDTH_MAP)
    return " ".join(text.split()).lower()


def search_document(title: str, body: str, byline: str = "", original_url: str = "") -> str:
    """What the index holds for a snapshot with this title, (sanitized HTML) body, byline and
    original address. (Migrations 0004 to 0011 indexed title and body alone.)"""
    return normalize(f"{title or ''} {body_text(body or '')} {byline or ''} {original_url or ''}")


# The full-width forms (，：（）, letters, digits) and the ideographic space, and what NFKC makes of
# each: a character whose compatibility decomposition is one ASCII character or a space.
_FULL_WIDTH_FORMS = {chr(code): unicodedata.normalize("NFKC", chr(code)) for code in range(0xFF01, 0xFF5F)}
_FULL_WIDTH_FORMS["\u3000"] = " "
_FULL_WIDTH_FORM = re.compile("[\uff01-\uff5e\u3000]")


def nfkc(text: str) -> str:
    """`unicodedata.normalize("NFKC", text)`, faster on Chinese text. Its full-width punctuation
    keeps normalize() from its quick check, and the full normalization costs 0.2 to 0.3 ms for 1,000
    characters; replacing those forms first (NFKC decomposes each to the character put in) leaves
    most texts normalized, which the quick check then confirms: 0.03 ms. Any other text is
    normalized in full."""
    if unicodedata.is_normalized("NFKC", text):
        return text
    for form in set(_FULL_WIDTH_FORM.findall(text)):
        text = text.replace(form, _FULL_WIDTH_FORMS[form])
    return text if unicodedata.is_normalized("NFKC", text) else unicodedata.normalize("NFKC", text)

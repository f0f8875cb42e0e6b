"""Personal data taken out of free text before it is published: the statement of reasons, the
works' descriptions and the counter-notices' explanations on /transparency/, in its JSON exports and
in what a snapshot's source is sent. Moderators read the originals; nothing stored is changed.

Taken out: email addresses; phone numbers (PRC mobiles, PRC landlines with their area code, and
numbers in international form, +CC …); PRC resident identity card numbers (18 digits, the last may
be X, and the old 15-digit form); and the names given (the requester's own name and signature, a
counter-notifier's). Each is replaced by a bracketed word saying what was there.
"""

import re

from django.utils.translation import gettext as _

# An 18-digit resident ID: area (6), birth date (YYYYMMDD), sequence (3), check digit or X. The
# 15-digit form: area, YYMMDD, sequence. Digits on either side mean it is part of a longer number.
RESIDENT_ID = re.compile(
    r"(?<![0-9A-Za-z])(?:"
    r"[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx]"
    r"|[1-9]\d{5}\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}"
    r")(?![0-9A-Za-z])"
)
EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
_SEP = r"[\s\-.·]?"
_COUNTRY = r"(?:(?:\+|00)\s?86" + _SEP + r")?"
PHONES = [
    # PRC mobile: 1[3-9]x xxxx xxxx, with or without +86 and separators.
    re.compile(r"(?<![0-9])" + _COUNTRY + r"1[3-9]\d" + _SEP + r"\d{4}" + _SEP + r"\d{4}(?![0-9])"),
    # PRC landline: area code 0xx or 0xxx (in brackets or not; without its 0 after +86), then 7-8
    # digits, perhaps split, perhaps an extension.
    re.compile(
        r"(?<![0-9])(?:(?:\+|00)\s?86"
        + _SEP
        + r"\(?[1-9]\d{1,2}\)?|\(?0[1-9]\d{1,2}\)?)"
        + _SEP
        + r"\d{3,4}"
        + _SEP
        + r"\d{4}(?:\s?(?:转|ext\.?|x)\s?\d{1,5})?(?![0-9])"
    ),
    # International form: + and a country code, then groups of digits (7 to 14 digits in all).
    re.compile(r"(?<![0-9A-Za-z])\+\d{1,3}(?:[\s\-.]?\(?\d{1,5}\)?){2,6}(?![0-9])"),
]


def redact(text: str, *, names: tuple[str, ...] | list[str] = ()) -> str:
    """`text` with email addresses, phone numbers, resident ID numbers and each of `names` replaced
    by a bracketed word, in the active language."""
    if not text:
        return text
    text = RESIDENT_ID.sub(_("[ID number]"), text)
    text = EMAIL.sub(_("[email]"), text)
    for pattern in PHONES:
        text = pattern.sub(_replace_phone, text)
    for name in sorted({n.strip() for n in names if n and len(n.strip()) >= 2}, key=len, reverse=True):
        text = re.sub(re.escape(name), _("[name]"), text, flags=re.IGNORECASE)
    return text


def _replace_phone(match: re.Match) -> str:
    # A run of few digits is a date or a case number, not a phone: at least 7 digits.
    if sum(char.isdigit() for char in match.group(0)) < 7:
        return match.group(0)
    return _("[phone]")

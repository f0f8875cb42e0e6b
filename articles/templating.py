"""What the reader pages' Jinja2 templates (templates/jinja2/) take from articles, named in
settings.TEMPLATES: times as `strftime` shows them, and the plural forms of counts, written here
where `makemessages` finds `ngettext` (it does not read it in a Jinja2 template; the msgids are those
of the `{% blocktranslate count %}` they replace)."""

from datetime import datetime

import jinja2
from django.conf import settings
from django.utils.timezone import get_current_timezone
from django.utils.translation import ngettext

from newsarchive.jinja2 import TIMEZONE

from .templatetags.archive_dates import strftime


@jinja2.pass_context
def local_strftime(context, value, format_string: str) -> str:
    """`strftime` (articles/templatetags/archive_dates.py) of the time in the current time zone, as
    Django's templates convert a time before a filter that expects local time (`template_localtime`),
    with the zone looked up once a page (`Template.render`)."""
    if (
        settings.USE_TZ
        and isinstance(value, datetime)
        and value.utcoffset() is not None
        and getattr(value, "convert_to_local_time", True)
    ):
        value = value.astimezone(context.get(TIMEZONE) or get_current_timezone())
    return strftime(value, format_string)


def capture_count(counter: int) -> str:
    return ngettext("%(counter)s capture", "%(counter)s captures", counter) % {"counter": counter}


def reprint_count(reprints: int) -> str:
    return ngettext("%(reprints)s reprint", "%(reprints)s reprints", reprints) % {"reprints": reprints}

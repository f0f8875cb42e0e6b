"""A date hierarchy for the snapshot changelist that stays fast at a million rows.

Django's own asks the database for every distinct year, month or day (`QuerySet.datetimes()`),
which on SQLite runs a Python function per row. Here the range comes from MIN and MAX, which the
published_at index answers at once, and the calendar supplies the steps in between.
"""

import calendar
import datetime

from django import template
from django.contrib.admin.templatetags.admin_list import date_hierarchy
from django.db import models
from django.utils import formats, timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _

register = template.Library()


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@register.inclusion_tag("admin/date_hierarchy.html")
def fast_date_hierarchy(cl):
    field_name = cl.date_hierarchy
    year, month, day = (_int(cl.params.get(f"{field_name}__{part}")) for part in ("year", "month", "day"))
    if year and month and day:
        # One day: nothing to count, Django's own tag is as cheap.
        return date_hierarchy(cl)

    def link(filters):
        return cl.get_query_string(filters, [f"{field_name}__"])

    field = cl.model._meta.get_field(field_name)
    context = {"show": True, "field_name": field.verbose_name}
    if year and month:
        context["back"] = {"link": link({f"{field_name}__year": year}), "title": str(year)}
        context["choices"] = [
            {
                "link": link({f"{field_name}__year": year, f"{field_name}__month": month, f"{field_name}__day": d}),
                "title": capfirst(formats.date_format(datetime.date(year, month, d), "MONTH_DAY_FORMAT")),
            }
            for d in range(1, calendar.monthrange(year, month)[1] + 1)
        ]
        return context
    if year:
        context["back"] = {"link": link({}), "title": _("All dates")}
        context["choices"] = [
            {
                "link": link({f"{field_name}__year": year, f"{field_name}__month": m}),
                "title": capfirst(formats.date_format(datetime.date(year, m, 1), "YEAR_MONTH_FORMAT")),
            }
            for m in range(1, 13)
        ]
        return context
    # Two queries, not one with MIN and MAX: SQLite answers a lone MIN or MAX from the index but
    # scans the whole table for both together (0.2 s at a million rows).
    first = cl.queryset.order_by().aggregate(value=models.Min(field_name))["value"]
    last = cl.queryset.order_by().aggregate(value=models.Max(field_name))["value"]
    if not first:
        return {"show": False}
    first, last = timezone.localtime(first), timezone.localtime(last)
    context["back"] = None
    context["choices"] = [
        {"link": link({f"{field_name}__year": str(y)}), "title": str(y)} for y in range(last.year, first.year - 1, -1)
    ]
    return context

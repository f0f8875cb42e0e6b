"""What the admin pages of several apps share."""

import json

from django.core.paginator import Paginator
from django.db import connections
from django.utils.functional import cached_property

# The largest id a database holds (a signed 64-bit integer).
MAX_ID = 2**63 - 1


def is_id(value: str) -> bool:
    """Whether an admin URL's object id can be a row's id: digits, within range. Anything else
    ("abc", a number past 64 bits) is "not found" without asking the database, which would fail on
    it in some lookups (an id that is a one-to-one key, simple-history's views) instead."""
    return value.isascii() and value.isdigit() and int(value) <= MAX_ID


class NumericIdAdmin:
    """A ModelAdmin mixin: an object id that cannot be one is "not found" (the admin's redirect to
    its index with a message), never a 500."""

    def get_object(self, request, object_id, from_field=None):
        if from_field is None and not is_id(str(object_id)):
            return None
        return super().get_object(request, object_id, from_field)


class LargeTablePaginator(Paginator):
    """Pages of a table of a million rows.

    - A page is read in two steps: its ids from an index, then those rows. A plain OFFSET reads
      every row it skips, whole (4 s at page 3,000 on SQLite); the ids alone come from an
      index-only scan.
    - On PostgreSQL, past ESTIMATE_ABOVE rows the count is the planner's estimate: an exact
      COUNT(*) there reads the whole table (0.7 s at a million rows), and an admin list needs
      only about how many pages there are. SQLite counts a million rows from its smallest index
      in some 20 ms, so it keeps the exact count.
    """

    ESTIMATE_ABOVE = 100_000

    @cached_property
    def count(self):
        queryset = self.object_list
        if connections[queryset.db].vendor == "postgresql":
            plan = json.loads(queryset.order_by().values("pk").explain(format="json"))
            estimate = int(plan[0]["Plan"]["Plan Rows"])
            if estimate > self.ESTIMATE_ABOVE:
                return estimate
        return super().count

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        ids = list(self.object_list.values_list("pk", flat=True)[bottom:top])
        return self._get_page(self.object_list.filter(pk__in=ids), number, self)

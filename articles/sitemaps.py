"""Sitemaps for crawlers: the home and category pages, and every published snapshot.

Snapshots are split into pages by ranges of primary key instead of Django's default paginator,
which counts every row and reads page N with OFFSET: at a million snapshots both are slow. A page
holds the published snapshots whose pk falls in its range, so it holds at most `limit` URLs (fewer
where snapshots are hidden or withheld), and finding it is an index range scan."""

from math import ceil

from django.contrib.sitemaps import Sitemap
from django.core.paginator import EmptyPage, PageNotAnInteger
from django.db.models import Max
from django.urls import reverse
from django.utils.functional import cached_property

from .models import Category, Snapshot


class PageSitemap(Sitemap):
    """The home page and the category pages."""

    changefreq = "hourly"

    def items(self):
        return ["home", *Category.objects.order_by("slug").values_list("slug", flat=True)]

    def location(self, item):
        if item == "home":
            return reverse("articles:home")
        return reverse("articles:category", kwargs={"slug": item})


class _KeyRangePage:
    def __init__(self, object_list, number):
        self.object_list = object_list
        self.number = number


class KeyRangePaginator:
    """The part of Django's Paginator the sitemap views use (`num_pages`, `page()`), with page N
    covering pk ((N - 1) * per_page, N * per_page]."""

    def __init__(self, queryset, per_page: int):
        self.queryset = queryset
        self.per_page = per_page

    @cached_property
    def num_pages(self) -> int:
        highest = self.queryset.model.objects.aggregate(highest=Max("pk"))["highest"] or 0
        return max(1, ceil(highest / self.per_page))

    def validate_number(self, number) -> int:
        try:
            number = int(number)
        except (TypeError, ValueError):
            raise PageNotAnInteger("That page number is not an integer") from None
        if number < 1 or number > self.num_pages:
            raise EmptyPage("That page contains no results")
        return number

    def page(self, number) -> _KeyRangePage:
        number = self.validate_number(number)
        low = (number - 1) * self.per_page
        rows = self.queryset.filter(pk__gt=low, pk__lte=low + self.per_page).order_by("pk")
        return _KeyRangePage(rows, number)


class SnapshotSitemap(Sitemap):
    """Every published snapshot's page, with the time our copy last changed."""

    limit = 50_000

    def items(self):
        return Snapshot.objects.published().only("key", "updated_at")

    def lastmod(self, item):
        return item.updated_at

    def get_latest_lastmod(self):
        # The index would otherwise read every snapshot for one date; per-URL lastmod is in each page.
        return None

    @cached_property
    def paginator(self):
        return KeyRangePaginator(self.items(), self.limit)


SITEMAPS = {"pages": PageSitemap, "snapshots": SnapshotSitemap}

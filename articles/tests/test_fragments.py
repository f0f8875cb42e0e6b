"""Parts of reader pages kept between pages (newsarchive/fragments.py): the category navigation and
a category page's filter fields are rendered once per archive version, language and choice, and a
page that reuses them shows what a page rendered from nothing shows."""

import re
from datetime import datetime, timedelta
from unittest.mock import patch

from django.test import TestCase

from articles.filters import SnapshotFilter
from articles.models import SHANGHAI, Category
from articles.pagination import Cursor
from newsarchive.testing import clear_caches

from .helpers import make_category, make_snapshot, make_source
from .query_counts import PAGE_CACHE_CHECK, RENDER, RENDER_KEPT
from .test_views import EN

FILTER_FIELDS = re.compile(r'<form method="get" class="filters".*?</form>', re.S)
CATEGORY_NAV = re.compile(r'<ul class="category-nav">.*?</ul>', re.S)


def part(pattern: re.Pattern, response) -> str:
    assert response.status_code == 200, response.status_code
    found = pattern.search(response.content.decode())
    assert found, response.content.decode()[:2000]
    return found.group(0)


class KeptPartsTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.finance, cls.sports = make_category("财经", "caijing"), make_category("体育", "tiyu")
        cls.sources = [make_source("人民资讯"), make_source("新华网")]
        start = datetime(2024, 5, 1, 9, 0, tzinfo=SHANGHAI)
        cls.snapshots = [
            make_snapshot(
                title=f"报道 {n}",
                category=cls.finance,
                source=cls.sources[n % 2],
                published_at=start + timedelta(hours=n),
            )
            for n in range(30)
        ]

    def deeper(self, **params):
        """The finance page from a cursor: another address, so the page cache does not answer."""
        return {"before": str(Cursor.of(self.snapshots[-5])), **params}

    def fresh(self, url, params=None, **headers):
        """The page rendered from nothing: no kept parts, no cached page."""
        clear_caches()
        return self.client.get(url, params, headers=headers)

    def test_a_second_page_reuses_the_navigation_and_the_filter_fields(self):
        url = self.finance.get_absolute_url()
        with self.assertNumQueries(PAGE_CACHE_CHECK + RENDER["category"]):
            self.client.get(url)
        with self.assertNumQueries(PAGE_CACHE_CHECK + RENDER_KEPT["category"]):
            kept = self.client.get(url, self.deeper())
        fresh = self.fresh(url, self.deeper())
        self.assertEqual(kept.content, fresh.content)
        self.assertIn("新华网</option>", part(FILTER_FIELDS, kept))

    def test_a_filtered_page_reuses_the_fields_of_its_own_choice_only(self):
        url = self.finance.get_absolute_url()
        chosen, other = self.sources
        self.client.get(url, {"source": chosen.pk})
        with self.assertNumQueries(PAGE_CACHE_CHECK + RENDER_KEPT["category_filtered"]):
            kept = self.client.get(url, self.deeper(source=chosen.pk))
        self.assertIn(f'<option value="{chosen.pk}" selected>', part(FILTER_FIELDS, kept))
        self.assertEqual(kept.content, self.fresh(url, self.deeper(source=chosen.pk)).content)
        # Another choice: its own fields, with its own source selected, from the kept options.
        with self.assertNumQueries(PAGE_CACHE_CHECK + RENDER_KEPT["category_filtered"]):
            response = self.client.get(url, {"source": other.pk})
        self.assertIn(f'<option value="{other.pk}" selected>', part(FILTER_FIELDS, response))
        self.assertNotIn(f'<option value="{chosen.pk}" selected>', part(FILTER_FIELDS, response))
        self.assertNotIn('<option value="" selected>', part(FILTER_FIELDS, response))
        self.assertEqual(response.content, self.fresh(url, {"source": other.pk}).content)

    def test_a_page_filtered_by_dates_reuses_the_sources_of_the_select(self):
        url = self.finance.get_absolute_url()
        self.client.get(url)
        dates = {"published_after": "2024-05-01", "published_before": "2024-05-02"}
        with self.assertNumQueries(PAGE_CACHE_CHECK + RENDER_KEPT["category"]):
            response = self.client.get(url, dates)
        self.assertIn('<option value="" selected>', part(FILTER_FIELDS, response))
        self.assertIn('value="2024-05-01"', part(FILTER_FIELDS, response))
        self.assertEqual(response.content, self.fresh(url, dates).content)

    def test_a_new_source_and_a_renamed_category_show_on_the_next_page(self):
        url = self.finance.get_absolute_url()
        self.client.get(url)
        make_snapshot(category=self.sports, source=make_source("澎湃新闻"))
        Category.objects.filter(pk=self.sports.pk).update(name="体育新闻")
        response = self.client.get(url, self.deeper())
        self.assertIn("澎湃新闻</option>", part(FILTER_FIELDS, response))
        self.assertIn(">体育新闻</a>", part(CATEGORY_NAV, response))
        self.assertEqual(response.content, self.fresh(url, self.deeper()).content)

    def test_each_language_and_each_category_has_its_own_parts(self):
        finance, sports = self.finance.get_absolute_url(), self.sports.get_absolute_url()
        self.client.get(finance)
        english = self.client.get(finance, self.deeper(), headers=EN)
        self.assertIn("All sources", part(FILTER_FIELDS, english))
        self.assertEqual(english.content, self.fresh(finance, self.deeper(), **EN).content)
        self.client.get(finance)
        nav = part(CATEGORY_NAV, self.client.get(sports))
        self.assertIn(f'<a href="{sports}" aria-current="page">', nav)
        self.assertNotIn(f'<a href="{finance}" aria-current="page">', nav)

    def test_a_snapshot_page_after_a_category_page_marks_no_category(self):
        self.client.get(self.finance.get_absolute_url())
        response = self.client.get(self.snapshots[0].get_absolute_url())
        self.assertNotIn("aria-current", part(CATEGORY_NAV, response))
        self.assertEqual(response.content, self.fresh(self.snapshots[0].get_absolute_url()).content)

    def test_a_page_with_only_a_cursor_builds_no_filterset_once_the_fields_are_kept(self):
        url = self.finance.get_absolute_url()
        first = self.fresh(url)
        built = []
        original = SnapshotFilter.__init__

        def counting(filterset, *args, **kwargs):
            built.append(args[0] if args else kwargs.get("data"))
            original(filterset, *args, **kwargs)

        with patch.object(SnapshotFilter, "__init__", counting):
            deeper = self.client.get(url, self.deeper())
            self.assertEqual(built, [])
            # A filter in the address: its form is built and checked.
            filtered = self.client.get(url, self.deeper(source=self.sources[0].pk))
            self.assertEqual(len(built), 1)
        self.assertEqual(part(FILTER_FIELDS, deeper), part(FILTER_FIELDS, first))
        self.assertIn(f'<option value="{self.sources[0].pk}" selected>', part(FILTER_FIELDS, filtered))

    def test_each_filterset_has_its_own_fields_though_they_share_a_form_class(self):
        one, other = SnapshotFilter(None), SnapshotFilter({"source": "1"})
        self.assertIs(type(one.form), type(other.form))
        one.keep_options("a key")
        self.assertEqual(one.form.fields["source"].widget.kept_key, "a key")
        self.assertIsNone(other.form.fields["source"].widget.kept_key)
        self.assertIsNot(one.form.fields["source"], other.form.fields["source"])

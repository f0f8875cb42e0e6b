"""Atom feeds, the sitemap and robots.txt, read as a feed reader and a crawler read them."""

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from unittest import mock
from urllib.parse import urlsplit

import feedparser
from django.test import TestCase
from django.urls import reverse
from django.utils import timezone

from articles.models import SHANGHAI, Snapshot
from articles.sitemaps import SnapshotSitemap

from .helpers import make_category, make_snapshot, make_source
from .query_counts import PAGE_CACHE_CHECK, RENDER

SITEMAP_NS = {"sm": "http://www.sitemaps.org/schemas/sitemap/0.9"}


def parse_feed(response):
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"].startswith("application/atom+xml"), response["Content-Type"]
    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.get("bozo_exception")
    return feed


class FeedTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.finance = make_category("财经")
        cls.tech = make_category("科技")
        cls.people = make_source("人民资讯")
        start = datetime(2024, 3, 1, 8, 0, tzinfo=SHANGHAI)
        cls.first = make_snapshot(
            title="鲁西新区以环境之“优”谋发展之“势”",
            category=cls.finance,
            source=cls.people,
            published_at=start,
            original_url="https://sd.people.com.cn/n2/2023/0914/c1.html",
            body="<p>在落地鲁西新区的<strong>上海</strong>正舍现场 &amp; 车间。</p><p>第二段。</p>",
        )
        cls.second = make_snapshot(
            title="科技 <新闻> & 更新", category=cls.tech, published_at=start + timedelta(days=1)
        )
        cls.hidden = make_snapshot(title="隐藏的快照", category=cls.finance, status=Snapshot.Status.HIDDEN)
        cls.withheld = make_snapshot(title="屏蔽的快照", category=cls.finance, status=Snapshot.Status.WITHHELD)

    def test_latest_feed_lists_published_snapshots_newest_first(self):
        feed = parse_feed(self.client.get("/feeds/latest.xml"))
        self.assertEqual(feed.version, "atom10")
        self.assertEqual([entry.title for entry in feed.entries], [self.second.title, self.first.title])
        self.assertEqual(feed.feed.link, "http://testserver/")

    def test_an_entry_has_link_dates_source_category_and_summary(self):
        feed = parse_feed(self.client.get("/feeds/latest.xml"))
        entry = next(entry for entry in feed.entries if entry.title == self.first.title)
        self.assertEqual(entry.link, f"http://testserver{self.first.get_absolute_url()}")
        self.assertEqual(entry.id, entry.link)
        self.assertEqual(datetime.fromisoformat(entry.published), self.first.published_at)
        self.assertEqual(datetime.fromisoformat(entry.updated), self.first.updated_at)
        self.assertEqual(entry.author, "人民资讯")
        self.assertEqual([tag.term for tag in entry.tags], ["财经"])
        self.assertEqual(entry.summary, "在落地鲁西新区的上海正舍现场 & 车间。 第二段。")
        self.assertIn(
            {"rel": "via", "href": self.first.original_url},
            [{"rel": link.rel, "href": link.href} for link in entry.links],
        )

    def test_titles_with_markup_characters_survive_the_round_trip(self):
        feed = parse_feed(self.client.get("/feeds/latest.xml"))
        self.assertIn("科技 <新闻> & 更新", [entry.title for entry in feed.entries])

    def test_hidden_and_withheld_snapshots_are_not_in_any_feed(self):
        for url in ["/feeds/latest.xml", f"/feeds/category/{self.finance.slug}.xml"]:
            with self.subTest(url=url):
                titles = [entry.title for entry in parse_feed(self.client.get(url)).entries]
                self.assertNotIn(self.hidden.title, titles)
                self.assertNotIn(self.withheld.title, titles)

    def test_category_feed_lists_that_category_only(self):
        feed = parse_feed(self.client.get(f"/feeds/category/{self.finance.slug}.xml"))
        self.assertEqual([entry.title for entry in feed.entries], [self.first.title])
        self.assertIn("财经", feed.feed.title)
        self.assertEqual(feed.feed.link, f"http://testserver{self.finance.get_absolute_url()}")

    def test_unknown_category_feed_is_not_found(self):
        self.assertEqual(self.client.get("/feeds/category/no-such.xml").status_code, 404)

    def test_pages_announce_their_feeds(self):
        self.assertContains(self.client.get("/"), 'type="application/atom+xml"', count=1)
        category_page = self.client.get(self.finance.get_absolute_url())
        feed_url = reverse("articles:feed_category", kwargs={"slug": self.finance.slug})
        self.assertContains(category_page, f'href="{feed_url}"')

    def test_feed_query_counts_are_fixed(self):
        for n in range(10):
            make_snapshot(title=f"更多 {n}", category=self.finance, source=make_source(f"来源 {n}"))
        with self.assertNumQueries(PAGE_CACHE_CHECK + RENDER["feed_latest"]):
            parse_feed(self.client.get("/feeds/latest.xml"))
        with self.assertNumQueries(PAGE_CACHE_CHECK + RENDER["feed_category"]):
            parse_feed(self.client.get(f"/feeds/category/{self.finance.slug}.xml"))

    def test_a_feed_holds_the_latest_fifty(self):
        start = datetime(2025, 1, 1, tzinfo=SHANGHAI)
        for n in range(55):
            make_snapshot(title=f"批量 {n}", category=self.tech, published_at=start + timedelta(hours=n))
        entries = parse_feed(self.client.get("/feeds/latest.xml")).entries
        self.assertEqual(len(entries), 50)
        self.assertEqual(entries[0].title, "批量 54")


class SitemapTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.finance = make_category("财经")
        cls.snapshots = [make_snapshot(title=f"快照 {n}", category=cls.finance) for n in range(5)]
        cls.hidden = make_snapshot(title="隐藏", status=Snapshot.Status.HIDDEN)
        cls.withheld = make_snapshot(title="屏蔽", status=Snapshot.Status.WITHHELD)

    def locations(self, response) -> list[str]:
        self.assertEqual(response.status_code, 200)
        root = ET.fromstring(response.content)  # noqa: S314 - our own sitemap, from the test client
        return [element.text for element in root.findall(".//sm:loc", SITEMAP_NS)]

    def test_robots_txt_points_at_the_sitemap_with_an_absolute_address(self):
        with self.assertNumQueries(0):
            response = self.client.get("/robots.txt")
        self.assertEqual(response["Content-Type"], "text/plain; charset=utf-8")
        lines = response.content.decode().splitlines()
        self.assertIn("Sitemap: http://testserver/sitemap.xml", lines)
        self.assertIn("User-agent: *", lines)
        self.assertIn("Disallow: /admin/", lines)

    def test_index_lists_the_sections(self):
        index = self.locations(self.client.get("/sitemap.xml"))
        self.assertEqual(index, ["http://testserver/sitemap-pages.xml", "http://testserver/sitemap-snapshots.xml"])

    def test_snapshot_section_lists_published_snapshots_with_lastmod(self):
        response = self.client.get("/sitemap-snapshots.xml")
        urls = self.locations(response)
        self.assertEqual(urls, [f"http://testserver{s.get_absolute_url()}" for s in self.snapshots])
        root = ET.fromstring(response.content)  # noqa: S314 - our own sitemap, from the test client
        lastmods = [element.text for element in root.findall(".//sm:lastmod", SITEMAP_NS)]
        self.assertEqual(lastmods, [timezone.localdate(s.updated_at).isoformat() for s in self.snapshots])

    def test_lastmod_is_the_day_in_the_sites_time_zone(self):
        # 20:00 UTC on 1 March is 04:00 on 2 March in Asia/Shanghai: the day a reader there saw.
        Snapshot.objects.filter(pk__in=[s.pk for s in self.snapshots]).update(
            updated_at=datetime(2026, 3, 1, 20, 0, tzinfo=UTC)
        )
        root = ET.fromstring(self.client.get("/sitemap-snapshots.xml").content)  # noqa: S314 - our own sitemap
        lastmods = [element.text for element in root.findall(".//sm:lastmod", SITEMAP_NS)]
        self.assertEqual(lastmods, ["2026-03-02"] * len(self.snapshots))

    def test_hidden_and_withheld_snapshots_are_not_in_the_sitemap(self):
        urls = self.locations(self.client.get("/sitemap-snapshots.xml"))
        for snapshot in (self.hidden, self.withheld):
            self.assertNotIn(f"http://testserver{snapshot.get_absolute_url()}", urls)

    def test_pages_section_lists_home_and_categories(self):
        urls = self.locations(self.client.get("/sitemap-pages.xml"))
        self.assertEqual(urls, ["http://testserver/", f"http://testserver{self.finance.get_absolute_url()}"])

    def test_past_the_limit_the_index_splits_snapshots_into_pages_by_key_range(self):
        with mock.patch.object(SnapshotSitemap, "limit", 2):
            index = self.locations(self.client.get("/sitemap.xml"))
            highest = Snapshot.objects.order_by("-pk").first().pk
            pages = [url for url in index if "snapshots" in url]
            self.assertEqual(len(pages), -(-highest // 2))
            listed = []
            for url in pages:
                parts = urlsplit(url)
                with self.assertNumQueries(PAGE_CACHE_CHECK + RENDER["sitemap_snapshots"]):
                    listed += self.locations(self.client.get(parts.path, {"p": parts.query.removeprefix("p=") or 1}))
            self.assertEqual(sorted(listed), sorted(f"http://testserver{s.get_absolute_url()}" for s in self.snapshots))
            self.assertEqual(self.client.get("/sitemap-snapshots.xml", {"p": len(pages) + 1}).status_code, 404)
            self.assertEqual(self.client.get("/sitemap-snapshots.xml", {"p": "x"}).status_code, 404)

    def test_sitemap_query_counts_are_fixed(self):
        with self.assertNumQueries(PAGE_CACHE_CHECK + RENDER["sitemap_index"]):
            self.client.get("/sitemap.xml")
        with self.assertNumQueries(PAGE_CACHE_CHECK + RENDER["sitemap_snapshots"]):
            self.client.get("/sitemap-snapshots.xml")
        with self.assertNumQueries(PAGE_CACHE_CHECK + RENDER["sitemap_pages"]):
            self.client.get("/sitemap-pages.xml")

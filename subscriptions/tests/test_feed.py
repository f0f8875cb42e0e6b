from datetime import datetime

import feedparser
from django.db import connection
from django.test import TestCase, override_settings
from django.urls import reverse

from accounts.tests.helpers import make_reader
from articles.models import SHANGHAI, Snapshot
from articles.tests.helpers import make_category, make_snapshot, make_source
from articles.tests.query_counts import RARE_QUERY_PLAN
from subscriptions.models import Subscriber

from .helpers import subscribe


def feed_path(reader) -> str:
    return reverse("subscriptions:feed", kwargs={"token": Subscriber.objects.get(reader=reader).feed_token})


@override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])
class PrivateFeedTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.reader = make_reader("reader@example.org")
        cls.finance = make_category("财经", "caijing")
        cls.sport = make_category("体育", "tiyu")
        subscribe(cls.reader, category=cls.finance)
        subscribe(cls.reader, keyword="营商环境")
        cls.older = make_snapshot(
            category=cls.finance,
            title="鲁西新区以环境之优谋发展之势",
            source=make_source("人民资讯"),
            published_at=datetime(2023, 9, 14, 11, 24, tzinfo=SHANGHAI),
            body="<p>近年来，鲁西新区坚持把优化营商环境作为一号改革工程。</p><p>第二段。</p>",
        )
        cls.newer = make_snapshot(
            category=cls.sport,
            title="体育产业营商环境",
            published_at=datetime(2024, 3, 1, 9, 0, tzinfo=SHANGHAI),
        )
        make_snapshot(category=cls.sport, title="不相关的体育新闻")
        make_snapshot(category=cls.finance, title="被屏蔽的财经", status=Snapshot.Status.WITHHELD)

    def test_the_private_feed_is_the_stream_as_atom_for_a_feed_reader(self):
        response = self.client.get(feed_path(self.reader))

        self.assertEqual(response.status_code, 200)
        self.assertEqual(response["Content-Type"], "application/atom+xml; charset=utf-8")
        feed = feedparser.parse(response.content)
        self.assertFalse(feed.bozo, feed.get("bozo_exception"))
        self.assertEqual(feed.version, "atom10")
        self.assertEqual([entry.title for entry in feed.entries], [self.newer.title, self.older.title])
        entry = feed.entries[1]
        self.assertEqual(entry.link, f"http://testserver{self.older.get_absolute_url()}")
        self.assertEqual(entry.published_parsed[:5], (2023, 9, 14, 3, 24))  # 11:24 in Shanghai, in UTC
        self.assertEqual(entry.author, "人民资讯")
        self.assertEqual([tag.term for tag in entry.tags], ["财经"])
        self.assertTrue(entry.summary.startswith("近年来，鲁西新区坚持把优化营商环境"))
        self.assertNotIn("<p>", entry.summary)

    def test_the_feed_address_is_kept_private(self):
        response = self.client.get(feed_path(self.reader))

        self.assertEqual(response["X-Robots-Tag"], "noindex")
        self.assertEqual(response["Referrer-Policy"], "no-referrer")
        self.assertTrue(response["Cache-Control"].startswith("private"))
        self.assertGreaterEqual(len(Subscriber.objects.get(reader=self.reader).feed_token), 43)  # 256 bits

    def test_a_wrong_token_is_not_found(self):
        for token in ["x", "0" * 43, feed_path(self.reader).split("/")[-1][:-5] + "x"]:
            with self.subTest(token=token):
                self.assertEqual(
                    self.client.get(reverse("subscriptions:feed", kwargs={"token": token})).status_code, 404
                )

    def test_regenerating_gives_a_new_address_and_the_old_one_stops_working(self):
        old = feed_path(self.reader)
        self.client.force_login(self.reader)
        page = self.client.get(reverse("subscriptions:index"))
        self.assertContains(page, f"http://testserver{old}")

        response = self.client.post(reverse("subscriptions:regenerate_feed"))

        self.assertRedirects(response, reverse("subscriptions:index"))
        new = feed_path(self.reader)
        self.assertNotEqual(new, old)
        self.assertEqual(self.client.get(old).status_code, 404)
        self.assertEqual(self.client.get(new).status_code, 200)
        self.assertContains(self.client.get(reverse("subscriptions:index")), f"http://testserver{new}")

    def test_regenerating_needs_a_post_by_the_reader(self):
        old = feed_path(self.reader)
        self.assertEqual(self.client.post(reverse("subscriptions:regenerate_feed")).status_code, 302)  # to log in
        self.client.force_login(self.reader)
        self.assertEqual(self.client.get(reverse("subscriptions:regenerate_feed")).status_code, 405)
        self.assertEqual(feed_path(self.reader), old)

    def test_the_feed_of_a_deactivated_account_is_gone(self):
        path = feed_path(self.reader)
        type(self.reader).objects.filter(pk=self.reader.pk).update(is_active=False)

        self.assertEqual(self.client.get(path).status_code, 404)

    def test_the_feed_runs_a_fixed_number_of_queries(self):
        for n in range(10):
            subscribe(self.reader, keyword=f"关键词{n}号")
        path = feed_path(self.reader)
        # The subscriber, their subscriptions, the stream, the archive version; and, the first time,
        # each keyword's plan (11 rare keywords).
        with self.assertNumQueries(4 + 11 * RARE_QUERY_PLAN[connection.vendor]):
            self.client.get(path)
        with self.assertNumQueries(4):
            self.client.get(path)

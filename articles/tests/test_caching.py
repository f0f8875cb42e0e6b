"""The page cache: anonymous visitors are served stored pages, and any change to the archive shows
on every page at once, however it was made (articles/caching.py, migration 0005's triggers)."""

import json
import re
import tempfile
from datetime import datetime
from io import StringIO
from pathlib import Path
from unittest import mock, skipUnless

from django.core.cache import caches
from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.http import HttpResponse
from django.template import RequestContext, Template
from django.test import Client, RequestFactory, TestCase, TransactionTestCase, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from articles import services
from articles.caching import archive_version, reader_page_cache
from articles.models import SHANGHAI, Category, Snapshot, Source
from moderation import services as moderation
from moderation.models import TakedownItem
from moderation.tests.helpers import api_body, make_counter_notice, make_moderator, submit

from .helpers import make_category, make_editor, make_related_link, make_snapshot, make_source, status_fields
from .query_counts import PAGE_CACHE_CHECK, RENDER

CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def csrf_token_in(response) -> str:
    tokens = CSRF_INPUT.findall(response.content.decode())
    assert len(tokens) == 1, tokens
    return tokens[0]


class _Archive:
    """A category with the snapshot a takedown will name, a neighbour whose related links and
    "more" list point at it, and a second page of the category behind them."""

    def build(self):
        self.category = make_category("财经")
        self.source = make_source("人民资讯")
        self.target = make_snapshot(
            title="将被屏蔽的报道",
            category=self.category,
            source=self.source,
            is_featured=True,
            published_at=datetime(2024, 5, 2, 9, 0, tzinfo=SHANGHAI),
        )
        self.neighbour = make_snapshot(
            title="相邻的报道",
            category=self.category,
            source=self.source,
            published_at=datetime(2024, 5, 1, 9, 0, tzinfo=SHANGHAI),
        )
        make_related_link(self.neighbour, title="指向将被屏蔽的报道", target=self.target)
        self.older = [
            make_snapshot(
                title=f"更早的报道{n}",
                category=self.category,
                source=self.source,
                published_at=datetime(2024, 4, 1 + n, tzinfo=SHANGHAI),
            )
            for n in range(3)
        ]

    def pages(self) -> dict[str, str]:
        """Every public page the target appears on, and its own."""
        category_url = self.category.get_absolute_url()
        return {
            "home": "/",
            "category": category_url,
            "category, filtered": f"{category_url}?source={self.source.pk}",
            "category, from the target on": f"{category_url}?after=2024-04-01T00:00:00Z,{self.older[0].pk}",
            "neighbour": self.neighbour.get_absolute_url(),
            "another snapshot of the category": self.older[0].get_absolute_url(),
            "search": "/search/?q=将被屏蔽",
            "search, by relevance": "/search/?q=报道&order=relevance",
            "latest feed": "/feeds/latest.xml",
            "category feed": f"/feeds/category/{self.category.slug}.xml",
            "sitemap of snapshots": "/sitemap-snapshots.xml",
        }

    def warm(self) -> None:
        """Visit every page, twice, and check the second visit came from the cache."""
        for name, url in self.pages().items():
            first = self.client.get(url)
            self.assertContains(first, self.target.key, msg_prefix=name)
            with self.assertNumQueries(PAGE_CACHE_CHECK):
                self.client.get(url)
        self.assertEqual(self.client.get(self.target.get_absolute_url()).status_code, 200)

    def assert_gone_everywhere(self) -> None:
        for name, url in self.pages().items():
            with self.subTest(name):
                response = self.client.get(url)
                self.assertEqual(response.status_code, 200)
                self.assertNotContains(response, self.target.key)
                self.assertNotContains(response, self.target.title)
                self.assertNotContains(response, "指向将被屏蔽的报道")

    def assert_shown_everywhere(self) -> None:
        for name, url in self.pages().items():
            with self.subTest(name):
                self.assertContains(self.client.get(url), self.target.key)


class TakedownReachesCachedPagesTests(_Archive, TransactionTestCase):
    """Committed for real, as in production: a decision shows on every cached page the moment its
    transaction commits."""

    serialized_rollback = True

    def setUp(self):
        self.build()

    def test_an_approved_takedown_is_gone_at_once_from_every_cached_page_and_back_on_restoration(self):
        self.warm()
        moderator = make_moderator()
        request = submit(self.target).request
        moderation.takedown_review(request_id=request.pk, moderator=moderator)
        self.assert_shown_everywhere()  # filing and reviewing change nothing readers see

        moderation.takedown_approve(request_id=request.pk, moderator=moderator, reason="权利证明充分。")
        self.assert_gone_everywhere()
        self.assertEqual(self.client.get(self.target.get_absolute_url()).status_code, 451)

        make_counter_notice(self.target)
        moderation.takedown_restore(request_id=request.pk, moderator=moderator, reason="反通知理由成立。")
        self.assert_shown_everywhere()
        self.assertContains(self.client.get(self.target.get_absolute_url()), self.target.title)

    def test_a_takedown_filed_through_the_api_and_approved_in_the_admin_empties_the_cache_too(self):
        self.warm()
        moderator = make_moderator()
        response = self.client.post(
            reverse("moderation:api_takedown"),
            data=json.dumps(api_body(self.target), ensure_ascii=False),
            content_type="application/json",
        )
        self.assertEqual(response.status_code, 201, response.content)
        request_id = TakedownItem.objects.get(snapshot=self.target).request_id
        moderation.takedown_review(request_id=request_id, moderator=moderator)
        admin = Client()
        admin.force_login(moderator)
        approve_url = reverse("admin:moderation_takedownrequest_approve", args=[request_id])
        response = admin.post(
            approve_url, {"reason": "权利证明充分。", "ground": "copyright"} | self.outcomes(admin, approve_url)
        )
        self.assertEqual(response.status_code, 302)
        self.assert_gone_everywhere()

    @staticmethod
    def outcomes(client, url) -> dict:
        page = client.get(url).content.decode()
        return dict.fromkeys(set(re.findall(r'name="(item_\d+)"', page)), "actioned")


class ChangesReachCachedPagesTests(_Archive, TestCase):
    """Every way of changing what readers see, inside one transaction (the test's), shows at once."""

    def setUp(self):
        self.build()
        self.editor = make_editor()

    def test_hiding_by_an_editor(self):
        self.warm()
        services.snapshot_set_status(snapshot_ids=[self.target.pk], status=Snapshot.Status.HIDDEN, actor=self.editor)
        self.assert_gone_everywhere()
        self.assertEqual(self.client.get(self.target.get_absolute_url()).status_code, 404)

    def test_hiding_with_the_admin_action(self):
        self.warm()
        editor = Client()
        editor.force_login(self.editor)
        editor.post(
            reverse("admin:articles_snapshot_changelist"),
            {"action": "hide", "_selected_action": [self.target.pk], "index": 0},
        )
        self.assertEqual(Snapshot.objects.get(pk=self.target.pk).status, Snapshot.Status.HIDDEN)
        self.assert_gone_everywhere()

    def test_moving_to_another_category(self):
        self.warm()
        sport = make_category("体育")
        services.snapshot_move_to_category(snapshot_ids=[self.target.pk], category=sport, actor=self.editor)
        response = self.client.get(self.category.get_absolute_url())
        self.assertNotContains(response, self.target.key)
        self.assertContains(self.client.get(sport.get_absolute_url()), self.target.key)

    def test_withholding_by_any_write_even_one_that_bypasses_the_services(self):
        self.warm()
        Snapshot.objects.filter(pk=self.target.pk).update(**status_fields(Snapshot.Status.WITHHELD))
        self.assert_gone_everywhere()

    def test_editing_a_title_in_the_admin(self):
        self.warm()
        editor = Client()
        editor.force_login(self.editor)
        change_url = reverse("admin:articles_snapshot_change", args=[self.target.pk])
        data = {
            "title": "编辑改过的标题",
            "category": self.category.pk,
            "editor_status": Snapshot.EditorStatus.PUBLISHED,
            "is_featured": "on",
            "related_links-TOTAL_FORMS": "0",
            "related_links-INITIAL_FORMS": "0",
            "_save": "save",
        }
        self.assertEqual(editor.post(change_url, data).status_code, 302)
        for name, url in self.pages().items():
            with self.subTest(name):
                response = self.client.get(url)
                self.assertNotContains(response, ">将被屏蔽的报道<")
                if name.startswith("search"):  # the old words find it no more
                    self.assertNotContains(response, self.target.key)
                elif not name.startswith("sitemap"):  # a sitemap lists addresses only
                    self.assertContains(response, "编辑改过的标题")
        self.assertContains(self.client.get("/search/", {"q": "编辑改过"}), self.target.key)

    def test_renaming_a_category_or_a_source(self):
        self.warm()
        Category.objects.filter(pk=self.category.pk).update(name="财经要闻")
        Source.objects.filter(pk=self.source.pk).update(name="人民资讯客户端")
        for name, url in self.pages().items():
            if "feed" in name or "sitemap" in name:
                continue  # they name neither
            with self.subTest(name):
                response = self.client.get(url)
                self.assertContains(response, "财经要闻")
                self.assertContains(response, "人民资讯客户端")

    def test_importing_a_changed_capture(self):
        self.warm()
        record = {
            "url": None,
            "title": "导入的新报道",
            "category": "财经",
            "source": "人民资讯",
            "published_at": "2024-06-01T10:00:00+08:00",
            "captured_at": "2024-06-01T12:00:00+08:00",
            "collected_by": "td.fyun.cc",
            "body_text": "正文。",
        }
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "crawl.jsonl"
            path.write_text(json.dumps(record, ensure_ascii=False) + "\n", encoding="utf-8")
            call_command("import_snapshots", str(path), stdout=StringIO())
        self.assertContains(self.client.get("/"), "导入的新报道")
        self.assertContains(self.client.get(self.category.get_absolute_url()), "导入的新报道")


class PageCacheTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.category = make_category("财经")
        cls.snapshot = make_snapshot(title="缓存中的报道", category=cls.category)

    def test_a_cached_page_is_the_same_for_every_visitor_and_sets_no_cookie(self):
        first, second = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
        page_one = first.get("/")
        with self.assertNumQueries(PAGE_CACHE_CHECK):
            page_two = second.get("/")
        self.assertEqual(page_one.content, page_two.content)
        for page in (page_one, page_two):
            self.assertContains(page, "缓存中的报道")
            self.assertNotContains(page, "csrfmiddlewaretoken")
            self.assertEqual(dict(page.cookies), {})

    def test_a_page_that_asks_for_a_csrf_token_is_not_cached(self):
        rendered = []

        @reader_page_cache
        def page_with_a_form(request):
            rendered.append(request)
            return HttpResponse(Template("<form>{% csrf_token %}</form>").render(RequestContext(request)))

        def visit():
            request = RequestFactory().get("/a-form/")
            request.LANGUAGE_CODE = "zh-hans"
            response = page_with_a_form(request)
            self.assertTrue(request.META["CSRF_COOKIE_NEEDS_UPDATE"])  # the middleware will set the cookie
            return csrf_token_in(response)

        self.assertNotEqual(visit(), visit())
        self.assertEqual(len(rendered), 2)

    def test_languages_are_cached_apart(self):
        chinese = self.client.get("/", headers={"Accept-Language": "zh-hans"})
        english = self.client.get("/", headers={"Accept-Language": "en"})
        self.assertContains(chinese, '<html lang="zh-Hans">')
        self.assertContains(english, '<html lang="en">')
        with self.assertNumQueries(PAGE_CACHE_CHECK):
            self.assertContains(self.client.get("/", headers={"Accept-Language": "en"}), '<html lang="en">')

    def test_host_names_are_cached_apart(self):
        url = self.snapshot.get_absolute_url()
        with self.settings(ALLOWED_HOSTS=["testserver", "archive.example.org"]):
            self.client.get(url)
            other = self.client.get(url, headers={"Host": "archive.example.org"})
        self.assertContains(other, "http%3A%2F%2Farchive.example.org%2Fdetail%2F")

    def test_logged_in_readers_and_visitors_with_a_session_get_a_page_rendered_for_them(self):
        reader = Client()
        reader.force_login(make_editor())
        for _visit in range(2):
            # The session and its reader (shown in the header), then the page; never the cache's version.
            with self.assertNumQueries(2 + RENDER["home"]):
                self.assertEqual(reader.get("/").status_code, 200)

    def test_pages_that_are_not_found_or_withheld_are_not_cached(self):
        withheld = make_snapshot(status=Snapshot.Status.WITHHELD)
        for _visit in range(2):
            with CaptureQueriesContext(connection) as queries:
                self.assertEqual(self.client.get("/category/不存在/").status_code, 404)
                self.assertEqual(self.client.get(withheld.get_absolute_url()).status_code, 451)
            self.assertGreater(len(queries), 2 * PAGE_CACHE_CHECK)  # rendered each time

    def test_the_not_found_page_has_a_real_csrf_token(self):
        response = self.client.get("/category/不存在/")
        self.assertEqual(response.status_code, 404)
        tokens = CSRF_INPUT.findall(response.content.decode())
        for token in tokens:
            self.assertRegex(token, r"^[A-Za-z0-9]{64}$")

    def test_pages_are_still_served_when_the_cache_server_is_down(self):
        nowhere = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:9/0"}
        with self.settings(CACHES={"default": nowhere}), self.assertLogs("articles.caching", "WARNING"):
            response = self.client.get("/")
        self.assertContains(response, "缓存中的报道")

    @override_settings(ARTICLES_PAGE_CACHE_SECONDS=0)
    def test_the_page_cache_can_be_turned_off(self):
        for _visit in range(2):
            with self.assertNumQueries(RENDER["home"]):
                self.client.get("/")


@skipUnless(connection.vendor == "postgresql", "SQLite has no connection to lose")
class VersionReadIsTheHealthCheckTests(TransactionTestCase):
    """On a page from the cache, reading the archive version is the request's only round trip:
    Django's health check of the kept connection is not run besides it, and a connection the
    database dropped is replaced."""

    serialized_rollback = True

    def start_request(self):
        self.assertTrue(connection.health_check_enabled)  # production's setting (settings.py)
        connection.ensure_connection()
        connection.health_check_done = False  # as Django does when each request starts

    def test_a_healthy_kept_connection_is_not_checked_apart(self):
        self.start_request()
        with mock.patch.object(connection, "is_usable", wraps=connection.is_usable) as is_usable:
            with self.assertNumQueries(1):
                archive_version()
        is_usable.assert_not_called()

    def test_a_connection_the_database_dropped_is_replaced(self):
        before = archive_version()
        self.start_request()
        dropped = connection.connection.info.backend_pid
        other = connections.create_connection(DEFAULT_DB_ALIAS)
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [dropped])
        other.close()
        with mock.patch.object(connection, "is_usable", wraps=connection.is_usable) as is_usable:
            self.assertEqual(archive_version(), before)
        is_usable.assert_not_called()
        self.assertNotEqual(connection.connection.info.backend_pid, dropped)


@skipUnless(connection.vendor == "postgresql", "prepared statements are PostgreSQL's")
class PreparedStatementTests(TestCase):
    """On PostgreSQL a kept connection prepares the statements it runs again and again (settings:
    DJANGO_DB_PREPARE_THRESHOLD), so the server plans the archive-version read and a page's queries
    once, not on every request."""

    def setUp(self):
        self.snapshot = make_snapshot(title="常被访问的报道", category=make_category("财经"))

    def prepared(self) -> list[str]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT statement FROM pg_prepared_statements")
            return [row[0] for row in cursor.fetchall()]

    def test_the_archive_version_read_and_a_pages_queries_are_prepared_after_the_second_request(self):
        for _ in range(2):
            self.assertEqual(self.client.get(self.snapshot.get_absolute_url()).status_code, 200)
            caches["default"].clear()  # rendered again, as on a crawler's walk
        prepared = self.prepared()
        self.assertTrue(any("articles_archiveversion" in sql for sql in prepared), prepared)
        self.assertTrue(any('FROM "articles_snapshot"' in sql for sql in prepared), prepared)


class PageCacheKeyTests(TestCase):
    """A page is stored under the parameters its view reads, and no others (the probe's 1,500 junk
    addresses added 1,500 entries)."""

    @classmethod
    def setUpTestData(cls):
        cls.category = make_category("财经", "caijing")
        cls.source = make_source("人民资讯")
        cls.snapshot = make_snapshot(title="只存一份的页面", category=cls.category, source=cls.source)

    def entries(self) -> int:
        return sum(1 for key in caches["default"]._cache if ":page:" in key)

    def test_parameters_a_page_does_not_read_add_no_entry_and_do_not_reach_the_page(self):
        url = self.category.get_absolute_url()
        first = self.client.get(url)
        self.assertEqual(self.entries(), 1)
        for number in range(30):
            with self.assertNumQueries(PAGE_CACHE_CHECK):
                response = self.client.get(url, {"utm_source": f"junk{number}", "fbclid": "x" * number})
            self.assertEqual(response.content, first.content)
        self.assertEqual(self.entries(), 1)

    def test_repeated_and_reordered_parameters_are_one_page(self):
        url = self.category.get_absolute_url()
        variants = [
            f"{url}?source={self.source.pk}&published_after=2020-01-01",
            f"{url}?published_after=2020-01-01&source={self.source.pk}",
            f"{url}?source=0&source={self.source.pk}&published_after=2020-01-01&utm=1",
        ]
        answers = [self.client.get(variant) for variant in variants]
        self.assertEqual({a.status_code for a in answers}, {200})
        self.assertContains(answers[0], "只存一份的页面")
        self.assertEqual(len({a.content for a in answers}), 1)
        self.assertEqual(self.entries(), 1)

    def test_the_parameters_a_page_reads_still_make_their_own_pages(self):
        self.client.get("/search/", {"q": "页面"})
        self.client.get("/search/", {"q": "页面", "order": "relevance"})
        self.client.get("/search/", {"q": "只存", "utm": "1"})
        self.assertEqual(self.entries(), 3)

    def test_a_page_rendered_for_a_logged_in_reader_ignores_them_too(self):
        self.client.force_login(make_editor())
        response = self.client.get(self.category.get_absolute_url(), {"utm_campaign": "spring"})
        self.assertNotContains(response, "spring")
        self.assertEqual(self.entries(), 0)

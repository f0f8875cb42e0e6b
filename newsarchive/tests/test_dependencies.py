"""What the site does when what it depends on fails: Redis down (pages rendered without the cache,
rate limits counted in each process, never a 5xx), readiness (/readyz) and liveness (/healthz),
and a production start without collected static files or with a local DJANGO_SITE_URL."""

import tempfile
from pathlib import Path
from unittest import mock

from django.conf import settings
from django.core.cache import caches
from django.db import OperationalError, connection
from django.test import Client, TestCase, override_settings

from articles.tests.helpers import make_category, make_snapshot
from moderation.models import TakedownRequest
from moderation.tests.helpers import EN, api_body, form_data, make_request, snapshot_url
from newsarchive.deployment import static_files_problem
from newsarchive.settings import cache_from_url
from newsarchive.testing import clear_caches, sending_mail
from outbox.checks import check_site_url

# Nothing listens on port 9 (discard) here: a connection is refused at once, as with a stopped Redis.
DOWN = cache_from_url("redis://127.0.0.1:9/0", "")
LOCAL = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "dependencies-test"}


class RedisDownTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.category = make_category("财经", "caijing")
        cls.snapshot = make_snapshot(category=cls.category, title="没有缓存也能读")
        cls.withheld = make_snapshot(category=cls.category)
        make_request(cls.withheld, status=TakedownRequest.Status.APPROVED, email="held@example.org")

    def setUp(self):
        clear_caches()
        self.client = Client(raise_request_exception=True)

    def post(self, path: str, data, **kwargs):
        with sending_mail():
            return self.client.post(path, data, headers=EN, **kwargs)

    @override_settings(CACHES={"default": DOWN, "ratelimit": DOWN})
    def test_reader_pages_are_rendered_without_the_cache(self):
        with self.assertLogs("articles.caching", "WARNING"):
            for path in ["/", "/category/caijing/", self.snapshot.get_absolute_url(), "/search/?q=缓存"]:
                with self.subTest(path=path):
                    self.assertEqual(self.client.get(path).status_code, 200)

    @override_settings(CACHES={"default": DOWN, "ratelimit": DOWN})
    def test_every_rate_limited_post_is_answered_and_the_failure_logged(self):
        with self.assertLogs("newsarchive.ratelimit", "WARNING") as logs:
            answers = {
                "removal form": self.post("/takedown/new/", form_data(self.snapshot)).status_code,
                "API": self.post(
                    "/api/takedown/", api_body(self.snapshot), content_type="application/json"
                ).status_code,
                "counter-notice": self.post(
                    "/takedown/counter/",
                    {
                        "url": snapshot_url(self.withheld),
                        "name": "李四",
                        "email": "li@example.org",
                        "phone": "+86 10 1",
                        "address": "北京",
                        "explanation": "这是我方自己的报道。",
                        "good_faith": "on",
                        "consent_to_jurisdiction": "on",
                        "signature": "李四",
                    },
                ).status_code,
                "sign-up": self.post(
                    "/accounts/signup/",
                    {"email": "new@example.org", "password1": "Lang genug 2026!", "password2": "Lang genug 2026!"},
                ).status_code,
                "resend confirmation": self.post("/accounts/confirm/again/", {"email": "new@example.org"}).status_code,
                "password reset": self.post("/accounts/password/reset/", {"email": "new@example.org"}).status_code,
            }
        self.assertEqual(
            answers,
            {
                "removal form": 200,  # the receipt page
                "API": 201,
                "counter-notice": 200,
                "sign-up": 302,
                "resend confirmation": 302,
                "password reset": 302,
            },
        )
        self.assertIn("requests are allowed and counted in each process", logs.output[0])
        self.assertEqual(len(logs.output), 1)  # once a minute, not once a request

    @override_settings(CACHES={"default": DOWN, "ratelimit": DOWN}, TAKEDOWN_RATE_LIMIT=2)
    def test_while_redis_is_down_each_process_still_holds_the_limit(self):
        with self.assertLogs("newsarchive.ratelimit", "WARNING"):
            answers = [
                self.post("/api/takedown/", api_body(make_snapshot()), content_type="application/json").status_code
                for _n in range(3)
            ]
        self.assertEqual(answers, [201, 201, 429])


@override_settings(CACHES={"default": LOCAL, "ratelimit": {**LOCAL, "LOCATION": "dependencies-test-ratelimit"}})
class RateLimitCacheTests(TestCase):
    def test_counters_live_in_their_own_cache_apart_from_the_pages(self):
        snapshot = make_snapshot()
        clear_caches()
        with sending_mail():
            self.client.post("/api/takedown/", api_body(snapshot), content_type="application/json")
        self.client.get(snapshot.get_absolute_url())
        counters = [key for key in caches["ratelimit"]._cache if "ratelimit:" in key]
        pages = [key for key in caches["default"]._cache if "page:" in key]
        self.assertEqual(len(counters), 2)  # per client address and per recipient
        self.assertEqual(len(pages), 1)
        self.assertFalse([key for key in caches["default"]._cache if "ratelimit:" in key])


class ReadinessTests(TestCase):
    def test_readyz_answers_200_when_the_database_and_the_caches_answer(self):
        response = self.client.get("/readyz")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.content, b"ok\n")
        self.assertIn("no-cache", response["Cache-Control"])

    def test_readyz_answers_503_naming_the_database(self):
        client = Client(raise_request_exception=False)
        with (
            mock.patch.object(connection, "cursor", side_effect=OperationalError("refused")),
            self.assertLogs("newsarchive.views", "WARNING"),
        ):
            response = client.get("/readyz")
        self.assertEqual(response.status_code, 503)
        self.assertEqual(response.content.decode(), "database: unavailable\n")
        self.assertEqual(response["Retry-After"], "30")

    @override_settings(CACHES={"default": DOWN, "ratelimit": LOCAL})
    def test_readyz_answers_503_naming_the_cache(self):
        with self.assertLogs("newsarchive.views", "WARNING"):
            response = self.client.get("/readyz")
        self.assertEqual(response.status_code, 503)
        self.assertEqual(response.content.decode(), "cache: unavailable\n")

    @override_settings(CACHES={"default": DOWN, "ratelimit": DOWN})
    def test_healthz_stays_a_liveness_check_without_database_or_cache(self):
        with mock.patch.object(connection, "cursor", side_effect=OperationalError("refused")):
            response = self.client.get("/healthz")
        self.assertEqual(response.status_code, 200)


class ProductionStartTests(TestCase):
    MANIFEST = {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"}

    def test_static_files_collected_without_a_manifest_stop_the_start_naming_the_command(self):
        with tempfile.TemporaryDirectory() as root:
            (Path(root) / "css").mkdir()
            (Path(root) / "css" / "site.css").write_text("body {}")  # as `make setup` collects under DEBUG
            with self.settings(
                DEBUG=False, STATIC_ROOT=root, STORAGES={**settings.STORAGES, "staticfiles": self.MANIFEST}
            ):
                problem = static_files_problem()
                self.assertIn("there is no manifest (staticfiles.json)", problem)
                from newsarchive.deployment import ensure_static_files

                with self.assertRaisesMessage(Exception, "manage.py collectstatic --no-input"):
                    ensure_static_files()

    def test_static_files_collected_for_production_let_it_start(self):
        from django.core.management import call_command

        with tempfile.TemporaryDirectory() as root:
            with self.settings(
                DEBUG=False, STATIC_ROOT=root, STORAGES={**settings.STORAGES, "staticfiles": self.MANIFEST}
            ):
                call_command("collectstatic", "--no-input", verbosity=0)
                self.assertIsNone(static_files_problem())
                # A file added since the last collection: its manifest entry is missing.
                Path(root, "staticfiles.json").write_text(
                    '{"paths": {"css/site.css": "css/site.1.css"}, "version": "1.1"}'
                )
                self.assertRegex(static_files_problem(), r"^\d+ files are not in the manifest")

    def test_development_needs_no_collected_files(self):
        with self.settings(DEBUG=True):
            self.assertIsNone(static_files_problem())

    def test_check_deploy_warns_when_the_site_url_is_unset_or_local(self):
        cases = {
            ("http://127.0.0.1:8000", False): ["outbox.W001"],
            ("http://localhost:8000", True): ["outbox.W001"],
            ("http://app.localhost", True): ["outbox.W001"],
            ("https://archive.example.org", True): [],
        }
        for (url, is_set), expected in cases.items():
            with self.subTest(url=url, is_set=is_set), self.settings(SITE_URL=url, SITE_URL_IS_SET=is_set):
                self.assertEqual([w.id for w in check_site_url(None)], expected)

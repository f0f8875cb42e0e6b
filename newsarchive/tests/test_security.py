"""The site's defences that live in settings: security headers and the Content Security Policy,
production's HTTPS hardening (checked in a separate process started as production is), log-in
throttling, and the 503 page when the database is away."""

import json
import os
import re
import secrets
import subprocess
import sys
from unittest import mock

from django.conf import settings
from django.contrib.auth.models import User
from django.db import OperationalError, connection
from django.test import Client, TestCase, override_settings
from django.urls import reverse

from articles.tests.helpers import make_category, make_snapshot
from moderation.tests.helpers import EN

LOGIN = reverse("admin:login")


def production_env(**extra) -> dict:
    """The environment of a production process, as the README's deployment section sets it."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
    env.update(
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="archive.example.org",
        DJANGO_CSRF_TRUSTED_ORIGINS="https://archive.example.org",
        DJANGO_SITE_URL="https://archive.example.org",
        DJANGO_CACHE_URL="redis://127.0.0.1:6379/1",  # named, not reached: no test request uses the cache
        DJANGO_RATELIMIT_CACHE_URL="redis://127.0.0.1:6379/2",
    )
    env.update(extra)
    return env


def run_in_production(*args: str, **env) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 - our own manage.py with fixed arguments
        [sys.executable, str(settings.BASE_DIR / "manage.py"), *args],
        env=production_env(**env),
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def csp_directives(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


class SecurityHeaderTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.snapshot = make_snapshot(category=make_category("财经", "caijing"))

    def test_every_kind_of_page_carries_the_security_headers(self):
        pages = [
            "/",
            "/category/caijing/",
            self.snapshot.get_absolute_url(),
            "/takedown/new/",
            "/takedown/counter/",
            "/transparency/",
            "/transparency/decisions.json",
            "/transparency/statements.json",
            "/transparency/statements.csv",
            LOGIN,
            "/no-such-page/",
        ]
        for path in pages:
            with self.subTest(path=path):
                response = self.client.get(path)
                self.assertEqual(response["X-Content-Type-Options"], "nosniff")
                self.assertEqual(response["X-Frame-Options"], "DENY")
                self.assertIn(response["Referrer-Policy"], ("same-origin", "no-referrer"))
                self.assertIn("Content-Security-Policy", response)

    def test_the_policy_allows_scripts_and_styles_from_our_own_origin_only(self):
        directives = csp_directives(self.client.get("/")["Content-Security-Policy"])
        self.assertEqual(directives["default-src"], ["'self'"])
        self.assertEqual(directives["script-src"], ["'self'"])
        self.assertEqual(directives["style-src"], ["'self'"])
        self.assertEqual(directives["object-src"], ["'none'"])
        self.assertEqual(directives["frame-ancestors"], ["'none'"])
        self.assertEqual(directives["base-uri"], ["'self'"])
        self.assertEqual(directives["form-action"], ["'self'"])
        header = self.client.get("/")["Content-Security-Policy"]
        for unsafe in ("'unsafe-inline'", "'unsafe-eval'", "'unsafe-hashes'", "*", "http:", "https:"):
            self.assertNotIn(f" {unsafe}", header)

    def test_public_pages_have_no_inline_script_or_style_the_policy_would_block(self):
        pages = ["/", "/category/caijing/", self.snapshot.get_absolute_url(), "/takedown/new/", "/transparency/"]
        for path in pages:
            with self.subTest(path=path):
                html = self.client.get(path).content.decode()
                self.assertNotRegex(html, r"<script(?![^>]*\bsrc=)[^>]*>")
                self.assertNotRegex(html, r"<style\b")
                self.assertNotRegex(html, r"\sstyle=")
                self.assertNotRegex(html, r"\son[a-z]+=")


class ProductionSettingsTests(TestCase):
    """A process started with DJANGO_DEBUG=0 as the README's deployment section says."""

    def test_check_deploy_reports_nothing(self):
        result = run_in_production("check", "--deploy", "--fail-level", "DEBUG")
        self.assertEqual(result.returncode, 0, result.stderr + result.stdout)
        self.assertIn("System check identified no issues (0 silenced).", result.stdout)

    def test_production_turns_on_hsts_secure_cookies_and_the_https_redirect(self):
        script = (
            "import json; from django.conf import settings; from django.test import Client; "
            "secure = Client().get('/healthz', secure=True, headers={'host': 'archive.example.org'}); "
            "plain = Client().get('/takedown/new/', headers={'host': 'archive.example.org'}); "
            "print(json.dumps({'hsts': secure.get('Strict-Transport-Security'), 'plain': plain.status_code, "
            "'location': plain.get('Location'), 'session': settings.SESSION_COOKIE_SECURE, "
            "'csrf': settings.CSRF_COOKIE_SECURE, 'debug': settings.DEBUG}))"
        )
        result = run_in_production("shell", "-c", script)
        self.assertEqual(result.returncode, 0, result.stderr)
        facts = json.loads(result.stdout.strip().splitlines()[-1])
        self.assertEqual(facts["hsts"], "max-age=31536000; includeSubDomains; preload")
        self.assertEqual(facts["plain"], 301)
        self.assertEqual(facts["location"], "https://archive.example.org/takedown/new/")
        self.assertTrue(facts["session"])
        self.assertTrue(facts["csrf"])
        self.assertFalse(facts["debug"])

    def test_production_refuses_to_start_without_a_secret_key(self):
        result = run_in_production("check", DJANGO_SECRET_KEY="")
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("DJANGO_SECRET_KEY is not set", result.stderr)


# A fast hasher: these tests are about counting attempts, not about hashing.
@override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])
class LoginThrottleTests(TestCase):
    """django-axes on every log-in form that goes through django.contrib.auth (the admin's here)."""

    @classmethod
    def setUpTestData(cls):
        cls.user = User.objects.create_superuser("chief", "chief@example.org", "correct horse battery")

    def attempt(self, password: str, client: Client | None = None, address: str = "203.0.113.5"):
        client = client or self.client
        return client.post(LOGIN, {"username": "chief", "password": password}, headers=EN, REMOTE_ADDR=address)

    def test_a_wrong_password_is_refused_as_usual_below_the_limit(self):
        for _attempt in range(settings.AXES_FAILURE_LIMIT - 1):
            response = self.attempt("guess")
            self.assertEqual(response.status_code, 200)
            self.assertContains(response, "Please enter the correct username and password")
        self.assertEqual(self.attempt("correct horse battery").status_code, 302)

    def test_after_the_limit_even_the_right_password_is_refused_with_429_and_a_reason(self):
        for _attempt in range(settings.AXES_FAILURE_LIMIT):
            self.attempt("guess")
        response = self.attempt("correct horse battery")
        self.assertEqual(response.status_code, 429)
        self.assertContains(response, "Too many failed log-ins", status_code=429)
        self.assertContains(response, f"failed to log in {settings.AXES_FAILURE_LIMIT} times", status_code=429)
        self.assertEqual(response["Retry-After"], str(int(settings.AXES_COOLOFF_TIME.total_seconds())))
        self.assertNotIn("_auth_user_id", self.client.session)

    def test_the_lockout_holds_one_account_at_one_address(self):
        for _attempt in range(settings.AXES_FAILURE_LIMIT):
            self.attempt("guess")
        self.assertEqual(self.attempt("correct horse battery", Client(), address="198.51.100.7").status_code, 302)

    def test_a_successful_log_in_resets_the_count(self):
        for _attempt in range(settings.AXES_FAILURE_LIMIT - 1):
            self.attempt("guess")
        self.assertEqual(self.attempt("correct horse battery", Client()).status_code, 302)
        for _attempt in range(settings.AXES_FAILURE_LIMIT - 1):
            self.assertEqual(self.attempt("guess").status_code, 200)

    def test_logins_without_a_request_are_not_throttled(self):
        for _attempt in range(settings.AXES_FAILURE_LIMIT + 1):
            self.assertFalse(Client().login(username="chief", password="guess"))
        self.assertTrue(Client().login(username="chief", password="correct horse battery"))


class DatabaseOutageTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.snapshot = make_snapshot(category=make_category("财经", "caijing"))

    def test_a_database_that_is_away_gives_a_503_page_and_the_site_recovers(self):
        client = Client(raise_request_exception=False)
        broken = OperationalError("connection to server at 127.0.0.1, port 5432 failed: Connection refused")
        with mock.patch.object(connection, "cursor", side_effect=broken), self.assertLogs("django.request", "ERROR"):
            for path in ["/", "/category/caijing/", self.snapshot.get_absolute_url(), "/transparency/"]:
                with self.subTest(path=path):
                    response = client.get(path)
                    self.assertEqual(response.status_code, 503)
                    self.assertEqual(response["Retry-After"], "30")
                    html = response.content.decode()
                    self.assertIn("Temporarily unavailable", html)
                    self.assertNotIn("Traceback", html)
                    self.assertNotIn("5432", html)
        self.assertEqual(client.get(self.snapshot.get_absolute_url()).status_code, 200)

    def test_other_errors_still_answer_500(self):
        client = Client(raise_request_exception=False)
        with (
            mock.patch("articles.views.HomeView.get_queryset", side_effect=RuntimeError("bug")),
            self.assertLogs("django.request", "ERROR"),
        ):
            response = client.get("/")
        self.assertEqual(response.status_code, 500)
        self.assertIn("Server error", response.content.decode())
        self.assertNotIn("bug", response.content.decode())


def test_no_template_of_the_site_has_inline_script_or_style():
    for path in sorted((settings.BASE_DIR / "templates").rglob("*.html")):
        text = path.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), path
        assert not re.search(r"\son[a-z]+=", text), path

"""Property-based tests (Hypothesis): arbitrary and hostile input at every public form, the JSON API,
the filters and the other pages that read the query string. Whatever is sent: never a 500; a refusal
says why (a form re-rendered with its errors, a 400 JSON body naming the fields); nothing typed is
lost. Examples are few and quick (the suite stays fast); the seed changes every run."""

import json
import os
import re
from urllib.parse import quote, urlsplit

from django.contrib.auth.models import User
from django.forms import Textarea
from django.test import override_settings
from django.urls import URLResolver, get_resolver
from django.utils import translation
from django.utils.html import escape
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from articles.tests.helpers import make_category, make_snapshot, make_source
from moderation.models import TakedownRequest
from moderation.tests.helpers import EN, form_values, make_request, snapshot_url
from newsarchive.testing import clear_caches, sending_mail
from subscriptions.models import Subscription

# HYPOTHESIS_EXAMPLES=500 for a thorough run by hand.
QUICK = settings(
    max_examples=int(os.environ.get("HYPOTHESIS_EXAMPLES", "30")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

HOSTILE = st.sampled_from(
    [
        "<script>alert(1)</script>",
        '"><img src=x onerror=alert(1)>',
        "' OR 1=1 --",
        "'; DROP TABLE articles_snapshot; --",
        "\x00",
        "a\x00b",
        "\u202eevil\u202c",
        "\ufeff",
        "𝕏" * 50,
        "中" * 6000,
        "a" * 25_000,
        "javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "https://",
        "http://[::1",
        "http://example.org:99999/",
        "https://user:pass@example.org/detail/" + "0" * 40 + ".html",
        "../../../../etc/passwd",
        "%00%2e%2e%2f",
        "\r\n\r\n",
        "{{ 7|add:7 }}{% debug %}",
        "${jndi:ldap://127.0.0.1/a}",
        "1e308",
        "-1",
        "9999-99-99",
        "0000-00-00",
        "2024-02-30",
        " ",
        "",
    ]
)
# Text a browser can send: any Unicode but lone surrogates, which no UTF-8 form can carry.
TEXT = st.one_of(st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=200), HOSTILE)
FORM_VALUE = st.one_of(TEXT, st.lists(TEXT, min_size=2, max_size=3))

TAKEDOWN_TEXT_FIELDS = [
    "name",
    "organisation",
    "email",
    "phone",
    "address",
    "work",
    "urls",
    "explanation",
    "evidence",
    "signature",
]
TAKEDOWN_FIELDS = [*TAKEDOWN_TEXT_FIELDS, "role", "work_date", "good_faith", "accurate_and_authorised"]
COUNTER_TEXT_FIELDS = ["urls", "name", "email", "phone", "address", "explanation", "signature"]
COUNTER_FIELDS = [*COUNTER_TEXT_FIELDS, "good_faith", "consent_to_jurisdiction"]
ERROR_SUMMARY = re.compile(r'<div class="error-summary" role="alert"')


def normalised(value: str) -> str:
    return value.replace("\r\n", "\n").replace("\r", "\n")


class PropertyTestCase(TestCase):
    """Hypothesis' TestCase runs each example in its own transaction; the cache (rate limits) is
    emptied before each and the language reset after."""

    def setUp(self):
        super().setUp()
        self.addCleanup(translation.deactivate)

    def fresh(self):
        clear_caches()


class FormAssertions:
    def assert_refusal_is_explained(self, response, data: dict, text_fields: list[str]):
        """A re-rendered form: every error is shown, each invalid field is named in the summary,
        and every text field holds exactly what was typed."""
        form = response.context["form"]
        html = response.content.decode()
        self.assertTrue(form.errors)
        self.assertRegex(html, ERROR_SUMMARY)
        for name, errors in form.errors.items():
            for error in errors:
                self.assertTrue(error.strip())
                self.assertIn(escape(error), html)
            if name != "__all__":
                self.assertIn(f'href="#field-{name}"', html)
        values, _checked = form_values(html)
        for name in text_fields:
            sent = data.get(name, "")
            sent = sent[-1] if isinstance(sent, list) else sent
            if "\x00" in sent:
                continue  # refused as such ("Null characters are not allowed."), not shown back
            shown = values.get(name, "")
            if not isinstance(form.fields[name].widget, Textarea):
                # A one-line input cannot hold a line break: browsers drop them as they are typed.
                shown, sent = shown.replace("\r", "").replace("\n", ""), sent.replace("\r", "").replace("\n", "")
            self.assertEqual(normalised(shown), normalised(sent), name)


@override_settings(TAKEDOWN_RATE_LIMIT=10_000)
class RemovalFormProperties(FormAssertions, PropertyTestCase):
    @classmethod
    def setUpTestData(cls):
        cls.snapshot = make_snapshot()

    @QUICK
    @given(st.dictionaries(st.sampled_from(TAKEDOWN_FIELDS), FORM_VALUE, max_size=len(TAKEDOWN_FIELDS)))
    def test_the_removal_form_never_fails_and_explains_every_refusal(self, data):
        self.fresh()
        response = self.client.post("/takedown/new/", data, headers=EN)
        self.assertEqual(response.status_code, 200)
        if "form" in response.context:
            self.assert_refusal_is_explained(response, data, TAKEDOWN_TEXT_FIELDS)
        else:
            self.assertTrue(TakedownRequest.objects.exists())

    @QUICK
    @given(
        field=st.sampled_from(TAKEDOWN_FIELDS),
        value=FORM_VALUE,
        urls=st.lists(st.one_of(st.just("SNAPSHOT"), TEXT), min_size=0, max_size=4),
    )
    def test_one_hostile_field_in_an_otherwise_complete_request(self, field, value, urls):
        self.fresh()
        lines = [snapshot_url(self.snapshot) if u == "SNAPSHOT" else u for u in urls]
        data = {
            "name": "王五",
            "role": "rights_holder",
            "email": "w@example.org",
            "phone": "+86 10 1234",
            "address": "北京",
            "work": "原创报道",
            "urls": "\n".join(lines) or snapshot_url(self.snapshot),
            "explanation": "全文转载。",
            "evidence": "首发于我方网站。",
            "good_faith": "on",
            "accurate_and_authorised": "on",
            "signature": "王五",
            field: value,
        }
        with sending_mail():
            response = self.client.post("/takedown/new/", data, headers=EN)
        self.assertEqual(response.status_code, 200)
        if "form" in response.context:
            self.assert_refusal_is_explained(response, data, TAKEDOWN_TEXT_FIELDS)
        else:
            req = TakedownRequest.objects.get()
            self.assertContains(response, req.reference)


@override_settings(TAKEDOWN_RATE_LIMIT=10_000)
class CounterNoticeProperties(FormAssertions, PropertyTestCase):
    @classmethod
    def setUpTestData(cls):
        cls.withheld = make_snapshot()
        make_request(cls.withheld, status=TakedownRequest.Status.APPROVED)

    @QUICK
    @given(st.dictionaries(st.sampled_from(COUNTER_FIELDS), FORM_VALUE, max_size=len(COUNTER_FIELDS)), st.booleans())
    def test_the_counter_notice_form_never_fails_and_explains_every_refusal(self, data, real_url):
        self.fresh()
        if real_url:
            data["urls"] = snapshot_url(self.withheld)
        response = self.client.post("/takedown/counter/", data, headers=EN)
        self.assertEqual(response.status_code, 200)
        if "form" in response.context:
            self.assert_refusal_is_explained(response, data, COUNTER_TEXT_FIELDS)
        else:
            self.assertEqual(TakedownRequest.objects.get().status, TakedownRequest.Status.DISPUTED)

    @QUICK
    @given(TEXT)
    def test_the_counter_notice_page_takes_any_address(self, url):
        response = self.client.get("/takedown/counter/", {"url": url}, headers=EN)
        if not assert_nul_refused(self, response, {"url": url}):
            self.assertEqual(response.status_code, 200)


JSON_SCALAR = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), TEXT)
JSON = st.recursive(
    JSON_SCALAR, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3), max_leaves=8
)
API_KEYS = [
    "requester",
    "work",
    "work_date",
    "urls",
    "explanation",
    "evidence",
    "good_faith",
    "accurate_and_authorised",
    "signature",
]
REQUESTER_KEYS = ["name", "organisation", "role", "email", "phone", "address"]
ERROR_KEY = re.compile(
    r"^(__all__|requester|requester\.(name|organisation|role|email|phone|address)|urls(\.\d+)?|"
    + "|".join(API_KEYS)
    + ")$"
)


@override_settings(TAKEDOWN_RATE_LIMIT=10_000)
class ApiProperties(PropertyTestCase):
    @classmethod
    def setUpTestData(cls):
        cls.snapshot = make_snapshot()

    def post(self, body: bytes | str):
        with sending_mail():
            # CONTENT_TYPE too: the test client sends none with an empty body, as a real client would.
            return self.client.post(
                "/api/takedown/", body, content_type="application/json", CONTENT_TYPE="application/json", headers=EN
            )

    def assert_answer(self, response):
        self.assertIn(response.status_code, (201, 400))
        self.assertEqual(response["Content-Type"], "application/json")
        body = response.json()
        if response.status_code == 201:
            self.assertTrue(TakedownRequest.objects.filter(reference=body["reference"]).exists())
            return
        self.assertFalse(TakedownRequest.objects.exists())
        self.assertIsInstance(body["errors"], dict)
        self.assertTrue(body["errors"])
        for key, messages in body["errors"].items():
            self.assertRegex(key, ERROR_KEY)
            self.assertTrue(messages)
            self.assertTrue(all(isinstance(m, str) and m.strip() for m in messages))

    @QUICK
    @given(JSON)
    def test_any_json_value_is_answered_with_named_errors(self, value):
        self.fresh()
        self.assert_answer(self.post(json.dumps(value)))

    @QUICK
    @given(st.binary(max_size=200))
    def test_any_bytes_are_answered_with_a_reason(self, body):
        self.fresh()
        self.assert_answer(self.post(body))

    @QUICK
    @given(
        st.fixed_dictionaries(
            {},
            optional={
                "requester": st.one_of(JSON, st.fixed_dictionaries({}, optional=dict.fromkeys(REQUESTER_KEYS, JSON))),
                "work": JSON,
                "work_date": st.one_of(JSON, st.dates().map(str)),
                "urls": st.one_of(JSON, st.lists(st.one_of(st.just("SNAPSHOT"), TEXT, JSON), max_size=4)),
                "explanation": JSON,
                "evidence": JSON,
                "good_faith": JSON,
                "accurate_and_authorised": JSON,
                "signature": JSON,
            },
        )
    )
    def test_request_shaped_bodies_with_hostile_values_are_stored_or_refused_by_field(self, body):
        self.fresh()
        if isinstance(body.get("urls"), list):
            body["urls"] = [snapshot_url(self.snapshot) if u == "SNAPSHOT" else u for u in body["urls"]]
        self.assert_answer(self.post(json.dumps(body)))


def assert_nul_refused(test, response, query: dict) -> bool:
    """Whether `query` holds a NUL, which is answered 400 naming its parameter before any view."""
    names = [name for name, value in query.items() if "\x00" in name or "\x00" in value]
    if not names:
        return False
    test.assertEqual(response.status_code, 400)
    test.assertIn("contains a NUL character", response.content.decode())
    return True


QUERY = st.dictionaries(
    st.sampled_from(["published_after", "published_before", "source", "page", "reference", "q", "url"]),
    st.one_of(TEXT, st.integers().map(str), st.dates().map(str)),
    max_size=5,
)


# Rendered every time: the page cache (tested in articles/tests/test_caching.py) would answer a
# repeated query without a context to read the filter's errors from.
@override_settings(ARTICLES_PAGE_CACHE_SECONDS=0)
class FilterProperties(PropertyTestCase):
    @classmethod
    def setUpTestData(cls):
        category = make_category("财经", "caijing")
        for n in range(3):
            make_snapshot(category=category, source=make_source(f"来源{n}"))

    @QUICK
    @given(QUERY)
    def test_category_filters_never_fail_and_name_what_is_wrong(self, query):
        response = self.client.get("/category/caijing/", query, headers=EN)
        if assert_nul_refused(self, response, query):
            return
        # 404: a page number past the end or a malformed position; 301/302: an old numbered page.
        self.assertIn(response.status_code, (200, 301, 302, 404))
        if response.status_code in (301, 302):
            self.assertTrue(response["Location"].startswith("/category/caijing/"), response["Location"])
        if response.status_code == 200 and response.context["filter"].form.errors:
            html = response.content.decode()
            self.assertIn("Please correct the filter:", html)
            for name in response.context["filter"].form.errors:
                self.assertIn(str(response.context["filter"].form[name].label), html)

    @QUICK
    @given(QUERY)
    def test_the_home_page_and_the_transparency_pages_take_any_query(self, query):
        for path in [
            "/",
            "/transparency/",
            "/transparency/decisions.json",
            "/transparency/statements.json",
            "/takedown/new/",
        ]:
            response = self.client.get(path, query, headers=EN)
            if not assert_nul_refused(self, response, query):
                self.assertIn(response.status_code, (200, 404), path)

    @QUICK
    @given(TEXT, st.dictionaries(st.sampled_from(["action", "confirm", "note", "answer"]), TEXT, max_size=3))
    def test_a_status_page_with_any_token_is_not_found(self, token, data):
        token = token.replace("/", "").replace("?", "").replace("#", "") or "x"
        # 400 for a NUL in the path (newsarchive.middleware), else not found.
        expected = 400 if "\x00" in token else 404
        self.assertEqual(self.client.get(f"/takedown/status/{token}/").status_code, expected)
        self.assertEqual(self.client.post(f"/takedown/status/{token}/", data).status_code, expected)


@override_settings(ARTICLES_PAGE_CACHE_SECONDS=0)  # as FilterProperties: each example reads its context
class SearchProperties(PropertyTestCase):
    @classmethod
    def setUpTestData(cls):
        category = make_category("财经", "caijing")
        for title in ["鲁西新区以环境之优谋发展之势", "新区营商环境持续改善", "Harbour figures for March"]:
            make_snapshot(title=title, category=category, body=f"<p>{title}。正文。</p>")

    @QUICK
    @given(
        st.dictionaries(
            st.sampled_from(["q", "order", "published_after", "published_before", "source", "category", "page"]),
            st.one_of(TEXT, st.integers().map(str), st.dates().map(str), st.sampled_from(["newest", "relevance"])),
            max_size=5,
        )
    )
    def test_search_never_fails_and_names_what_is_wrong(self, query):
        response = self.client.get("/search/", query, headers=EN)
        if assert_nul_refused(self, response, query):
            return
        self.assertIn(response.status_code, (200, 404))  # 404: a page number past the end
        if response.status_code != 200:
            return
        html = response.content.decode()
        form, filter_form = response.context["form"], response.context["filter"].form
        if form.errors or filter_form.errors:
            self.assertIn('class="form-errors" role="alert"', html)
            for errors in list(form.errors.values()) + list(filter_form.errors.values()):
                for error in errors:
                    self.assertIn(escape(error), html)

    @QUICK
    @given(st.text(alphabet="新区营商环境发展之势优 abcHarbour", min_size=2, max_size=4))
    def test_every_snapshot_found_contains_the_query(self, word):
        response = self.client.get("/search/", {"q": word}, headers=EN)
        self.assertEqual(response.status_code, 200)
        query = response.context["form"].cleaned_data.get("q") if response.context["form"].is_valid() else None
        for snapshot in response.context.get("snapshots") or []:
            self.assertIn(query.casefold(), (snapshot.title + snapshot.body).casefold())


# --- paths and next= -----------------------------------------------------------------------------


def public_routes() -> list[str]:
    """Every route of the site outside the admin (tested by id in test_admin_writes), as written in
    its urls.py ("category/<str:slug>/"), with at least one part taken from the path."""
    routes = []

    def walk(patterns, prefix: str):
        for pattern in patterns:
            route = getattr(pattern.pattern, "_route", None)
            if route is None or route.startswith("admin/"):
                continue
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, prefix + route)
            elif "<" in route:
                routes.append(prefix + route)

    walk(get_resolver().url_patterns, "")
    return routes


ROUTES = public_routes()
# A path segment as a client can send it: any text, percent-encoded as UTF-8, or any bytes at all
# (invalid UTF-8, NUL, "/", "%").
SEGMENT = st.one_of(
    TEXT.map(lambda text: quote(text.encode("utf-8"), safe="")),
    st.binary(min_size=1, max_size=12).map(lambda data: "".join(f"%{byte:02X}" for byte in data)),
    st.sampled_from(["%00", "abc", "-1", "9" * 30, "%FF", "%C0%AF", "..", "%2e%2e", "财经", "a" * 300]),
)


def fill(route: str, value: str) -> str:
    return "/" + re.sub(r"<[^>]+>", lambda _match: value, route)


class PathProperties(PropertyTestCase):
    @classmethod
    def setUpTestData(cls):
        make_snapshot(category=make_category("财经", "caijing"))

    def test_the_routes_are_found(self):
        for route in ["category/<str:slug>/", "feeds/category/<str:slug>.xml", "me/subscriptions/feed/<str:token>.xml"]:
            self.assertIn(route, ROUTES)

    @QUICK
    @given(route=st.sampled_from(ROUTES), value=SEGMENT)
    def test_any_path_segment_is_answered_never_with_a_server_error(self, route, value):
        self.fresh()
        path = fill(route, value)
        for method in ("get", "post"):
            response = getattr(self.client, method)(path, headers=EN)
            self.assertLess(response.status_code, 500, f"{method.upper()} {path}")
            if "%00" in value.upper():
                self.assertIn(response.status_code, (400, 404), path)


NEXT = st.one_of(
    TEXT,
    st.sampled_from(
        [
            "abc",
            "abc/def",
            "//evil.example/",
            "http://evil.example/",
            "https://testserver/me/subscriptions/",
            "/category/caijing/",
            "\\\\evil.example",
            "/\\evil.example",
            "javascript:alert(1)",
            "http:abc",
            " /x",
            "/x\r\nSet-Cookie: a=b",
            "/x\x00y",
            "%2F%2Fevil.example",
            "/accounts/login/",
            "?q=1",
            "#top",
        ]
    ),
)


def leads_here(location: str) -> bool:
    """Whether a redirect's Location stays on this site."""
    parts = urlsplit(location)
    return (
        parts.scheme in ("", "http", "https")
        and parts.netloc in ("", "testserver")
        and parts.path.startswith("/")
        and not parts.path.startswith("//")
        and "\\" not in location
    )


@override_settings(ACCOUNTS_MAIL_RATE_LIMIT=10_000, ACCOUNTS_MAIL_PER_RECIPIENT_LIMIT=10_000)
class NextProperties(PropertyTestCase):
    """`next=` on every page that reads it: never a server error, and a redirect never leaves the
    site (the probe's `next=abc` answered 500 on sign-up and after subscribing or unsubscribing)."""

    @classmethod
    def setUpTestData(cls):
        cls.category = make_category("财经", "caijing")
        cls.reader = User.objects.create_user("next-reader@example.org", "next-reader@example.org", password=None)

    def assert_answered(self, response, *, redirects: bool):
        self.assertLess(response.status_code, 500)
        if response.status_code in (301, 302, 303):
            self.assertTrue(leads_here(response["Location"]), response["Location"])
        elif redirects and not (response.status_code == 400 and "NUL" in response.content.decode()):
            self.fail(f"expected a redirect, got {response.status_code}")

    @QUICK
    @given(NEXT)
    def test_the_language_switch_and_the_account_pages(self, after):
        self.fresh()
        self.client.logout()
        self.assert_answered(self.client.get("/language/en/", {"next": after}), redirects=True)
        self.assert_answered(self.client.get("/accounts/login/", {"next": after}), redirects=False)
        self.assert_answered(self.client.get("/accounts/signup/", {"next": after}), redirects=False)
        email = f"n{TakedownRequest.objects.count()}-{abs(hash(after))}@example.org"
        data = {"email": email, "password1": "Lang genug 2026!", "password2": "Lang genug 2026!", "next": after}
        with sending_mail():
            self.assert_answered(self.client.post("/accounts/signup/", data), redirects=False)
        self.client.force_login(self.reader)
        self.assert_answered(self.client.get("/accounts/signup/", {"next": after}), redirects=True)

    @QUICK
    @given(NEXT)
    def test_subscribing_and_unsubscribing(self, after):
        self.fresh()
        self.client.force_login(self.reader)
        response = self.client.post("/me/subscriptions/subscribe/", {"category": self.category.pk, "next": after})
        self.assert_answered(response, redirects=True)
        subscription = Subscription.objects.filter(reader=self.reader).first()
        if subscription is not None:
            response = self.client.post(f"/me/subscriptions/{subscription.pk}/remove/", {"next": after})
            self.assert_answered(response, redirects=True)
            self.assertFalse(Subscription.objects.filter(pk=subscription.pk).exists())

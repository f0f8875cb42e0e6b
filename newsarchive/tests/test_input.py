"""The visitor input the outside probe found answered with 5xx, each answered 400 or 404 now (the
property tests in test_properties.py send the same kinds of input at every route and `next=`)."""

from django.contrib.auth.models import User
from django.test import TestCase, override_settings

from articles.tests.helpers import make_category, make_snapshot
from moderation.tests.helpers import EN
from newsarchive.testing import sending_mail
from subscriptions.models import Subscription


class NulInThePathTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        make_snapshot(category=make_category("财经", "caijing"))

    def test_a_nul_in_a_path_segment_is_a_400_naming_it_on_either_database(self):
        for path in ["/category/%00/", "/feeds/category/%00.xml", "/me/subscriptions/feed/%00.xml", "/category/a%00b/"]:
            with self.subTest(path=path):
                response = self.client.get(path, headers=EN)
                self.assertContains(response, "The address contains a NUL character.", status_code=400)

    def test_the_400_page_carries_the_security_headers(self):
        response = self.client.get("/category/%00/")
        self.assertIn("default-src 'self'", response["Content-Security-Policy"])
        self.assertEqual(response["X-Frame-Options"], "DENY")

    def test_bytes_that_are_not_utf8_are_not_found_in_the_path_and_refused_in_the_query(self):
        self.assertEqual(self.client.get("/category/%FF%FE/").status_code, 404)
        response = self.client.get("/category/caijing/?source=%FF", headers=EN)
        self.assertContains(response, "A query parameter is not valid UTF-8.", status_code=400)


class NulInACookieTests(TestCase):
    def test_a_session_cookie_with_a_nul_is_taken_as_no_session_on_either_database(self):
        # PostgreSQL refused the session lookup this cookie caused: the 503 of a lost database.
        make_snapshot(category=make_category("财经", "caijing"))
        for path in ["/", "/category/caijing/", "/me/subscriptions/", "/takedown/new/"]:
            with self.subTest(path=path):
                self.client.cookies.load({"sessionid": "abcdefgh\x00ijklmnop"})
                response = self.client.get(path)
                self.assertIn(response.status_code, (200, 302))
        self.assertRedirects(self.client.get("/me/subscriptions/"), "/accounts/login/?next=/me/subscriptions/")


@override_settings(ACCOUNTS_MAIL_RATE_LIMIT=100, ACCOUNTS_MAIL_PER_RECIPIENT_LIMIT=100)
class BareWordNextTests(TestCase):
    """`next=abc` names no page: Django's redirect() took it for a URL pattern's name (500)."""

    @classmethod
    def setUpTestData(cls):
        cls.category = make_category("财经", "caijing")
        cls.reader = User.objects.create_user("r@example.org", "r@example.org", password=None)

    def test_signing_up_goes_on_as_without_next(self):
        data = {"email": "new@example.org", "password1": "Lang genug 2026!", "password2": "Lang genug 2026!"}
        with sending_mail():
            response = self.client.post("/accounts/signup/?next=abc", data)
        self.assertRedirects(response, "/accounts/signup/done/")
        self.client.force_login(self.reader)
        self.assertRedirects(self.client.get("/accounts/signup/?next=abc"), "/me/subscriptions/")

    def test_subscribing_and_unsubscribing_go_back_to_the_subscriptions_page(self):
        self.client.force_login(self.reader)
        response = self.client.post("/me/subscriptions/subscribe/", {"category": self.category.pk, "next": "abc"})
        self.assertRedirects(response, "/me/subscriptions/")
        subscription = Subscription.objects.get(reader=self.reader)
        response = self.client.post(f"/me/subscriptions/{subscription.pk}/remove/", {"next": "abc"})
        self.assertRedirects(response, "/me/subscriptions/")
        self.assertFalse(Subscription.objects.exists())

    def test_the_language_switch_goes_home(self):
        self.assertRedirects(self.client.get("/language/en/?next=abc"), "/", fetch_redirect_response=False)

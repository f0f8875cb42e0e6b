"""The footer's language switch: links, so that reader pages hold no CSRF token and stay cacheable."""

from django.conf import settings
from django.test import TestCase
from django.urls import reverse

from articles.tests.helpers import make_category


class LanguageSwitchTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.category = make_category("财经")

    def test_every_page_links_to_the_other_language_named_in_itself_and_back_to_itself(self):
        page = self.client.get(self.category.get_absolute_url() + "?source=1")
        switch = reverse("switch_language", kwargs={"code": "en"})
        self.assertContains(
            page,
            f'<a href="{switch}?next=/category/%25E8%25B4%25A2%25E7%25BB%258F/%3Fsource%3D1" lang="en" hreflang="en" rel="nofollow">English</a>',
            html=True,
        )
        self.assertContains(page, '<span lang="zh-hans" aria-current="true">简体中文</span>', html=True)

    def test_following_the_link_remembers_the_language_and_goes_back(self):
        url = self.category.get_absolute_url()
        response = self.client.get(reverse("switch_language", kwargs={"code": "en"}), {"next": url})
        self.assertRedirects(response, url, fetch_redirect_response=False)
        cookie = response.cookies[settings.LANGUAGE_COOKIE_NAME]
        self.assertEqual(
            (cookie.value, cookie["max-age"], cookie["samesite"]), ("en", settings.LANGUAGE_COOKIE_AGE, "Lax")
        )
        self.assertIn("no-store", response["Cache-Control"])
        self.assertContains(self.client.get(url), '<html lang="en">')

        self.client.get(reverse("switch_language", kwargs={"code": "zh-hans"}), {"next": url})
        self.assertContains(self.client.get(url), '<html lang="zh-Hans">')

    def test_it_goes_back_only_to_this_site(self):
        switch = reverse("switch_language", kwargs={"code": "en"})
        for unsafe in ["https://elsewhere.example/", "//elsewhere.example/", "javascript:alert(1)", ""]:
            with self.subTest(next=unsafe):
                self.assertRedirects(self.client.get(switch, {"next": unsafe}), "/", fetch_redirect_response=False)

    def test_an_unknown_language_is_not_found_and_nothing_is_remembered(self):
        response = self.client.get(reverse("switch_language", kwargs={"code": "xx"}), {"next": "/"})
        self.assertEqual(response.status_code, 404)
        self.assertNotIn(settings.LANGUAGE_COOKIE_NAME, response.cookies)

    def test_only_get_and_head(self):
        response = self.client.post(reverse("switch_language", kwargs={"code": "en"}))
        self.assertEqual(response.status_code, 405)

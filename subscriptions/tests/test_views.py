import re
from datetime import timedelta
from urllib.parse import unquote

from django.core import mail
from django.core.cache import cache
from django.db import connection
from django.test import Client, TestCase, override_settings
from django.urls import reverse
from django.utils import timezone

from accounts.tests.helpers import PASSWORD, link_in, make_reader
from articles.models import Snapshot
from articles.tests.helpers import make_category, make_snapshot
from articles.tests.query_counts import RARE_QUERY_PLAN, RENDER
from newsarchive.testing import sending_mail
from subscriptions.models import Subscriber, Subscription

from .helpers import added_ago, subscribe

INDEX = reverse("subscriptions:index")
SUBSCRIBE = reverse("subscriptions:subscribe")
LOGIN = reverse("accounts:login")
FAST_HASHING = override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])


def titles(response) -> list[str]:
    """The titles of the stream, in page order."""
    stream = re.search(r'<section class="stream".*?</section>', response.content.decode(), re.S).group(0)
    return re.findall(r'<a href="/detail/[0-9a-f]{40}\.html">([^<]+)</a>', stream)


def new_titles(response) -> list[str]:
    stream = re.search(r'<section class="stream".*?</section>', response.content.decode(), re.S).group(0)
    return re.findall(r'<span class="new-mark">[^<]*</span> <a href="/detail/[0-9a-f]{40}\.html">([^<]+)</a>', stream)


@FAST_HASHING
class SubscribeButtonTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.reader = make_reader("reader@example.org")
        cls.finance = make_category("财经", "caijing")
        cls.snapshot = make_snapshot(category=cls.finance, title="鲁西新区以环境之优谋发展之势")

    def setUp(self):
        cache.clear()

    def test_a_reader_subscribes_and_unsubscribes_from_a_category_page(self):
        self.client.force_login(self.reader)
        page = self.client.get(self.finance.get_absolute_url())
        self.assertContains(page, f'action="{SUBSCRIBE}"')
        self.assertContains(page, f'name="category" value="{self.finance.pk}"')

        response = self.client.post(SUBSCRIBE, {"category": self.finance.pk, "next": self.finance.get_absolute_url()})

        self.assertRedirects(response, self.finance.get_absolute_url())
        subscription = Subscription.objects.get(reader=self.reader)
        self.assertEqual(subscription.category, self.finance)
        page = self.client.get(self.finance.get_absolute_url())
        self.assertContains(page, "财经")
        remove_url = reverse("subscriptions:remove", kwargs={"pk": subscription.pk})
        self.assertContains(page, f'action="{remove_url}"')
        self.assertNotContains(page, f'action="{SUBSCRIBE}"')

        response = self.client.post(remove_url, {"next": self.finance.get_absolute_url()})

        self.assertRedirects(response, self.finance.get_absolute_url())
        self.assertFalse(Subscription.objects.exists())

    def test_a_snapshot_page_subscribes_to_its_category(self):
        self.client.force_login(self.reader)
        page = self.client.get(self.snapshot.get_absolute_url())
        self.assertContains(page, f'name="category" value="{self.finance.pk}"')

        self.client.post(SUBSCRIBE, {"category": self.finance.pk, "next": self.snapshot.get_absolute_url()})

        self.assertEqual(Subscription.objects.get(reader=self.reader).category, self.finance)
        self.assertContains(
            self.client.get(self.snapshot.get_absolute_url()),
            reverse("subscriptions:remove", kwargs={"pk": Subscription.objects.get().pk}),
        )

    def test_a_reader_subscribes_to_a_search_from_its_results_page(self):
        self.client.force_login(self.reader)
        search = "/search/?q=%E6%96%B0%E5%8C%BA"  # 新区
        page = self.client.get(search)
        self.assertContains(page, self.snapshot.title[:2])
        self.assertContains(page, 'name="keyword" value="新区"')

        response = self.client.post(SUBSCRIBE, {"keyword": "新区", "next": search})

        self.assertRedirects(response, search, fetch_redirect_response=False)
        subscription = Subscription.objects.get(reader=self.reader)
        self.assertEqual(subscription.keyword, "新区")
        page = self.client.get(search)
        self.assertContains(page, reverse("subscriptions:remove", kwargs={"pk": subscription.pk}))
        self.assertNotContains(page, 'name="keyword" value="新区"')

    def test_a_search_with_a_refused_query_offers_no_subscription(self):
        self.client.force_login(self.reader)

        page = self.client.get("/search/", {"q": "新"})

        self.assertNotContains(page, f'action="{SUBSCRIBE}"')

    def test_a_keyword_is_subscribed_to_as_the_search_page_sends_it(self):
        self.client.force_login(self.reader)

        response = self.client.post(SUBSCRIBE, {"keyword": "  营商环境 ", "next": "/search/?q=营商环境"})

        self.assertEqual(unquote(response.url), "/search/?q=营商环境")
        self.assertEqual(Subscription.objects.get().keyword, "营商环境")

    def test_subscribing_twice_keeps_one_subscription_and_keywords_ignore_case(self):
        self.client.force_login(self.reader)
        for _ in range(2):
            self.client.post(SUBSCRIBE, {"category": self.finance.pk})
        self.client.post(SUBSCRIBE, {"keyword": "Shenzhen"})
        self.client.post(SUBSCRIBE, {"keyword": "SHENZHEN"})

        self.assertEqual(Subscription.objects.filter(reader=self.reader).count(), 2)

    def test_bad_subscribe_input_is_named_never_an_error_page(self):
        self.client.force_login(self.reader)
        cases = {
            "nothing": {},
            "both": {"category": self.finance.pk, "keyword": "营商环境"},
            "no such category": {"category": 999999},
            "not a number": {"category": "财经"},
            "one character": {"keyword": "秒"},
            "too long": {"keyword": "长" * 300},
        }
        for name, data in cases.items():
            with self.subTest(name):
                response = self.client.post(SUBSCRIBE, data)
                self.assertEqual(response.status_code, 400)
                self.assertContains(response, 'class="error-summary"', status_code=400)
        self.assertFalse(Subscription.objects.exists())

    def test_a_next_address_on_another_site_is_not_followed(self):
        self.client.force_login(self.reader)

        response = self.client.post(SUBSCRIBE, {"category": self.finance.pk, "next": "https://evil.example/"})

        self.assertRedirects(response, INDEX)

    @override_settings(SUBSCRIPTIONS_MAX_PER_READER=2)
    def test_the_number_of_subscriptions_is_capped_with_a_message(self):
        self.client.force_login(self.reader)
        subscribe(self.reader, keyword="营商环境")
        subscribe(self.reader, keyword="新区")

        response = self.client.post(SUBSCRIBE, {"category": self.finance.pk}, follow=True)

        self.assertEqual([m.level_tag for m in response.context["messages"]], ["error"])
        self.assertEqual(Subscription.objects.count(), 2)

    def test_subscribing_needs_the_csrf_token(self):
        client = Client(enforce_csrf_checks=True)
        client.force_login(self.reader)

        response = client.post(SUBSCRIBE, {"category": self.finance.pk})

        self.assertEqual(response.status_code, 403)
        self.assertFalse(Subscription.objects.exists())

    def test_anonymous_subscribe_goes_through_log_in_and_comes_back_subscribed(self):
        category_page = self.finance.get_absolute_url()

        response = self.client.post(SUBSCRIBE, {"category": self.finance.pk, "next": category_page})

        self.assertEqual(response.url.split("?")[0], LOGIN)
        self.assertFalse(Subscription.objects.exists())
        login_page = self.client.get(response.url)
        self.assertContains(login_page, "财经")  # "log in or sign up to subscribe to 财经"
        next_url = login_page.context["next"]

        response = self.client.post(LOGIN, {"email": "reader@example.org", "password": PASSWORD, "next": next_url})
        response = self.client.get(response.url)

        self.assertRedirects(response, category_page)
        self.assertEqual(Subscription.objects.get(reader=self.reader).category, self.finance)

    def test_anonymous_subscribe_goes_through_sign_up_and_comes_back_subscribed(self):
        search_page = "/search/?q=%E8%90%A5%E5%95%86%E7%8E%AF%E5%A2%83"
        response = self.client.post(SUBSCRIBE, {"keyword": "营商环境", "next": search_page})
        next_url = self.client.get(response.url).context["next"]

        signup = reverse("accounts:signup")
        with sending_mail():
            self.client.post(
                f"{signup}?next={next_url}",
                {"email": "new@example.org", "password1": PASSWORD, "password2": PASSWORD, "next": next_url},
            )
        response = self.client.post(link_in(mail.outbox[0], "/accounts/confirm/"))
        response = self.client.get(response.url)

        self.assertRedirects(response, search_page, fetch_redirect_response=False)
        self.assertEqual(Subscription.objects.get(reader__username="new@example.org").keyword, "营商环境")

    def test_the_address_after_log_in_alone_does_not_subscribe_without_a_post(self):
        self.client.force_login(self.reader)

        response = self.client.get(SUBSCRIBE, {"category": self.finance.pk, "next": "/"})

        self.assertEqual(response.status_code, 200)
        self.assertContains(response, f'name="category" value="{self.finance.pk}"')
        self.assertFalse(Subscription.objects.exists())

    def test_anonymous_pages_run_no_extra_query_for_the_button(self):
        # The pinned counts of articles' own tests hold: for anonymous readers the button queries nothing.
        with self.assertNumQueries(5):
            self.client.get(self.finance.get_absolute_url())


@FAST_HASHING
class StreamTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.reader = make_reader("reader@example.org")
        cls.finance = make_category("财经", "caijing")
        cls.sport = make_category("体育", "tiyu")
        cls.tech = make_category("科技", "keji")

    def setUp(self):
        cache.clear()
        self.client.force_login(self.reader)

    def test_the_stream_merges_categories_and_keywords_newest_first_published_only(self):
        subscribe(self.reader, category=self.finance)
        subscribe(self.reader, keyword="营商环境")
        old_finance = make_snapshot(category=self.finance, title="财经旧闻")
        keyword_in_body = make_snapshot(category=self.sport, title="体育新闻", body="<p>体育产业的营商环境</p>")
        both = make_snapshot(category=self.finance, title="优化营商环境")
        make_snapshot(category=self.tech, title="科技新闻")
        make_snapshot(category=self.finance, title="隐藏的财经", status=Snapshot.Status.HIDDEN)
        make_snapshot(category=self.sport, title="被屏蔽的营商环境", status=Snapshot.Status.WITHHELD)

        response = self.client.get(INDEX)

        self.assertEqual(response.status_code, 200)
        self.assertEqual(titles(response), [both.title, keyword_in_body.title, old_finance.title])
        self.assertEqual(response["Cache-Control"], "private, no-store")

    def test_the_stream_is_paginated_without_counting_it(self):
        subscribe(self.reader, category=self.finance)
        for n in range(5):
            make_snapshot(category=self.finance, title=f"分页{n}")

        with override_settings(ARTICLES_PAGE_SIZE=2):
            first = self.client.get(INDEX)
            third = self.client.get(INDEX, {"page": 3})
            beyond = self.client.get(INDEX, {"page": 4})

        self.assertEqual(titles(first), ["分页4", "分页3"])
        self.assertContains(first, 'rel="next" href="?page=2"')
        self.assertNotContains(first, 'rel="prev"')
        self.assertEqual(titles(third), ["分页0"])
        self.assertNotContains(third, 'rel="next"')
        self.assertEqual(titles(beyond), [])
        for bad in ["0", "-1", "x", "99999999999999999999"]:
            with self.subTest(page=bad):
                self.assertEqual(self.client.get(INDEX, {"page": bad}).status_code, 404)

    def test_snapshots_added_since_the_previous_visit_are_marked_new(self):
        subscribe(self.reader, category=self.finance)
        seen = added_ago(make_snapshot(category=self.finance, title="上次已看"), hours=3)

        first_visit = self.client.get(INDEX)
        self.assertEqual(new_titles(first_visit), [seen.title])  # a first visit: everything is new
        Subscriber.objects.filter(reader=self.reader).update(last_visited_at=timezone.now() - timedelta(hours=2))
        fresh = added_ago(make_snapshot(category=self.finance, title="新来的"), hours=1)

        visit = self.client.get(INDEX)
        again = self.client.get(INDEX)  # the same visit: the marks stay

        self.assertEqual(titles(visit), [fresh.title, seen.title])
        self.assertEqual(new_titles(visit), [fresh.title])
        self.assertEqual(new_titles(again), [fresh.title])
        subscriber = Subscriber.objects.get(reader=self.reader)
        self.assertLess(timezone.now() - subscriber.last_visited_at, timedelta(minutes=1))

    def test_a_keyword_is_added_on_the_page_and_a_bad_one_is_explained(self):
        response = self.client.post(INDEX, {"keyword": "新区"})
        self.assertRedirects(response, INDEX)
        self.assertEqual(Subscription.objects.get().keyword, "新区")

        response = self.client.post(INDEX, {"keyword": "秒"})

        self.assertEqual(response.status_code, 200)
        self.assertContains(response, 'class="error-summary"')
        self.assertContains(response, 'value="秒"')
        self.assertEqual(Subscription.objects.count(), 1)

    def test_the_page_lists_the_subscriptions_with_remove_buttons_and_unfollowed_categories(self):
        finance = subscribe(self.reader, category=self.finance)
        keyword = subscribe(self.reader, keyword="营商环境")

        response = self.client.get(INDEX)

        for subscription in (finance, keyword):
            self.assertContains(response, reverse("subscriptions:remove", kwargs={"pk": subscription.pk}))
        self.assertContains(response, f'name="category" value="{self.sport.pk}"')
        self.assertNotContains(response, f'name="category" value="{self.finance.pk}"')

    def test_a_reader_sees_and_touches_only_their_own_subscriptions(self):
        other = make_reader("other@example.org")
        theirs = subscribe(other, keyword="秘密关键词")
        make_snapshot(category=self.tech, title="秘密关键词的新闻")

        page = self.client.get(INDEX)
        self.assertNotContains(page, "秘密关键词")

        response = self.client.post(reverse("subscriptions:remove", kwargs={"pk": theirs.pk}))
        self.assertEqual(response.status_code, 404)
        self.assertTrue(Subscription.objects.filter(pk=theirs.pk).exists())

    def test_removing_needs_a_post(self):
        subscription = subscribe(self.reader, category=self.finance)

        self.assertEqual(
            self.client.get(reverse("subscriptions:remove", kwargs={"pk": subscription.pk})).status_code, 405
        )
        self.assertTrue(Subscription.objects.exists())


@FAST_HASHING
class StreamQueryCountTests(TestCase):
    """The page's queries do not grow with the number of categories followed or of snapshots. With
    keywords, one more reads the archive version under which their search plans are cached; each
    plan not cached yet adds the full-text index's query that chooses it (see
    articles.search.search_plans), which no single query can do for all of them."""

    # session, user, subscriber, subscriptions, stream (one query, every subscription's condition
    # ORed), visit update, categories for the navigation and the add-a-category list.
    FIXED = 7

    @classmethod
    def setUpTestData(cls):
        cls.categories = [make_category(f"类别{n}", f"c{n}") for n in range(12)]
        for n, category in enumerate(cls.categories):
            make_snapshot(category=category, title=f"快照{n}", body=f"<p>第{n}号专题</p>")

    def setUp(self):
        self.reader = make_reader("reader@example.org")
        self.client.force_login(self.reader)
        self.client.get(INDEX)  # the settings row exists from the first visit on

    def assertPageQueries(self, keywords: int):
        """The first view after a change to the archive chooses each keyword's plan; the next finds
        them cached. Both show the same stream."""
        version = 1 if keywords else 0
        with self.assertNumQueries(self.FIXED + version + RARE_QUERY_PLAN[connection.vendor] * keywords):
            first = self.client.get(INDEX)
        with self.assertNumQueries(self.FIXED + version):
            again = self.client.get(INDEX)
        self.assertEqual((first.status_code, again.status_code), (200, 200))
        self.assertEqual(titles(again), titles(first))
        return again

    def test_with_two_subscriptions(self):
        subscribe(self.reader, category=self.categories[0])
        subscribe(self.reader, keyword="第1号专题")
        self.assertEqual(len(titles(self.assertPageQueries(keywords=1))), 2)

    def test_with_twelve_categories(self):
        for category in self.categories:
            subscribe(self.reader, category=category)
        self.assertEqual(len(titles(self.assertPageQueries(keywords=0))), 12)

    def test_with_twenty_subscriptions(self):
        for category in self.categories[:10]:
            subscribe(self.reader, category=category)
        for n in range(10):
            subscribe(self.reader, keyword=f"第{n}号专题")
        self.assertEqual(len(titles(self.assertPageQueries(keywords=10))), 10)


@FAST_HASHING
class ReaderPageQueryCountTests(TestCase):
    """A logged-in reader's public pages: the subscribe button adds one query to the session's and
    the user's, whatever the reader follows."""

    @classmethod
    def setUpTestData(cls):
        cls.reader = make_reader("reader@example.org")
        cls.finance = make_category("财经", "caijing")
        cls.snapshot = make_snapshot(category=cls.finance)
        for n in range(5):
            subscribe(cls.reader, keyword=f"关键词{n}号")

    def setUp(self):
        self.client.force_login(self.reader)

    def test_category_page(self):
        with self.assertNumQueries(RENDER["category"] + 3):
            response = self.client.get(self.finance.get_absolute_url())
        self.assertContains(response, f'name="category" value="{self.finance.pk}"')

    def test_snapshot_page(self):
        subscribe(self.reader, category=self.finance)
        with self.assertNumQueries(RENDER["detail"] + 3):
            response = self.client.get(self.snapshot.get_absolute_url())
        self.assertContains(response, "subscriptions/")

"""/search/ as a reader uses it: the box, the results, the messages, the filters, the pages."""

from datetime import datetime, timedelta
from unittest import mock
from urllib.parse import parse_qs, urlsplit

from django.db import connection
from django.test import TestCase, override_settings

from articles import search
from articles.models import SHANGHAI, Snapshot
from newsarchive.testing import clear_caches

from .helpers import load_seed, make_category, make_snapshot, make_source
from .query_counts import PAGE_CACHE_CHECK, RENDER, RENDER_POSTGRESQL
from .test_views import EN, read_page

SEARCH = "/search/"


def result_titles(response) -> list[str]:
    return [snapshot.title for snapshot in response.context["snapshots"]]


class SearchPageTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.finance = make_category("财经")
        cls.tech = make_category("科技")
        cls.people = make_source("人民资讯")
        cls.xinhua = make_source("新华网")
        cls.older = make_snapshot(
            title="鲁西新区优化营商环境",
            category=cls.finance,
            source=cls.people,
            published_at=datetime(2023, 9, 14, 11, 24, tzinfo=SHANGHAI),
            body="<p>在全市率先启用“秒批”系统，助力营商环境全面优化。</p>",
        )
        cls.newer = make_snapshot(
            title="江北新城：营商环境再上新台阶",
            category=cls.tech,
            source=cls.xinhua,
            published_at=datetime(2024, 5, 1, 9, 0, tzinfo=SHANGHAI),
            body="<p>今年以来，江北新城持续优化营商环境。</p>",
        )
        cls.hidden = make_snapshot(title="隐藏的营商环境", status=Snapshot.Status.HIDDEN)
        cls.withheld = make_snapshot(title="屏蔽的营商环境", status=Snapshot.Status.WITHHELD)

    def test_every_reader_page_has_a_search_box_that_leads_here(self):
        seed = load_seed()
        for url in ["/", self.finance.get_absolute_url(), seed.get_absolute_url()]:
            with self.subTest(url=url):
                page = self.client.get(url).content.decode()
                self.assertIn(f'action="{SEARCH}"', page)
                self.assertIn('name="q"', page)

    def test_results_are_newest_first_with_the_query_marked(self):
        response = self.client.get(SEARCH, {"q": "营商环境"})
        self.assertEqual(response.status_code, 200)
        self.assertEqual(result_titles(response), [self.newer.title, self.older.title])
        html = response.content.decode()
        self.assertIn("江北新城：<mark>营商环境</mark>再上新台阶", html)
        self.assertIn("持续优化<mark>营商环境</mark>。", html)
        self.assertIn('value="营商环境"', html)

    def test_hidden_and_withheld_snapshots_are_not_in_the_results(self):
        response = self.client.get(SEARCH, {"q": "营商环境"})
        self.assertNotContains(response, "隐藏的")
        self.assertNotContains(response, "屏蔽的")

    def test_relevance_is_a_switch(self):
        self.assertEqual(
            result_titles(self.client.get(SEARCH, {"q": "秒批", "order": "relevance"})), [self.older.title]
        )
        body_only = make_snapshot(title="无关", published_at=datetime(2025, 1, 1, tzinfo=SHANGHAI), body="<p>鲁西</p>")
        newest = self.client.get(SEARCH, {"q": "鲁西"})
        relevant = self.client.get(SEARCH, {"q": "鲁西", "order": "relevance"})
        self.assertEqual(result_titles(newest), [body_only.title, self.older.title])
        self.assertEqual(result_titles(relevant), [self.older.title, body_only.title])
        self.assertContains(relevant, 'value="relevance" id="id_order_1" checked')

    def test_filters_work_as_on_category_pages(self):
        by_category = self.client.get(SEARCH, {"q": "营商环境", "category": self.finance.slug})
        self.assertEqual(result_titles(by_category), [self.older.title])
        by_source = self.client.get(SEARCH, {"q": "营商环境", "source": self.xinhua.pk})
        self.assertEqual(result_titles(by_source), [self.newer.title])
        by_dates = self.client.get(
            SEARCH, {"q": "营商环境", "published_after": "2023-09-14", "published_before": "2023-09-14"}
        )
        self.assertEqual(result_titles(by_dates), [self.older.title])

    def test_bad_filters_are_named_and_nothing_is_listed(self):
        response = self.client.get(
            SEARCH, {"q": "营商环境", "category": "no-such", "published_after": "yesterday"}, headers=EN
        )
        self.assertEqual(response.status_code, 200)
        self.assertEqual(result_titles(response), [])
        page = read_page(response)
        self.assertIn("Category:", page.text)
        self.assertIn("Published from:", page.text)

    def test_empty_one_character_and_over_long_queries_get_a_message(self):
        cases = {
            "": "Type a word or phrase to search for.",
            "   ": "Type a word or phrase to search for.",
            "新": "Type at least 2 characters",
            "新" * 101: "Type at most 100 characters; this search has 101.",
        }
        for query, message in cases.items():
            with self.subTest(query=query):
                response = self.client.get(SEARCH, {"q": query}, headers=EN)
                self.assertEqual(response.status_code, 200)
                self.assertContains(response, message)
                self.assertContains(response, 'role="alert"')
                self.assertEqual(result_titles(response), [])

    def test_the_long_query_is_kept_in_the_box_to_shorten(self):
        response = self.client.get(SEARCH, {"q": "营商" * 60}, headers=EN)
        self.assertContains(response, f'value="{"营商" * 60}"')

    def test_odd_queries_answer_with_results_or_a_message_never_an_error(self):
        queries = ['"', '""营商环境""', "营商 AND 环境", "营商 OR", "NEAR(营商)", "营商*", "^营商", "%", "100%", "_",
                   "' OR '1'='1", "1; DROP TABLE articles_snapshot; --", "<script>alert(1)</script>", "\\", "\x00\x00",
                   "营商\x00环境", "()", "{}", "[营商]", "🙂🙂", "𠀀𠀁"]  # fmt: skip
        for query in queries:
            with self.subTest(query=query):
                response = self.client.get(SEARCH, {"q": query}, headers=EN)
                if "\x00" in query:  # refused before any view (newsarchive.middleware), naming the parameter
                    self.assertContains(response, "The query parameter “q” contains a NUL character.", status_code=400)
                else:
                    self.assertEqual(response.status_code, 200)
                self.assertNotIn("<script>alert", response.content.decode())
        self.assertEqual(Snapshot.objects.count(), 4)

    def test_quotes_around_a_phrase_are_ignored(self):
        self.assertEqual(
            result_titles(self.client.get(SEARCH, {"q": "“营商环境”"})), [self.newer.title, self.older.title]
        )

    def test_operators_are_explained_as_plain_text(self):
        response = self.client.get(SEARCH, {"q": "营商 OR 环境"}, headers=EN)
        self.assertContains(response, "have no special meaning here")
        self.assertContains(response, "No snapshot contains “营商 OR 环境”.")

    def test_the_query_and_titles_are_escaped(self):
        make_snapshot(title="<i>营商环境</i> & 新区", published_at=datetime(2025, 2, 1, tzinfo=SHANGHAI))
        response = self.client.get(SEARCH, {"q": "<i>营商环境"})
        html = response.content.decode()
        self.assertIn("<mark>&lt;i&gt;营商环境</mark>&lt;/i&gt; &amp; 新区", html)
        self.assertNotIn("<i>营商环境", html)

    def test_an_empty_search_page_shows_the_form_without_errors(self):
        response = self.client.get(SEARCH, headers=EN)
        self.assertEqual(response.status_code, 200)
        self.assertNotContains(response, 'role="alert"')
        self.assertContains(response, 'name="q"')

    def test_an_unknown_order_is_named(self):
        response = self.client.get(SEARCH, {"q": "营商环境", "order": "oldest"}, headers=EN)
        self.assertContains(response, "Order: Select a valid choice.")
        self.assertEqual(result_titles(response), [])


@override_settings(ARTICLES_PAGE_SIZE=2)
class SearchPaginationTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        start = datetime(2024, 1, 1, tzinfo=SHANGHAI)
        for n in range(5):
            make_snapshot(title=f"分页快照{n}", body="<p>共同的词</p>", published_at=start + timedelta(days=n))

    def test_pages_go_on_while_there_are_more_results(self):
        first = self.client.get(SEARCH, {"q": "共同的词", "category": ""})
        self.assertEqual(result_titles(first), ["分页快照4", "分页快照3"])
        page = read_page(first)
        next_link = next(attrs for _, attrs in page.links if attrs.get("rel") == "next")
        self.assertEqual(parse_qs(urlsplit(next_link["href"]).query)["page"], ["2"])
        self.assertEqual(parse_qs(urlsplit(next_link["href"]).query)["q"], ["共同的词"])
        self.assertFalse([attrs for _, attrs in page.links if attrs.get("rel") == "prev"])

        last = self.client.get(SEARCH, {"q": "共同的词", "page": "3"})
        self.assertEqual(result_titles(last), ["分页快照0"])
        links = read_page(last).links
        self.assertFalse([attrs for _, attrs in links if attrs.get("rel") == "next"])
        self.assertTrue([attrs for _, attrs in links if attrs.get("rel") == "prev"])

    def test_a_page_past_the_end_says_so(self):
        response = self.client.get(SEARCH, {"q": "共同的词", "page": "9"}, headers=EN)
        self.assertContains(response, "No more results.")

    def test_a_page_that_is_not_a_number_is_not_found(self):
        for page in ["x", "0", "-1", "1.5"]:
            with self.subTest(page=page):
                self.assertEqual(self.client.get(SEARCH, {"q": "共同的词", "page": page}).status_code, 404)

    def test_the_last_page_shown_says_when_more_results_lie_beyond_it(self):
        with mock.patch("articles.views.SEARCH_MAX_PAGES", 2):
            limit = self.client.get(SEARCH, {"q": "共同的词", "page": "2"}, headers=EN)
        self.assertEqual(result_titles(limit), ["分页快照2", "分页快照1"])
        self.assertContains(limit, "Only the first 2 pages of results are shown.")
        self.assertFalse([attrs for _, attrs in read_page(limit).links if attrs.get("rel") == "next"])

        with mock.patch("articles.views.SEARCH_MAX_PAGES", 3):
            last = self.client.get(SEARCH, {"q": "共同的词", "page": "3"}, headers=EN)
        self.assertNotContains(last, "Only the first")

    def test_pages_deeper_than_the_limit_ask_to_narrow_the_search(self):
        response = self.client.get(SEARCH, {"q": "共同的词", "page": "51"}, headers=EN)
        self.assertContains(response, "Only the first 50 pages of results are shown.")


# Pinned in query_counts.RENDER, after the page cache's version check: an anonymous visitor's first look.
SEARCH_QUERIES = {
    name: PAGE_CACHE_CHECK + (RENDER_POSTGRESQL if connection.vendor == "postgresql" else RENDER)[name]
    for name in ["search", "search_rare", "search_common", "search_filtered", "search_relevance", "search_message"]
}


class SearchQueryCountTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.category = make_category("财经")
        source = make_source()
        for n in range(30):
            make_snapshot(title=f"营商环境 {n}", category=cls.category, source=source, body=f"<p>新区 {n}</p>")
        cls.source = source

    def test_search_query_count_is_fixed(self):
        with self.assertNumQueries(SEARCH_QUERIES["search"]):
            response = self.client.get(SEARCH, {"q": "营商环境"})
        self.assertEqual(len(response.context["snapshots"]), 20)

    def test_a_rare_query_has_a_fixed_query_count(self):
        with self.assertNumQueries(SEARCH_QUERIES["search_rare"]):
            response = self.client.get(SEARCH, {"q": "营商环境 7"})
        self.assertEqual([s.title for s in response.context["snapshots"]], ["营商环境 7"])

    def test_a_query_with_many_candidates_has_a_fixed_query_count_too(self):
        for few, many in [(5, 10**9), (5, 6)]:  # 30 candidates: the middling plan, then the one for very many
            clear_caches()  # the page, rendered again from nothing
            with mock.patch.object(search, "FEW_MATCHES", few), mock.patch.object(search, "MANY_MATCHES", many):
                with self.assertNumQueries(SEARCH_QUERIES["search_common"]):
                    response = self.client.get(SEARCH, {"q": "营商环境"})
            self.assertEqual(len(response.context["snapshots"]), 20)

    def test_filtered_search_query_count_is_fixed(self):
        filters = {"category": self.category.slug, "source": self.source.pk, "published_after": "2024-01-01"}
        with self.assertNumQueries(SEARCH_QUERIES["search_filtered"]):
            response = self.client.get(SEARCH, {"q": "新区", **filters})
        self.assertEqual(len(response.context["snapshots"]), 20)

    def test_relevance_query_count_is_fixed(self):
        with self.assertNumQueries(SEARCH_QUERIES["search_relevance"]):
            response = self.client.get(SEARCH, {"q": "新区", "order": "relevance"})
        self.assertEqual(len(response.context["snapshots"]), 20)

    def test_a_refused_query_costs_no_search(self):
        with self.assertNumQueries(SEARCH_QUERIES["search_message"]):
            self.client.get(SEARCH, {"q": "新"})

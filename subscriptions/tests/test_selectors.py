"""The merged stream of 我的订阅 (selectors.matching) against each keyword's own search."""

from datetime import datetime, timedelta
from unittest import mock

from django.db import connection
from django.test import TestCase

from accounts.tests.helpers import make_reader
from articles import search
from articles.models import SHANGHAI
from articles.search import search_snapshots
from articles.tests.helpers import make_category, make_snapshot
from subscriptions import selectors

from .helpers import subscribe


class MatchingTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.reader = make_reader("reader@example.org")
        cls.finance, cls.sport = make_category("财经", "caijing"), make_category("体育", "tiyu")
        start = datetime(2024, 1, 1, tzinfo=SHANGHAI)
        # 营商环境 in 30 snapshots, 马拉松 in 20.
        bodies = [
            "<p>营商环境持续优化。</p>",
            "<p>营商环境与马拉松。</p>",
            "<p>营商环境。</p>",
            "<p>城市马拉松开跑。</p>",
        ]
        for n in range(40):
            make_snapshot(
                title=f"第{n}条",
                body=bodies[n % 4],
                category=cls.sport if n % 5 == 0 else cls.finance,
                published_at=start + timedelta(hours=n),
            )

    def expected(self, keywords, categories=()):
        found = {s.pk for keyword in keywords for s in search_snapshots(keyword)}
        found |= {s.pk for category in categories for s in category.snapshots.published()}
        return sorted(found, reverse=True)  # ids follow publication order here

    def stream(self):
        return [s.pk for s in selectors.matching(selectors.subscriptions_of(self.reader))]

    def planned(self):
        """The stream, and the plans its keywords' searches were given."""
        with mock.patch.object(selectors, "search_snapshots", wraps=search_snapshots) as searched:
            stream = self.stream()
        return stream, {call.args[0]: call.kwargs["plan"][0] for call in searched.call_args_list}

    def test_a_common_keyword_turns_a_middling_one_into_a_row_check_with_the_same_stream(self):
        subscribe(self.reader, keyword="营商环境")
        subscribe(self.reader, keyword="马拉松")
        subscribe(self.reader, category=self.sport)
        with mock.patch.object(search, "FEW_MATCHES", 10), mock.patch.object(search, "MANY_MATCHES", 25):
            if connection.vendor == "sqlite":  # PostgreSQL has no middling plan
                plans = search.search_plans(["营商环境", "马拉松"])
                self.assertEqual(
                    {k: plan for k, (plan, _ids) in plans.items()}, {"营商环境": "many", "马拉松": "middling"}
                )
            stream, given = self.planned()
        self.assertEqual(given, {"营商环境": search.MANY, "马拉松": search.MANY})
        self.assertEqual(stream, self.expected(["营商环境", "马拉松"], [self.sport]))

    def test_middling_keywords_alone_keep_their_sets(self):
        subscribe(self.reader, keyword="营商环境")
        subscribe(self.reader, keyword="马拉松")
        with mock.patch.object(search, "FEW_MATCHES", 10), mock.patch.object(search, "MANY_MATCHES", 1000):
            stream, given = self.planned()
        plan = search.MIDDLING if connection.vendor == "sqlite" else search.MANY
        self.assertEqual(given, {"营商环境": plan, "马拉松": plan})
        self.assertEqual(stream, self.expected(["营商环境", "马拉松"]))

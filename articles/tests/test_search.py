"""Search: what it finds, on both databases, and the index staying in step with every write."""

import json
import tempfile
import unicodedata
from datetime import datetime, timedelta
from pathlib import Path
from unittest import mock

from django.core.management import call_command
from django.db import connection
from django.test import SimpleTestCase, TestCase
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from articles import search, services
from articles.models import SHANGHAI, SearchBigramEntry, SearchEntry, Snapshot
from articles.search import QueryError, clean_query, highlight_excerpt, highlight_title, search_snapshots
from articles.search_text import WHITESPACE, nfkc, search_document

from .helpers import make_category, make_editor, make_snapshot, make_source, status_fields
from .query_counts import RARE_QUERY_PLAN


def titles(query: str, **options) -> list[str]:
    return [snapshot.title for snapshot in search_snapshots(query, **options)]


def indexed(query: str) -> set[int]:
    """Snapshot ids the index itself offers for `query`, before any check of the rows."""
    text = clean_query(query)
    if len(search.normalize(text)) == 2:
        entries = SearchBigramEntry.objects.filter(document__search_bigram=text)
    else:
        entries = SearchEntry.objects.filter(document__search_trigrams=text)
    return set(entries.values_list("snapshot_id", flat=True))


def index_size() -> int:
    return SearchEntry.objects.count()


def at(day: int, hour: int = 8) -> datetime:
    return datetime(2024, 3, day, hour, 0, tzinfo=SHANGHAI)


# Each plan of search_snapshots, forced: (FEW_MATCHES, MANY_MATCHES).
PLANS = {"few": (10**9, 10**9 + 1), "middling": (0, 10**9), "many": (0, 1)}


class CleanQueryTests(TestCase):
    def setUp(self):
        translation.activate("en")
        self.addCleanup(translation.deactivate)

    def test_white_space_is_trimmed_and_collapsed_and_case_kept(self):
        self.assertEqual(clean_query("  营商\t环境 \n AI  "), "营商 环境 AI")

    def test_surrounding_quotes_are_dropped_inner_ones_kept(self):
        self.assertEqual(clean_query('"营商环境"'), "营商环境")
        self.assertEqual(clean_query("“秒批”"), "秒批")
        self.assertEqual(clean_query("'5\" screen'"), '5" screen')

    def test_control_characters_are_dropped(self):
        self.assertEqual(clean_query("新\x00区\x1b"), "新 区")

    def test_empty_and_blank_queries_are_refused(self):
        for raw in ["", "   ", '""', "\x00"]:
            with self.subTest(raw=raw), self.assertRaisesMessage(QueryError, "Type a word or phrase to search for."):
                clean_query(raw)

    def test_a_single_character_is_refused_with_the_minimum(self):
        for raw in ["新", " a ", '"x"']:
            with self.subTest(raw=raw), self.assertRaisesMessage(QueryError, "Type at least 2 characters"):
                clean_query(raw)

    def test_an_over_long_query_is_refused_with_both_lengths(self):
        with self.assertRaisesMessage(QueryError, "Type at most 100 characters; this search has 101."):
            clean_query("新" * 101)
        self.assertEqual(clean_query("新" * 100), "新" * 100)

    def test_operators_and_sql_are_kept_as_text(self):
        for raw in ["AND", "新区 OR 营商", "NEAR(a b)", "营商*", "^新区", "100%", "a_b", "'; DROP TABLE x; --"]:
            with self.subTest(raw=raw):
                self.assertEqual(clean_query(raw), raw)


class NfkcTests(SimpleTestCase):
    """`nfkc` is unicodedata's NFKC, only faster on Chinese text."""

    def test_it_is_nfkc_on_chinese_text_and_on_the_forms_it_replaces_before_normalizing(self):
        for text in [
            "鲁西新区，发展“加速度”（记者 王明）：ＡＢＣ１２３\u3000完。",
            "Ａ\u0301 and ｅ\u0308",  # a full-width letter before a combining mark composes as its ASCII form
            "ﬁ ㎏ ① ｶﾞ \u00c5 A\u030a",  # compatibility forms of other kinds, left to normalize()
            "",
        ]:
            with self.subTest(text=text):
                self.assertEqual(nfkc(text), unicodedata.normalize("NFKC", text))

    @given(st.text(alphabet=st.characters(codec="utf-8"), max_size=50))
    def test_it_is_nfkc_on_any_text(self, text):
        self.assertEqual(nfkc(text), unicodedata.normalize("NFKC", text))


class SearchDocumentTests(TestCase):
    def test_document_ends_with_the_byline_and_the_original_address(self):
        self.assertEqual(
            search_document("标题", "<p>正文</p>", "（记者 刘洋）", "https://News.Example.cn/A.html"),
            "标题 正文 （记者 刘洋） https://news.example.cn/a.html",
        )
        self.assertEqual(search_document("标题", "<p>正文</p>", "", ""), search_document("标题", "<p>正文</p>"))

    def test_document_is_title_and_body_text_normalized(self):
        body = '<p>在落地<strong>鲁西</strong>新区的 AT&amp;T &lt;b&gt;</p>\n<p>第二段<br>换行</p><a href="https://x.cn/新区">链接</a>'
        self.assertEqual(
            search_document("ＡＩ 新区２０２３", body), "ai 新区2023 在落地鲁西新区的 at&t <b> 第二段 换行 链接"
        )

    def test_postgresql_functions_give_the_python_documents(self):
        if connection.vendor != "postgresql":
            self.skipTest("SQLite computes documents with the Python functions themselves")
        samples = [
            ("鲁西新区以环境之“优”谋发展之“势” ＡＢＣ１２３ ÀÉ Ωμέγα Привет", '<p>落地<strong>鲁西</strong>新区的&amp;上海 &lt;b&gt; x&nbsp;y</p>\n<p>第二段<br/>换行</p><a href="http://x.com/?a>b" title=\'q"\'>链接</a><h2 class="x">标题</h2>'),
            ("Tab\there" + WHITESPACE + "end", "<ul><li>one</li><li>two</li></ul><table><tr><td>a</td><td>b</td></tr></table>"),
            ("", ""),
            ("  x  ", "<p>  </p><pre>a\n\nb</pre>"),
        ]  # fmt: skip
        bylines = [("（记者 刘洋）", "https://sd.people.com.cn/n2/2023/0914/C1.html"), ("", ""), ("ＡＢ", "")]
        with connection.cursor() as cursor:
            for title, body in samples:
                for byline, url in bylines:
                    cursor.execute("SELECT articles_search_document(%s, %s, %s, %s)", [title, body, byline, url])
                    with self.subTest(title=title, byline=byline):
                        self.assertEqual(cursor.fetchone()[0], search_document(title, body, byline, url))

    def test_sqlite_pairs_are_every_pair_of_neighbours_in_order(self):
        documents = ["", "a", "ab", "  ", "a b", "新区 营商环境", "x😀y 😀", "ａ\u3000é\U0001f600" * 30]
        for document in documents:
            with self.subTest(document=document[:20]):
                self.assertEqual(
                    search.character_pairs(document),
                    " ".join(a + b for a, b in zip(document, document[1:], strict=False)),
                )

    def test_postgresql_bigrams_are_every_pair_of_neighbours_without_a_space(self):
        if connection.vendor != "postgresql":
            self.skipTest("SQLite's bigram tokens come from the Python function itself")
        documents = [
            "",
            "a",
            "ab",
            "  ",
            "a b",
            "ab ab",
            "新区 营商环境 新区",
            "x😀y 😀",
            search_document(
                "鲁西新区以环境之“优”谋发展之“势”", "<p>营商环境持续优化，“秒批”事项 AT&amp;T 2023</p>" * 40
            ),
        ]
        with connection.cursor() as cursor:
            for document in documents:
                cursor.execute("SELECT articles_search_bigrams(%s)", [document])
                pairs = {a + b for a, b in zip(document, document[1:], strict=False) if " " not in a + b}
                with self.subTest(document=document[:20]):
                    found = cursor.fetchone()[0]
                    self.assertEqual(len(found), len(set(found)))
                    self.assertEqual(set(found), pairs)


class SearchFindsTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.finance = make_category("财经")
        cls.tech = make_category("科技")
        cls.seed = make_snapshot(
            title="鲁西新区以环境之“优”谋发展之“势”",
            category=cls.finance,
            published_at=at(1),
            body="<p>助力<strong>营商</strong>环境全面优化，在全市率先启用“秒批”系统。</p><p>AT&amp;T 与 Riverside 2023 年合作。</p>",
        )
        cls.newer = make_snapshot(
            title="江北新城营商环境持续向好",
            category=cls.tech,
            published_at=at(5),
            body="<p>今年以来营商环境再上新台阶，增长 100% 以上。</p>",
        )
        cls.scattered = make_snapshot(
            title="分散的字",
            published_at=at(3),
            # 营商环 and 商环境 are both here, 营商环境 is not.
            body="<p>营商环节。</p><p>通商环境。</p>",
        )
        cls.split = make_snapshot(title="跨段", published_at=at(2), body="<p>营商</p><p>环境</p>")
        cls.link_only = make_snapshot(
            title="只有链接", published_at=at(4), body='<p><a href="https://example.com/marker">看这里</a></p>'
        )
        cls.fullwidth = make_snapshot(title="全角数字", published_at=at(6), body="<p>２０２４年ＧＤＰ增长。</p>")
        cls.hidden = make_snapshot(title="隐藏的营商环境", status=Snapshot.Status.HIDDEN, published_at=at(7))
        cls.withheld = make_snapshot(title="屏蔽的营商环境", status=Snapshot.Status.WITHHELD, published_at=at(8))

    def test_two_character_chinese_substrings_are_found(self):
        self.assertEqual(titles("新区"), [self.seed.title])
        self.assertEqual(titles("秒批"), [self.seed.title])
        self.assertEqual(titles("新城"), [self.newer.title])

    def test_longer_chinese_substrings_are_found_newest_first(self):
        self.assertEqual(titles("营商环境"), [self.newer.title, self.seed.title])
        self.assertEqual(titles("营商环"), [self.newer.title, self.scattered.title, self.seed.title])
        self.assertEqual(titles("鲁西新区以环境"), [self.seed.title])

    def test_text_split_by_inline_markup_is_found_but_not_across_paragraphs(self):
        self.assertIn(self.seed.title, titles("营商环境"))  # 营商<strong>…</strong>环境 reads 营商环境
        self.assertNotIn(self.split.title, titles("营商环境"))  # 营商 and 环境 are separate paragraphs
        self.assertEqual(titles("营商 环境"), [self.split.title])  # which read as words apart

    def test_trigrams_present_but_not_in_a_row_do_not_match(self):
        self.assertNotIn(self.scattered.title, titles("营商环境"))
        self.assertEqual(titles("商环境"), [self.newer.title, self.scattered.title, self.seed.title])

    def test_latin_words_and_numbers_match_whatever_the_case_or_width(self):
        self.assertEqual(titles("riverside"), [self.seed.title])
        self.assertEqual(titles("RIVERSIDE"), [self.seed.title])
        self.assertEqual(titles("2023"), [self.seed.title])
        self.assertEqual(titles("2024年"), [self.fullwidth.title])
        self.assertEqual(titles("ｇｄｐ"), [self.fullwidth.title])
        self.assertEqual(titles("at&t"), [self.seed.title])

    def test_markup_is_not_searched(self):
        self.assertEqual(titles("marker"), [])
        self.assertEqual(titles("strong"), [])
        self.assertEqual(titles("看这里"), [self.link_only.title])

    def test_hidden_and_withheld_snapshots_are_never_found(self):
        self.assertEqual(titles("隐藏"), [])
        self.assertEqual(titles("屏蔽的营商"), [])
        self.assertNotIn(self.hidden.pk, indexed("营商环境"))
        self.assertNotIn(self.withheld.pk, indexed("营商环境"))
        self.assertEqual(index_size(), Snapshot.objects.published().count())

    def test_odd_queries_are_text_to_look_for(self):
        self.assertEqual(titles("100%"), [self.newer.title])
        self.assertEqual(titles("0%"), [self.newer.title])
        for query in ["%%", "__", "a_b", '"', "AND", "OR OR", "NEAR(营商 环境)", "营商*", "^新区", "新区 OR 营商",
                      "'; DROP TABLE articles_snapshot; --", "\\", "***", "(())"]:  # fmt: skip
            with self.subTest(query=query):
                try:
                    found = titles(query)
                except QueryError:
                    continue
                self.assertEqual(found, [])
        self.assertEqual(titles('"营商环境"'), [self.newer.title, self.seed.title])
        self.assertTrue(Snapshot.objects.filter(pk=self.seed.pk).exists())

    def test_a_queryset_narrows_the_search(self):
        in_finance = Snapshot.objects.filter(category=self.finance)
        self.assertEqual(titles("营商环境", queryset=in_finance), [self.seed.title])
        since = Snapshot.objects.published().filter(published_at__gt=at(4))
        self.assertEqual(titles("营商环境", queryset=since), [self.newer.title])

    def test_a_queryset_cannot_bring_back_what_is_not_published(self):
        everything = Snapshot.objects.all()
        self.assertEqual(titles("营商环境", queryset=everything), [self.newer.title, self.seed.title])

    def test_relevance_puts_matches_in_the_title_first(self):
        self.assertEqual(titles("新区", order="relevance"), [self.seed.title])
        body_only = make_snapshot(title="无关标题", published_at=at(9), body="<p>鲁西的事。</p>")
        self.assertEqual(titles("鲁西", order="newest"), [body_only.title, self.seed.title])
        self.assertEqual(titles("鲁西", order="relevance"), [self.seed.title, body_only.title])
        ranked = list(search_snapshots("鲁西", order="relevance"))
        self.assertGreater(ranked[0].relevance, ranked[1].relevance)

    def test_an_unknown_order_is_a_programming_error(self):
        with self.assertRaises(ValueError):
            search_snapshots("新区", order="oldest")

    def test_every_plan_gives_the_same_results(self):
        queries = ["营商环境", "营商环", "新区", "秒批", "riverside", "商环境", "100%"]
        expected = {query: titles(query) for query in queries}
        relevance = {query: titles(query, order="relevance") for query in queries}
        for plan, (few, many) in PLANS.items():
            with mock.patch.object(search, "FEW_MATCHES", few), mock.patch.object(search, "MANY_MATCHES", many):
                for query in queries:
                    with self.subTest(plan=plan, query=query):
                        self.assertEqual(titles(query), expected[query])
                        self.assertEqual(titles(query, order="relevance"), relevance[query])

    def test_results_can_be_used_as_a_subquery(self):
        matches = search_snapshots("营商环境")
        outer = Snapshot.objects.filter(pk__in=matches.values("pk")).order_by("published_at")
        self.assertEqual([s.title for s in outer], [self.seed.title, self.newer.title])


class HighlightTests(TestCase):
    def test_title_occurrences_are_marked_and_everything_escaped(self):
        self.assertEqual(
            highlight_title("<b>新区</b> 与新区", "新区"), "&lt;b&gt;<mark>新区</mark>&lt;/b&gt; 与<mark>新区</mark>"
        )

    def test_marking_follows_case_and_width_folding(self):
        self.assertEqual(highlight_title("Riverside ＡＩ", "ai"), "Riverside <mark>ＡＩ</mark>")
        self.assertEqual(highlight_title("RIVERSIDE", "riverside"), "<mark>RIVERSIDE</mark>")

    def test_excerpt_is_a_passage_of_text_around_the_first_match(self):
        body = "<p>" + "前文" * 100 + "助力<strong>营商</strong>环境全面优化" + "后文" * 100 + "</p>"
        excerpt = highlight_excerpt(body, "营商环境")
        self.assertIn("助力<mark>营商环境</mark>全面优化", excerpt)
        self.assertTrue(excerpt.startswith("…") and excerpt.endswith("…"))
        self.assertNotIn("<strong>", excerpt)

    def test_excerpt_escapes_the_text(self):
        excerpt = highlight_excerpt("<p>&lt;script&gt;alert(1)&lt;/script&gt; 新区</p>", "新区")
        self.assertEqual(excerpt, "&lt;script&gt;alert(1)&lt;/script&gt; <mark>新区</mark>")

    def test_excerpt_is_the_start_of_the_body_when_only_the_title_matched(self):
        self.assertEqual(highlight_excerpt("<p>正文开头。</p>", "标题"), "正文开头。")


# --- the index in step with every way a snapshot is written ---------------------------------------


class IndexInStepTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.snapshot = make_snapshot(title="原来的标题", body="<p>原来的正文讲秒批。</p>")

    def assertIndexMatchesPublished(self):
        self.assertEqual(index_size(), Snapshot.objects.published().count())
        if connection.vendor == "postgresql":
            # The stored pairs (migration 0009) are those of the stored document, row by row.
            with connection.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM articles_search WHERE pairs <> articles_search_bigrams(document)")
                self.assertEqual(cursor.fetchone()[0], 0)

    def test_a_new_snapshot_is_indexed_when_saved(self):
        self.assertEqual(indexed("原来的"), {self.snapshot.pk})
        self.assertEqual(titles("秒批"), ["原来的标题"])
        self.assertIndexMatchesPublished()

    def test_an_edited_title_or_body_replaces_the_old_text(self):
        self.snapshot.title = "改过的标题"
        self.snapshot.body = "<p>新的正文讲营商。</p>"
        self.snapshot.save()
        self.assertEqual(indexed("原来的"), set())
        self.assertEqual(indexed("秒批"), set())
        self.assertEqual(titles("改过的"), ["改过的标题"])
        self.assertEqual(titles("营商"), ["改过的标题"])
        self.assertIndexMatchesPublished()

    def test_a_snapshot_is_found_by_its_byline_and_its_original_address_and_follows_their_edits(self):
        self.snapshot.byline = "（记者 刘洋）"
        self.snapshot.original_url = "https://sd.people.com.cn/n2/2023/0914/c1024-40547894.html"
        self.snapshot.save()

        self.assertEqual(titles("刘洋"), ["原来的标题"])
        self.assertEqual(titles("c1024-40547894"), ["原来的标题"])
        self.assertEqual(titles("sd.people.com.cn"), ["原来的标题"])

        self.snapshot.byline = "（记者 王燕）"
        self.snapshot.save()
        self.assertEqual(titles("刘洋"), [])
        self.assertEqual(titles("王燕"), ["原来的标题"])
        self.assertIndexMatchesPublished()

    def test_saving_other_fields_leaves_the_entry_alone(self):
        self.snapshot.is_featured = True
        self.snapshot.save()
        self.assertEqual(indexed("原来的"), {self.snapshot.pk})
        self.assertIndexMatchesPublished()

    def test_an_editor_hiding_a_snapshot_takes_it_out_and_publishing_brings_it_back(self):
        editor = make_editor()
        services.snapshot_set_status(snapshot_ids=[self.snapshot.pk], status=Snapshot.Status.HIDDEN, actor=editor)
        self.assertEqual(indexed("原来的"), set())
        self.assertEqual(titles("秒批"), [])
        self.assertIndexMatchesPublished()
        services.snapshot_set_status(snapshot_ids=[self.snapshot.pk], status=Snapshot.Status.PUBLISHED, actor=editor)
        self.assertEqual(titles("秒批"), ["原来的标题"])
        self.assertIndexMatchesPublished()

    def test_withholding_by_a_removal_decision_takes_it_out_and_restoring_brings_it_back(self):
        from moderation.models import TakedownRequest
        from moderation.tests.helpers import make_moderator, make_request

        moderator = make_moderator()
        request = make_request(self.snapshot, status=TakedownRequest.Status.APPROVED, moderator=moderator)
        self.assertEqual(Snapshot.objects.get(pk=self.snapshot.pk).status, Snapshot.Status.WITHHELD)
        self.assertEqual(indexed("原来的"), set())
        self.assertEqual(titles("秒批"), [])
        self.assertIndexMatchesPublished()

        from moderation import services as moderation_services
        from moderation.tests.helpers import make_counter_notice

        make_counter_notice(Snapshot.objects.get(pk=self.snapshot.pk))
        moderation_services.takedown_restore(request_id=request.pk, moderator=moderator, reason="反通知理由成立。")
        self.assertEqual(titles("秒批"), ["原来的标题"])
        self.assertIndexMatchesPublished()

    def test_an_admin_edit_of_the_title_is_searchable_at_once(self):
        from .helpers import make_superuser
        from .test_admin import change_url, form_data

        self.client.force_login(make_superuser())
        page = self.client.get(change_url(self.snapshot))
        response = self.client.post(change_url(self.snapshot), form_data(page, title="编辑改的标题"))
        self.assertEqual(response.status_code, 302)
        self.assertEqual(titles("编辑改"), ["编辑改的标题"])
        self.assertEqual(indexed("来的标"), set())

    def test_updates_and_deletes_in_bulk_reach_the_index(self):
        Snapshot.objects.filter(pk=self.snapshot.pk).update(**status_fields(Snapshot.Status.HIDDEN))
        self.assertEqual(indexed("原来的"), set())
        Snapshot.objects.filter(pk=self.snapshot.pk).update(
            **status_fields(Snapshot.Status.PUBLISHED), title="批量改的标题"
        )
        self.assertEqual(titles("批量改"), ["批量改的标题"])
        Snapshot.objects.filter(pk=self.snapshot.pk).delete()
        self.assertEqual(indexed("批量改"), set())
        self.assertIndexMatchesPublished()

    def test_imported_snapshots_are_indexed_and_a_changed_capture_replaces_the_text(self):
        def record(body: str) -> dict:
            return {
                "url": "https://news.example.cn/2024/search.html",
                "title": "导入的新闻",
                "category": "财经",
                "source": "人民资讯",
                "published_at": "2024-03-01T10:00:00+08:00",
                "captured_at": "2024-03-01T12:00:00+08:00",
                "collected_by": "td.fyun.cc",
                "body_html": body,
            }

        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "crawl.jsonl"
            path.write_text(json.dumps(record("<p>第一次抓取讲招商引资。</p>"), ensure_ascii=False) + "\n")
            call_command("import_snapshots", str(path), verbosity=0)
            self.assertEqual(titles("招商引资"), ["导入的新闻"])
            path.write_text(json.dumps(record("<p>第二次抓取讲数字金融。</p>"), ensure_ascii=False) + "\n")
            call_command("import_snapshots", str(path), verbosity=0)
        self.assertEqual(titles("招商引资"), [])
        self.assertEqual(titles("数字金融"), ["导入的新闻"])
        self.assertIndexMatchesPublished()

    def test_an_import_leaves_a_hidden_snapshot_out_of_the_index(self):
        hidden = make_snapshot(
            title="导入前隐藏", original_url="https://news.example.cn/hidden.html", status=Snapshot.Status.HIDDEN
        )
        record = {
            "url": "https://news.example.cn/hidden.html",
            "title": "导入后仍隐藏",
            "category": "财经",
            "source": "人民资讯",
            "published_at": "2024-03-01T10:00:00+08:00",
            "captured_at": "2024-03-02T12:00:00+08:00",
            "collected_by": "td.fyun.cc",
            "body_text": "重新抓取的正文。",
        }
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "crawl.jsonl"
            path.write_text(json.dumps(record, ensure_ascii=False) + "\n")
            call_command("import_snapshots", str(path), verbosity=0)
        self.assertEqual(Snapshot.objects.get(pk=hidden.pk).title, "导入后仍隐藏")
        self.assertEqual(indexed("仍隐藏"), set())
        self.assertIndexMatchesPublished()

    def test_demo_data_is_indexed(self):
        call_command("demo_data", snapshots=30, seed=3, verbosity=0)
        demo = Snapshot.objects.published().filter(collected_by="demo_data", title__startswith="【演示】")
        self.assertEqual(set(indexed("自动生成")), set(demo.values_list("pk", flat=True)))
        self.assertEqual(len(titles("演示")), demo.count())
        self.assertIndexMatchesPublished()


class LargeResultTests(TestCase):
    """Searches whose index candidates pass the plan thresholds, at the real thresholds."""

    @classmethod
    def setUpTestData(cls):
        category, source = make_category(), make_source()
        start = datetime(2024, 1, 1, tzinfo=SHANGHAI)
        Snapshot.objects.bulk_create(
            Snapshot(
                key=f"{n:040x}",
                title=f"常见 {n}",
                category=category,
                source=source,
                body="<p>新区营商环境。</p>" if n % 2 else "<p>其他。</p>",
                published_at=start + timedelta(minutes=n),
                captured_at=start,
                collected_by="test",
                content_hash="-",
            )
            for n in range(search.FEW_MATCHES * 2 + 10)
        )

    def test_a_common_word_gives_the_newest_matches_first(self):
        newest = max(n for n in range(search.FEW_MATCHES * 2 + 10) if n % 2)
        found = titles("营商环境")[:3]
        self.assertEqual(found, [f"常见 {newest}", f"常见 {newest - 2}", f"常见 {newest - 4}"])
        self.assertEqual(search_snapshots("新区").count(), search.FEW_MATCHES + 5)


class SearchPlanCacheTests(TestCase):
    """search_plans: each query's plan once per state of the archive, from the cache after that."""

    @classmethod
    def setUpTestData(cls):
        cls.first = make_snapshot(title="秒批事项", body="<p>营商环境持续优化。</p>", published_at=at(1))

    def test_plans_come_from_the_cache_until_the_archive_changes(self):
        queries = ["秒批", "营商环境", "no such words"]
        each = RARE_QUERY_PLAN[connection.vendor]
        with self.assertNumQueries(1 + each * len(queries)):  # the version, then each plan
            plans = search.search_plans(queries)
        self.assertEqual(set(plans), set(queries))
        with self.assertNumQueries(1):
            self.assertEqual(search.search_plans(queries), plans)
        self.assertEqual([s.pk for s in search_snapshots("秒批", plan=plans["秒批"])], [self.first.pk])

        later = make_snapshot(title="又一项秒批", published_at=at(2))
        with self.assertNumQueries(1 + each * len(queries)):
            plans = search.search_plans(queries)
        self.assertEqual([s.pk for s in search_snapshots("秒批", plan=plans["秒批"])], [later.pk, self.first.pk])

        Snapshot.objects.filter(pk=later.pk).update(**status_fields(Snapshot.Status.WITHHELD))
        plans = search.search_plans(queries)
        self.assertEqual([s.pk for s in search_snapshots("秒批", plan=plans["秒批"])], [self.first.pk])

    def test_a_plan_gives_what_the_search_alone_gives_on_every_plan(self):
        for name, (few, many) in PLANS.items():
            with (
                self.subTest(plan=name),
                mock.patch.object(search, "FEW_MATCHES", few),
                mock.patch.object(search, "MANY_MATCHES", many),
            ):
                # Quoted as a reader might type it: the plan is the cleaned query's.
                plans = search.search_plans(["秒批", "“营商环境”", "优化"])
                for query, plan in plans.items():
                    self.assertEqual(list(search_snapshots(query, plan=plan)), list(search_snapshots(query)))
                search.cache.clear()

    def test_queries_the_search_refuses_are_left_out_without_a_query(self):
        with self.assertNumQueries(0):
            self.assertEqual(search.search_plans(["", "秒", "长" * (search.MAX_QUERY_LENGTH + 1)]), {})
        self.assertEqual(set(search.search_plans(["秒", "“秒批”"])), {"“秒批”"})

    def test_a_cache_that_is_down_costs_queries_not_results(self):
        with (
            mock.patch.object(search.cache, "get_many", side_effect=ConnectionError),
            mock.patch.object(search.cache, "set_many", side_effect=ConnectionError),
            self.assertLogs("articles.search", "WARNING"),
        ):
            plans = search.search_plans(["秒批"])
        self.assertEqual([s.pk for s in search_snapshots("秒批", plan=plans["秒批"])], [self.first.pk])

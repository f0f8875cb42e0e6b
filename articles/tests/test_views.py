import html
import io
import json
import re
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

from django.core.management import call_command
from django.test import TestCase, override_settings
from django.urls import reverse

from articles.models import SHANGHAI, RelatedLink, Snapshot

from .helpers import (
    SEED_KEY,
    SEED_PAGE,
    load_seed,
    make_category,
    make_related_link,
    make_snapshot,
    make_source,
    status_fields,
)
from .query_counts import PAGE_CACHE_CHECK, RENDER

ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}
EN = {"Accept-Language": "en"}
DATE_LINE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")


# --- reading pages as a reader sees them ---------------------------------------------------------


class _Page(HTMLParser):
    """The visible text of a page (head left out) and its links with their text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.text_parts: list[str] = []
        self.links: list[tuple[str, dict]] = []
        self._in_head = False
        self._link: tuple[list[str], dict] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "head":
            self._in_head = True
        elif tag == "a":
            self._link = ([], dict(attrs))

    def handle_endtag(self, tag):
        if tag == "head":
            self._in_head = False
        elif tag == "a" and self._link is not None:
            parts, attrs = self._link
            self.links.append(("".join(parts).strip(), attrs))
            self._link = None

    def handle_data(self, data):
        if self._in_head:
            return
        self.text_parts.append(data)
        if self._link is not None:
            self._link[0].append(data)


@dataclass
class Page:
    html: str
    text: str
    links: list[tuple[str, dict]]

    def link(self, text: str) -> dict:
        """The attributes of the one link whose text is `text`."""
        found = [attrs for link_text, attrs in self.links if link_text == text]
        assert len(found) == 1, f"{len(found)} links with text {text!r}"
        return found[0]

    def section(self, css_class: str) -> str:
        match = re.search(rf'<section class="{css_class}"[^>]*>(.*?)</section>', self.html, re.S)
        assert match, f"no section {css_class!r}"
        return match.group(1)


def read_page(response) -> Page:
    assert response.status_code == 200, response.status_code
    content = response.content.decode()
    parser = _Page()
    parser.feed(content)
    parser.close()
    return Page(html=content, text="".join(parser.text_parts), links=parser.links)


def strip_tags(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", fragment)).strip()


def titles_in_order(page: Page, titles: list[str]) -> list[str]:
    """The given titles in the order the page shows them (absent ones left out)."""
    return sorted((t for t in titles if t in page.text), key=page.text.index)


# --- the seed page as the source site showed it --------------------------------------------------


@dataclass
class SeedPage:
    nav: list[str]
    title: str
    meta: tuple[str, str, str]
    reprinted_from: str
    paragraphs: list[str]
    byline: str
    notice: str
    captured: str
    takedown: str
    original_url: str
    related: list[tuple[str, str, str]]  # (title or "", "...excerpt", date)
    more: str


def read_seed_page() -> SeedPage:
    lines = [line.strip() for line in SEED_PAGE.read_text(encoding="utf-8").splitlines() if line.strip()]
    notice_at = next(i for i, line in enumerate(lines) if line.startswith("以上内容为资讯信息快照"))
    paragraphs = lines[5:notice_at]
    last_paragraph, byline = re.fullmatch(r"(.*)(\([^()]*\))", paragraphs[-1]).groups()
    related, title, excerpt = [], "", ""
    for line in lines[notice_at + 4 : -1]:
        if DATE_LINE.fullmatch(line):
            related.append((title, excerpt, line))
            title = ""
        elif line.startswith("..."):
            excerpt = line
        else:
            title = line
    return SeedPage(
        nav=[line.removeprefix("•").strip() for line in lines[:2]],
        title=lines[2],
        meta=re.fullmatch(r"(类别:\S+)\s(发布时间:\S+ \S+)\s(来源:\S+)", lines[3]).groups(),
        reprinted_from=lines[4],
        paragraphs=[*paragraphs[:-1], last_paragraph],
        byline=byline,
        notice=lines[notice_at],
        captured=lines[notice_at + 1],
        takedown=lines[notice_at + 2],
        original_url=lines[notice_at + 3],
        related=related,
        more=lines[-1].removesuffix(":"),
    )


SEED = read_seed_page()
SEED_PATH = f"/detail/{SEED_KEY}.html"


class SeedPageTests(TestCase):
    """The seed snapshot, loaded from the demo fixture, reads like the page the source site served."""

    @classmethod
    def setUpTestData(cls):
        cls.snapshot = load_seed()

    def setUp(self):
        self.page = read_page(self.client.get(SEED_PATH, headers=ZH))

    def assert_in_order(self, text: str, needles: list[str]) -> None:
        position = 0
        for needle in needles:
            found = text.find(needle, position)
            self.assertNotEqual(
                found, -1, f"{needle!r} is missing or out of order; it should follow {text[:position][-80:]!r}"
            )
            position = found + len(needle)

    def test_the_seed_page_was_read_completely(self):
        # Guards the parsing above: a seed page read wrongly would make the checks below vacuous.
        self.assertEqual(SEED.nav, ["我的订阅", "财经"])
        self.assertEqual(SEED.meta, ("类别:财经", "发布时间:2023-09-14 11:24:00", "来源:人民资讯"))
        self.assertEqual(len(SEED.paragraphs), 6)
        self.assertEqual(SEED.byline, "(孙安琪 王燕)")
        self.assertEqual(len(SEED.related), 9)
        self.assertEqual(sum(1 for title, _, _ in SEED.related if title), 4)
        self.assertEqual(SEED.more, "更多关于财经的资讯")

    def test_every_element_of_the_seed_page_appears_in_the_seed_order(self):
        related = [
            part for title, excerpt, date in SEED.related for part in ([title] if title else []) + [excerpt, date]
        ]
        self.assert_in_order(
            self.page.text,
            [
                *SEED.nav,
                SEED.title,
                *SEED.meta,
                SEED.reprinted_from,
                *SEED.paragraphs,
                SEED.byline,
                SEED.notice,
                SEED.captured,
                SEED.takedown,
                SEED.original_url,
                *related,
                SEED.more,
            ],
        )

    def test_body_paragraphs_are_exactly_the_seed_paragraphs(self):
        body = re.search(r'<div class="snapshot-body">(.*?)</div>', self.page.html, re.S).group(1)
        self.assertEqual([strip_tags(p) for p in re.findall(r"<p>(.*?)</p>", body, re.S)], SEED.paragraphs)
        self.assertIn(f'<p class="byline">{SEED.byline}</p>', self.page.html)

    def test_notice_names_the_crawler_and_the_capture_time(self):
        self.assertIn("以上内容为资讯信息快照,由td.fyun.cc爬虫进行采集并收录", self.page.text)
        self.assertIn("快照生成时间:2023-09-14 14:45:04", self.page.text)

    def test_related_excerpts_show_their_dates_and_titles_as_the_seed_does(self):
        items = re.findall(r"<li>(.*?)</li>", self.page.section("related"), re.S)
        shown = []
        for item in items:
            title = re.search(r"<h3>(.*?)</h3>", item, re.S)
            excerpt = re.search(r'<p class="excerpt">(.*?)</p>', item, re.S)
            date = re.search(r'<p class="date">(.*?)</p>', item, re.S)
            shown.append(
                (strip_tags(title.group(1)) if title else "", strip_tags(excerpt.group(1)), strip_tags(date.group(1)))
            )
        self.assertEqual(shown, SEED.related)

    def test_removal_link_prefills_the_form_with_this_pages_absolute_address(self):
        link = self.page.link("如有侵权请联系我们进行删除")
        self.assertEqual(link["href"], "/takedown/new/?" + urlencode({"url": f"http://testserver{SEED_PATH}"}))
        self.assertEqual(link["href"], "/takedown/new/?url=http%3A%2F%2Ftestserver%2Fdetail%2F" + SEED_KEY + ".html")
        self.assertIn("nofollow", link["rel"])

    def test_category_links_lead_to_the_category_page(self):
        category_url = reverse("articles:category", kwargs={"slug": "财经"})
        self.assertEqual(self.page.link("更多关于财经的资讯")["href"], category_url)
        breadcrumbs = re.search(r'<nav class="breadcrumbs".*?</nav>', self.page.html, re.S).group(0)
        self.assertIn(f'<a href="{category_url}">财经</a>', breadcrumbs)
        self.assertIn("我的订阅", breadcrumbs)

    def test_page_declares_simplified_chinese(self):
        self.assertIn('<html lang="zh-Hans">', self.page.html)
        self.assertIn(f"<title>{SEED.title} · newsarchive</title>", self.page.html)

    def test_simplified_chinese_is_the_default_without_accept_language(self):
        page = read_page(self.client.get(SEED_PATH))
        self.assertIn('<html lang="zh-Hans">', page.html)
        self.assertIn("快照生成时间:", page.text)

    def test_english_reader_sees_english_labels(self):
        page = read_page(self.client.get(SEED_PATH, headers=EN))
        self.assertIn('<html lang="en">', page.html)
        self.assert_in_order(
            page.text,
            [
                "My subscriptions",
                SEED.title,
                "Category: 财经",
                "Published: 2023-09-14 11:24:00",
                "Source: 人民资讯",
                "Reprinted from: 人民网-山东频道",
                SEED.paragraphs[0],
                "collected and archived by the td.fyun.cc crawler",
                "Snapshot taken: 2023-09-14 14:45:04",
                "If this infringes your rights, contact us to have it removed",
                "Original address: ",
                "More news about 财经",
            ],
        )
        self.assertNotIn("快照生成时间", page.text)


# --- one snapshot page ---------------------------------------------------------------------------


class DetailPageTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.snapshot = make_snapshot(title="正在阅读的快照")
        cls.hidden = make_snapshot(title="编辑隐藏的快照", status=Snapshot.Status.HIDDEN)
        cls.withheld = make_snapshot(title="被屏蔽的快照", status=Snapshot.Status.WITHHELD)
        cls.published_target = make_snapshot(title="本站收录的目标")
        make_related_link(cls.snapshot, title="指向公开快照", target=cls.published_target)
        make_related_link(cls.snapshot, title="指向隐藏快照", target=cls.hidden)
        make_related_link(cls.snapshot, title="指向屏蔽快照", target=cls.withheld)
        make_related_link(cls.snapshot, excerpt="站外摘要", url="https://www.example.com/news/1.html")
        make_related_link(
            cls.snapshot, title="站外标题", excerpt="站外标题摘要", url="https://www.example.com/news/2.html"
        )

    def get(self, snapshot, **kwargs):
        return self.client.get(f"/detail/{snapshot.key}.html", **kwargs)

    def test_hidden_snapshots_are_not_found(self):
        response = self.get(self.hidden)
        self.assertEqual(response.status_code, 404)
        self.assertNotIn(self.hidden.title, response.content.decode())

    def test_withheld_snapshots_answer_451_with_a_removal_notice_and_nothing_of_their_content(self):
        # Withheld here by hand, with no decision behind it: the notice still stands, naming none.
        # The full notice, with the request's reference, is in moderation/tests/test_views.py.
        response = self.get(self.withheld, headers={"Accept-Language": "en"})
        self.assertEqual(response.status_code, 451)
        content = response.content.decode()
        self.assertIn("This snapshot is withheld for legal reasons", content)
        self.assertIn(self.withheld.key, content)
        self.assertNotIn(self.withheld.title, content)
        self.assertNotIn(self.withheld.body, content)
        self.assertEqual(response["Link"], '<http://testserver/transparency/>; rel="blocked-by"')

    def test_a_byline_is_shown_with_the_brackets_it_was_captured_in_or_the_seeds_parentheses(self):
        for byline, shown in [
            ("（记者 刘洋）", "（记者 刘洋）"),
            ("孙安琪 王燕", "(孙安琪 王燕)"),
            ("[本报记者]", "[本报记者]"),
        ]:
            with self.subTest(byline=byline):
                snapshot = make_snapshot(byline=byline)
                page = read_page(self.client.get(snapshot.get_absolute_url()))
                self.assertIn(shown, page.text)
                self.assertNotIn(f"({shown})", page.text)

    def test_an_excerpt_imported_with_its_own_ellipsis_shows_one(self):
        record = {
            "title": "带省略号的相关链接",
            "category": "财经",
            "source": "某报",
            "body_text": "正文",
            "published_at": "2024-03-01 08:00",
            "captured_at": "2024-03-01 09:00",
            "collected_by": "c",
            "related": [{"excerpt": "……鲁西新区招商引资", "date": "2024-02-01 08:00"}],
        }
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "one.jsonl"
            path.write_text(json.dumps(record, ensure_ascii=False) + "\n", encoding="utf-8")
            call_command("import_snapshots", str(path), stdout=io.StringIO())
        page = read_page(self.client.get(Snapshot.objects.get(title="带省略号的相关链接").get_absolute_url()))
        self.assertIn("...鲁西新区招商引资", page.text)
        self.assertNotIn("....", page.text)
        self.assertNotIn("…", page.text)

    def test_related_links_to_hidden_or_withheld_snapshots_disappear(self):
        page = read_page(self.get(self.snapshot))
        self.assertIn("指向公开快照", page.text)
        self.assertNotIn("指向隐藏快照", page.text)
        self.assertNotIn("指向屏蔽快照", page.text)

    def test_related_link_disappears_once_its_target_is_withheld(self):
        Snapshot.objects.filter(pk=self.published_target.pk).update(**status_fields(Snapshot.Status.WITHHELD))
        page = read_page(self.get(self.snapshot))
        self.assertNotIn("指向公开快照", page.text)
        self.assertNotIn(self.published_target.key, page.html)

    def test_related_link_to_a_published_snapshot_leads_to_its_page_here(self):
        link = read_page(self.get(self.snapshot)).link("指向公开快照")
        self.assertEqual(link["href"], f"/detail/{self.published_target.key}.html")
        self.assertNotIn("rel", link)

    def test_external_related_links_are_nofollow(self):
        page = read_page(self.get(self.snapshot))
        for text, href in [
            ("...站外摘要", "https://www.example.com/news/1.html"),
            ("站外标题", "https://www.example.com/news/2.html"),
        ]:
            with self.subTest(text):
                link = page.link(text)
                self.assertEqual(link["href"], href)
                self.assertIn("nofollow", link["rel"].split())

    def test_upper_case_key_redirects_permanently_to_the_lower_case_address(self):
        response = self.client.get(f"/detail/{self.snapshot.key.upper()}.html")
        self.assertEqual(response.status_code, 301)
        self.assertEqual(response["Location"], f"/detail/{self.snapshot.key}.html")

    def test_malformed_or_unknown_keys_are_not_found(self):
        for key in [self.snapshot.key[:39], self.snapshot.key + "0", "g" * 40, "0" * 40, "-" + self.snapshot.key[1:]]:
            with self.subTest(key=key):
                self.assertEqual(self.client.get(f"/detail/{key}.html").status_code, 404)

    def test_more_in_category_lists_other_published_snapshots_only(self):
        more = read_page(self.get(self.snapshot)).section("more")
        self.assertIn("本站收录的目标", more)
        self.assertNotIn("正在阅读的快照", more)
        self.assertNotIn("编辑隐藏的快照", more)
        self.assertNotIn("被屏蔽的快照", more)

    def test_original_address_is_linked_nofollow_when_recorded(self):
        snapshot = make_snapshot(original_url="https://sd.people.com.cn/n2/2023/0914/c1.html")
        link = read_page(self.get(snapshot)).link("https://sd.people.com.cn/n2/2023/0914/c1.html")
        self.assertIn("nofollow", link["rel"].split())


# --- home and category pages ---------------------------------------------------------------------


class ListingTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.category = make_category("财经")
        cls.other_category = make_category("科技")
        cls.source = make_source("人民资讯")
        cls.other_source = make_source("新华网")
        day = datetime(2024, 3, 1, 9, 0, tzinfo=SHANGHAI)
        cls.oldest = make_snapshot(title="最早的", category=cls.category, published_at=day)
        cls.newest = make_snapshot(title="最新的", category=cls.category, published_at=day + timedelta(days=2))
        cls.middle = make_snapshot(
            title="中间的", category=cls.category, source=cls.other_source, published_at=day + timedelta(days=1)
        )
        cls.elsewhere = make_snapshot(title="另一类别的", category=cls.other_category, published_at=day)
        cls.hidden = make_snapshot(
            title="隐藏的", category=cls.category, status=Snapshot.Status.HIDDEN, is_featured=True
        )
        cls.withheld = make_snapshot(title="屏蔽的", category=cls.category, status=Snapshot.Status.WITHHELD)
        cls.featured = make_snapshot(title="推荐的", category=cls.other_category, is_featured=True, published_at=day)
        cls.category_url = cls.category.get_absolute_url()

    def test_home_lists_published_snapshots_of_all_categories_newest_first(self):
        page = read_page(self.client.get("/"))
        latest = re.search(r'<h2 id="latest-heading">.*?</section>', page.html, re.S).group(0)
        shown = [strip_tags(t) for t in re.findall(r"<h3>(.*?)</h3>", latest, re.S)]
        # Same publication time: the one added last comes first.
        self.assertEqual(shown, ["最新的", "中间的", "推荐的", "另一类别的", "最早的"])

    def test_category_page_lists_its_published_snapshots_newest_first(self):
        page = read_page(self.client.get(self.category_url))
        self.assertEqual(
            titles_in_order(page, ["最早的", "最新的", "中间的", "另一类别的", "隐藏的", "屏蔽的"]),
            ["最新的", "中间的", "最早的"],
        )

    def test_hidden_and_withheld_snapshots_are_absent_from_home_and_category_pages(self):
        for url in ["/", self.category_url]:
            with self.subTest(url=url):
                page = read_page(self.client.get(url))
                self.assertNotIn("隐藏的", page.text)
                self.assertNotIn("屏蔽的", page.text)
                self.assertNotIn(self.hidden.key, page.html)
                self.assertNotIn(self.withheld.key, page.html)

    def test_featured_snapshots_are_shown_on_the_home_page(self):
        page = read_page(self.client.get("/"))
        featured = re.search(r'<h2 id="featured-heading">.*?</section>', page.html, re.S).group(0)
        self.assertIn(f'<a href="/detail/{self.featured.key}.html">推荐的</a>', featured)
        self.assertNotIn("最新的", featured)
        self.assertNotIn("隐藏的", featured)

    def test_unknown_category_is_not_found(self):
        self.assertEqual(self.client.get("/category/不存在/").status_code, 404)

    def test_malformed_filter_values_are_explained_not_failed(self):
        cases = {
            "published_after=notadate": "发布日期自: 输入一个有效的日期。",
            "source=999999": "来源: 选择一个有效的选项： 该选择不在可用的选项中。",
            "source=abc": "来源: 选择一个有效的选项： 该选择不在可用的选项中。",
            "published_before=99999-01-01": "发布日期至: 输入一个有效的日期。",
            "published_after=0001-01-01": "发布日期自: 确保该值大于或等于1900-01-01。",
            "published_before=9999-12-31": "发布日期至: 确保该值小于或等于2999-12-31。",
        }
        for query, message in cases.items():
            with self.subTest(query=query):
                page = read_page(self.client.get(f"{self.category_url}?{query}", headers=ZH))
                self.assertIn("请修正筛选条件:", page.text)
                self.assertIn(message, page.text)
                self.assertIn("没有符合条件的快照。", page.text)

    def test_filter_errors_are_in_english_for_english_readers(self):
        page = read_page(self.client.get(f"{self.category_url}?published_after=notadate", headers=EN))
        self.assertIn("Published from: Enter a valid date.", page.text)

    def test_source_filter_shows_only_that_sources_snapshots(self):
        page = read_page(self.client.get(self.category_url, {"source": self.other_source.pk}))
        self.assertEqual(titles_in_order(page, ["最早的", "最新的", "中间的"]), ["中间的"])

    def test_source_filter_offers_every_source_escaped_with_the_chosen_one_selected(self):
        odd = make_source('<b>"引号"</b> & 来源')
        page = read_page(self.client.get(self.category_url, {"source": self.other_source.pk}))
        select = re.search(r'<select id="id_source" name="source">(.*?)</select>', page.html, re.S).group(1)
        options = re.findall(r'<option value="(\d*)"( selected)?>(.*?)</option>', select)
        self.assertEqual(
            [(value, label) for value, _, label in options],
            [("", "全部来源")]
            + [
                (str(source.pk), html.escape(source.name))
                for source in sorted([self.source, self.other_source, odd], key=lambda s: s.name)
            ],
        )
        self.assertEqual([value for value, selected, _ in options if selected], [str(self.other_source.pk)])
        self.assertNotIn("<b>", select)

    def test_date_range_includes_both_days_whole_in_shanghai_time(self):
        category = make_category("日期")
        at = {
            "前一天 23:59": datetime(2024, 3, 9, 23, 59, tzinfo=SHANGHAI),
            "首日 00:00": datetime(2024, 3, 10, 0, 0, tzinfo=SHANGHAI),
            "首日 00:00 (UTC 前一天)": datetime(2024, 3, 9, 16, 0, 30, tzinfo=UTC),
            "末日 23:59": datetime(2024, 3, 12, 23, 59, tzinfo=SHANGHAI),
            "末日 23:59:59 (UTC 当天)": datetime(2024, 3, 12, 15, 59, 59, tzinfo=UTC),
            "次日 00:00": datetime(2024, 3, 13, 0, 0, tzinfo=SHANGHAI),
            "次日 00:30 (UTC 末日)": datetime(2024, 3, 12, 16, 30, tzinfo=UTC),
        }
        for title, published_at in at.items():
            make_snapshot(title=title, category=category, published_at=published_at)
        page = read_page(
            self.client.get(
                category.get_absolute_url(), {"published_after": "2024-03-10", "published_before": "2024-03-12"}
            )
        )
        self.assertCountEqual(
            titles_in_order(page, list(at)),
            ["首日 00:00", "首日 00:00 (UTC 前一天)", "末日 23:59", "末日 23:59:59 (UTC 当天)"],
        )


def link_with_rel(page: Page, rel: str) -> str | None:
    found = [attrs["href"] for _, attrs in page.links if attrs.get("rel") == rel]
    assert len(found) <= 1, found
    return found[0] if found else None


def query_of(href: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(href).query)


@override_settings(ARTICLES_PAGE_SIZE=2)
class PaginationTests(TestCase):
    """Lists are paged with "older" and "newer" links that carry a position in the list, not a
    page number, so each page is one short index scan however deep it is, and a link keeps showing
    the same snapshots as new ones arrive."""

    @classmethod
    def setUpTestData(cls):
        cls.category = make_category("分页")
        cls.source = make_source("人民资讯")
        cls.titles = [f"分页快照{n}" for n in range(5)]  # oldest first
        cls.snapshots = [
            make_snapshot(
                title=title,
                category=cls.category,
                source=cls.source,
                published_at=datetime(2024, 6, 1 + n, 9, 30, tzinfo=SHANGHAI),
            )
            for n, title in enumerate(cls.titles)
        ]
        cls.url = cls.category.get_absolute_url()

    def shown(self, page: Page) -> list[str]:
        return titles_in_order(
            page, self.titles + [f"同刻快照{n}" for n in range(4)] + [f"新到快照{n}" for n in range(3)]
        )

    def follow(self, href: str) -> Page:
        return read_page(self.client.get(self.url + href))

    def test_older_and_newer_links_walk_the_list_and_keep_the_filters(self):
        filters = {"source": str(self.source.pk), "published_after": "2024-06-01", "published_before": "2024-06-30"}
        first = read_page(self.client.get(self.url, filters))
        self.assertEqual(self.shown(first), ["分页快照4", "分页快照3"])
        self.assertIsNone(link_with_rel(first, "prev"))

        older = link_with_rel(first, "next")
        self.assertEqual(urlsplit(older).path, "")
        self.assertEqual(
            query_of(older),
            {**{k: [v] for k, v in filters.items()}, "before": ["2024-06-04T01:30:00Z," + str(self.snapshots[3].pk)]},
        )
        second = self.follow(older)
        self.assertEqual(self.shown(second), ["分页快照2", "分页快照1"])
        third = self.follow(link_with_rel(second, "next"))
        self.assertEqual(self.shown(third), ["分页快照0"])
        self.assertIsNone(link_with_rel(third, "next"))

        back = self.follow(link_with_rel(third, "prev"))
        self.assertEqual(self.shown(back), ["分页快照2", "分页快照1"])
        self.assertEqual(
            {k: v for k, v in query_of(link_with_rel(third, "prev")).items() if k != "after"},
            {k: [v] for k, v in filters.items()},
        )
        top = self.follow(link_with_rel(back, "prev"))
        self.assertEqual(self.shown(top), ["分页快照4", "分页快照3"])
        self.assertIsNone(link_with_rel(top, "prev"))
        newest = read_page(self.client.get(self.url + older, headers=EN)).link("Newest")
        self.assertEqual(query_of(newest["href"]), {k: [v] for k, v in filters.items()})

    def test_a_page_link_shows_the_same_snapshots_after_newer_ones_arrive(self):
        older = link_with_rel(read_page(self.client.get(self.url)), "next")
        for n in range(3):
            make_snapshot(
                title=f"新到快照{n}", category=self.category, published_at=datetime(2024, 7, 1, tzinfo=SHANGHAI)
            )
        self.assertEqual(self.shown(self.follow(older)), ["分页快照2", "分页快照1"])
        self.assertEqual(self.shown(read_page(self.client.get(self.url))), ["新到快照2", "新到快照1"])

    def test_snapshots_published_at_the_same_moment_are_each_shown_once_across_pages(self):
        moment = datetime(2024, 6, 3, 9, 30, tzinfo=SHANGHAI)  # the time of 分页快照2, too
        for n in range(4):
            make_snapshot(title=f"同刻快照{n}", category=self.category, published_at=moment)
        shown, page = [], read_page(self.client.get(self.url))
        while True:
            shown += self.shown(page)
            older = link_with_rel(page, "next")
            if older is None:
                break
            page = self.follow(older)
        # Newest first; at the same moment the snapshot added last comes first.
        self.assertEqual(
            shown,
            [
                "分页快照4",
                "分页快照3",
                "同刻快照3",
                "同刻快照2",
                "同刻快照1",
                "同刻快照0",
                "分页快照2",
                "分页快照1",
                "分页快照0",
            ],
        )

    def test_a_newer_link_past_the_newest_snapshot_leads_to_the_first_page(self):
        response = self.client.get(
            self.url, {"after": f"2030-01-01T00:00:00Z,{self.snapshots[4].pk}", "source": self.source.pk}
        )
        self.assertRedirects(response, f"{self.url}?source={self.source.pk}", fetch_redirect_response=False)

    def test_an_older_link_past_the_oldest_snapshot_shows_an_empty_list_with_a_way_back(self):
        page = read_page(
            self.client.get(self.url, {"before": f"2000-01-01T00:00:00Z,{self.snapshots[0].pk}"}, headers=ZH)
        )
        self.assertIn("没有符合条件的快照。", page.text)
        self.assertEqual(self.shown(self.follow(link_with_rel(page, "prev"))), ["分页快照1", "分页快照0"])

    def test_malformed_cursors_are_not_found(self):
        key = self.snapshots[2].pk
        for value in [
            "",
            "abc",
            "2024-06-03T01:30:00Z",
            f"2024-06-03T01:30:00,{key}",
            f"2024-06-03T01:30:00+08:00,{key}",
            f"2024-13-03T01:30:00Z,{key}",
            f"2024-02-30T01:30:00Z,{key}",
            "2024-06-03T01:30:00Z,0",
            "2024-06-03T01:30:00Z,-1",
            "2024-06-03T01:30:00Z,01",
            "2024-06-03T01:30:00Z,9223372036854775808",
            "2024-06-03T01:30:00Z,99999999999999999999999",
            f"2024-06-03T01:30:00.1234567Z,{key}",
            f"2024-06-03T01:30:00Z,{key}\x00",
            f" 2024-06-03T01:30:00Z,{key}",
        ]:
            for url in [self.url, "/"]:
                for name in ["before", "after"]:
                    with self.subTest(url=url, name=name, value=value):
                        # A NUL is refused before the view, as in any parameter (newsarchive.middleware).
                        expected = 400 if "\x00" in value else 404
                        self.assertEqual(self.client.get(url, {name: value}).status_code, expected)
        both = {"before": f"2024-06-03T01:30:00Z,{key}", "after": f"2024-06-03T01:30:00Z,{key}"}
        self.assertEqual(self.client.get(self.url, both).status_code, 404)

    def test_extreme_but_well_formed_cursors_answer(self):
        for value in ["0001-01-01T00:00:00Z,1", "9999-12-31T23:59:59.999999Z,9223372036854775807"]:
            for name in ["before", "after"]:
                with self.subTest(name=name, value=value):
                    self.assertIn(self.client.get(self.url, {name: value}).status_code, (200, 302))

    def test_numbered_page_links_lead_to_the_page_that_now_starts_there(self):
        filters = {"source": str(self.source.pk)}
        response = self.client.get(self.url, {**filters, "page": "1"})
        self.assertRedirects(
            response, f"{self.url}?source={self.source.pk}", status_code=301, fetch_redirect_response=False
        )
        response = self.client.get(self.url, {**filters, "page": "2"})
        self.assertEqual(response.status_code, 302)
        self.assertEqual(query_of(response["Location"])["source"], [str(self.source.pk)])
        self.assertEqual(self.shown(read_page(self.client.get(response["Location"]))), ["分页快照2", "分页快照1"])
        response = self.client.get(self.url, {"page": "3"})
        self.assertEqual(self.shown(read_page(self.client.get(response["Location"]))), ["分页快照0"])
        # The last one would overflow the database's OFFSET (PostgreSQL: "bigint out of range").
        for page in ["4", "abc", "0", "-1", "1.5", "", "461168601842738792", "9" * 40]:
            with self.subTest(page=page):
                self.assertEqual(self.client.get(self.url, {"page": page}).status_code, 404)

    def test_home_page_is_paged_the_same_way_and_shows_featured_snapshots_first_only(self):
        make_snapshot(
            title="推荐的", category=self.category, is_featured=True, published_at=datetime(2024, 5, 1, tzinfo=SHANGHAI)
        )
        first = read_page(self.client.get("/"))
        self.assertIn('id="featured-heading"', first.html)
        second = read_page(self.client.get("/" + link_with_rel(first, "next")))
        self.assertEqual(self.shown(second), ["分页快照2", "分页快照1"])
        self.assertNotIn('id="featured-heading"', second.html)


class HealthzTests(TestCase):
    def test_healthz_answers_ok_without_touching_the_database(self):
        with self.assertNumQueries(0):
            response = self.client.get("/healthz")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.content, b"ok")
        self.assertEqual(response["Content-Type"], "text/plain; charset=utf-8")


# --- query counts of reader pages: the same at any size ------------------------------------------


class _ReaderPageQueryCounts:
    """Pinned query counts (articles/tests/query_counts.py); each subclass builds an archive of a
    different size. An anonymous visit renders the page once, then is served from the page cache."""

    def assert_queries(self, page: str, url: str, params=None):
        with self.assertNumQueries(PAGE_CACHE_CHECK + RENDER[page]):
            rendered = self.client.get(url, params)
        with self.assertNumQueries(PAGE_CACHE_CHECK):
            cached = self.client.get(url, params)
        self.assertEqual(rendered.status_code, 200)
        self.assertEqual(cached.status_code, 200)
        return cached

    def test_home_page_query_count(self):
        response = self.assert_queries("home", "/")
        self.assertContains(response, self.featured.title)

    def test_category_page_query_count(self):
        response = self.assert_queries("category", self.category.get_absolute_url())
        self.assertContains(response, self.subject.title)

    def test_deep_category_page_query_count(self):
        response = self.assert_queries(
            "category", self.category.get_absolute_url(), {"before": f"2030-01-01T00:00:00Z,{2**62}"}
        )
        self.assertContains(response, self.subject.title)

    def test_filtered_category_page_query_count(self):
        filters = {"source": self.subject.source_id, "published_after": "2024-01-01", "published_before": "2024-12-31"}
        response = self.assert_queries("category_filtered", self.category.get_absolute_url(), filters)
        self.assertContains(response, self.subject.title)
        self.assertNotContains(response, "请修正筛选条件")

    def test_detail_page_query_count(self):
        response = self.assert_queries("detail", self.subject.get_absolute_url())
        self.assertContains(response, self.subject.title)
        self.assertContains(response, 'class="excerpt"', count=self.visible_links)


class SmallArchiveQueryCountTests(_ReaderPageQueryCounts, TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.category = make_category("财经")
        cls.subject = make_snapshot(category=cls.category, is_featured=True)
        cls.featured = cls.subject
        make_snapshot(category=cls.category)
        make_related_link(cls.subject, target=make_snapshot(category=cls.category))
        cls.visible_links = 1


class LargeArchiveQueryCountTests(_ReaderPageQueryCounts, TestCase):
    @classmethod
    def setUpTestData(cls):
        categories = [make_category(name) for name in ["财经", "科技", "体育", "国际"]]
        sources = [make_source(name) for name in ["人民资讯", "新华网", "央视新闻", "澎湃新闻"]]
        statuses = [Snapshot.Status.PUBLISHED] * 3 + [Snapshot.Status.HIDDEN, Snapshot.Status.WITHHELD]
        snapshots = [
            make_snapshot(
                category=categories[n % 4],
                source=sources[n % 3 if n % 8 else 3],
                status=statuses[n % 5] if n % 4 else Snapshot.Status.PUBLISHED,
                is_featured=n % 6 == 0,
            )
            for n in range(40)
        ]
        links = []
        for n, snapshot in enumerate(snapshots):
            for position in range(1, 13):
                target = snapshots[(n + position * 3) % 40] if position % 3 else None
                url = f"https://www.example.com/{n}/{position}.html" if position % 4 == 0 else ""
                links.append(
                    RelatedLink(
                        snapshot=snapshot,
                        position=position,
                        title=f"相关 {n}-{position}" if position % 2 else "",
                        excerpt=f"摘要 {n}-{position}",
                        date=datetime(2024, 2, position, tzinfo=SHANGHAI),
                        target=target,
                        url=url,
                    )
                )
        RelatedLink.objects.bulk_create(links)
        cls.category = categories[0]
        cls.subject = snapshots[0]
        cls.featured = Snapshot.objects.published().filter(is_featured=True).latest("published_at")
        cls.visible_links = RelatedLink.objects.visible().filter(snapshot=cls.subject).count()
        assert 4 <= cls.visible_links < 12, cls.visible_links  # some links point at hidden or withheld targets

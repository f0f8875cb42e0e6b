"""The import's readers and checks: JSON Lines records, saved snapshot pages, keys and digests.

Nothing here touches the database: `articles.importing` only parses and validates.
"""

import hashlib
import inspect
import io
import json
import subprocess
import sys
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.conf import settings
from django.test import override_settings

from articles.importing import (
    MAX_RELATED,
    Capture,
    Input,
    InvalidRecord,
    Origin,
    Rejection,
    build_capture,
    expand_paths,
    parse_text_page,
    read_json_lines,
)
from articles.models import SHANGHAI, archive_key, canonical_url, key_for_url, snapshot_key

from .helpers import SEED_KEY, SEED_PAGE

ORIGIN = Origin("crawl.jsonl", 7)
GENERATOR = Path(settings.BASE_DIR) / "bench" / "generate_jsonl.py"


def make_record(**overrides) -> dict:
    """A complete, valid record of the crawler schema."""
    record = {
        "url": "https://news.example.cn/2024/0301/1.html",
        "title": "鲁西新区持续优化营商环境",
        "category": "财经",
        "source": "人民资讯",
        "reprinted_from": "人民网-山东频道",
        "byline": "孙安琪 王燕",
        "published_at": "2024-03-01T10:00:00+08:00",
        "captured_at": "2024-03-01T12:30:00+08:00",
        "collected_by": "td.fyun.cc",
        "body_html": "<p>第一段。</p>\n<p>第二段。</p>",
        "related": [
            {
                "title": "相关标题",
                "excerpt": "相关摘要",
                "date": "2024-02-01 09:30",
                "url": "https://news.example.cn/2.html",
            }
        ],
    }
    record.update(overrides)
    return record


def sha1(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()  # noqa: S324 - the archive's key scheme


def seed_text() -> str:
    return SEED_PAGE.read_text(encoding="utf-8")


def jsonl(*records) -> bytes:
    return b"".join((json.dumps(r, ensure_ascii=False) + "\n").encode() for r in records)


# --- build_capture: a valid record -------------------------------------------------------------


def test_complete_record_becomes_a_capture_with_every_field():
    capture = build_capture(ORIGIN, make_record())

    assert capture.origin == ORIGIN
    assert capture.title == "鲁西新区持续优化营商环境"
    assert capture.category == "财经"
    assert capture.source == "人民资讯"
    assert capture.reprinted_from == "人民网-山东频道"
    assert capture.byline == "孙安琪 王燕"
    assert capture.body == "<p>第一段。</p>\n<p>第二段。</p>"
    assert capture.published_at == datetime(2024, 3, 1, 10, 0, tzinfo=SHANGHAI)
    assert capture.captured_at == datetime(2024, 3, 1, 12, 30, tzinfo=SHANGHAI)
    assert capture.collected_by == "td.fyun.cc"
    assert capture.original_url == "https://news.example.cn/2024/0301/1.html"
    [link] = capture.related
    assert (link.title, link.excerpt, link.date, link.url) == (
        "相关标题",
        "相关摘要",
        datetime(2024, 2, 1, 9, 30, tzinfo=SHANGHAI),
        "https://news.example.cn/2.html",
    )


def test_text_fields_are_stripped_and_optional_ones_default_to_empty():
    capture = build_capture(
        ORIGIN, make_record(title="  标题 \n", reprinted_from=None, byline=None, url=None, related=None)
    )

    assert capture.title == "标题"
    assert (capture.reprinted_from, capture.byline, capture.original_url) == ("", "", "")
    assert capture.related == []


def test_time_without_offset_is_read_as_shanghai_time():
    capture = build_capture(ORIGIN, make_record(published_at="2023-09-14 11:24:00"))

    assert capture.published_at == datetime(2023, 9, 14, 3, 24, tzinfo=UTC)


def test_time_with_another_offset_keeps_the_instant():
    capture = build_capture(ORIGIN, make_record(captured_at="2023-09-14T06:45:04Z"))

    assert capture.captured_at == datetime(2023, 9, 14, 14, 45, 4, tzinfo=SHANGHAI)


@pytest.mark.parametrize("name", ["title", "category", "source", "published_at", "captured_at", "collected_by"])
def test_record_without_a_required_field_is_refused_naming_it(name):
    record = make_record()
    del record[name]

    with pytest.raises(InvalidRecord, match=rf"^{name} is missing$"):
        build_capture(ORIGIN, record)


def test_blank_title_counts_as_missing():
    with pytest.raises(InvalidRecord, match="^title is missing$"):
        build_capture(ORIGIN, make_record(title="  \t "))


@pytest.mark.parametrize("value", ["yesterday", "2023-02-30T10:00:00", "14/09/2023 11:24", "2023-09-14T25:00"])
def test_unparsable_date_is_refused_quoting_the_value(value):
    with pytest.raises(InvalidRecord, match=r"^published_at is not a date-time: .*expected e\.g\."):
        build_capture(ORIGIN, make_record(published_at=value))


def test_date_outside_the_plausible_years_is_refused():
    with pytest.raises(InvalidRecord, match="^captured_at is out of range"):
        build_capture(ORIGIN, make_record(captured_at="1899-12-31T23:00:00+08:00"))


def test_date_that_is_not_a_string_is_refused():
    with pytest.raises(InvalidRecord, match="^published_at must be a date-time string, not int$"):
        build_capture(ORIGIN, make_record(published_at=20230914))


def test_text_field_of_the_wrong_type_is_refused():
    with pytest.raises(InvalidRecord, match="^title must be a string, not list$"):
        build_capture(ORIGIN, make_record(title=["a"]))


def test_text_longer_than_its_column_is_refused():
    with pytest.raises(InvalidRecord, match="^title is 501 characters long; the limit is 500$"):
        build_capture(ORIGIN, make_record(title="长" * 501))


def test_text_with_a_nul_character_is_refused():
    with pytest.raises(InvalidRecord, match="^source contains a NUL character$"):
        build_capture(ORIGIN, make_record(source="人民\x00资讯"))


def test_unknown_fields_are_ignored():
    with_extras = make_record(crawler={"run": 42}, lang="zh", related=[make_record()["related"][0] | {"rank": 1}])

    assert build_capture(ORIGIN, with_extras).content_hash == build_capture(ORIGIN, make_record()).content_hash


def test_record_that_is_not_an_object_is_refused():
    with pytest.raises(InvalidRecord, match="^a record must be a JSON object, not list$"):
        build_capture(ORIGIN, [make_record()])


# --- bodies --------------------------------------------------------------------------------


def test_html_body_is_sanitized_keeping_paragraphs():
    capture = build_capture(
        ORIGIN,
        make_record(
            body_html=(
                '<p onclick="steal()">第一段<script>alert(1)</script></p>'
                '<img src="x.png" onerror="alert(2)">'
                '<p><a href="javascript:alert(3)">链接</a> <a href="https://example.org/">外链</a></p>'
            )
        ),
    )

    assert "script" not in capture.body
    assert "alert" not in capture.body
    assert "onerror" not in capture.body
    assert "onclick" not in capture.body
    assert "javascript:" not in capture.body
    assert "<img" not in capture.body
    assert capture.body.startswith("<p>第一段</p>")
    assert '<a href="https://example.org/" rel="noopener noreferrer nofollow">外链</a>' in capture.body


def test_text_body_becomes_escaped_paragraphs():
    capture = build_capture(
        ORIGIN, make_record(body_html=None, body_text="<b>粗体</b> & 更多\n第二行\n\n\n第二段<script>x</script>")
    )

    assert (
        capture.body
        == "<p>&lt;b&gt;粗体&lt;/b&gt; &amp; 更多<br>第二行</p>\n<p>第二段&lt;script&gt;x&lt;/script&gt;</p>"
    )


def test_record_with_both_body_forms_is_refused():
    with pytest.raises(InvalidRecord, match="^give body_html or body_text, not both$"):
        build_capture(ORIGIN, make_record(body_text="正文"))


def test_record_without_a_body_is_refused():
    with pytest.raises(InvalidRecord, match=r"^body is missing \(body_html or body_text\)$"):
        build_capture(ORIGIN, make_record(body_html=""))


@override_settings(IMPORT_MAX_BODY_BYTES=100)
def test_body_over_the_limit_in_utf8_bytes_is_refused():
    # 40 characters, 120 bytes: the limit counts bytes, not characters.
    with pytest.raises(InvalidRecord, match="^body is 120 bytes; the limit is 100$"):
        build_capture(ORIGIN, make_record(body_html="字" * 40))


@override_settings(IMPORT_MAX_BODY_BYTES=100)
def test_text_body_is_measured_as_the_html_it_becomes():
    # 31 characters are 93 bytes, and 100 once wrapped in <p></p>; one more character is over.
    assert build_capture(ORIGIN, make_record(body_html=None, body_text="字" * 31)).body == "<p>" + "字" * 31 + "</p>"
    with pytest.raises(InvalidRecord, match="^body is 103 bytes; the limit is 100$"):
        build_capture(ORIGIN, make_record(body_html=None, body_text="字" * 32))


@override_settings(IMPORT_MAX_BODY_BYTES=100)
def test_body_of_exactly_the_limit_is_accepted():
    body = "<p>" + "a" * 93 + "</p>"
    assert len(body.encode()) == 100

    assert build_capture(ORIGIN, make_record(body_html=body)).body == body


# --- addresses -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://news.example.cn",
        "http://127.0.0.1:8000/detail/x.html",
        "https://例子.中国/新闻?id=1&page=2#top",
        "HTTPS://NEWS.EXAMPLE.CN/A",
    ],
)
def test_http_addresses_are_accepted(url):
    assert build_capture(ORIGIN, make_record(url=url)).original_url == url


@pytest.mark.parametrize(
    "url",
    [
        "ftp://news.example.cn/a",
        "javascript:alert(1)",
        "news.example.cn/a",
        "https://user:secret@news.example.cn/a",
        "https://news example.cn/a",
        "https://news.example.cn/a b",
    ],
)
def test_address_that_is_not_http_is_refused(url):
    with pytest.raises(InvalidRecord, match=r"^url is not an http\(s\) URL"):
        build_capture(ORIGIN, make_record(url=url))


def test_address_longer_than_2000_characters_is_refused():
    with pytest.raises(InvalidRecord, match="^url is longer than 2000 characters$"):
        build_capture(ORIGIN, make_record(url="https://news.example.cn/" + "a" * 2000))


def test_address_that_is_not_a_string_is_refused():
    with pytest.raises(InvalidRecord, match="^url must be a string, not dict$"):
        build_capture(ORIGIN, make_record(url={"href": "https://news.example.cn/"}))


# --- related links ---------------------------------------------------------------------------


@pytest.mark.parametrize("related", [{"url": "https://a.example/"}, "https://a.example/", 3])
def test_related_that_is_not_a_list_is_refused(related):
    with pytest.raises(InvalidRecord, match="^related must be a list$"):
        build_capture(ORIGIN, make_record(related=related))


def test_related_item_that_is_not_an_object_is_refused_with_its_index():
    with pytest.raises(InvalidRecord, match=r"^related\[1\] must be an object$"):
        build_capture(ORIGIN, make_record(related=[{"excerpt": "一"}, "二"]))


def test_related_link_with_a_bad_address_is_refused_with_its_index():
    with pytest.raises(InvalidRecord, match=r"^related\[1\]\.url is not an http\(s\) URL"):
        build_capture(ORIGIN, make_record(related=[{"excerpt": "一"}, {"excerpt": "二", "url": "mailto:a@b.c"}]))


def test_related_link_with_a_bad_date_is_refused_with_its_index():
    with pytest.raises(InvalidRecord, match=r"^related\[0\]\.date is not a date-time"):
        build_capture(ORIGIN, make_record(related=[{"excerpt": "一", "date": "昨天"}]))


def test_more_related_links_than_the_limit_are_refused():
    related = [{"excerpt": str(n)} for n in range(MAX_RELATED + 1)]

    with pytest.raises(InvalidRecord, match=f"^related has {MAX_RELATED + 1} links; the limit is {MAX_RELATED}$"):
        build_capture(ORIGIN, make_record(related=related))


def test_related_links_keep_page_order_and_optional_fields():
    capture = build_capture(
        ORIGIN, make_record(related=[{"excerpt": "一"}, {"excerpt": "二", "title": "题"}, {"excerpt": "三"}])
    )

    assert [(link.title, link.excerpt, link.date, link.url) for link in capture.related] == [
        ("", "一", None, ""),
        ("题", "二", None, ""),
        ("", "三", None, ""),
    ]


def test_related_excerpt_keeps_leading_white_space_and_drops_trailing():
    capture = build_capture(ORIGIN, make_record(related=[{"excerpt": " 通讯员 孙安琪 \n"}]))

    assert capture.related[0].excerpt == " 通讯员 孙安琪"


@pytest.mark.parametrize("ellipsis", ["...", "…", "……", "．．．", "......"])
def test_related_excerpt_is_stored_without_the_ellipsis_it_starts_with(ellipsis):
    capture = build_capture(ORIGIN, make_record(related=[{"excerpt": f"{ellipsis}鲁西新区招商引资"}]))

    assert capture.related[0].excerpt == "鲁西新区招商引资"


def test_related_excerpt_with_a_nul_character_is_refused():
    with pytest.raises(InvalidRecord, match=r"related\[0\]\.excerpt contains a NUL character"):
        build_capture(ORIGIN, make_record(related=[{"excerpt": "摘\x00要"}]))


# --- keys and digests --------------------------------------------------------------------------


def test_key_is_the_sha1_of_the_canonical_original_url():
    capture = build_capture(ORIGIN, make_record(url="https://news.example.cn/2024/0301/1.html"))

    assert capture.key == sha1("https://news.example.cn/2024/0301/1.html")


@pytest.mark.parametrize(
    "spelling",
    [
        "HTTPS://News.Example.CN/a?id=1",
        "https://news.example.cn:443/a?id=1",
        "https://news.example.cn/a?id=1#comments",
        "  https://news.example.cn/a?id=1  ",
    ],
)
def test_spellings_of_the_same_address_give_the_same_key(spelling):
    assert key_for_url(spelling) == sha1("https://news.example.cn/a?id=1")


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("http://news.example.cn", "http://news.example.cn/"),
        ("http://news.example.cn:8080/A", "http://news.example.cn:8080/A"),
        ("https://news.example.cn/A?B=1", "https://news.example.cn/A?B=1"),
    ],
)
def test_canonical_url_keeps_path_query_and_other_ports(url, canonical):
    assert canonical_url(url) == canonical


def test_key_without_url_comes_from_source_title_and_publication_time():
    record = make_record(
        url="", source="人民资讯", title="鲁西新区以环境之“优”谋发展之“势”", published_at="2023-09-14T03:24:00Z"
    )

    assert build_capture(ORIGIN, record).key == SEED_KEY
    assert SEED_KEY == sha1("人民资讯\n鲁西新区以环境之“优”谋发展之“势”\n2023-09-14T11:24:00+08:00")


def test_snapshot_key_ignores_surrounding_white_space():
    moment = datetime(2023, 9, 14, 11, 24, tzinfo=SHANGHAI)

    assert snapshot_key(original_url="", source=" 人民资讯", title="标题 ", published_at=moment) == snapshot_key(
        original_url="", source="人民资讯", title="标题", published_at=moment
    )


def test_same_record_gives_the_same_content_hash_however_its_times_are_written():
    first = build_capture(ORIGIN, make_record())
    second = build_capture(
        Origin("other.jsonl", 1),
        make_record(published_at="2024-03-01T02:00:00Z", captured_at="2024-03-01 12:30:00"),
    )

    assert first.content_hash == second.content_hash
    assert len(first.content_hash) == 64


@pytest.mark.parametrize(
    "change",
    [
        {"title": "另一个标题"},
        {"category": "科技"},
        {"source": "新华社"},
        {"reprinted_from": ""},
        {"byline": "记者 乙"},
        {"body_html": "<p>改过的正文。</p>"},
        {"captured_at": "2024-03-02T12:30:00+08:00"},
        {"collected_by": "other.crawler"},
        {"related": [{"title": "相关标题", "excerpt": "改过的摘要", "date": "2024-02-01 09:30"}]},
        {"related": []},
    ],
)
def test_any_captured_change_changes_the_content_hash(change):
    assert (
        build_capture(ORIGIN, make_record(**change)).content_hash != build_capture(ORIGIN, make_record()).content_hash
    )


def test_sanitizing_away_a_script_does_not_change_the_content_hash():
    clean = build_capture(ORIGIN, make_record(body_html="<p>正文</p>"))
    dirty = build_capture(ORIGIN, make_record(body_html="<p>正文<script>alert(1)</script></p>"))

    assert dirty.content_hash == clean.content_hash


@override_settings(SITE_URL="http://127.0.0.1:8000", ALLOWED_HOSTS=["localhost", "archive.example.org"])
@pytest.mark.parametrize(
    "url",
    [
        f"http://127.0.0.1:8000/detail/{SEED_KEY}.html",
        f"https://archive.example.org/detail/{SEED_KEY}.html",
        f"http://LOCALHOST/detail/{SEED_KEY.upper()}.html?from=feed",
    ],
)
def test_address_of_one_of_our_own_pages_names_its_snapshot(url):
    assert archive_key(url) == SEED_KEY
    assert key_for_url(url) == SEED_KEY


@override_settings(SITE_URL="http://127.0.0.1:8000", ALLOWED_HOSTS=["localhost"])
@pytest.mark.parametrize(
    "url",
    [
        f"https://elsewhere.example/detail/{SEED_KEY}.html",
        f"http://127.0.0.1:8000/category/{SEED_KEY}.html",
        "http://127.0.0.1:8000/detail/not-a-key.html",
    ],
)
def test_other_addresses_are_not_our_pages(url):
    assert archive_key(url) is None
    assert key_for_url(url) == sha1(canonical_url(url))


@override_settings(SITE_URL="http://127.0.0.1:8000")
def test_link_to_our_own_page_is_stored_as_a_target_without_url():
    internal = f"http://127.0.0.1:8000/detail/{SEED_KEY}.html"
    capture = build_capture(
        ORIGIN,
        make_record(related=[{"excerpt": "内", "url": internal}, {"excerpt": "外", "url": "https://a.example/x"}]),
    )
    ours, theirs = capture.related

    assert (ours.stored_url, ours.target_key) == ("", SEED_KEY)
    assert (theirs.stored_url, theirs.target_key) == ("https://a.example/x", sha1("https://a.example/x"))


# --- JSON Lines ------------------------------------------------------------------------------


def test_json_lines_yield_captures_and_rejections_with_their_line_numbers():
    lines = [
        (1, jsonl(make_record(url="https://a.example/1"))),
        (2, b"   \n"),
        (3, b'{"title": "\xe6\x96\xb0", broken\n'),
        (4, b'{"title": "\xff\xfe"}\n'),
        (5, jsonl(make_record(title=""))),
        (6, jsonl(make_record(url="https://a.example/6"))),
    ]

    records = list(read_json_lines(lines, "crawl.jsonl"))

    assert [type(r) for r in records] == [Capture, Rejection, Rejection, Rejection, Capture]
    assert [r.origin.line for r in records] == [1, 3, 4, 5, 6]
    assert str(records[1]).startswith("crawl.jsonl:3: bad JSON: ")
    assert "at column" in records[1].reason
    assert str(records[2]).startswith("crawl.jsonl:4: not UTF-8 (invalid start byte at byte 11 of the line)")
    assert str(records[3]) == "crawl.jsonl:5: title is missing"


def test_a_json_value_that_is_not_an_object_is_one_rejection():
    [rejection] = read_json_lines([(9, b"[1, 2]\n")], "x.jsonl")

    assert str(rejection) == "x.jsonl:9: a record must be a JSON object, not list"


# --- saved snapshot pages ----------------------------------------------------------------------


def test_seed_page_parses_into_every_field():
    capture = parse_text_page(seed_text(), "seed.txt")

    assert isinstance(capture, Capture), capture
    assert capture.origin == Origin("seed.txt", 4)
    assert capture.title == "鲁西新区以环境之“优”谋发展之“势”"
    assert capture.category == "财经"
    assert capture.source == "人民资讯"
    assert capture.published_at == datetime(2023, 9, 14, 11, 24, tzinfo=SHANGHAI)
    assert capture.reprinted_from == "人民网-山东频道"
    assert capture.byline == "孙安琪 王燕"
    assert capture.collected_by == "td.fyun.cc"
    assert capture.captured_at == datetime(2023, 9, 14, 14, 45, 4, tzinfo=SHANGHAI)
    assert capture.original_url == ""
    assert capture.key == SEED_KEY
    paragraphs = capture.body.split("\n")
    assert len(paragraphs) == 6
    assert all(p.startswith("<p>") and p.endswith("</p>") for p in paragraphs)
    assert paragraphs[0].startswith("<p>在落地鲁西新区")
    assert paragraphs[-1].endswith("枝繁叶茂。</p>")
    assert "孙安琪 王燕" not in capture.body
    assert "以上内容为资讯信息快照" not in capture.body


def test_seed_page_related_links_keep_titles_excerpts_dates_and_order():
    capture = parse_text_page(seed_text(), "seed.txt")

    assert len(capture.related) == 9
    assert [bool(link.title) for link in capture.related] == [False, False, True, True, False, False, False, True, True]
    third = capture.related[2]
    assert third.title == "菏泽鲁西新区:书写高质量发展的“新区”答卷"
    assert third.excerpt.startswith("主要工作和成效时")
    assert third.date == datetime(2023, 1, 1, 20, 43, tzinfo=SHANGHAI)
    assert capture.related[6].excerpt.startswith(" 通讯员 孙安琪")
    assert [link.date.date().isoformat() for link in capture.related][:2] == ["2023-12-27", "2023-08-25"]
    assert all(link.url == "" for link in capture.related)


def test_page_with_a_full_width_byline_keeps_its_brackets_and_one_in_parentheses_is_stored_bare():
    full_width = seed_text().replace("(孙安琪 王燕)", "（记者 刘洋）")

    assert parse_text_page(full_width, "p.txt").byline == "（记者 刘洋）"
    assert parse_text_page(seed_text(), "p.txt").byline == "孙安琪 王燕"


def test_saved_page_excerpts_written_with_a_full_width_ellipsis_are_read_the_same():
    text = seed_text().replace("...安琪为经济发展", "……安琪为经济发展")

    assert parse_text_page(text, "p.txt").related[0].excerpt == parse_text_page(seed_text(), "p.txt").related[0].excerpt


def test_page_with_an_original_address_is_keyed_by_it():
    text = seed_text().replace("信息原文地址:\n", "信息原文地址:https://sd.people.com.cn/n2/2023/0914/c1.html\n")

    capture = parse_text_page(text, "seed.txt")

    assert capture.original_url == "https://sd.people.com.cn/n2/2023/0914/c1.html"
    assert capture.key == sha1("https://sd.people.com.cn/n2/2023/0914/c1.html")


def test_page_with_full_width_colons_is_read_the_same():
    text = seed_text()
    for label in ("类别", "发布时间", "来源", "本文转自", "快照生成时间", "信息原文地址"):
        text = text.replace(f"{label}:", f"{label}：")

    assert parse_text_page(text, "p.txt").content_hash == parse_text_page(seed_text(), "p.txt").content_hash


def test_page_text_that_looks_like_html_is_escaped_not_kept():
    text = seed_text().replace("鲁西新区自成立以来", "<script>alert(1)</script>鲁西新区自成立以来")

    capture = parse_text_page(text, "p.txt")

    assert "<script>" not in capture.body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;鲁西新区自成立以来" in capture.body


def test_page_saved_with_windows_line_ends_is_read_the_same():
    crlf = seed_text().replace("\n", "\r\n")

    assert parse_text_page(crlf, "p.txt").content_hash == parse_text_page(seed_text(), "p.txt").content_hash


def test_body_paragraph_that_starts_with_a_bullet_is_kept():
    text = seed_text().replace("鲁西新区自成立以来", "• 鲁西新区自成立以来")

    capture = parse_text_page(text, "p.txt")

    assert "鲁西新区自成立以来" in capture.body
    assert capture.body.count("<p>") == 6


def test_page_without_the_category_line_is_refused_at_that_line():
    lines = seed_text().splitlines()
    assert lines[5].startswith("类别:财经")
    lines[5] = "类别:财经"
    text = "\n".join(lines)

    rejection = parse_text_page(text, "p.txt")

    assert str(rejection) == "p.txt:6: no 类别: 发布时间: 来源: line after the title"


def test_page_without_the_snapshot_notice_is_refused():
    text = "\n".join(line for line in seed_text().splitlines() if not line.startswith("以上内容为资讯信息快照"))

    rejection = parse_text_page(text, "p.txt")

    assert isinstance(rejection, Rejection)
    assert "no snapshot notice" in rejection.reason


def test_page_without_the_capture_time_is_refused_at_the_notice():
    text = seed_text().replace("快照生成时间:2023-09-14 14:45:04", "")

    assert str(parse_text_page(text, "p.txt")) == "p.txt:22: no 快照生成时间: line after the snapshot notice"


def test_date_line_that_belongs_to_no_excerpt_is_refused_at_its_line():
    text = seed_text().replace("2023-12-27 10:28:00\n", "2023-12-27 10:28:00\n2023-12-28 10:28:00\n")

    assert str(parse_text_page(text, "p.txt")) == "p.txt:32: a date line that belongs to no related excerpt"


def test_page_with_a_bad_original_address_is_refused_with_the_reason():
    text = seed_text().replace("信息原文地址:\n", "信息原文地址:ftp://example.cn/a\n")

    rejection = parse_text_page(text, "p.txt")

    assert rejection.origin.line == 4
    assert rejection.reason.startswith("url is not an http(s) URL")


# --- inputs --------------------------------------------------------------------------------


def test_txt_file_holding_json_lines_is_read_as_json_lines(tmp_path):
    path = tmp_path / "crawl.txt"
    path.write_bytes(jsonl(make_record(url="https://a.example/1"), make_record(url="https://a.example/2")))

    records = list(Input(str(path)).records())

    assert [type(r) for r in records] == [Capture, Capture]
    assert [r.original_url for r in records] == ["https://a.example/1", "https://a.example/2"]


def test_jsonl_file_holding_a_saved_page_is_read_as_a_page(tmp_path):
    path = tmp_path / "page.jsonl"
    path.write_text(seed_text(), encoding="utf-8")

    [record] = Input(str(path)).records()

    assert isinstance(record, Capture)
    assert record.key == SEED_KEY
    assert record.origin == Origin(str(path), 4)


def test_json_lines_after_leading_blank_lines_keep_their_line_numbers(tmp_path):
    path = tmp_path / "crawl.jsonl"
    path.write_bytes(b"\n  \n" + jsonl(make_record()) + b"{oops}\n")

    records = list(Input(str(path)).records())

    assert [r.origin.line for r in records] == [3, 4]
    assert isinstance(records[1], Rejection)


def test_empty_file_yields_nothing(tmp_path):
    path = tmp_path / "empty.jsonl"
    path.write_bytes(b"\n\n")

    assert list(Input(str(path)).records()) == []


def test_file_without_a_page_header_is_read_as_json_lines_line_by_line(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("\n购物清单\n牛奶\n", encoding="utf-8")

    rejections = list(Input(str(path)).records())

    assert [str(r) for r in rejections] == [
        f"{path}:2: bad JSON: Expecting value at column 1",
        f"{path}:3: bad JSON: Expecting value at column 1",
    ]


def test_json_lines_file_with_a_byte_order_mark_is_read_whole(tmp_path):
    path = tmp_path / "crawl.jsonl"
    path.write_bytes(
        b"\xef\xbb\xbf" + jsonl(make_record(url="https://a.example/1"), make_record(url="https://a.example/2"))
    )

    records = list(Input(str(path)).records())

    assert [r.original_url for r in records] == ["https://a.example/1", "https://a.example/2"]


def test_missing_file_is_one_rejection(tmp_path):
    path = tmp_path / "nowhere.jsonl"

    [rejection] = Input(str(path)).records()

    assert str(rejection) == f"{path}:0: cannot read: No such file or directory"


def test_saved_page_with_a_byte_order_mark_is_the_same_snapshot(tmp_path):
    path = tmp_path / "page.txt"
    without_navigation = "\n".join(seed_text().splitlines()[3:])
    path.write_bytes(b"\xef\xbb\xbf" + without_navigation.encode())

    [record] = Input(str(path)).records()

    assert isinstance(record, Capture)
    assert record.key == SEED_KEY


def test_folders_are_walked_in_name_order_skipping_hidden_entries(tmp_path):
    for name in ["b.jsonl", "a.txt", ".hidden.jsonl", "sub/z.jsonl", "sub/deeper/c.txt", ".git/config.jsonl"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("{}\n")
    single = tmp_path / "sub" / "z.jsonl"

    found = list(expand_paths([str(tmp_path), "-", str(single)]))

    assert found == [
        str(tmp_path / "a.txt"),
        str(tmp_path / "b.jsonl"),
        str(tmp_path / "sub" / "z.jsonl"),
        str(tmp_path / "sub" / "deeper" / "c.txt"),
        "-",
        str(single),
    ]


def test_standard_input_is_read_when_the_path_is_a_dash(monkeypatch):
    class Stdin:
        buffer = io.BytesIO(jsonl(make_record()))

    monkeypatch.setattr(sys, "stdin", Stdin)
    source = Input("-")

    [record] = source.records()

    assert isinstance(record, Capture)
    assert record.origin == Origin("<stdin>", 1)
    assert source.size is None


# --- memory --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def generated_file(tmp_path_factory):
    """A few MB of the benchmark's synthetic records."""
    path = tmp_path_factory.mktemp("bench") / "snapshots.jsonl"
    with path.open("wb") as out:
        subprocess.run([sys.executable, str(GENERATOR), "1200"], stdout=out, check=True)  # noqa: S603
    assert path.stat().st_size > 2_000_000
    return path


def test_reader_is_a_generator():
    assert inspect.isgenerator(Input("-").records())


def test_first_record_arrives_before_the_file_is_read(generated_file):
    source = Input(str(generated_file))
    records = source.records()

    first = next(records)

    assert isinstance(first, Capture)
    assert source.size == generated_file.stat().st_size
    # The reader may look a few lines ahead to tell the format, never through the file.
    assert 0 < source.bytes_read < source.size / 10
    records.close()


def test_reading_a_file_holds_one_record_at_a_time(generated_file):
    source = Input(str(generated_file))
    tracemalloc.start()
    try:
        count = 0
        for record in source.records():
            assert isinstance(record, Capture)
            count += 1
            if count == 200:
                break
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert source.bytes_read < source.size / 2
    assert peak < source.size / 4

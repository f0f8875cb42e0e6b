"""`manage.py import_snapshots` end to end: files in, snapshots, related links and history out."""

import json
import re
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from io import BytesIO, StringIO, TextIOWrapper
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command, execute_from_command_line
from django.core.management.base import CommandError
from django.db import IntegrityError
from django.test import override_settings

from articles import services
from articles.management.commands import import_snapshots
from articles.models import SHANGHAI, Category, RelatedLink, Snapshot, Source, key_for_url

from .helpers import SEED_KEY, SEED_PAGE, load_seed, make_category, status_fields

SUMMARY = re.compile(
    r"(?P<dry>dry run, nothing written: )?new (?P<new>[\d,]+), updated (?P<updated>[\d,]+), "
    r"unchanged (?P<unchanged>[\d,]+), rejected (?P<rejected>[\d,]+) in [\d.]+ s \((?P<rate>[\d,]+) snapshots/s\)"
)


@dataclass
class ImportRun:
    stdout: str
    stderr: str
    error: CommandError | None

    @property
    def counts(self) -> dict[str, int]:
        match = SUMMARY.fullmatch(self.stdout.strip())
        assert match, f"no summary in {self.stdout!r}"
        return {name: int(match[name].replace(",", "")) for name in ("new", "updated", "unchanged", "rejected")}

    @property
    def rejections(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.startswith("rejected ")]


def run_import(*paths, stderr=None, **options) -> ImportRun:
    """Run the command as an operator would; a CommandError is kept for the test to look at."""
    stdout, stderr = StringIO(), stderr or StringIO()
    error = None
    try:
        call_command("import_snapshots", *map(str, paths), stdout=stdout, stderr=stderr, **options)
    except CommandError as exc:
        error = exc
    return ImportRun(stdout.getvalue(), stderr.getvalue(), error)


def counts(*, new=0, updated=0, unchanged=0, rejected=0) -> dict[str, int]:
    return {"new": new, "updated": updated, "unchanged": unchanged, "rejected": rejected}


def url(n: int) -> str:
    return f"https://news.example.cn/2024/{n}.html"


def key(n: int) -> str:
    return key_for_url(url(n))


def make_record(n: int, **overrides) -> dict:
    """Record number `n` of the crawler schema, keyed by its own original URL."""
    record = {
        "url": url(n),
        "title": f"测试新闻 {n}",
        "category": "财经",
        "source": "人民资讯",
        "reprinted_from": "人民网-山东频道",
        "byline": "记者 甲",
        "published_at": f"2024-03-{n % 28 + 1:02d}T10:00:00+08:00",
        "captured_at": f"2024-03-{n % 28 + 1:02d}T12:00:00+08:00",
        "collected_by": "td.fyun.cc",
        "body_html": f"<p>第 {n} 篇正文。</p>",
        "related": [],
    }
    record.update(overrides)
    return record


def make_link(**fields) -> dict:
    return {"title": None, "excerpt": "相关摘要", "date": "2024-02-01T09:30:00+08:00", "url": None} | fields


def write_jsonl(path: Path, *records) -> Path:
    """Write records (dicts) and raw lines (bytes) as a JSON Lines file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        for record in records:
            out.write(record if isinstance(record, bytes) else (json.dumps(record, ensure_ascii=False) + "\n").encode())
    return path


def snapshot_state(snapshot: Snapshot) -> dict:
    """Every field of a snapshot and its related links, except ids and bookkeeping times."""
    state = {
        field.name: getattr(snapshot, field.attname)
        for field in Snapshot._meta.concrete_fields
        if field.name not in ("id", "category", "source", "created_at", "updated_at")
    }
    state["category"] = (snapshot.category.name, snapshot.category.slug)
    state["source"] = snapshot.source.name
    state["related"] = [
        {
            **{
                field.name: getattr(link, field.attname)
                for field in RelatedLink._meta.concrete_fields
                if field.name not in ("id", "snapshot", "target")
            },
            "target": link.target.key if link.target else None,
        }
        for link in snapshot.related_links.select_related("target").order_by("position")
    ]
    return state


def database_rows() -> tuple:
    """Everything an import may write, to show that a run changed nothing."""
    return (
        list(Snapshot.objects.order_by("pk").values_list()),
        list(RelatedLink.objects.order_by("pk").values_list()),
        list(Category.objects.order_by("pk").values_list()),
        list(Source.objects.order_by("pk").values_list()),
        Snapshot.history.count(),
        RelatedLink.history.count(),
    )


def empty_database() -> None:
    Snapshot.objects.all().delete()
    Category.objects.all().delete()
    Source.objects.all().delete()


# --- the seed page ---------------------------------------------------------------------------


def test_importing_the_seed_page_into_an_empty_database_gives_the_fixture_snapshot(db):
    run = run_import(SEED_PAGE)

    assert run.error is None, run.stderr
    assert run.counts == counts(new=1)
    imported = snapshot_state(Snapshot.objects.get())
    empty_database()
    fixture = snapshot_state(load_seed())
    assert imported == fixture
    assert imported["key"] == SEED_KEY
    assert imported["content_hash"] == "f5f6562fdd81e46d0082be87853e44e2668ca778dddbc7a556fac62901c5c041"
    assert [link["position"] for link in imported["related"]] == list(range(1, 10))


def test_importing_the_seed_page_over_the_loaded_fixture_changes_nothing(db):
    load_seed()
    before = database_rows()

    run = run_import(SEED_PAGE)

    assert run.error is None, run.stderr
    assert run.counts == counts(unchanged=1)
    assert database_rows() == before


def test_importing_the_seed_page_twice_reports_it_unchanged(db):
    run_import(SEED_PAGE)
    before = database_rows()

    assert run_import(SEED_PAGE).counts == counts(unchanged=1)
    assert database_rows() == before


# --- idempotence and changes -------------------------------------------------------------------


def test_importing_the_same_file_twice_changes_no_row_the_second_time(db, tmp_path):
    path = write_jsonl(
        tmp_path / "crawl.jsonl",
        make_record(1, related=[make_link(url=url(2)), make_link(url=url(99), title="外部")]),
        make_record(2, body_html=None, body_text="第一段\n\n第二段"),
        make_record(3, url=None, related=[make_link(url=f"{settings.SITE_URL}/detail/{key(1)}.html")]),
    )
    assert run_import(path).counts == counts(new=3)
    before = database_rows()

    run = run_import(path)

    assert run.error is None
    assert run.counts == counts(unchanged=3)
    assert database_rows() == before


def test_changed_body_updates_the_snapshot_and_keeps_the_earlier_version_in_history(db, tmp_path):
    run_import(write_jsonl(tmp_path / "first.jsonl", make_record(1, body_html="<p>旧正文</p>"), make_record(2)))
    original = Snapshot.objects.get(key=key(1))
    untouched = Snapshot.objects.get(key=key(2))

    run = run_import(write_jsonl(tmp_path / "second.jsonl", make_record(1, body_html="<p>新正文</p>"), make_record(2)))

    assert run.counts == counts(updated=1, unchanged=1)
    changed = Snapshot.objects.get(key=key(1))
    assert changed.pk == original.pk
    assert changed.body == "<p>新正文</p>"
    assert changed.content_hash != original.content_hash
    assert changed.created_at == original.created_at
    assert changed.updated_at > original.updated_at
    assert Snapshot.history.filter(id=original.pk, body="<p>旧正文</p>").exists()
    assert Snapshot.history.filter(id=original.pk).latest().body == "<p>新正文</p>"
    assert Snapshot.objects.get(key=key(2)).updated_at == untouched.updated_at
    assert not Snapshot.history.filter(id=untouched.pk).exists()


def test_changed_related_link_updates_the_snapshot_and_its_links(db, tmp_path):
    run_import(write_jsonl(tmp_path / "a.jsonl", make_record(1, related=[make_link(excerpt="旧摘要"), make_link()])))
    old_hash = Snapshot.objects.get().content_hash

    run = run_import(
        write_jsonl(tmp_path / "b.jsonl", make_record(1, related=[make_link(excerpt="新摘要", title="新标题")]))
    )

    assert run.counts == counts(updated=1)
    snapshot = Snapshot.objects.get()
    assert list(snapshot.related_links.values_list("position", "title", "excerpt")) == [(1, "新标题", "新摘要")]
    assert Snapshot.history.filter(id=snapshot.pk, content_hash=old_hash).exists()


def test_same_snapshot_twice_in_one_file_is_written_in_order(db, tmp_path):
    path = write_jsonl(
        tmp_path / "crawl.jsonl", make_record(1, body_html="<p>早</p>"), make_record(1, body_html="<p>晚</p>")
    )

    run = run_import(path, batch_size=10)

    assert run.counts == counts(new=1, updated=1)
    snapshot = Snapshot.objects.get()
    assert snapshot.body == "<p>晚</p>"
    assert Snapshot.history.filter(id=snapshot.pk, body="<p>早</p>").exists()


def test_categories_and_sources_are_created_on_first_sight_with_slugs_from_names(db, tmp_path):
    existing = make_category("财经", slug="caijing")
    make_category("Science Tech")  # slug science-tech, so "Science & Tech" needs another
    path = write_jsonl(
        tmp_path / "crawl.jsonl",
        make_record(1, category="财经", source="人民资讯"),
        make_record(2, category="Science & Tech", source="新华社"),
        make_record(3, category="国际 新闻", source="新华社"),
        make_record(4, category="国际 新闻", source="Reuters"),
    )

    assert run_import(path).counts == counts(new=4)

    assert dict(Category.objects.values_list("name", "slug")) == {
        "财经": "caijing",
        "Science Tech": "science-tech",
        "Science & Tech": "science-tech-2",
        "国际 新闻": "国际-新闻",
    }
    assert set(Source.objects.values_list("name", flat=True)) == {"人民资讯", "新华社", "Reuters"}
    assert Snapshot.objects.get(key=key(1)).category == existing
    assert Snapshot.objects.get(key=key(4)).category == Snapshot.objects.get(key=key(3)).category


def test_category_whose_slug_is_taken_gets_a_slug_that_fits_its_column(db, tmp_path):
    make_category("a" * 100)

    run = run_import(write_jsonl(tmp_path / "a.jsonl", make_record(1, category="A" * 100)))

    assert run.counts == counts(new=1)
    slug = Snapshot.objects.get().category.slug
    assert slug != "a" * 100
    assert len(slug) <= Category._meta.get_field("slug").max_length


def test_editors_change_survives_a_new_import_of_the_unchanged_capture(db):
    snapshot = load_seed()
    snapshot.title = "编辑改过的标题"
    snapshot.save()

    assert run_import(SEED_PAGE).counts == counts(unchanged=1)
    assert Snapshot.objects.get().title == "编辑改过的标题"


# --- related links and their targets -------------------------------------------------------------


def links_of(n: int) -> list[tuple]:
    return [
        (link.position, link.url, link.target.key if link.target else None)
        for link in RelatedLink.objects.filter(snapshot__key=key(n)).select_related("target").order_by("position")
    ]


def test_link_to_a_snapshot_imported_before_targets_it(db, tmp_path):
    run_import(write_jsonl(tmp_path / "a.jsonl", make_record(2)))

    run_import(write_jsonl(tmp_path / "b.jsonl", make_record(1, related=[make_link(url=url(2))])))

    assert links_of(1) == [(1, url(2), key(2))]


def test_link_to_a_snapshot_later_in_the_same_batch_targets_it(db, tmp_path):
    path = write_jsonl(tmp_path / "a.jsonl", make_record(1, related=[make_link(url=url(2))]), make_record(2))

    run_import(path)

    assert links_of(1) == [(1, url(2), key(2))]


@pytest.mark.parametrize("batch_size", [1, 2])
def test_link_to_a_snapshot_in_a_later_batch_targets_it(db, tmp_path, batch_size):
    path = write_jsonl(
        tmp_path / "a.jsonl",
        make_record(1, related=[make_link(url=url(3)), make_link(url=url(2))]),
        make_record(2),
        make_record(3, related=[make_link(url=url(1))]),
    )

    run = run_import(path, batch_size=batch_size)

    assert run.counts == counts(new=3)
    assert links_of(1) == [(1, url(3), key(3)), (2, url(2), key(2))]
    assert links_of(3) == [(1, url(1), key(1))]


def test_link_to_a_snapshot_imported_in_a_later_run_targets_it(db, tmp_path):
    run_import(write_jsonl(tmp_path / "a.jsonl", make_record(1, related=[make_link(url=url(2))])))
    assert links_of(1) == [(1, url(2), None)]

    run_import(write_jsonl(tmp_path / "b.jsonl", make_record(2)))

    assert links_of(1) == [(1, url(2), key(2))]


def test_link_spelled_differently_from_the_original_url_still_targets_it(db, tmp_path):
    spelled = "HTTPS://NEWS.EXAMPLE.CN:443/2024/2.html#comments"
    path = write_jsonl(tmp_path / "a.jsonl", make_record(2), make_record(1, related=[make_link(url=spelled)]))

    run_import(path)

    assert links_of(1) == [(1, spelled, key(2))]


def test_link_keeps_its_target_when_the_target_is_updated(db, tmp_path):
    run_import(write_jsonl(tmp_path / "a.jsonl", make_record(1, related=[make_link(url=url(2))]), make_record(2)))

    run = run_import(write_jsonl(tmp_path / "b.jsonl", make_record(2, body_html="<p>新版本</p>")))

    assert run.counts == counts(updated=1)
    assert links_of(1) == [(1, url(2), key(2))]


def test_link_to_a_snapshot_we_do_not_hold_keeps_its_address(db, tmp_path):
    run_import(write_jsonl(tmp_path / "a.jsonl", make_record(1, related=[make_link(url="https://other.example/x")])))

    link = RelatedLink.objects.get()
    assert (link.url, link.target, link.target_key) == ("https://other.example/x", None, key_for_url(link.url))


def test_link_to_our_own_page_targets_that_snapshot_and_stores_no_url(db, tmp_path):
    own_page = f"{settings.SITE_URL}/detail/{key(2)}.html"
    path = write_jsonl(tmp_path / "a.jsonl", make_record(1, related=[make_link(url=own_page)]), make_record(2))

    run_import(path, batch_size=1)

    assert links_of(1) == [(1, "", key(2))]


@override_settings(ALLOWED_HOSTS=["archive.example.org"], SITE_URL="https://www.example.org")
def test_link_to_our_own_page_under_an_allowed_host_targets_that_snapshot(db, tmp_path):
    run_import(write_jsonl(tmp_path / "a.jsonl", make_record(2)))
    own_page = f"https://archive.example.org/detail/{key(2)}.html"

    run_import(write_jsonl(tmp_path / "b.jsonl", make_record(1, related=[make_link(url=own_page)])))

    assert links_of(1) == [(1, "", key(2))]


def test_related_links_keep_page_order_titles_excerpts_and_dates(db, tmp_path):
    related = [
        make_link(excerpt="一", date="2023-12-27 10:28:00"),
        make_link(excerpt="二", title="题二", date=None),
        make_link(excerpt=" 三", date="2023-01-01T12:43:00Z"),
    ]
    run_import(write_jsonl(tmp_path / "a.jsonl", make_record(1, related=related)))

    assert list(RelatedLink.objects.order_by("position").values_list("position", "title", "excerpt", "date")) == [
        (1, "", "一", datetime(2023, 12, 27, 10, 28, tzinfo=SHANGHAI)),
        (2, "题二", "二", None),
        (3, "", " 三", datetime(2023, 1, 1, 12, 43, tzinfo=UTC)),
    ]


# --- bodies --------------------------------------------------------------------------------


def test_html_bodies_are_sanitized_on_the_way_in(db, tmp_path):
    body = (
        "<p>正文<script>alert(1)</script></p>"
        '<p><img src="x" onerror="alert(2)"><a href="javascript:alert(3)">点我</a></p>'
    )
    run_import(write_jsonl(tmp_path / "a.jsonl", make_record(1, body_html=body)))

    stored = Snapshot.objects.get().body
    assert stored == '<p>正文</p><p><a rel="noopener noreferrer nofollow">点我</a></p>'


def test_text_bodies_become_escaped_paragraphs(db, tmp_path):
    run_import(
        write_jsonl(tmp_path / "a.jsonl", make_record(1, body_html=None, body_text="<b>甲</b> & 乙\n丙\n\n<script>丁"))
    )

    assert Snapshot.objects.get().body == "<p>&lt;b&gt;甲&lt;/b&gt; &amp; 乙<br>丙</p>\n<p>&lt;script&gt;丁</p>"


# --- states an import must not touch ------------------------------------------------------------


@pytest.mark.parametrize("status", [Snapshot.Status.HIDDEN, Snapshot.Status.WITHHELD])
@pytest.mark.parametrize("changed", [False, True], ids=["unchanged", "changed"])
def test_hidden_or_withheld_snapshot_stays_so_when_imported_again(db, tmp_path, status, changed):
    run_import(write_jsonl(tmp_path / "a.jsonl", make_record(1)))
    Snapshot.objects.filter(key=key(1)).update(**status_fields(status))

    again = make_record(1, body_html="<p>新正文</p>") if changed else make_record(1)
    run = run_import(write_jsonl(tmp_path / "b.jsonl", again))

    assert run.counts == (counts(updated=1) if changed else counts(unchanged=1))
    snapshot = Snapshot.objects.get(key=key(1))
    assert snapshot.status == status
    assert snapshot.body == ("<p>新正文</p>" if changed else "<p>第 1 篇正文。</p>")
    assert not Snapshot.objects.published().exists()


# --- bad input -----------------------------------------------------------------------------


@override_settings(IMPORT_MAX_BODY_BYTES=200)
def test_each_rejected_record_is_reported_with_file_line_and_reason_and_the_good_ones_are_imported(db, tmp_path):
    no_title = make_record(3)
    del no_title["title"]
    path = write_jsonl(
        tmp_path / "crawl.jsonl",
        make_record(1),
        b'{"title": "\xe6\x96\xb0\xe9\x97\xbb", "url": \n',
        no_title,
        make_record(4, published_at="2024-02-30 10:00"),
        make_record(5, body_html="<p>" + "字" * 100 + "</p>"),
        make_record(6, url="ftp://news.example.cn/6"),
        make_record(7, related={"url": url(1)}),
        b'{"title": "\xff\xfe bad bytes"}\n',
        make_record(9),
    )

    run = run_import(path)

    assert run.error is not None
    assert run.error.returncode == 1
    assert "7 record(s) rejected" in str(run.error)
    assert run.counts == counts(new=2, rejected=7)
    expected = [
        (2, "bad JSON: "),
        (3, "title is missing"),
        (4, "published_at is not a date-time: '2024-02-30 10:00'"),
        (5, "body is 307 bytes; the limit is 200"),
        (6, "url is not an http(s) URL: 'ftp://news.example.cn/6'"),
        (7, "related must be a list"),
        (8, "not UTF-8 ("),
    ]
    assert len(run.rejections) == len(expected)
    for line, (number, reason) in zip(run.rejections, expected, strict=True):
        assert line.startswith(f"rejected {path}:{number}: {reason}"), line
    assert set(Snapshot.objects.values_list("key", flat=True)) == {key(1), key(9)}


def test_rejected_saved_page_is_reported_with_its_file_and_line(db, tmp_path):
    page = tmp_path / "page.txt"
    page.write_text(SEED_PAGE.read_text(encoding="utf-8").replace("快照生成时间:2023-09-14 14:45:04", ""))
    good = write_jsonl(tmp_path / "good.jsonl", make_record(1))

    run = run_import(page, good)

    assert run.error is not None
    assert run.rejections == [f"rejected {page}:22: no 快照生成时间: line after the snapshot notice"]
    assert run.counts == counts(new=1, rejected=1)


def test_missing_path_is_rejected_and_the_others_are_imported(db, tmp_path):
    missing = tmp_path / "missing.jsonl"

    run = run_import(missing, write_jsonl(tmp_path / "good.jsonl", make_record(1)))

    assert run.error is not None
    assert run.rejections == [f"rejected {missing}:0: cannot read: No such file or directory"]
    assert Snapshot.objects.count() == 1


def test_batch_size_below_one_is_refused(db, tmp_path):
    with pytest.raises(CommandError, match="--batch-size must be at least 1"):
        call_command("import_snapshots", str(write_jsonl(tmp_path / "a.jsonl", make_record(1))), batch_size=0)
    assert not Snapshot.objects.exists()


def test_good_records_after_a_damaged_first_line_are_still_imported(db, tmp_path):
    path = write_jsonl(tmp_path / "crawl.jsonl", b'\xff\xfe{"title": "x"}\n', make_record(1), make_record(2))

    run = run_import(path)

    assert run.counts == counts(new=2, rejected=1)
    assert run.rejections[0].startswith(f"rejected {path}:1: not UTF-8")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_command_line_exits_with_status_1_when_a_record_was_rejected(tmp_path, capsys):
    path = write_jsonl(tmp_path / "crawl.jsonl", make_record(1), b"{not json}\n")

    with pytest.raises(SystemExit) as exit_info:
        execute_from_command_line(["manage.py", "import_snapshots", str(path)])

    assert exit_info.value.code == 1
    output = capsys.readouterr()
    assert f"rejected {path}:2: bad JSON" in output.err
    assert "CommandError: 1 record(s) rejected" in output.err
    assert "new 1, updated 0, unchanged 0, rejected 1" in output.out
    assert Snapshot.objects.count() == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_command_line_exits_normally_when_everything_was_imported(tmp_path, capsys):
    execute_from_command_line(["manage.py", "import_snapshots", str(write_jsonl(tmp_path / "a.jsonl", make_record(1)))])

    assert "new 1, updated 0, unchanged 0, rejected 0" in capsys.readouterr().out


# --- whole records only ----------------------------------------------------------------------


def assert_whole(numbers, links_each: int) -> None:
    assert sorted(Snapshot.objects.values_list("key", flat=True)) == sorted(key(n) for n in numbers)
    for n in numbers:
        assert RelatedLink.objects.filter(snapshot__key=key(n)).count() == links_each, n


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_record_the_database_refuses_is_rejected_alone_and_its_batch_keeps_whole_records(tmp_path, monkeypatch):
    real_insert = services._insert

    def insert(model, rows):
        if model is RelatedLink and any(row["excerpt"] == "拒收" for row in rows):
            raise IntegrityError("refused by the test")
        real_insert(model, rows)

    monkeypatch.setattr(services, "_insert", insert)
    path = write_jsonl(
        tmp_path / "crawl.jsonl",
        make_record(1, related=[make_link(), make_link()]),
        make_record(2, related=[make_link(), make_link(excerpt="拒收")]),
        make_record(3, related=[make_link(), make_link()]),
    )

    run = run_import(path)

    assert run.counts == counts(new=2, rejected=1)
    assert run.rejections == [f"rejected {path}:2: the database refused it: refused by the test"]
    assert_whole([1, 3], links_each=2)


class Crash(Exception):
    """The process dying in the middle of a batch."""


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_import_stopped_in_the_middle_of_a_batch_leaves_whole_records_and_a_rerun_completes_it(tmp_path, monkeypatch):
    path = write_jsonl(
        tmp_path / "crawl.jsonl", *[make_record(n, related=[make_link(), make_link()]) for n in range(5)]
    )
    real_insert = services._insert
    snapshot_inserts = 0

    def insert(model, rows):
        nonlocal snapshot_inserts
        real_insert(model, rows)
        if model is Snapshot:
            snapshot_inserts += 1
            if snapshot_inserts == 2:
                raise Crash  # the second batch's snapshots are written, their links are not

    monkeypatch.setattr(services, "_insert", insert)
    with pytest.raises(Crash):
        run_import(path, batch_size=2)
    assert_whole([0, 1], links_each=2)

    monkeypatch.setattr(services, "_insert", real_insert)
    run = run_import(path, batch_size=2)

    assert run.error is None
    assert run.counts == counts(new=3, unchanged=2)
    assert_whole(range(5), links_each=2)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_batch_that_fails_once_is_retried_record_by_record(tmp_path, monkeypatch):
    real_batch = services.snapshots_import_batch
    calls = []

    def batch(*, captures, **options):
        calls.append(len(captures))
        if len(calls) == 2:
            raise IntegrityError("a passing conflict")
        return real_batch(captures=captures, **options)

    monkeypatch.setattr(services, "snapshots_import_batch", batch)
    path = write_jsonl(tmp_path / "crawl.jsonl", *[make_record(n, related=[make_link()]) for n in range(5)])

    run = run_import(path, batch_size=2)

    assert calls == [2, 2, 1, 1, 1]
    assert run.counts == counts(new=5)
    assert_whole(range(5), links_each=1)


# --- dry run -------------------------------------------------------------------------------


def test_dry_run_validates_and_counts_but_writes_nothing(db, tmp_path):
    path = write_jsonl(
        tmp_path / "crawl.jsonl",
        make_record(1, related=[make_link(url=url(2))]),
        make_record(2, category="新类别", source="新来源"),
        b"{broken\n",
    )

    run = run_import(path, dry_run=True)

    assert run.stdout.startswith("dry run, nothing written: ")
    assert run.counts == counts(new=2, rejected=1)
    assert run.rejections == [
        f"rejected {path}:3: bad JSON: Expecting property name enclosed in double quotes at column 2"
    ]
    assert run.error is not None
    assert database_rows() == ([], [], [], [], 0, 0)


def test_dry_run_over_an_archive_reports_updates_without_making_them(db, tmp_path):
    run_import(write_jsonl(tmp_path / "a.jsonl", make_record(1), make_record(2)))
    before = database_rows()

    run = run_import(
        write_jsonl(tmp_path / "b.jsonl", make_record(1, title="改过的标题"), make_record(2), make_record(3)),
        dry_run=True,
    )

    assert run.error is None
    assert run.counts == counts(new=1, updated=1, unchanged=1)
    assert database_rows() == before


def test_dry_run_counts_a_snapshot_given_twice_as_the_real_run_does(db, tmp_path):
    path = write_jsonl(tmp_path / "crawl.jsonl", make_record(1), make_record(1))

    dry = run_import(path, dry_run=True).counts
    real = run_import(path).counts

    assert real == counts(new=1, unchanged=1)
    assert dry == real


def test_dry_run_counts_a_capture_of_an_earlier_version_as_unchanged_as_the_real_run_does(db, tmp_path):
    run_import(write_jsonl(tmp_path / "first.jsonl", make_record(1)))
    run_import(write_jsonl(tmp_path / "second.jsonl", make_record(1, title="改过的标题")))
    path = write_jsonl(tmp_path / "first-again.jsonl", make_record(1))

    dry = run_import(path, dry_run=True).counts
    real = run_import(path).counts

    assert real == counts(unchanged=1)
    assert dry == real


# --- what the operator sees -------------------------------------------------------------------


class Terminal(StringIO):
    def isatty(self):
        return True


def test_progress_on_a_stream_that_is_not_a_terminal_is_plain_lines(db, tmp_path, monkeypatch):
    monkeypatch.setattr(import_snapshots.Progress, "PLAIN_INTERVAL", 0.0)
    path = write_jsonl(tmp_path / "crawl.jsonl", *[make_record(n) for n in range(4)])

    run = run_import(path, batch_size=1)

    assert "\r" not in run.stderr
    assert "\x1b" not in run.stderr
    lines = run.stderr.splitlines()
    assert len(lines) == 4
    assert all(re.fullmatch(r"progress: \d+\.\d% \d+ records \([\d,]+/s\), 0 rejected", line) for line in lines), lines
    assert lines[-1].startswith("progress: 100.0% 4 records")


def test_progress_on_a_terminal_is_redrawn_in_place(db, tmp_path):
    path = write_jsonl(tmp_path / "crawl.jsonl", make_record(1), b"{broken\n", make_record(2))

    run = run_import(path, batch_size=1, stderr=Terminal())

    assert "\r[" in run.stderr
    assert "\x1b[K" in run.stderr
    assert "100.0% 3 records" in run.stderr
    assert "\r\x1b[Krejected " in run.stderr


def test_quiet_run_writes_no_progress(db, tmp_path, monkeypatch):
    monkeypatch.setattr(import_snapshots.Progress, "PLAIN_INTERVAL", 0.0)

    run = run_import(write_jsonl(tmp_path / "a.jsonl", make_record(1)), batch_size=1, verbosity=0)

    assert run.stderr == ""
    assert run.counts == counts(new=1)


def test_summary_on_stdout_gives_every_count_and_a_rate(db, tmp_path):
    run_import(write_jsonl(tmp_path / "a.jsonl", make_record(1)))
    path = write_jsonl(tmp_path / "b.jsonl", make_record(1, title="新"), make_record(2), make_record(3), b"[]\n")

    run = run_import(path)

    summary = run.stdout.strip()
    assert "\n" not in summary
    match = SUMMARY.fullmatch(summary)
    assert match
    assert run.counts == counts(new=2, updated=1, rejected=1)
    assert int(match["rate"].replace(",", "")) > 0


# --- where records come from --------------------------------------------------------------------


def test_dash_reads_records_from_standard_input(db, monkeypatch):
    data = (
        b"".join((json.dumps(r, ensure_ascii=False) + "\n").encode() for r in [make_record(1), make_record(2)])
        + b"oops\n"
    )
    monkeypatch.setattr(sys, "stdin", TextIOWrapper(BytesIO(data), encoding="utf-8"))

    run = run_import("-")

    assert run.counts == counts(new=2, rejected=1)
    assert run.rejections == ["rejected <stdin>:3: bad JSON: Expecting value at column 1"]


def test_folder_is_read_recursively_and_each_file_by_its_content(db, tmp_path):
    folder = tmp_path / "crawl"
    write_jsonl(folder / "a.txt", make_record(1), make_record(2))
    (folder / "2023" / "09").mkdir(parents=True)
    (folder / "2023" / "09" / "seed.jsonl").write_bytes(SEED_PAGE.read_bytes())
    write_jsonl(folder / ".partial.jsonl", make_record(3))
    write_jsonl(folder / ".cache" / "b.jsonl", make_record(4))

    run = run_import(folder)

    assert run.error is None, run.stderr
    assert run.counts == counts(new=3)
    assert set(Snapshot.objects.values_list("key", flat=True)) == {key(1), key(2), SEED_KEY}


def test_several_paths_are_read_in_the_order_given(db, tmp_path):
    first = write_jsonl(tmp_path / "first.jsonl", make_record(1, body_html="<p>一</p>"))
    second = write_jsonl(tmp_path / "second.jsonl", make_record(1, body_html="<p>二</p>"))

    run = run_import(first, second)

    assert run.counts == counts(new=1, updated=1)
    assert Snapshot.objects.get().body == "<p>二</p>"

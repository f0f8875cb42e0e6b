"""`manage.py export_snapshots`: the crawler's JSON Lines schema out, read back by `import_snapshots`."""

import json
import subprocess
import sys
from datetime import datetime
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from articles.models import SHANGHAI, Category, RelatedLink, Snapshot, Source, key_for_url

from .helpers import SEED_KEY, load_seed, make_category, make_related_link, make_snapshot, status_fields

GENERATOR = Path(settings.BASE_DIR) / "bench" / "generate_jsonl.py"


def run_export(**options) -> tuple[str, str]:
    stdout, stderr = StringIO(), StringIO()
    call_command("export_snapshots", stdout=stdout, stderr=stderr, **options)
    return stdout.getvalue(), stderr.getvalue()


def exported(**options) -> list[dict]:
    stdout, _ = run_export(**options)
    return [json.loads(line) for line in stdout.splitlines()]


def run_import(path: Path, **options) -> str:
    stdout = StringIO()
    call_command("import_snapshots", str(path), stdout=stdout, stderr=StringIO(), **options)
    return stdout.getvalue()


def url(n: int) -> str:
    return f"https://news.example.cn/2024/{n}.html"


def make_record(n: int, **overrides) -> dict:
    record = {
        "url": url(n),
        "title": f"测试新闻 {n}",
        "category": "财经",
        "source": "人民资讯",
        "reprinted_from": None,
        "byline": None,
        "published_at": "2024-03-01T10:00:00+08:00",
        "captured_at": "2024-03-01T12:00:00+08:00",
        "collected_by": "td.fyun.cc",
        "body_html": f"<p>第 {n} 篇正文。</p>",
        "related": [],
    }
    record.update(overrides)
    return record


def import_records(path: Path, *records, **options) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    run_import(path, **options)


def archive_state() -> dict[str, dict]:
    """Every snapshot and its related links as the archive holds them, by key, without ids and bookkeeping."""
    state = {}
    for snapshot in Snapshot.objects.select_related("category", "source"):
        state[snapshot.key] = {
            **{
                field.name: getattr(snapshot, field.attname)
                for field in Snapshot._meta.concrete_fields
                if field.name not in ("id", "category", "source", "created_at", "updated_at")
            },
            "category": snapshot.category.name,
            "source": snapshot.source.name,
            "related": [
                (link.position, link.title, link.excerpt, link.date, link.url, link.target.key if link.target else None)
                for link in snapshot.related_links.select_related("target").order_by("position")
            ],
        }
    return state


def empty_database() -> None:
    Snapshot.objects.all().delete()
    Category.objects.all().delete()
    Source.objects.all().delete()


# --- what is written ---------------------------------------------------------------------------


def test_snapshot_is_written_as_one_line_of_the_import_schema(db, tmp_path):
    import_records(
        tmp_path / "in.jsonl",
        make_record(2),
        make_record(
            1,
            reprinted_from="人民网-山东频道",
            byline="孙安琪 王燕",
            published_at="2023-09-14T03:24:00Z",
            captured_at="2023-09-14 14:45:04",
            related=[
                {"excerpt": "无链接", "date": "2023-12-27T02:28:00Z"},
                {"title": "外部", "excerpt": "外链", "url": "https://other.example/x"},
                {"excerpt": "存档", "url": url(2), "date": None},
            ],
        ),
    )

    [record] = [r for r in exported() if r["url"] == url(1)]

    assert record == {
        "url": url(1),
        "title": "测试新闻 1",
        "category": "财经",
        "source": "人民资讯",
        "reprinted_from": "人民网-山东频道",
        "byline": "孙安琪 王燕",
        "published_at": "2023-09-14T11:24:00+08:00",
        "captured_at": "2023-09-14T14:45:04+08:00",
        "collected_by": "td.fyun.cc",
        "body_html": "<p>第 1 篇正文。</p>",
        "related": [
            {"title": None, "excerpt": "无链接", "date": "2023-12-27T10:28:00+08:00", "url": None},
            {"title": "外部", "excerpt": "外链", "date": None, "url": "https://other.example/x"},
            {"title": None, "excerpt": "存档", "date": None, "url": url(2)},
        ],
    }


def test_output_is_json_lines_of_readable_chinese(db):
    make_snapshot(title="中文标题")

    stdout, _ = run_export()

    assert stdout.endswith("\n")
    assert "中文标题" in stdout
    assert "\\u" not in stdout


def test_related_links_are_written_in_page_order(db):
    snapshot = make_snapshot()
    for position in (3, 1, 2):
        make_related_link(snapshot, position=position, excerpt=f"第{position}条")

    [record] = exported()

    assert [link["excerpt"] for link in record["related"]] == ["第1条", "第2条", "第3条"]


def test_only_published_snapshots_are_written(db):
    published = make_snapshot()
    make_snapshot(status=Snapshot.Status.HIDDEN)
    make_snapshot(status=Snapshot.Status.WITHHELD)

    assert [r["title"] for r in exported()] == [published.title]


def test_link_to_another_snapshot_is_written_as_its_page_on_this_site(db):
    target = make_snapshot()
    snapshot = make_snapshot()
    make_related_link(snapshot, target=target, url="")

    [record] = [r for r in exported() if r["title"] == snapshot.title]

    assert record["related"][0]["url"] == f"{settings.SITE_URL}/detail/{target.key}.html"


def test_exporting_twice_gives_the_same_bytes_ordered_by_key(db, tmp_path):
    for n in range(6):
        snapshot = make_snapshot(original_url=url(n))
        make_related_link(snapshot, url=url(n + 1))
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"

    run_export(output=str(first))
    run_export(output=str(second))
    stdout, _ = run_export()

    assert first.read_bytes() == second.read_bytes() == stdout.encode()
    keys = [key_for_url(json.loads(line)["url"]) for line in stdout.splitlines()]
    assert len(keys) == 6
    assert keys == sorted(keys)


# --- options -------------------------------------------------------------------------------


def test_category_option_writes_only_that_category(db):
    finance = make_category("财经", slug="caijing")
    make_snapshot(category=finance, title="财经新闻")
    make_snapshot(category=make_category("科技", slug="keji"), title="科技新闻")

    assert [r["title"] for r in exported(category="caijing")] == ["财经新闻"]
    assert [r["category"] for r in exported(category="keji")] == ["科技"]


def test_unknown_category_is_refused(db):
    with pytest.raises(CommandError, match="no category with the slug 'nope'"):
        run_export(category="nope")


def test_since_writes_snapshots_published_from_that_day_in_shanghai(db):
    make_snapshot(title="前一天深夜", published_at=datetime(2024, 2, 29, 23, 59, tzinfo=SHANGHAI))
    make_snapshot(title="当天零点", published_at=datetime(2024, 3, 1, 0, 0, tzinfo=SHANGHAI))
    make_snapshot(title="第二天", published_at=datetime(2024, 3, 2, 9, 0, tzinfo=SHANGHAI))

    assert sorted(r["title"] for r in exported(since="2024-03-01")) == ["当天零点", "第二天"]
    assert [r["title"] for r in exported(since="2024-03-02T08:00:00+08:00")] == ["第二天"]
    assert len(exported(since="2024-02-29")) == 3


@pytest.mark.parametrize("value", ["yesterday", "2024/03/01", "03-01-2024"])
def test_unreadable_since_date_is_refused_naming_it(db, value):
    with pytest.raises(CommandError, match=f"--since '{value}' is not a date"):
        run_export(since=value)


@pytest.mark.parametrize("value", ["2024-02-30", "2024-13-01"])
def test_impossible_since_date_is_refused_naming_it(db, value):
    with pytest.raises(CommandError, match=f"--since '{value}' is not a date"):
        run_export(since=value)


def test_output_option_writes_the_file_and_reports_the_count(db, tmp_path):
    make_snapshot()
    make_snapshot()
    path = tmp_path / "out" / "export.jsonl"
    path.parent.mkdir()

    stdout, stderr = run_export(output=str(path))

    assert stdout == ""
    assert stderr.strip() == f"exported 2 snapshots to {path}"
    assert len(path.read_text(encoding="utf-8").splitlines()) == 2
    assert [p.name for p in path.parent.iterdir()] == ["export.jsonl"]


def test_output_option_replaces_an_earlier_file(db, tmp_path):
    path = tmp_path / "export.jsonl"
    path.write_text("old contents\n" * 100)
    make_snapshot(title="唯一")

    run_export(output=str(path))

    assert [json.loads(line)["title"] for line in path.read_text(encoding="utf-8").splitlines()] == ["唯一"]


# --- round trips ---------------------------------------------------------------------------


@pytest.fixture
def generated_file(tmp_path) -> Path:
    path = tmp_path / "generated.jsonl"
    with path.open("wb") as out:
        subprocess.run([sys.executable, str(GENERATOR), "40"], stdout=out, check=True)  # noqa: S603
    return path


def test_import_of_the_export_reproduces_the_same_snapshots_and_related_links(db, tmp_path, generated_file):
    run_import(generated_file, batch_size=7)
    [first_key, second_key] = sorted(Snapshot.objects.values_list("key", flat=True))[:2]
    import_records(
        tmp_path / "extra.jsonl",
        make_record(
            1,
            url=None,
            body_html=None,
            body_text="第一段\n\n第二段 <有尖括号>",
            related=[
                {"title": "本站", "excerpt": "本站页面", "url": f"{settings.SITE_URL}/detail/{first_key}.html"},
                {"excerpt": " 原文地址", "date": "2020-01-02T03:04:05Z", "url": url(2)},
            ],
        ),
        make_record(2, related=[{"excerpt": "回链", "url": f"{settings.SITE_URL}/detail/{second_key}.html"}]),
        make_record(3),  # hidden below: not exported
    )
    Snapshot.objects.filter(original_url=url(3)).update(**status_fields(Snapshot.Status.HIDDEN))
    before = {key: state for key, state in archive_state().items() if state["status"] == Snapshot.Status.PUBLISHED}
    export = tmp_path / "export.jsonl"
    run_export(output=str(export))

    empty_database()
    summary = run_import(export, batch_size=5)

    assert summary.startswith(f"new {len(before)}, updated 0, unchanged 0, rejected 0")
    assert archive_state() == before
    assert len(before) == 42
    targeted = RelatedLink.objects.filter(target__isnull=False)
    assert targeted.filter(url="").count() == 2
    assert targeted.exclude(url="").count() > 5
    again = tmp_path / "again.jsonl"
    run_export(output=str(again))
    assert again.read_bytes() == export.read_bytes()


def test_import_of_the_exported_seed_gives_the_fixture_snapshot(db, tmp_path):
    load_seed()
    fixture = archive_state()
    export = tmp_path / "seed.jsonl"
    run_export(output=str(export))

    empty_database()
    run_import(export)

    assert archive_state() == fixture
    assert Snapshot.objects.get().key == SEED_KEY


def test_link_to_another_snapshot_comes_back_as_a_target(db, tmp_path):
    target = make_snapshot(original_url=url(1))
    snapshot = make_snapshot(original_url=url(2))
    make_related_link(snapshot, target=target, url="", excerpt="本站")
    export = tmp_path / "export.jsonl"
    run_export(output=str(export))

    empty_database()
    run_import(export, batch_size=1)

    link = RelatedLink.objects.get()
    assert (link.snapshot.key, link.url, link.target.key) == (snapshot.key, "", target.key)


def test_link_to_one_of_our_pages_not_yet_held_survives_the_round_trip(db, tmp_path):
    missing_key = "0" * 40
    import_records(
        tmp_path / "in.jsonl",
        make_record(1, related=[{"excerpt": "还没有", "url": f"{settings.SITE_URL}/detail/{missing_key}.html"}]),
    )
    before = archive_state()
    export = tmp_path / "export.jsonl"
    run_export(output=str(export))

    empty_database()
    run_import(export)

    assert archive_state() == before
    assert RelatedLink.objects.get().target_key == missing_key


def test_link_whose_target_an_editor_changed_is_written_with_the_new_target(db, tmp_path):
    import_records(
        tmp_path / "in.jsonl",
        make_record(1),
        make_record(2),
        make_record(3, related=[{"excerpt": "本站", "url": f"{settings.SITE_URL}/detail/{key_for_url(url(1))}.html"}]),
    )
    link = RelatedLink.objects.get()
    link.target = Snapshot.objects.get(original_url=url(2))
    link.save()

    [record] = [r for r in exported() if r["url"] == url(3)]

    assert record["related"][0]["url"] == f"{settings.SITE_URL}/detail/{key_for_url(url(2))}.html"

"""The demo_data command: N clearly synthetic snapshots with valid keys, linked to each other."""

import re
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from articles.management.commands import demo_data as demo_data_command
from articles.management.commands.demo_data import COLLECTED_BY, PUBLISHED_FROM, PUBLISHED_UNTIL, URL_PREFIX
from articles.models import KEY_PATTERN, RelatedLink, Snapshot, key_for_url, snapshot_key
from articles.sanitize import sanitize_html
from articles.search import search_snapshots

pytestmark = pytest.mark.django_db

N = 50


def demo_data(n: int = N, **options) -> str:
    out = StringIO()
    call_command("demo_data", snapshots=n, stdout=out, **{"verbosity": 0, **options})
    return out.getvalue()


def test_adds_n_snapshots_with_valid_unique_keys():
    demo_data()

    keys = list(Snapshot.objects.values_list("key", flat=True))
    assert len(keys) == N
    assert len(set(keys)) == N
    assert all(re.fullmatch(KEY_PATTERN, key) for key in keys)


def test_snapshots_are_marked_synthetic_and_keyed_by_their_demo_url():
    demo_data()

    for snapshot in Snapshot.objects.all():
        assert snapshot.title.startswith(("【演示】", "[demo] "))
        assert snapshot.collected_by == COLLECTED_BY
        assert snapshot.body.startswith(("<p>【演示数据】", "<p>[demo data]"))
        assert snapshot.original_url.startswith(URL_PREFIX)
        assert snapshot.key == snapshot_key(
            original_url=snapshot.original_url, source="", title="", published_at=snapshot.published_at
        )


def test_snapshots_are_published_or_hidden_never_withheld():
    demo_data(200)

    statuses = set(Snapshot.objects.values_list("status", flat=True))
    assert statuses <= {Snapshot.Status.PUBLISHED, Snapshot.Status.HIDDEN}
    assert Snapshot.objects.published().count() > 180


def test_snapshots_spread_over_categories_and_sources():
    demo_data()

    assert Snapshot.objects.values("category").distinct().count() >= 5
    assert Snapshot.objects.values("source").distinct().count() >= 10


def test_categories_option_limits_the_categories_used():
    demo_data(categories=3)

    assert set(Snapshot.objects.values_list("category__name", flat=True)) <= {"财经", "科技", "体育"}


def test_publication_and_capture_times_are_aware_and_a_few_hours_apart():
    demo_data()

    for snapshot in Snapshot.objects.all():
        assert PUBLISHED_FROM <= snapshot.published_at < PUBLISHED_UNTIL
        assert timedelta(minutes=30) <= snapshot.captured_at - snapshot.published_at <= timedelta(hours=8)


def test_related_links_point_to_stored_snapshots_across_batches():
    demo_data(batch_size=16)

    links = list(RelatedLink.objects.select_related("target"))
    assert links
    internal = [link for link in links if link.target_id is not None]
    external = [link for link in links if link.target_id is None]
    assert len(internal) > len(external) > 0
    for link in internal:
        assert link.target.collected_by == COLLECTED_BY
        assert link.target_id != link.snapshot_id
        assert link.url == link.target.original_url
        assert link.target_key == link.target.key
        assert link.date == link.target.published_at
    for link in external:
        assert link.url.startswith("https://")
        assert link.target_key == key_for_url(link.url)
    assert any(link.title for link in links)
    assert any(not link.title for link in links)


def test_related_links_number_zero_to_nine_in_page_order():
    demo_data()

    for snapshot in Snapshot.objects.prefetch_related("related_links"):
        positions = [link.position for link in snapshot.related_links.all()]
        assert positions == list(range(1, len(positions) + 1))
        assert len(positions) <= 9


def test_content_hash_is_what_the_model_computes_from_the_stored_rows():
    demo_data()

    for snapshot in Snapshot.objects.select_related("category", "source"):
        assert sanitize_html(snapshot.body) == snapshot.body
        assert snapshot.compute_content_hash() == snapshot.content_hash


def test_second_run_adds_n_more_without_key_collisions():
    demo_data()
    demo_data()

    assert Snapshot.objects.count() == 2 * N
    assert Snapshot.objects.values("key").distinct().count() == 2 * N
    assert Snapshot.objects.order_by("original_url").last().original_url == f"{URL_PREFIX}{2 * N:09d}.html"


def test_same_seed_on_an_empty_database_gives_the_same_snapshots():
    demo_data(seed=7)
    first = list(Snapshot.objects.order_by("key").values_list("key", "title", "published_at", "content_hash"))
    RelatedLink.objects.all().delete()
    Snapshot.objects.all().delete()

    demo_data(seed=7)

    assert list(Snapshot.objects.order_by("key").values_list("key", "title", "published_at", "content_hash")) == first


def test_no_related_option_adds_no_links():
    demo_data(no_related=True)

    assert Snapshot.objects.count() == N
    assert not RelatedLink.objects.exists()


def test_demo_data_writes_no_history():
    demo_data()

    assert not Snapshot.history.exists()
    assert not RelatedLink.history.exists()


def test_reports_each_batch_and_a_summary_unless_quiet():
    output = demo_data(batch_size=20, verbosity=1)

    lines = output.splitlines()
    assert [line.split(" ")[0] for line in lines[:3]] == ["20/50", "40/50", "50/50"]
    assert all("snapshots/s" in line for line in lines)
    assert lines[-1].startswith("Added 50 demo snapshots")
    assert demo_data(verbosity=0) == ""


def search_indexes() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'articles_search'")
        return {name for (name,) in cursor.fetchall()} & set(demo_data_command.PG_SEARCH_INDEXES)


postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL's search indexes; SQLite's FTS tables have none to defer"
)


@postgresql_only
def test_a_large_load_on_postgresql_builds_the_search_indexes_again_and_finds_its_snapshots(monkeypatch):
    monkeypatch.setattr(demo_data_command, "DEFER_SEARCH_INDEXES_FROM", 10)
    dropped_during_load = []
    store = demo_data_command.Command.store
    monkeypatch.setattr(
        demo_data_command.Command,
        "store",
        staticmethod(lambda batch, window: dropped_during_load.append(not search_indexes()) or store(batch, window)),
    )

    demo_data(40, seed=5)

    assert dropped_during_load == [True]
    assert search_indexes() == set(demo_data_command.PG_SEARCH_INDEXES)
    snapshot = Snapshot.objects.published().filter(title__startswith="【演示】").order_by("pk").first()
    assert snapshot in search_snapshots(snapshot.title[4:8])
    assert snapshot in search_snapshots(snapshot.title[4:6])


@postgresql_only
def test_a_search_index_left_missing_by_a_killed_load_is_built_by_the_next_run():
    with connection.cursor() as cursor:
        cursor.execute("DROP INDEX articles_search_pairs")

    demo_data(5)

    assert search_indexes() == set(demo_data_command.PG_SEARCH_INDEXES)


def test_rejects_a_negative_count():
    with pytest.raises(CommandError):
        demo_data(-1)


@pytest.mark.django_db
def test_the_seed_loads_into_an_empty_archive_and_never_over_an_editors_change():
    call_command("load_seed", verbosity=0)
    seed = Snapshot.objects.get()
    Snapshot.objects.filter(pk=seed.pk).update(title="编辑改过的标题")

    out = StringIO()
    call_command("load_seed", stdout=out)

    assert Snapshot.objects.get().title == "编辑改过的标题"
    assert "not loaded" in out.getvalue()

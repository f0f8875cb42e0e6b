"""The bulk session: SQLite settings for a long run of inserts, in force during it and put back after."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from articles import services
from articles.bulk import SQLITE_BULK_PRAGMAS, sqlite_bulk_session

from .test_import_command import make_record, run_import, write_jsonl

sqlite_only = pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's pragmas")


def pragmas() -> dict[str, int]:
    with connection.cursor() as cursor:
        found = {}
        for name in SQLITE_BULK_PRAGMAS:
            cursor.execute(f"PRAGMA {name}")
            found[name] = cursor.fetchone()[0]
        return found


@sqlite_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_bulk_session_sets_its_pragmas_and_puts_the_old_ones_back():
    before = pragmas()

    with sqlite_bulk_session(connection.alias, synchronous=0):
        during = pragmas()
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA synchronous")
            synchronous = cursor.fetchone()[0]

    assert during == SQLITE_BULK_PRAGMAS
    assert synchronous == 0
    assert pragmas() == before


@sqlite_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_bulk_session_puts_the_old_pragmas_back_when_the_load_fails():
    before = pragmas()

    with pytest.raises(RuntimeError), sqlite_bulk_session(connection.alias):
        raise RuntimeError("the load failed")

    assert pragmas() == before


@sqlite_only
@pytest.mark.django_db
def test_a_bulk_session_inside_a_transaction_changes_nothing():
    before = pragmas()

    with sqlite_bulk_session(connection.alias):
        assert pragmas() == before


def pragmas_of_each_batch(monkeypatch) -> list[dict]:
    """The pragmas in force as each batch of an import is written, appended as it runs."""
    seen = []
    write_batch = services.snapshots_import_batch

    def recording(**kwargs):
        seen.append(pragmas())
        return write_batch(**kwargs)

    monkeypatch.setattr(services, "snapshots_import_batch", recording)
    return seen


@sqlite_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_import_writes_its_batches_in_a_bulk_session_and_ends_it(tmp_path, monkeypatch):
    before = pragmas()
    seen = pragmas_of_each_batch(monkeypatch)

    run_import(write_jsonl(tmp_path / "in.jsonl", make_record(1), make_record(2)), batch_size=1)

    assert seen == [SQLITE_BULK_PRAGMAS, SQLITE_BULK_PRAGMAS]
    assert pragmas() == before


@sqlite_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_dry_run_changes_no_pragma(tmp_path, monkeypatch):
    before = pragmas()
    seen = pragmas_of_each_batch(monkeypatch)

    run_import(write_jsonl(tmp_path / "in.jsonl", make_record(1)), dry_run=True)

    assert seen == [before]


@sqlite_only
@pytest.mark.django_db
def test_links_waiting_for_new_snapshots_are_found_by_their_target_keys(tmp_path):
    # Not by the target index's NULL entries: those are every external link in the archive.
    record = make_record(1, related=[{"excerpt": "a link", "url": "https://example.com/elsewhere"}])
    with CaptureQueriesContext(connection) as queries:
        run_import(write_jsonl(tmp_path / "in.jsonl", record))
    [waiting] = [q["sql"] for q in queries if q["sql"].startswith('UPDATE "articles_relatedlink" SET "target_id"')]

    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {waiting}")
        plan = " ".join(row[-1] for row in cursor.fetchall())

    assert "articles_relatedlink USING INDEX articles_relatedlink_target_key" in plan
    assert "target_id" not in plan.split("CORRELATED")[0]

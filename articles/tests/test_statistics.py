"""Bulk loads leave the planner statistics of what they loaded current (articles/statistics.py)."""

import io
import json
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from unittest import skipUnless

from django.core.management import call_command
from django.db import connection
from django.test import TestCase, TransactionTestCase

from articles.models import TermFrequency
from articles.statistics import statistics_refresh, statistics_refresh_grown
from articles.views import _category_page, more_in_category


def measured_snapshots() -> float:
    """What the planner believes the snapshot table holds (-1: never measured)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT reltuples FROM pg_class WHERE oid = 'articles_snapshot'::regclass")
            return cursor.fetchone()[0]
        cursor.execute("SELECT stat FROM sqlite_stat1 WHERE tbl = 'articles_snapshot'")
        return max((float(stat.split()[0]) for (stat,) in cursor.fetchall()), default=-1)


def pretend_measured(rows: int) -> None:
    """Statistics as the planner would have them after measuring `rows` snapshots."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("UPDATE pg_class SET reltuples = %s WHERE oid = 'articles_snapshot'::regclass", [rows])
        else:
            cursor.execute("UPDATE sqlite_stat1 SET stat = %s WHERE tbl = 'articles_snapshot'", [f"{rows} 1"])
            cursor.execute("ANALYZE sqlite_schema")


def import_records(count: int, start: int = 0) -> None:
    lines = [
        json.dumps(
            {
                "url": f"https://news.example.org/{n}.html",
                "title": f"统计测试 {n}",
                "category": "财经",
                "source": "某报",
                "body_text": f"第 {n} 篇",
                "published_at": "2024-03-01 08:00",
                "captured_at": "2024-03-01 09:00",
                "collected_by": "tests",
                "related": [{"excerpt": f"相关 {n}"}],
            },
            ensure_ascii=False,
        )
        for n in range(start, start + count)
    ]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "load.jsonl"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        call_command("import_snapshots", str(path), stdout=io.StringIO())


class StatisticsAfterBulkLoadTests(TransactionTestCase):
    # The Editors and Moderators groups come from data migrations, which a flush would lose.
    serialized_rollback = True

    def test_a_load_that_is_a_large_share_of_the_archive_is_measured_before_the_command_returns(self):
        pretend_measured(100)

        import_records(40)

        self.assertEqual(measured_snapshots(), 40)

    def test_a_small_load_into_a_large_measured_archive_leaves_the_statistics_to_autovacuum(self):
        pretend_measured(1000)

        import_records(40)

        self.assertEqual(measured_snapshots(), 1000)

    def test_inside_a_transaction_nothing_is_measured(self):
        from django.db import transaction

        with transaction.atomic():
            self.assertFalse(statistics_refresh(changed=10**6))


@skipUnless(connection.vendor == "postgresql", "autovacuum's statistics are PostgreSQL's")
class TablesAWorkerFillsTests(TransactionTestCase):
    """`statistics_refresh_grown`: a table the stories worker fills batch by batch is analyzed once
    it has more than doubled since the planner last measured it, and not before."""

    serialized_rollback = True
    TABLES = ["articles_termfrequency", "articles_keyphrase"]

    def planned_rows(self) -> float:
        with connection.cursor() as cursor:
            cursor.execute("SELECT reltuples FROM pg_class WHERE oid = 'articles_termfrequency'::regclass")
            return cursor.fetchone()[0]

    def wait_for_live_rows(self, rows: int) -> None:
        """The server counts a transaction's rows after it ends, a moment later."""
        with connection.cursor() as cursor:
            for _ in range(100):
                cursor.execute("SELECT pg_stat_force_next_flush()")
                cursor.execute("SELECT pg_stat_clear_snapshot()")
                cursor.execute("SELECT n_live_tup FROM pg_stat_user_tables WHERE relname = 'articles_termfrequency'")
                if cursor.fetchone()[0] >= rows:
                    return
                time.sleep(0.05)
        self.fail(f"the server never counted {rows} rows")

    def test_a_table_is_analyzed_once_it_has_more_than_doubled(self):
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE articles_termfrequency")
        TermFrequency.objects.bulk_create(TermFrequency(term=f"词{n}", documents=1) for n in range(1500))
        self.wait_for_live_rows(1500)
        self.assertEqual(statistics_refresh_grown(tables=self.TABLES), [])  # not past 2 × 1,000 (the floor)

        TermFrequency.objects.bulk_create(TermFrequency(term=f"词{n}", documents=1) for n in range(1500, 2500))
        self.wait_for_live_rows(2500)
        self.assertEqual(statistics_refresh_grown(tables=self.TABLES), ["articles_termfrequency"])
        self.assertEqual(self.planned_rows(), 2500)
        self.assertEqual(statistics_refresh_grown(tables=self.TABLES), [])

    def test_inside_a_transaction_nothing_is_analyzed(self):
        from django.db import transaction

        with transaction.atomic():
            self.assertEqual(statistics_refresh_grown(tables=self.TABLES), [])


@skipUnless(connection.vendor == "sqlite", "SQLite's planner, with the statistics the migrations write")
class ReaderListsAreReadInIndexOrderTests(TestCase):
    """Each reader list is a range of an index in its own order: no query sorts a category. Before
    migration 0017, "more in this category" took the category-and-source index, of which SQLite had
    no statistics, and sorted the whole category for every snapshot page (1.5 ms at 60,000)."""

    def plan(self, queryset) -> str:
        sql, params = queryset.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
            return " | ".join(row[-1] for row in cursor.fetchall())

    def test_no_reader_list_sorts_its_rows(self):
        cursor = {"published_at": datetime(2024, 5, 1, tzinfo=UTC), "pk": 10**6}
        lists = {
            "more in this category": more_in_category.build(category_id=1, snapshot_id=1),
            "category page": _category_page(20, category_id=1, **cursor),
            "category page of a source": _category_page(20, category_id=1, source_id=1, **cursor),
            "category page of dates": _category_page(
                20, category_id=1, since=datetime(2024, 1, 1, tzinfo=UTC), until=datetime(2024, 2, 1, tzinfo=UTC)
            ),
        }
        for name, queryset in lists.items():
            with self.subTest(name):
                plan = self.plan(queryset)
                self.assertNotIn("TEMP B-TREE", plan)
                self.assertIn("USING INDEX snapshot_", plan)

"""Bulk loads leave the planner statistics of what they loaded current (articles/statistics.py)."""

import io
import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from unittest import skipUnless

from django.core.management import call_command
from django.db import connection
from django.test import TestCase, TransactionTestCase

from articles.statistics import statistics_refresh
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

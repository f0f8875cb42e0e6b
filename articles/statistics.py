"""Planner statistics after bulk loads.

A database's query planner chooses plans by its statistics of each table, which autovacuum (on
PostgreSQL) refreshes only after a while, or never when it is off; SQLite only by ANALYZE. A table
loaded in bulk and read at once is read with the plans of the table it was before: on PostgreSQL a
fresh `demo_data --snapshots 200000` left the snapshot and related-link tables unanalyzed, and
walking snapshot pages ran at 9 pages a second (250 ms a page) instead of 0.058 × /healthz after
a manual ANALYZE. So every bulk path (imports of JSON Lines, saved pages and WARC files, capture
batches, demo_data) calls `statistics_refresh` with what it changed, and when that is a large share
of the archive the tables it wrote are analyzed before the command returns.
"""

import logging

from django.db import connection

logger = logging.getLogger(__name__)

# The tables the bulk paths write, whose statistics reader pages' plans depend on.
TABLES = ["articles_snapshot", "articles_relatedlink", "articles_snapshotcapture"]
# PostgreSQL's search table has statistics of its own (SQLite's FTS5 tables have none).
PG_TABLES = [*TABLES, "articles_search"]
# A load that changed at least this share of the snapshots (or any part of a table never analyzed)
# refreshes the statistics; smaller ones leave it to autovacuum, as its own threshold would.
SHARE = 0.1


def _snapshot_rows(cursor) -> float:
    """The number of snapshots the planner believes there are (-1 when never analyzed), or, on
    SQLite, the number there are (max(id): no count over a million rows)."""
    if connection.vendor == "postgresql":
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = 'articles_snapshot'::regclass")
        return cursor.fetchone()[0]
    # Each index's row starts with the rows it measured; partial indexes hold fewer, so the largest.
    cursor.execute("SELECT stat FROM sqlite_stat1 WHERE tbl = 'articles_snapshot'")
    return max((float(stat.split()[0]) for (stat,) in cursor.fetchall()), default=-1)


def statistics_refresh(*, changed: int) -> bool:
    """Analyze the bulk paths' tables when `changed` snapshots are a large share of what the planner
    last measured (or it never measured them). Returns whether it did. Outside a transaction only:
    inside one (a test, a caller's atomic block) the load is not committed and the statistics would
    be of what others cannot see yet."""
    if changed <= 0 or connection.in_atomic_block:
        return False
    with connection.cursor() as cursor:
        measured = _snapshot_rows(cursor)
        if measured >= 0 and changed < SHARE * max(measured, 1.0):
            return False
        if connection.vendor == "postgresql":
            for table in PG_TABLES:
                cursor.execute(f"ANALYZE {table}")
        else:
            # Sampled: seconds, not minutes, at a million rows; the planner needs proportions.
            cursor.execute("PRAGMA analysis_limit=1000")
            for table in TABLES:
                cursor.execute(f"ANALYZE {table}")
    logger.info("planner statistics refreshed after a load of %d snapshots (%.0f measured before)", changed, measured)
    return True


def statistics_refresh_grown(*, tables: list[str]) -> list[str]:
    """PostgreSQL: analyze those of `tables` that have more than doubled since the planner last
    measured them, and return their names. For tables a worker fills batch by batch (the stories'
    band index, key phrases): unanalyzed, the planner took each band lookup of 500 buckets for a
    scan of the whole table (37 ms a lookup, two thirds of a task at 20,000 snapshots). Doubling
    keeps it to a few dozen ANALYZEs over a table's life. Outside a transaction only, as above."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT s.relname FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid "
            "WHERE s.relname = ANY(%s) AND s.n_live_tup > 2 * GREATEST(c.reltuples, 1000)",
            [tables],
        )
        grown = [name for (name,) in cursor.fetchall()]
        for name in grown:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(name)}")
    return grown

"""Rows written in bulk without the ORM's per-object bookkeeping: imports, demo data and the stories
tasks; and the settings a long run of such writes asks of SQLite."""

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from django.db import connections, router

# While a bulk path writes to SQLite: a page cache of 256 MiB (negative: KiB) instead of SQLite's
# 2 MiB. The snapshot keys and the related links' target keys are B-trees in random order; past a
# few hundred thousand snapshots they outgrew the small cache, every insert read its leaf page
# back from the file and every commit wrote thousands of pages again, and an import slowed from
# 953 records a second at 100,000 to 395 at a million. The cache is the memory the process may
# take for it, whatever the size of the archive, and is given back when the run ends.
SQLITE_BULK_PRAGMAS = {"cache_size": -256 * 1024, "temp_store": 2, "wal_autocheckpoint": 25600}


@contextmanager
def sqlite_bulk_session(using: str, **extra: int) -> Iterator[None]:
    """Set SQLITE_BULK_PRAGMAS (and `extra` pragmas) on the connection for the duration of a bulk
    load, then put back what they were. Nothing on other databases, and nothing inside a
    transaction (SQLite refuses some pragmas there, and a caller's transaction is not a bulk load)."""
    connection = connections[using]
    saved = {}
    if connection.vendor == "sqlite" and not connection.in_atomic_block:
        with connection.cursor() as cursor:
            for name, value in (SQLITE_BULK_PRAGMAS | extra).items():
                cursor.execute(f"PRAGMA {name}")
                saved[name] = cursor.fetchone()[0]
                cursor.execute(f"PRAGMA {name} = {int(value)}")
    try:
        yield
    finally:
        if saved:
            with connection.cursor() as cursor:
                for name, value in saved.items():
                    cursor.execute(f"PRAGMA {name} = {int(value)}")


def insert_rows(model, rows: list[dict]) -> None:
    """INSERT validated, already-sanitized rows in one executemany. The import writes a million rows
    at a time; the ORM's per-field bookkeeping in bulk_create costs more than the database does."""
    if not rows:
        return
    connection = connections[router.db_for_write(model)]
    columns = list(rows[0])
    fields = [model._meta.get_field(name) for name in columns]
    adapters = [
        connection.ops.adapt_datetimefield_value if field.get_internal_type() == "DateTimeField" else None
        for field in fields
    ]
    # Identifiers come from the model's own metadata; every value is a parameter.
    sql = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608
        connection.ops.quote_name(model._meta.db_table),
        ", ".join(connection.ops.quote_name(field.column) for field in fields),
        ", ".join(["%s"] * len(fields)),
    )
    values = [
        [
            adapt(row[name]) if adapt and row[name] is not None else row[name]
            for name, adapt in zip(columns, adapters, strict=True)
        ]
        for row in rows
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, values)


# Keys per `IN (...)` list in the lookups by key. Every list has exactly this many parameters (the
# last one of a batch padded with strings no key can equal), so each lookup has one SQL text: the
# sqlite3 module caches up to 128 prepared statements, and one per distinct list length made an
# import of 100,000 snapshots hold 750 MB.
KEYS_PER_LOOKUP = 500


def key_chunks(keys: Iterable[str]) -> Iterator[list[str]]:
    keys = list(keys)
    for start in range(0, len(keys), KEYS_PER_LOOKUP):
        chunk = keys[start : start + KEYS_PER_LOOKUP]
        yield chunk + [f"-{n}" for n in range(KEYS_PER_LOOKUP - len(chunk))]


def ids_by_key(model, keys: Iterable[str]) -> dict[str, int]:
    """The primary keys of the rows of `model` with these values of its unique `key` column."""
    return {
        key: pk
        for chunk in key_chunks(keys)
        for key, pk in model.objects.filter(key__in=chunk).values_list("key", "pk")
    }

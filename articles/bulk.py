"""Rows written in bulk without the ORM's per-object bookkeeping: imports and the stories tasks."""

from django.db import connections, router


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

"""A snapshot's public state (`status`) becomes derived from two inputs kept apart: the editor's
choice (`editor_status`: published or hidden) and whether a removal decision withholds it
(`withheld`, kept by the moderation workflow's withholding ledger). `status` stays the one indexed
column that published(), the search index's triggers and the page cache read.

The columns are added by plain ALTER TABLE ... ADD COLUMN on both databases: Django would rebuild
the table on SQLite to add a NOT NULL column or a check constraint, and a rebuilt table loses the
search index's and the archive version's triggers (migrations 0004, 0005). For the same reason
SQLite gets the check as two triggers; PostgreSQL gets a real CHECK constraint."""

from django.db import migrations, models

CONDITION = (
    "({p}editor_status = 'hidden' AND {p}status = 'hidden')"
    " OR ({p}editor_status = 'published' AND {p}withheld AND {p}status = 'withheld')"
    " OR ({p}editor_status = 'published' AND NOT {p}withheld AND {p}status = 'published')"
)
MESSAGE = "CHECK constraint failed: snapshot_status_derived"

COLUMNS = {
    "sqlite": [
        "ADD COLUMN editor_status varchar(10) DEFAULT 'published' NOT NULL",
        "ADD COLUMN withheld bool DEFAULT 0 NOT NULL",
    ],
    "postgresql": [
        "ADD COLUMN editor_status varchar(10) DEFAULT 'published' NOT NULL",
        "ADD COLUMN withheld boolean DEFAULT false NOT NULL",
    ],
}
FILL = [
    "UPDATE {table} SET editor_status = 'hidden' WHERE status = 'hidden'",
    # Which of the withheld ones an editor had hidden before is the moderation app's to say (its
    # migration 0008 reads it from the claims); until then they count as published by the editor.
    "UPDATE {table} SET withheld = {true} WHERE status = 'withheld'",
]
CHECK = {
    "sqlite": [
        f"""CREATE TRIGGER articles_snapshot_status_derived_insert BEFORE INSERT ON articles_snapshot
        WHEN NOT ({CONDITION.format(p="NEW.")}) BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""",
        f"""CREATE TRIGGER articles_snapshot_status_derived_update
        BEFORE UPDATE OF status, editor_status, withheld ON articles_snapshot
        WHEN NOT ({CONDITION.format(p="NEW.")}) BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""",
    ],
    "postgresql": [
        # The fill above queued the archive version's deferred triggers (migration 0005), and
        # PostgreSQL alters no table with trigger events pending: run them now.
        "SET CONSTRAINTS ALL IMMEDIATE",
        f"ALTER TABLE articles_snapshot ADD CONSTRAINT snapshot_status_derived CHECK ({CONDITION.format(p='')})",
    ],
}
UNCHECK = {
    "sqlite": [
        "DROP TRIGGER IF EXISTS articles_snapshot_status_derived_insert",
        "DROP TRIGGER IF EXISTS articles_snapshot_status_derived_update",
    ],
    "postgresql": ["ALTER TABLE articles_snapshot DROP CONSTRAINT IF EXISTS snapshot_status_derived"],
}


def forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor not in COLUMNS:
        raise RuntimeError(f"This migration is written for SQLite and PostgreSQL, not {vendor}.")
    true = "1" if vendor == "sqlite" else "true"
    for table in ("articles_snapshot", "articles_historicalsnapshot"):
        for column in COLUMNS[vendor]:
            schema_editor.execute(f"ALTER TABLE {table} {column}")
        for statement in FILL:
            schema_editor.execute(statement.format(table=table, true=true))
    for statement in CHECK[vendor]:
        schema_editor.execute(statement)


def backward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for statement in UNCHECK[vendor]:
        schema_editor.execute(statement)
    for table in ("articles_snapshot", "articles_historicalsnapshot"):
        schema_editor.execute(f"ALTER TABLE {table} DROP COLUMN withheld")
        schema_editor.execute(f"ALTER TABLE {table} DROP COLUMN editor_status")


EDITOR_STATUS = models.CharField(
    choices=[("published", "published"), ("hidden", "hidden")],
    db_default="published",
    default="published",
    help_text="Published or hidden, as editors decide. A removal decision does not change it.",
    max_length=10,
    verbose_name="editor's status",
)
WITHHELD = models.BooleanField(
    db_default=False,
    default=False,
    editable=False,
    help_text="Whether at least one approved removal claim on this snapshot stands.",
    verbose_name="withheld",
)
STATUS = models.CharField(
    choices=[("published", "published"), ("hidden", "hidden"), ("withheld", "withheld")],
    default="published",
    editable=False,
    help_text="Public state: hidden if an editor hid it, else withheld while a removal decision stands.",
    max_length=10,
    verbose_name="status",
)


class Migration(migrations.Migration):
    dependencies = [
        ("articles", "0013_stories"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(forward, backward)],
            state_operations=[
                migrations.AddField(model_name="historicalsnapshot", name="editor_status", field=EDITOR_STATUS),
                migrations.AddField(model_name="historicalsnapshot", name="withheld", field=WITHHELD),
                migrations.AddField(model_name="snapshot", name="editor_status", field=EDITOR_STATUS),
                migrations.AddField(model_name="snapshot", name="withheld", field=WITHHELD),
                migrations.AddConstraint(
                    model_name="snapshot",
                    constraint=models.CheckConstraint(
                        condition=models.Q(
                            models.Q(("editor_status", "hidden"), ("status", "hidden")),
                            models.Q(("editor_status", "published"), ("status", "withheld"), ("withheld", True)),
                            models.Q(("editor_status", "published"), ("status", "published"), ("withheld", False)),
                            _connector="OR",
                        ),
                        name="snapshot_status_derived",
                    ),
                ),
            ],
        ),
        # Only the help text and editable flag change: no SQL.
        migrations.AlterField(model_name="historicalsnapshot", name="status", field=STATUS),
        migrations.AlterField(model_name="snapshot", name="status", field=STATUS),
    ]

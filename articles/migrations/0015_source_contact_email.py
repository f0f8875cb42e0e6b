"""Sources get a contact address, where the removal desk tells them of notices against their
snapshots and of decisions (条例 art. 15). Added with ALTER TABLE ADD COLUMN on both databases:
Django would rebuild articles_source on SQLite, and a rebuilt table loses the archive version's
triggers (migration 0005)."""

from django.db import migrations, models


def add_column(apps, schema_editor):
    schema_editor.execute("ALTER TABLE articles_source ADD COLUMN contact_email varchar(254) DEFAULT '' NOT NULL")


def drop_column(apps, schema_editor):
    schema_editor.execute("ALTER TABLE articles_source DROP COLUMN contact_email")


class Migration(migrations.Migration):
    dependencies = [
        ("articles", "0014_snapshot_editor_status_and_withheld"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(add_column, drop_column)],
            state_operations=[
                migrations.AddField(
                    model_name="source",
                    name="contact_email",
                    field=models.EmailField(
                        blank=True,
                        db_default="",
                        help_text=(
                            "Told of removal requests against this source's snapshots and of each decision. "
                            "Never published."
                        ),
                        max_length=254,
                        verbose_name="contact email",
                    ),
                ),
            ],
        ),
    ]

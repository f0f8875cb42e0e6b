"""PostgreSQL: each document's character pairs stored in a column of the search table, indexed by GIN.

Until now the two-character index was an expression index over `articles_search_bigrams(document)`.
PostgreSQL recomputes an indexed expression for every row it re-checks: every row of a lossy
bitmap page (a common pair such as 新区 is in hundreds of thousands of snapshots, more than
work_mem holds exactly) and every row of a plan that filters instead of using the index. At a
millisecond a row that made a two-character search take seconds at a million snapshots. With the
pairs stored, a re-check compares a stored array.

The trigger that writes the document now writes its pairs in the same statement. Existing rows
are filled here: about a millisecond each, so some minutes at a million snapshots. SQLite keeps its
FTS5 pair table and is untouched.
"""

from django.db import migrations

PUBLISHED = "published"

SYNC_WITH_PAIRS = f"""
CREATE OR REPLACE FUNCTION articles_search_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR NEW.status <> '{PUBLISHED}' THEN
        DELETE FROM articles_search WHERE rowid = OLD.id;
    ELSE
        INSERT INTO articles_search (rowid, document, pairs)
            SELECT NEW.id, document, articles_search_bigrams(document)
            FROM articles_search_document(NEW.title, NEW.body) AS document
            ON CONFLICT (rowid) DO UPDATE SET document = EXCLUDED.document, pairs = EXCLUDED.pairs;
    END IF;
    RETURN NULL;
END
$$"""

SYNC_WITHOUT_PAIRS = f"""
CREATE OR REPLACE FUNCTION articles_search_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR NEW.status <> '{PUBLISHED}' THEN
        DELETE FROM articles_search WHERE rowid = OLD.id;
    ELSE
        INSERT INTO articles_search (rowid, document)
            VALUES (NEW.id, articles_search_document(NEW.title, NEW.body))
            ON CONFLICT (rowid) DO UPDATE SET document = EXCLUDED.document;
    END IF;
    RETURN NULL;
END
$$"""

FORWARD = [
    "ALTER TABLE articles_search ADD COLUMN pairs text[]",
    "UPDATE articles_search SET pairs = articles_search_bigrams(document)",
    "ALTER TABLE articles_search ALTER COLUMN pairs SET NOT NULL",
    SYNC_WITH_PAIRS,
    "DROP INDEX articles_search_bigrams",
    "SET LOCAL maintenance_work_mem = '512MB'",
    "CREATE INDEX articles_search_pairs ON articles_search USING gin (pairs)",
    # The view the two-character lookup reads (SearchBigramEntry); a view can only gain columns at its end.
    "CREATE OR REPLACE VIEW articles_search_bigram AS SELECT rowid, document, pairs FROM articles_search",
    "ANALYZE articles_search",
]

BACKWARD = [
    "DROP VIEW articles_search_bigram",
    "CREATE VIEW articles_search_bigram AS SELECT rowid, document FROM articles_search",
    "DROP INDEX articles_search_pairs",
    "CREATE INDEX articles_search_bigrams ON articles_search USING gin (articles_search_bigrams(document))",
    SYNC_WITHOUT_PAIRS,
    "ALTER TABLE articles_search DROP COLUMN pairs",
]


def run(statements):
    def operation(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            with schema_editor.connection.cursor() as cursor:
                for statement in statements:
                    cursor.execute(statement)

    return operation


class Migration(migrations.Migration):
    dependencies = [
        ("articles", "0008_faster_pg_bigrams"),
    ]

    operations = [migrations.RunPython(run(FORWARD), run(BACKWARD), elidable=False)]

"""The search document gains the snapshot's byline and original address (articles.search_text):
readers and editors find a snapshot by its reporter's name or by the address it came from.

The triggers now compute documents from four columns and run when any of them changes; the index
is rebuilt from the snapshots (SQLite) or rewritten for the rows whose document changes, those
with a byline or an address (PostgreSQL). The two-column functions of 0004 stay, for the
migrations before this one."""

from django.db import migrations

PUBLISHED = "published"
COLUMNS = "title, body, byline, original_url"


def new(prefix: str) -> str:
    return ", ".join(f"{prefix}.{column}" for column in COLUMNS.split(", "))


# --- SQLite --------------------------------------------------------------------------------------

SQLITE_TRIGGERS = [
    f"""CREATE TRIGGER articles_search_insert AFTER INSERT ON articles_snapshot
    WHEN new.status = '{PUBLISHED}'
    BEGIN
        INSERT INTO articles_search (rowid, document) VALUES (new.id, articles_search_document({new("new")}));
        INSERT INTO articles_search_bigram (rowid, document) VALUES (new.id, articles_search_bigrams({new("new")}));
    END""",
    f"""CREATE TRIGGER articles_search_update AFTER UPDATE OF {COLUMNS}, status ON articles_snapshot
    WHEN (old.status = '{PUBLISHED}' OR new.status = '{PUBLISHED}')
        AND (old.status IS NOT new.status OR old.title IS NOT new.title OR old.body IS NOT new.body
             OR old.byline IS NOT new.byline OR old.original_url IS NOT new.original_url)
    BEGIN
        INSERT INTO articles_search (articles_search, rowid, document)
            SELECT 'delete', old.id, articles_search_document({new("old")}) WHERE old.status = '{PUBLISHED}';
        INSERT INTO articles_search_bigram (articles_search_bigram, rowid, document)
            SELECT 'delete', old.id, articles_search_bigrams({new("old")}) WHERE old.status = '{PUBLISHED}';
        INSERT INTO articles_search (rowid, document)
            SELECT new.id, articles_search_document({new("new")}) WHERE new.status = '{PUBLISHED}';
        INSERT INTO articles_search_bigram (rowid, document)
            SELECT new.id, articles_search_bigrams({new("new")}) WHERE new.status = '{PUBLISHED}';
    END""",
    f"""CREATE TRIGGER articles_search_delete AFTER DELETE ON articles_snapshot
    WHEN old.status = '{PUBLISHED}'
    BEGIN
        INSERT INTO articles_search (articles_search, rowid, document)
            VALUES ('delete', old.id, articles_search_document({new("old")}));
        INSERT INTO articles_search_bigram (articles_search_bigram, rowid, document)
            VALUES ('delete', old.id, articles_search_bigrams({new("old")}));
    END""",
]
SQLITE_REBUILD = [
    "INSERT INTO articles_search (articles_search) VALUES ('delete-all')",
    "INSERT INTO articles_search_bigram (articles_search_bigram) VALUES ('delete-all')",
    f"""INSERT INTO articles_search (rowid, document)
        SELECT id, articles_search_document({COLUMNS}) FROM articles_snapshot WHERE status = '{PUBLISHED}'""",
    f"""INSERT INTO articles_search_bigram (rowid, document)
        SELECT id, articles_search_bigrams({COLUMNS}) FROM articles_snapshot WHERE status = '{PUBLISHED}'""",
    "INSERT INTO articles_search (articles_search) VALUES ('optimize')",
    "INSERT INTO articles_search_bigram (articles_search_bigram) VALUES ('optimize')",
]
DROP_SQLITE_TRIGGERS = [
    "DROP TRIGGER IF EXISTS articles_search_insert",
    "DROP TRIGGER IF EXISTS articles_search_update",
    "DROP TRIGGER IF EXISTS articles_search_delete",
]

# --- PostgreSQL ----------------------------------------------------------------------------------

PG_FORWARD = [
    """CREATE OR REPLACE FUNCTION articles_search_document(title text, body text, byline text, original_url text)
    RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT articles_search_normalize(
            coalesce(title, '') || ' ' || articles_search_body_text(coalesce(body, '')) || ' '
            || coalesce(byline, '') || ' ' || coalesce(original_url, '')
        )
    $$""",
    f"""CREATE OR REPLACE FUNCTION articles_search_sync() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'DELETE' OR NEW.status <> '{PUBLISHED}' THEN
            DELETE FROM articles_search WHERE rowid = OLD.id;
        ELSE
            INSERT INTO articles_search (rowid, document, pairs)
                SELECT NEW.id, document, articles_search_bigrams(document)
                FROM articles_search_document({new("NEW")}) AS document
                ON CONFLICT (rowid) DO UPDATE SET document = EXCLUDED.document, pairs = EXCLUDED.pairs;
        END IF;
        RETURN NULL;
    END
    $$""",
    "DROP TRIGGER articles_search_update ON articles_snapshot",
    f"""CREATE TRIGGER articles_search_update AFTER UPDATE OF {COLUMNS}, status ON articles_snapshot
        FOR EACH ROW WHEN (
            OLD.status IS DISTINCT FROM NEW.status OR OLD.title IS DISTINCT FROM NEW.title
            OR OLD.body IS DISTINCT FROM NEW.body OR OLD.byline IS DISTINCT FROM NEW.byline
            OR OLD.original_url IS DISTINCT FROM NEW.original_url
        ) EXECUTE FUNCTION articles_search_sync()""",
    f"""UPDATE articles_search AS s SET document = d.document, pairs = articles_search_bigrams(d.document)
        FROM (
            SELECT id, articles_search_document({COLUMNS}) AS document FROM articles_snapshot
            WHERE status = '{PUBLISHED}' AND (byline <> '' OR original_url <> '')
        ) AS d
        WHERE s.rowid = d.id""",
    "ANALYZE articles_search",
]
PG_BACKWARD = [
    f"""CREATE OR REPLACE FUNCTION articles_search_sync() RETURNS trigger LANGUAGE plpgsql AS $$
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
    $$""",
    "DROP TRIGGER articles_search_update ON articles_snapshot",
    """CREATE TRIGGER articles_search_update AFTER UPDATE OF title, body, status ON articles_snapshot
        FOR EACH ROW WHEN (
            OLD.status IS DISTINCT FROM NEW.status OR OLD.title IS DISTINCT FROM NEW.title
            OR OLD.body IS DISTINCT FROM NEW.body
        ) EXECUTE FUNCTION articles_search_sync()""",
    f"""UPDATE articles_search AS s SET document = d.document, pairs = articles_search_bigrams(d.document)
        FROM (
            SELECT id, articles_search_document(title, body) AS document FROM articles_snapshot
            WHERE status = '{PUBLISHED}' AND (byline <> '' OR original_url <> '')
        ) AS d
        WHERE s.rowid = d.id""",
    "DROP FUNCTION articles_search_document(text, text, text, text)",
]


def _sqlite_backward_triggers():
    from importlib import import_module

    search = import_module("articles.migrations.0004_search")
    return [statement for statement in search.SQLITE_FORWARD if statement.lstrip().startswith("CREATE TRIGGER")]


def run(forward: bool):
    def operation(apps, schema_editor):
        connection = schema_editor.connection
        if connection.vendor == "sqlite":
            from articles.search import install_sqlite_functions

            connection.ensure_connection()
            install_sqlite_functions(connection.connection)
            triggers = SQLITE_TRIGGERS if forward else _sqlite_backward_triggers()
            rebuild = [s.replace(COLUMNS, "title, body") if not forward else s for s in SQLITE_REBUILD]
            statements = [*DROP_SQLITE_TRIGGERS, *triggers, *rebuild]
        elif connection.vendor == "postgresql":
            statements = PG_FORWARD if forward else PG_BACKWARD
        else:
            return
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)

    return operation


class Migration(migrations.Migration):
    dependencies = [("articles", "0011_snapshot_captures")]

    operations = [migrations.RunPython(run(forward=True), run(forward=False))]

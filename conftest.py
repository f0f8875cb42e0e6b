import pytest

from newsarchive.testing import clear_caches


@pytest.fixture(autouse=True)
def _empty_cache():
    """Each test starts with empty caches. The local-memory cache outlives a test, while the test's
    rows (the archive version among them) are rolled back, so a page cached by one test could be
    served to the next under the same key; and rate-limit counts would carry over."""
    clear_caches()
    yield
    clear_caches()


@pytest.fixture(autouse=True)
def _private_files(settings, tmp_path_factory):
    """Raw WARC records and uploaded imports go to a folder of the test's own, never the checkout's."""
    root = tmp_path_factory.mktemp("private")
    settings.CAPTURE_WARC_ROOT = root / "warc"
    settings.CAPTURE_UPLOAD_ROOT = root / "uploads"


@pytest.fixture(autouse=True, scope="session")
def _flush_past_the_event_logs_triggers():
    """The moderation event log refuses DELETE in the database itself (moderation migration 0009).
    A TransactionTestCase empties every table after each test: PostgreSQL does it with TRUNCATE,
    which row triggers do not see; SQLite with DELETE, which they refuse. So, in the test suite only,
    SQLite's flush drops the two triggers around its DELETEs and creates them again."""
    from importlib import import_module

    from django.db import connection

    if connection.vendor != "sqlite":
        yield
        return
    DatabaseOperations = type(connection.ops)
    migration = import_module("moderation.migrations.0009_event_log_from_the_workflow_table")
    original = DatabaseOperations.sql_flush

    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        statements = original(self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade)
        if "moderation_moderationevent" not in tables:
            return statements
        return [*migration.NOT_APPEND_ONLY["sqlite"], *statements, *migration.APPEND_ONLY["sqlite"]]

    DatabaseOperations.sql_flush = sql_flush
    yield
    DatabaseOperations.sql_flush = original

"""Reading reader pages from a PostgreSQL streaming replica, never from one that is behind.

With DATABASE_REPLICA_URL set, the database alias "replica" names a hot standby of the primary
("default"). Writes, the archive version, sessions, accounts, the admin and moderation always use
the primary. A reader page (articles.caching.reader_page_cache: home, category, snapshot, search,
feeds, the sitemap) is rendered on the replica only when the replica has replayed the change the
archive version names: the version row moves in the same transaction as every change a reader can
see (migration articles/0005), so a replica that shows the version the primary shows also shows
every change counted in it, a withholding included. Otherwise, and whenever the replica cannot be
reached, the page is rendered on the primary. The check is one query on the replica per page
rendered; a page served from the cache never touches it.
"""

import contextvars
import logging
import time
from contextlib import contextmanager

from django.conf import settings
from django.db import DatabaseError, connections

logger = logging.getLogger(__name__)

REPLICA = "replica"
# The apps whose tables reader pages read. Everything else (sessions, users, subscriptions, the
# task queue, the outbox) is read where it is written, on the primary.
READER_APPS = frozenset({"articles"})
# After the replica failed to answer, pages go to the primary for this long before it is tried again.
RETRY_AFTER_SECONDS = 30

_reading_replica = contextvars.ContextVar("reading_replica", default=False)
_unavailable_until = 0.0


def configured() -> bool:
    return REPLICA in settings.DATABASES


class ReplicaRouter:
    """Reads of the reader apps' models go to the replica while a reader page is being rendered
    from it (`reader_reads`); every other read and every write goes to the primary."""

    def db_for_read(self, model, **hints):
        if _reading_replica.get() and model._meta.app_label in READER_APPS:
            return REPLICA
        return None

    def db_for_write(self, model, **hints):
        return "default"

    def allow_relation(self, obj1, obj2, **hints):
        return True  # the same data on both servers

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == "default"  # a standby is read-only: it gets the primary's schema by replication


def replica_version() -> int | None:
    """The archive version the replica has replayed, or None when it cannot be asked."""
    global _unavailable_until
    if time.monotonic() < _unavailable_until:
        return None
    try:
        with connections[REPLICA].cursor() as cursor:
            cursor.execute("SELECT version FROM articles_archiveversion WHERE id = 1")
            row = cursor.fetchone()
    except DatabaseError:
        logger.warning("replica unavailable: reader pages are read from the primary", exc_info=True)
        _unavailable_until = time.monotonic() + RETRY_AFTER_SECONDS
        connections[REPLICA].close()
        return None
    return row[0] if row else 0


@contextmanager
def reader_reads(primary_version: str):
    """Route the reader apps' reads inside the block to the replica if it has replayed
    `primary_version` (the primary's archive version, as articles.caching reads it), else leave
    them on the primary. Yields whether the replica is used."""
    use = False
    if configured() and not connections["default"].in_atomic_block:
        committed = int(primary_version.split(".", 1)[0])
        replayed = replica_version()
        use = replayed is not None and replayed >= committed
    token = _reading_replica.set(use)
    try:
        yield use
    finally:
        _reading_replica.reset(token)

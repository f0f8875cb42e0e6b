"""Reader pages read from a PostgreSQL streaming replica only when it has replayed every change the
archive version counts (newsarchive/replica.py). Run with DATABASE_REPLICA_URL naming a hot
standby of the test server (scripts/pg-replica; .ci/run does both)."""

import os
import time
from unittest import skipUnless

import dj_database_url
from django.db import OperationalError, connections
from django.test import TransactionTestCase
from django.test.utils import CaptureQueriesContext

from articles.models import Snapshot
from newsarchive import replica

from .helpers import make_category, make_snapshot, status_fields


def replica_status_of(snapshot: Snapshot) -> str:
    with connections["replica"].cursor() as cursor:
        cursor.execute("SELECT status FROM articles_snapshot WHERE id = %s", [snapshot.pk])
        return cursor.fetchone()[0]


@skipUnless(replica.configured(), "needs DATABASE_REPLICA_URL: a streaming replica (scripts/pg-replica)")
class ReplicaReadTests(TransactionTestCase):
    databases = {"default", "replica"}
    # The Editors and Moderators groups come from data migrations, which a flush would lose.
    serialized_rollback = True

    def setUp(self):
        replica._unavailable_until = 0.0
        self.category = make_category("财经", "caijing")
        self.snapshot = make_snapshot(title="副本上的快照", category=self.category)
        self.wait_for_replica()

    def tearDown(self):
        with connections["replica"].cursor() as cursor:
            cursor.execute("SELECT pg_wal_replay_resume()")

    def wait_for_replica(self):
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT pg_current_wal_lsn()")
            (lsn,) = cursor.fetchone()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with connections["replica"].cursor() as cursor:
                    cursor.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [lsn])
                    if cursor.fetchone()[0]:
                        return
            except OperationalError:
                # The test database itself may not be replayed yet: it was created moments ago.
                connections["replica"].close()
            time.sleep(0.05)
        self.fail("the replica did not replay the test's writes within 20 seconds")

    def test_a_page_is_rendered_from_the_replica_once_it_has_replayed_the_archive(self):
        with (
            CaptureQueriesContext(connections["default"]) as primary,
            CaptureQueriesContext(connections["replica"]) as standby,
        ):
            response = self.client.get(self.snapshot.get_absolute_url())

        self.assertContains(response, "副本上的快照")
        # The primary answers the archive version; the replica its own version and the page itself.
        self.assertEqual(len(primary), 1, [q["sql"] for q in primary])
        self.assertTrue(any("articles_snapshot" in q["sql"] for q in standby), [q["sql"] for q in standby])

    def test_a_withholding_the_replica_has_not_replayed_is_never_served_from_it(self):
        with connections["replica"].cursor() as cursor:
            cursor.execute("SELECT pg_wal_replay_pause()")
        Snapshot.objects.filter(pk=self.snapshot.pk).update(**status_fields(Snapshot.Status.WITHHELD))
        self.assertEqual(replica_status_of(self.snapshot), Snapshot.Status.PUBLISHED)  # the replica is behind

        detail = self.client.get(self.snapshot.get_absolute_url())
        category = self.client.get(self.category.get_absolute_url())

        self.assertEqual(detail.status_code, 451)
        self.assertEqual(category.status_code, 200)
        self.assertNotContains(category, "副本上的快照")
        self.assertEqual(replica_status_of(self.snapshot), Snapshot.Status.PUBLISHED)

    def test_a_replica_that_cannot_be_reached_sends_pages_to_the_primary(self):
        connections["replica"].settings_dict["PORT"] = "1"  # nothing listens there
        connections["replica"].close()
        try:
            with self.assertLogs("newsarchive.replica", "WARNING"):
                response = self.client.get(self.snapshot.get_absolute_url())
        finally:
            connections["replica"].settings_dict["PORT"] = replica_port()
            connections["replica"].close()
        self.assertContains(response, "副本上的快照")


def replica_port() -> str:
    return str(dj_database_url.parse(os.environ["DATABASE_REPLICA_URL"])["PORT"])

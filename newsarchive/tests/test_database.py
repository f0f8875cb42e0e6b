"""How the site's PostgreSQL connections are set up (newsarchive/settings.py)."""

from unittest import skipUnless

from django.db import connection
from django.test import SimpleTestCase


@skipUnless(connection.vendor == "postgresql", "PostgreSQL's own settings")
class PostgreSQLConnectionTests(SimpleTestCase):
    databases = {"default"}

    def test_queries_are_not_jit_compiled(self):
        # At a million snapshots the moderation queue's query spent 1.1 of its 1.6 s compiling.
        with connection.cursor() as cursor:
            cursor.execute("SHOW jit")
            self.assertEqual(cursor.fetchone()[0], "off")

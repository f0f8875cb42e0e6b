"""Queue the computation of every related list gone stale (docs/stories.md, "Refreshing").

    python manage.py related_refresh [--all]

A list is stale once the archive has grown by ARTICLES_RELATED_REFRESH_GROWTH since it was
computed. The worker refreshes as many stale lists as it computes new ones; this command queues the
rest at once (after a large import, or from cron), in tasks of a thousand snapshots. `--all` queues
every snapshot's list, e.g. after changing ARTICLES_COMPUTED_RELATED.
"""

from django.core.management.base import BaseCommand
from django.db import transaction

from articles.keyphrases import stale_related
from articles.models import SnapshotAnalysis
from articles.stories import TASK_BATCH
from articles.tasks import refresh_related


class Command(BaseCommand):
    help = "Queue the computation of the related lists that the archive's growth has made stale (or of all)."

    def add_arguments(self, parser):
        parser.add_argument("--all", action="store_true", help="Queue every snapshot's related list.")

    def handle(self, *args, all, verbosity, **options):
        if all:
            ids = list(SnapshotAnalysis.objects.order_by("pk").values_list("pk", flat=True))
        else:
            ids = sorted(stale_related(limit=None))
        with transaction.atomic():
            for start in range(0, len(ids), TASK_BATCH):
                refresh_related.enqueue(ids[start : start + TASK_BATCH])
        if verbosity >= 1:
            self.stdout.write(f"Queued {len(ids):,} related lists in {-(-len(ids) // TASK_BATCH):,} tasks.")

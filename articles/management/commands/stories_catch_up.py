"""Queue the stories and related lists of snapshots whose tasks were lost (docs/stories.md).

    python manage.py stories_catch_up [--min-age-hours 6]

Placing in stories and computing related news are tasks queued with each change; a task that fails
(a database that answered "locked" or "disk full", a worker killed in the middle of one) leaves its
snapshots without a story or without a related list, and nothing queues them again. This command,
from cron, finds the snapshots whose analysis never finished (no analysis row, or no related list
computed) among those older than `--min-age-hours`, and queues them as an import would: placing
them (idempotent for a text already compared), then their lists.

While the "stories" queue still holds work (a task ready, or one started within the last
`--min-age-hours`: older ones were left running by a worker that died), it queues nothing: the
snapshots it would find may be waiting in the queue (a million take hours), and the next run
finds whatever is still missing then.
"""

from datetime import timedelta

from django.core.management.base import BaseCommand
from django.db import transaction
from django.db.models import Q
from django.tasks import TaskResultStatus
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from articles.models import Snapshot
from articles.stories import TASK_BATCH, analysis_enqueue


class Command(BaseCommand):
    help = "Queue the placing in stories and the related lists of snapshots whose tasks were lost."

    def add_arguments(self, parser):
        parser.add_argument(
            "--min-age-hours",
            type=float,
            default=6.0,
            help="Only snapshots stored at least this long ago (default 6): younger ones may still be queued.",
        )

    def handle(self, *args, min_age_hours, verbosity, **options):
        cutoff = timezone.now() - timedelta(hours=min_age_hours)
        waiting = DBTaskResult.objects.filter(queue_name="stories").filter(
            Q(status=TaskResultStatus.READY) | Q(status=TaskResultStatus.RUNNING, started_at__gt=cutoff)
        )
        if waiting.exists():
            if verbosity >= 1:
                self.stdout.write("The stories queue still holds work: nothing queued.")
            return
        ids = list(
            Snapshot.objects.filter(created_at__lte=cutoff)
            .filter(Q(analysis__isnull=True) | Q(analysis__related_documents__isnull=True))
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        with transaction.atomic():
            analysis_enqueue(snapshot_ids=ids)
        if verbosity >= 1:
            self.stdout.write(f"Queued {len(ids):,} snapshots in {-(-len(ids) // TASK_BATCH):,} tasks.")

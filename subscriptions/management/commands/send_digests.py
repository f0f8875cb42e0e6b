"""Queue each subscriber's digest of the snapshots matching their subscriptions that were added
since their last one. Run it from cron, e.g. daily:

    15 7 * * * cd /srv/newsarchive && .venv/bin/python manage.py send_digests

Idempotent: every snapshot a digest carries is recorded (one row per reader and snapshot, unique
in the database) together with its email, under a lock on the reader's row, so running it twice,
two runs at once, or a run after a crash never sends a snapshot twice to the same reader. The
emails go through the outbox: a mail server that refuses them delays them, it does not lose them.
A reader whose digest cannot be collected (an error of ours) is skipped and reported, the others
still get theirs, and the exit status is 1.
"""

import logging

from django.core.management.base import BaseCommand, CommandError

from subscriptions import services
from subscriptions.models import Subscriber

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Queue each subscriber's digest of the new snapshots matching their subscriptions since their last one."

    def handle(self, *args, verbosity, **options):
        run = services.digest_run_start()
        reader_ids = list(
            Subscriber.objects.filter(digest_enabled=True, reader__is_active=True, reader__subscriptions__isnull=False)
            .distinct()
            .order_by("reader_id")
            .values_list("reader_id", flat=True)
        )
        queued = snapshots = 0
        failed = []
        for reader_id in reader_ids:
            try:
                digest = services.digest_collect(reader_id=reader_id, run=run)
            except Exception:
                logger.exception(
                    "The digest of reader %s could not be collected; it goes with the next run.", reader_id
                )
                failed.append(reader_id)
                continue
            if digest is not None:
                queued += 1
                snapshots += digest.snapshot_count
        if verbosity:
            self.stdout.write(
                f"{queued} digests queued ({snapshots} snapshots) for {len(reader_ids)} subscribers; {len(failed)} failed."
            )
        if failed:
            raise CommandError(
                f"The digests of {len(failed)} readers could not be collected (readers {failed[:20]}); "
                "they go with the next run (see the log)."
            )

"""Email each subscriber the snapshots matching their subscriptions that were added since their
last digest. Run it from cron, e.g. daily:

    15 7 * * * cd /srv/newsarchive && .venv/bin/python manage.py send_digests

Idempotent: every snapshot a digest carries is recorded (one row per reader and snapshot, unique
in the database) before the mail is sent, under a lock on the reader's row, so running it twice,
two runs at once, or a run after a crash never sends a snapshot twice to the same reader. A digest
the mail server refuses is forgotten and its snapshots go with the next run; the exit status is 1
when any was refused.
"""

import logging

from django.core.management.base import BaseCommand, CommandError

from subscriptions import services
from subscriptions.models import Subscriber

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Email each subscriber the new snapshots matching their subscriptions since their last digest."

    def handle(self, *args, verbosity, **options):
        run = services.digest_run_start()
        reader_ids = list(
            Subscriber.objects.filter(digest_enabled=True, reader__is_active=True, reader__subscriptions__isnull=False)
            .distinct()
            .order_by("reader_id")
            .values_list("reader_id", flat=True)
        )
        sent = failed = snapshots = 0
        for reader_id in reader_ids:
            collected = services.digest_collect(reader_id=reader_id, run=run)
            if collected is None:
                continue
            try:
                services.digest_send(collected=collected)
            except Exception:
                logger.exception("Digest to reader %s not sent; it goes with the next run.", reader_id)
                failed += 1
            else:
                sent += 1
                snapshots += len(collected.snapshots)
        if verbosity:
            self.stdout.write(
                f"{sent} digests sent ({snapshots} snapshots) to {len(reader_ids)} subscribers; {failed} failed."
            )
        if failed:
            raise CommandError(f"{failed} digests could not be sent; they go with the next run (see the log).")

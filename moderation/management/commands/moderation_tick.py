"""Restore the snapshots of disputes whose waiting period has ended with no lawsuit or complaint
reported. Run from cron, as often as you like: a request restored once is not disputed any more."""

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from moderation import services


class Command(BaseCommand):
    help = "Restore disputed removals whose waiting period has ended with no lawsuit reported."

    def handle(self, *args, **options):
        restored = services.takedown_tick()
        for reference in restored:
            self.stdout.write(_("Restored %(reference)s.") % {"reference": reference})
        if not restored and options["verbosity"] >= 2:
            self.stdout.write(_("Nothing to restore."))

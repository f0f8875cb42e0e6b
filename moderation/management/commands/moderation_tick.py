"""The workflow's clock: restore the snapshots of disputes whose waiting period has ended with no
lawsuit or complaint reported, and close requests whose question went unanswered past its deadline.
Run from cron, as often as you like: each move re-checks its request under the row lock."""

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from moderation import services


class Command(BaseCommand):
    help = (
        "Restore disputed removals whose waiting period has ended with no lawsuit reported, and close "
        "requests whose question went unanswered past its deadline."
    )

    def handle(self, *args, **options):
        result = services.takedown_tick()
        for reference in result.restored:
            self.stdout.write(_("Restored %(reference)s.") % {"reference": reference})
        for reference in result.lapsed:
            self.stdout.write(
                _("Closed %(reference)s: the question to the requester was not answered in time.")
                % {"reference": reference}
            )
        if not result.restored and not result.lapsed and options["verbosity"] >= 2:
            self.stdout.write(_("Nothing to do."))

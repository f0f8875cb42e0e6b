"""The workflow's clock: restore the snapshots of disputes whose waiting period has ended with no
lawsuit or complaint reported, and close requests whose question went unanswered past its deadline.
Run from cron, as often as you like: each move re-checks its request under the row lock. A request
that cannot be moved is reported and the others still are; the exit status is then 1."""

from django.core.management.base import BaseCommand, CommandError
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
        for reference in result.took_effect:
            self.stdout.write(
                _("%(reference)s: the changes window ended; the withholding took effect.") % {"reference": reference}
            )
        for reference in result.lapsed:
            self.stdout.write(
                _("Closed %(reference)s: the question to the requester was not answered in time.")
                % {"reference": reference}
            )
        if not (result.restored or result.lapsed or result.took_effect or result.failed) and options["verbosity"] >= 2:
            self.stdout.write(_("Nothing to do."))
        if result.failed:
            for request_id, error in result.failed:
                self.stderr.write(
                    _("Request %(id)s could not be moved: %(error)s") % {"id": request_id, "error": error}
                )
            raise CommandError(
                _("%(n)d requests could not be moved (see above and the log); the next tick tries them again.")
                % {"n": len(result.failed)}
            )

"""Load the demo data of fixtures/ (the seed snapshot) into an empty archive, as `make run` and
`make test` do on every start. An archive that holds snapshots is left alone: loading the fixture
again would overwrite what an editor changed in the seed snapshot, without a history entry."""

from django.core.management import call_command
from django.core.management.base import BaseCommand

from articles.models import Snapshot


class Command(BaseCommand):
    help = "Load fixtures/seed.json, but only into an archive that holds no snapshot yet."

    def add_arguments(self, parser):
        parser.add_argument("fixtures", nargs="*", default=["seed.json"], help="fixture names (default: seed.json)")

    def handle(self, *args, fixtures, verbosity, **options):
        held = Snapshot.objects.count()
        if held:
            if verbosity:
                self.stdout.write(f"The archive holds {held} snapshots: the fixtures are not loaded over them.")
            return
        call_command("loaddata", *fixtures, verbosity=verbosity)

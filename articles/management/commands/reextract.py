from django.core.management.base import BaseCommand, CommandError

from articles.services import snapshot_captures_reextract


class Command(BaseCommand):
    help = (
        "Extract again, with the extractor as it is now, every capture that kept its raw HTTP response "
        "(URL captures and WARC imports), or those of the given keys. A capture whose result differs is "
        "updated in place; the snapshot showing it changes too, with history. Exits with status 1 when "
        "any capture could not be extracted."
    )

    def add_arguments(self, parser):
        parser.add_argument("keys", nargs="*", metavar="KEY", help="Snapshot keys (default: every capture).")

    def handle(self, *args, keys, **options):
        def report(version, reason):
            self.stderr.write(
                f"failed {version.snapshot.key} (capture of {version.captured_at:%Y-%m-%d %H:%M:%S}): {reason}"
            )

        stats = snapshot_captures_reextract(keys=keys or None, on_failure=report)
        self.stdout.write(f"changed {stats.changed:,}, unchanged {stats.unchanged:,}, failed {stats.failed:,}")
        if stats.failed:
            raise CommandError(f"{stats.failed:,} capture(s) could not be extracted again.", returncode=1)

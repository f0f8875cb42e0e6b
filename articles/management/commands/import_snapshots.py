import itertools
import sys
import time

from django.core.management.base import BaseCommand, CommandError

from articles.importing import Input, Rejection, expand_paths
from articles.services import ImportStats, snapshots_import


class Progress:
    """A bar redrawn in place on a terminal; a plain line every few seconds anywhere else."""

    PLAIN_INTERVAL = 5.0

    def __init__(self, stream, inputs: list[Input], enabled: bool):
        self.stream = stream
        self.inputs = inputs
        self.enabled = enabled
        self.tty = enabled and hasattr(stream, "isatty") and stream.isatty()
        self.started = time.monotonic()
        self.last_plain = self.started

    def rate(self, done: int) -> float:
        return done / max(time.monotonic() - self.started, 1e-9)

    def update(self, stats: ImportStats) -> None:
        if not self.enabled:
            return
        sizes = [i.size for i in self.inputs]
        fraction = None
        if all(size is not None for size in sizes) and sum(sizes):
            fraction = min(sum(i.bytes_read for i in self.inputs) / sum(sizes), 1.0)
        counts = f"{stats.total:,} records ({self.rate(stats.total):,.0f}/s), {stats.rejected:,} rejected"
        if self.tty:
            bar = ""
            if fraction is not None:
                filled = int(fraction * 30)
                bar = f"[{'#' * filled}{'.' * (30 - filled)}] {fraction:6.1%} "
            self.stream.write(f"\r{bar}{counts}\033[K", ending="")
            self.stream.flush()
        elif time.monotonic() - self.last_plain >= self.PLAIN_INTERVAL:
            self.last_plain = time.monotonic()
            percent = f"{fraction:.1%} " if fraction is not None else ""
            self.stream.write(f"progress: {percent}{counts}")

    def finish(self) -> None:
        if self.tty:
            self.stream.write("")


class Command(BaseCommand):
    help = (
        "Import crawled snapshots from JSON Lines files, saved snapshot pages or WARC files (.warc, .warc.gz; "
        "each HTML response with status 200 is extracted, other records are skipped and counted), chosen by content. "
        "PATH may be a file, a folder (read recursively) or - for standard input. Importing the same "
        "input again changes nothing; a capture whose content differs is kept as another version of its "
        "snapshot, which shows the newest. Exits with status 1 when any record was rejected."
    )

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", metavar="PATH")
        parser.add_argument("--dry-run", action="store_true", help="Validate and report; write nothing.")
        parser.add_argument("--batch-size", type=int, default=None, help="Records written per transaction.")
        parser.add_argument(
            "--category",
            default="",
            help="WARC files: file every page under this category (default: the page's own section, else "
            "CAPTURE_DEFAULT_CATEGORY).",
        )

    def handle(self, *args, paths, dry_run, batch_size, category, verbosity, **options):
        if batch_size is not None and batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        inputs = [Input(name, category=category) for name in expand_paths(paths)]
        progress = Progress(self.stderr, inputs, enabled=verbosity > 0)
        rejections = 0

        def report(rejection: Rejection) -> None:
            nonlocal rejections
            rejections += 1
            if progress.tty:
                self.stderr.write("\r\033[K", ending="")
            self.stderr.write(f"rejected {rejection}")

        started = time.monotonic()
        stats = snapshots_import(
            records=itertools.chain.from_iterable(i.records() for i in inputs),
            dry_run=dry_run,
            batch_size=batch_size,
            on_rejection=report,
            on_batch=progress.update,
        )
        progress.finish()
        elapsed = time.monotonic() - started
        summary = stats.summary(elapsed=elapsed, dry_run=dry_run)
        self.stdout.write(summary)
        if stats.rejected:
            raise CommandError(f"{stats.rejected:,} record(s) rejected; see the lines above.", returncode=1)
        sys.stdout.flush()

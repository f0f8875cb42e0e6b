import json
import os
import tempfile
from datetime import datetime, time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Prefetch
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.dateparse import parse_date, parse_datetime

from articles.models import SHANGHAI, Category, RelatedLink, Snapshot, SnapshotCapture
from articles.warc import WarcStore, resource_record, warcinfo_record


def _iso(moment):
    return moment.astimezone(SHANGHAI).isoformat() if moment else None


def export_record(snapshot: Snapshot) -> dict:
    """One snapshot in the crawler schema (README, "JSON Lines schema")."""
    related = []
    for link in snapshot.related_links.all():
        url = link.url or None
        if not url and (link.target_id or link.target_key):
            # A link to one of our own pages, held now or still awaited: its address here.
            url = settings.SITE_URL + reverse(
                "articles:detail", kwargs={"key": link.target.key if link.target_id else link.target_key}
            )
        related.append({"title": link.title or None, "excerpt": link.excerpt, "date": _iso(link.date), "url": url})
    return {
        "url": snapshot.original_url or None,
        "title": snapshot.title,
        "category": snapshot.category.name,
        "source": snapshot.source.name,
        "reprinted_from": snapshot.reprinted_from or None,
        "byline": snapshot.byline or None,
        "published_at": _iso(snapshot.published_at),
        "captured_at": _iso(snapshot.captured_at),
        "collected_by": snapshot.collected_by,
        "body_html": snapshot.body,
        "related": related,
    }


def write_warc(snapshots, emit, *, filename: str) -> int:
    """A warcinfo record, then for each snapshot the raw records of its captures, copied as stored
    (each a gzip member, so the file is a valid .warc.gz), or, for a snapshot with none, a resource
    record of it rendered as a page at its address here."""
    emit(
        warcinfo_record(
            filename=filename,
            info={
                "software": "newsarchive export_snapshots",
                "format": "WARC File Format 1.1",
                "isPartOf": settings.SITE_URL,
            },
        )
    )
    store = WarcStore()
    count = 0
    for snapshot in snapshots.iterator(chunk_size=500):
        captures = list(snapshot.captures.all())
        for capture in captures:
            emit(store.read(file=capture.warc_file, offset=capture.warc_offset, length=capture.warc_length))
        if not captures:
            page = render_to_string(
                "articles/snapshot_export.html",
                {"snapshot": snapshot, "related_links": snapshot.related_links.all(), "site_url": settings.SITE_URL},
            )
            emit(
                resource_record(
                    url=settings.SITE_URL + snapshot.get_absolute_url(),
                    content_type="text/html; charset=utf-8",
                    body=page.encode("utf-8"),
                    date=snapshot.captured_at,
                )
            )
        count += 1
    return count


class Command(BaseCommand):
    help = (
        "Export published snapshots as JSON Lines in the import schema, ordered by key, so that "
        "exporting twice gives the same bytes and import_snapshots reads the output back; or, with "
        "--format warc -o FILE.warc.gz, as a WARC file pywb or ReplayWeb.page can replay: the raw "
        "response of every capture that kept one, and a resource record of the rendered snapshot for "
        "those that came as JSON Lines."
    )

    def add_arguments(self, parser):
        parser.add_argument("--category", metavar="SLUG", help="Only this category.")
        parser.add_argument(
            "--since", metavar="DATE", help="Only snapshots published on or after this date (Asia/Shanghai)."
        )
        parser.add_argument("-o", "--output", metavar="FILE", help="Write here instead of standard output.")
        parser.add_argument(
            "--format", choices=["jsonl", "warc"], default="jsonl", help="JSON Lines (default) or WARC."
        )

    def handle(self, *args, category, since, output, format, **options):
        if format == "warc" and not output:
            raise CommandError("--format warc writes a file: give it with -o FILE.warc.gz")
        snapshots = Snapshot.objects.published().select_related("category", "source").order_by("key")
        if category is not None:
            found = Category.objects.filter(slug=category).first()
            if found is None:
                raise CommandError(f"no category with the slug {category!r}")
            snapshots = snapshots.filter(category=found)
        if since is not None:
            snapshots = snapshots.filter(published_at__gte=self.parse_since(since))
        snapshots = snapshots.prefetch_related(
            Prefetch(
                "related_links",
                queryset=RelatedLink.objects.select_related("target")
                .only("snapshot_id", "position", "title", "excerpt", "date", "url", "target_key", "target__key")
                .order_by("position", "id"),
            )
        )
        if format == "warc":
            snapshots = snapshots.prefetch_related(
                Prefetch(
                    "captures",
                    queryset=SnapshotCapture.objects.exclude(warc_file="")
                    .only("snapshot_id", "captured_at", "warc_file", "warc_offset", "warc_length")
                    .order_by("captured_at", "id"),
                )
            )
        if output:
            directory = os.path.dirname(os.path.abspath(output))
            mode = "wb" if format == "warc" else "w"
            encoding = None if format == "warc" else "utf-8"
            with tempfile.NamedTemporaryFile(mode, encoding=encoding, dir=directory, delete=False, suffix=".tmp") as f:
                try:
                    if format == "warc":
                        count = write_warc(snapshots, f.write, filename=os.path.basename(output))
                    else:
                        count = self.write(snapshots, f.write)
                except BaseException:
                    os.unlink(f.name)
                    raise
            os.replace(f.name, output)
            self.stderr.write(f"exported {count:,} snapshots to {output}")
        else:
            self.write(snapshots, lambda line: self.stdout.write(line, ending=""))

    @staticmethod
    def write(snapshots, emit) -> int:
        count = 0
        for snapshot in snapshots.iterator(chunk_size=2000):
            emit(json.dumps(export_record(snapshot), ensure_ascii=False) + "\n")
            count += 1
        return count

    @staticmethod
    def parse_since(value: str) -> datetime:
        try:
            day = parse_date(value)
            if day is not None:
                return datetime.combine(day, time.min, tzinfo=SHANGHAI)
            moment = parse_datetime(value)
        except ValueError:
            moment = None
        if moment is None:
            raise CommandError(f"--since {value!r} is not a date (expected YYYY-MM-DD)")
        return moment if moment.tzinfo else moment.replace(tzinfo=SHANGHAI)

from django.core.management.base import BaseCommand, CommandError

from capture.forms import MAX_URL_LENGTH
from capture.models import CaptureRequest
from capture.services import capture_run, captures_request


class Command(BaseCommand):
    help = (
        "Capture news pages: fetch each URL politely (robots.txt, a per-host delay, timeouts, a size limit), "
        "extract the article and import it as a snapshot, keeping the raw response as a WARC record. Each URL "
        "is listed in the admin with its outcome. Exits with status 1 when any URL failed."
    )

    def add_arguments(self, parser):
        parser.add_argument("urls", nargs="+", metavar="URL")
        parser.add_argument("--category", default="", help="File the snapshots under this category.")

    def handle(self, *args, urls, category, **options):
        too_long = [url for url in urls if len(url) > MAX_URL_LENGTH]
        if too_long:
            raise CommandError(f"addresses of at most {MAX_URL_LENGTH} characters: {too_long[0][:100]}…")
        requests = captures_request(urls=urls, category=category, enqueue=False)
        failed = 0
        for request in requests:
            request = capture_run(request_id=request.pk)
            if request.status == CaptureRequest.Status.FAILED:
                failed += 1
                self.stderr.write(f"failed {request.url}: {request.reason}")
                continue
            via = f" (redirected to {request.final_url})" if request.redirects else ""
            key = f" {request.snapshot.key}" if request.snapshot else ""
            self.stdout.write(f"{request.get_outcome_display()}:{key} {request.url}{via}")
        if failed:
            raise CommandError(f"{failed} of {len(requests)} URL(s) failed; see the lines above.", returncode=1)

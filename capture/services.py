"""Capturing URLs and importing uploaded files: each is stored with its task in one transaction
(`captures_request`, `import_job_create`) and run by the worker (`capture_run`, `import_job_run`).
Snapshots are written only through articles.services.snapshots_import, like every import."""

import logging
import time
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from articles.extraction import extract_capture
from articles.importing import Input, InvalidRecord, Origin, Rejection
from articles.models import Snapshot
from articles.services import ImportStats, snapshots_import

from .fetch import FetchError, fetch
from .models import CaptureRequest, ImportJob, JobStatus

logger = logging.getLogger(__name__)


@transaction.atomic
def captures_request(
    *, urls: list[str], actor: AbstractBaseUser | None = None, category: str = "", enqueue: bool = True
) -> list[CaptureRequest]:
    """Ask for these URLs to be captured, each one a task on the "capture" queue, queued in this
    transaction (`enqueue=False`: the caller runs them itself, as the `capture` command does)."""
    from .tasks import capture_page

    requests = [CaptureRequest.objects.create(url=url, category=category, requested_by=actor) for url in urls]
    if enqueue:
        for request in requests:
            capture_page.enqueue(request.pk)
    return requests


def _claim(model, pk: int):
    """Move a queued job to running (committed at once, so the admin sees it); None if it is not queued."""
    with transaction.atomic():
        job = model.objects.select_for_update().filter(pk=pk).first()
        if job is None or job.status != JobStatus.QUEUED:
            return None
        job.status = JobStatus.RUNNING
        job.started_at = timezone.now()
        job.save(update_fields=["status", "started_at"])
    return job


def capture_run(*, request_id: int) -> CaptureRequest | None:
    """Fetch, extract and import one requested URL; the request ends done (with what came of it) or
    failed (with the reason). Nothing of a failed capture is stored."""
    request = _claim(CaptureRequest, request_id)
    if request is None:
        return CaptureRequest.objects.filter(pk=request_id).first()
    try:
        fetched = fetch(request.url)
        request.final_url, request.redirects = fetched.url[:2000], fetched.redirects
        capture = extract_capture(
            body=fetched.body,
            content_type=fetched.content_type,
            url=fetched.url,
            captured_at=fetched.fetched_at,
            origin=Origin(request.url),
            category=request.category,
        )
    except (FetchError, InvalidRecord) as error:
        return _finish(request, JobStatus.FAILED, reason=str(error))
    except Exception as error:
        _finish(request, JobStatus.FAILED, reason=f"internal error: {type(error).__name__}: {error}")
        raise
    capture.raw = fetched.warc
    capture.final_url = fetched.url
    rejections: list[Rejection] = []
    stats = snapshots_import(
        records=[capture], new_status=settings.CAPTURE_NEW_SNAPSHOT_STATUS, on_rejection=rejections.append
    )
    if rejections:
        return _finish(request, JobStatus.FAILED, reason=rejections[0].reason)
    Outcome = CaptureRequest.Outcome
    outcome = Outcome.NEW if stats.new else Outcome.NEW_CAPTURE if stats.updated else Outcome.UNCHANGED
    snapshot = Snapshot.objects.filter(key=capture.key).first()
    return _finish(request, JobStatus.DONE, outcome=outcome, snapshot=snapshot)


def _finish(request: CaptureRequest, status: str, *, reason="", outcome="", snapshot=None) -> CaptureRequest:
    request.status = status
    request.reason = reason
    request.outcome = outcome
    request.snapshot = snapshot
    request.finished_at = timezone.now()
    request.save(update_fields=["status", "reason", "outcome", "snapshot", "final_url", "redirects", "finished_at"])
    if status == JobStatus.FAILED:
        logger.info("Capture of %s failed: %s", request.url, reason)
    return request


# A capture still "running" after this was cut off by a worker that stopped (a fetch times out
# within seconds): it may be captured again, and is marked failed with the reason.
STALE_RUNNING = timedelta(minutes=10)


@transaction.atomic
def captures_request_again(*, request_ids: list[int], actor: AbstractBaseUser) -> list[CaptureRequest]:
    """Capture the same URLs again (failed ones after the site recovered, done ones for a new
    version, and running ones a stopped worker left behind)."""
    chosen = CaptureRequest.objects.select_for_update().filter(pk__in=request_ids)
    chosen.filter(status=JobStatus.RUNNING, started_at__lt=timezone.now() - STALE_RUNNING).update(
        status=JobStatus.FAILED,
        reason=gettext("The worker stopped during this capture; it was captured again."),
        finished_at=timezone.now(),
    )
    urls = list(chosen.exclude(status__in=[JobStatus.QUEUED, JobStatus.RUNNING]).values_list("url", "category"))
    requests = []
    for url, category in urls:
        requests += captures_request(urls=[url], category=category, actor=actor)
    return requests


# --- uploaded files -----------------------------------------------------------------------------


@transaction.atomic
def import_job_create(*, upload: UploadedFile, actor: AbstractBaseUser | None, category: str = "") -> ImportJob:
    """Keep an uploaded file (JSON Lines, saved pages or WARC) and queue its import."""
    from .tasks import import_file

    job = ImportJob.objects.create(
        file=upload, name=upload.name[:255], size=upload.size or 0, category=category, requested_by=actor
    )
    import_file.enqueue(job.pk)
    return job


def import_job_run(*, job_id: int) -> ImportJob | None:
    """Import an uploaded file as `import_snapshots` would, recording progress after each batch
    and, at the end, the summary and every rejected record with its reason. The file is deleted
    once imported."""
    job = _claim(ImportJob, job_id)
    if job is None:
        return ImportJob.objects.filter(pk=job_id).first()
    source = Input(job.file.path, label=job.name, category=job.category)
    rejections: list[str] = []
    started = time.monotonic()

    def on_batch(stats: ImportStats) -> None:
        ImportJob.objects.filter(pk=job.pk).update(
            bytes_read=source.bytes_read,
            new=stats.new,
            updated=stats.updated,
            unchanged=stats.unchanged,
            rejected=stats.rejected,
            skipped=stats.skipped,
        )

    try:
        stats = snapshots_import(
            records=source.records(),
            on_rejection=lambda rejection: rejections.append(f"rejected {rejection}"),
            on_batch=on_batch,
        )
    except Exception as error:
        job.status, job.finished_at = JobStatus.FAILED, timezone.now()
        job.summary = f"internal error: {type(error).__name__}: {error}"
        job.rejections = "\n".join(rejections)
        job.save(update_fields=["status", "finished_at", "summary", "rejections"])
        raise
    job.status = JobStatus.DONE  # rejected records are listed; the job itself ran to its end
    job.new, job.updated, job.unchanged = stats.new, stats.updated, stats.unchanged
    job.rejected, job.skipped = stats.rejected, stats.skipped
    job.bytes_read = source.size or source.bytes_read
    job.summary = stats.summary(elapsed=time.monotonic() - started)
    job.rejections = "\n".join(rejections)
    job.finished_at = timezone.now()
    job.file.delete(save=False)
    job.save()
    return job

from django.tasks import task

from . import services


@task(queue_name="capture")
def capture_page(request_id: int) -> str:
    """Capture one requested URL; see services.capture_run."""
    request = services.capture_run(request_id=request_id)
    return f"{request.status}: {request.reason or request.outcome}" if request else "gone"


@task(queue_name="capture")
def import_file(job_id: int) -> str:
    """Import one uploaded file; see services.import_job_run."""
    job = services.import_job_run(job_id=job_id)
    return f"{job.status}: {job.summary}" if job else "gone"

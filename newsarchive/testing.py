"""Helpers for tests of every app: run the queued tasks the way the worker runs them."""

from contextlib import contextmanager
from unittest import mock

from django.core import mail
from django.db import connection
from django.tasks import TaskResultStatus
from django.utils import timezone
from django_tasks_db.management.commands import db_worker
from django_tasks_db.models import DBTaskResult, get_date_max


def run_tasks(*, include_deferred: bool = False) -> int:
    """Run every task that is ready, through `manage.py db_worker`'s own loop in batch mode (claim,
    run, record the result), and return how many ran. Tasks a task enqueues run too.

    `include_deferred` first makes tasks deferred to a later time (retries waiting out their
    backoff) ready now, as if that time had come.

    Inside a test's transaction the worker's check for stale connections is skipped: it would see
    the test's open transaction as a connection left in a bad state and close it."""
    if include_deferred:
        now = timezone.now()
        DBTaskResult.objects.filter(status=TaskResultStatus.READY, run_after__gt=now).exclude(
            run_after=get_date_max()
        ).update(run_after=now)
    worker = db_worker.Worker(
        queue_names=["*"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="tests",
        excluded_queue_names=[],
    )
    if connection.in_atomic_block:
        with mock.patch.object(db_worker, "close_old_connections", lambda: None):
            worker.run()
    else:
        worker.run()
    return worker._run_tasks


@contextmanager
def sending_mail():
    """Run the block, then the worker over the tasks it queued: the mail the block caused lands in
    django.core.mail.outbox as the worker sends it. Mail queued before the block (a test's set-up)
    is sent first and set aside, so the outbox holds what the block sent after what it held."""
    held = len(mail.outbox)
    run_tasks()
    del mail.outbox[held:]
    yield
    run_tasks()


def clear_caches() -> None:
    """Empty the page cache, the rate-limit counters (both caches, and the count each process
    keeps while the shared one is away) and the kept template fragments, as at the start of every
    test."""
    from django.core.cache import caches

    from newsarchive import fragments, logs, ratelimit

    for alias in ("default", "ratelimit"):
        caches[alias].clear()
    ratelimit._fallback.clear()
    fragments.forget()
    logs.forget()

"""A URL an editor (or the `capture` command) asked to capture, and a file uploaded to import: each
one a task's work, listed in the admin with its state and, at the end, what came of it."""

import os

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.utils.translation import gettext_lazy as _

from articles.models import Snapshot


class UploadStorage(FileSystemStorage):
    """Uploaded files waiting to be imported: under CAPTURE_UPLOAD_ROOT (read when used, so tests
    can move it), outside every served folder, with no URL."""

    @property
    def base_location(self):
        return str(settings.CAPTURE_UPLOAD_ROOT)

    @property
    def location(self):
        return os.path.abspath(self.base_location)

    def url(self, name):
        raise ValueError("Uploaded import files have no address.")


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("queued")
    RUNNING = "running", _("running")
    DONE = "done", _("done")
    FAILED = "failed", _("failed")


class CaptureOutcome(models.TextChoices):
    NEW = "new", _("a new snapshot")
    NEW_CAPTURE = "new_capture", _("a new capture of a snapshot already held")
    UNCHANGED = "unchanged", _("unchanged: the archive holds this content already")


class CaptureRequest(models.Model):
    Status = JobStatus
    Outcome = CaptureOutcome

    url = models.URLField(_("URL"), max_length=2000)
    category = models.CharField(
        _("category"), max_length=100, blank=True, help_text=_("Empty: the page's own section, else the default.")
    )
    status = models.CharField(_("status"), max_length=10, choices=JobStatus, default=JobStatus.QUEUED)
    reason = models.TextField(_("reason"), blank=True, help_text=_("Why it failed."))
    outcome = models.CharField(_("outcome"), max_length=20, choices=CaptureOutcome, blank=True)
    snapshot = models.ForeignKey(
        Snapshot, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("snapshot")
    )
    final_url = models.URLField(_("fetched from"), max_length=2000, blank=True)
    redirects = models.JSONField(_("redirected from"), default=list, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("by")
    )
    created_at = models.DateTimeField(_("requested"), auto_now_add=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("page capture")
        verbose_name_plural = _("page captures")
        indexes = [models.Index(fields=["status", "-created_at"], name="capturerequest_by_status")]
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=JobStatus.values), name="capturerequest_status_valid")
        ]

    def __str__(self):
        return self.url


class ImportJob(models.Model):
    Status = JobStatus

    file = models.FileField(_("file"), storage=UploadStorage, upload_to="%Y/%m/")
    name = models.CharField(_("file name"), max_length=255)
    category = models.CharField(_("category"), max_length=100, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=JobStatus, default=JobStatus.QUEUED)
    size = models.BigIntegerField(_("size"), default=0)
    bytes_read = models.BigIntegerField(_("bytes read"), default=0)
    new = models.PositiveIntegerField(_("new"), default=0)
    updated = models.PositiveIntegerField(_("new captures"), default=0)
    unchanged = models.PositiveIntegerField(_("unchanged"), default=0)
    rejected = models.PositiveIntegerField(_("rejected"), default=0)
    skipped = models.PositiveIntegerField(_("skipped"), default=0)
    summary = models.TextField(_("summary"), blank=True)
    rejections = models.TextField(
        _("rejected records"), blank=True, help_text=_("One per line, as the command prints them.")
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("by")
    )
    created_at = models.DateTimeField(_("uploaded"), auto_now_add=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("file import")
        verbose_name_plural = _("file imports")
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=JobStatus.values), name="importjob_status_valid")
        ]

    def __str__(self):
        return self.name

    @property
    def progress(self) -> float | None:
        if self.status == JobStatus.DONE:
            return 1.0
        return min(self.bytes_read / self.size, 1.0) if self.size else None

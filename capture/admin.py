from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from . import services
from .forms import CaptureForm
from .models import CaptureRequest, ImportJob


class ReadOnlyJobAdmin(admin.ModelAdmin):
    """Jobs are made by the "Capture a page" screen and changed only by their task."""

    show_full_result_count = False
    list_filter = ["status"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(CaptureRequest)
class CaptureRequestAdmin(ReadOnlyJobAdmin):
    list_display = ["url", "status", "outcome_or_reason", "snapshot_link", "requested_by", "created_at", "finished_at"]
    list_select_related = ["snapshot", "requested_by"]
    search_fields = ["url", "final_url"]
    actions = ["capture_again"]
    fields = [
        "url", "category", "status", "outcome", "reason", "snapshot_link", "final_url", "redirects",
        "requested_by", "created_at", "started_at", "finished_at",
    ]  # fmt: skip
    readonly_fields = fields

    @admin.display(description=_("outcome"))
    def outcome_or_reason(self, obj):
        return obj.reason if obj.status == CaptureRequest.Status.FAILED else obj.get_outcome_display()

    @admin.display(description=_("snapshot"))
    def snapshot_link(self, obj):
        if obj.snapshot_id is None:
            return "—"
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:articles_snapshot_change", args=[obj.snapshot_id]), obj.snapshot
        )

    def get_urls(self):
        return [
            path("new/", self.admin_site.admin_view(self.capture_view), name="capture_capturerequest_new"),
            *super().get_urls(),
        ]

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        return redirect("admin:capture_capturerequest_new")

    def capture_view(self, request):
        """Capture a page: one or many URLs (one per line), and/or a file to import, each as a task."""
        can_import = request.user.has_perm("capture.add_importjob")
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = CaptureForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            if form.cleaned_data["file"] and not can_import:
                raise PermissionDenied  # before any of the addresses is queued
            category = form.cleaned_data["category"]
            if form.cleaned_data["urls"]:
                requests = services.captures_request(
                    urls=form.cleaned_data["urls"], actor=request.user, category=category
                )
                self.message_user(
                    request,
                    ngettext("%(count)d page queued for capture.", "%(count)d pages queued for capture.", len(requests))
                    % {"count": len(requests)},
                    messages.SUCCESS,
                )
            if form.cleaned_data["file"]:
                job = services.import_job_create(
                    upload=form.cleaned_data["file"], actor=request.user, category=category
                )
                self.message_user(request, _("“%(name)s” queued for import.") % {"name": job.name}, messages.SUCCESS)
                if not form.cleaned_data["urls"]:
                    return redirect("admin:capture_importjob_change", job.pk)
            return redirect("admin:capture_capturerequest_changelist")
        return TemplateResponse(
            request,
            "admin/capture/capture_form.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Capture a page"),
                "opts": self.model._meta,
                "form": form,
                "can_import": can_import,
            },
        )

    @admin.action(description=_("Capture the selected pages again"), permissions=["add"])
    def capture_again(self, request, queryset):
        requests = services.captures_request_again(
            request_ids=list(queryset.values_list("pk", flat=True)), actor=request.user
        )
        self.message_user(
            request,
            ngettext("%(count)d page queued for capture.", "%(count)d pages queued for capture.", len(requests))
            % {"count": len(requests)},
            messages.SUCCESS,
        )


@admin.register(ImportJob)
class ImportJobAdmin(ReadOnlyJobAdmin):
    list_display = [
        "name",
        "status",
        "progress_display",
        "new",
        "updated",
        "unchanged",
        "rejected",
        "skipped",
        "created_at",
    ]
    fields = [
        "name", "status", "progress_display", "summary", "rejections", "new", "updated", "unchanged", "rejected",
        "skipped", "category", "requested_by", "created_at", "started_at", "finished_at",
    ]  # fmt: skip
    readonly_fields = fields

    @admin.display(description=_("progress"))
    def progress_display(self, obj):
        progress = obj.progress
        return "—" if progress is None else f"{progress:.0%}"

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        return redirect("admin:capture_capturerequest_new")

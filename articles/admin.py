from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from simple_history.admin import SimpleHistoryAdmin

from newsarchive.admin import LargeTablePaginator, NumericIdAdmin, is_id

from . import purge, services, stories
from .models import SHANGHAI, Category, RelatedLink, Snapshot, Source


class PurgeEverywhereMixin:
    """Categories and sources are named on every page (the navigation, each snapshot's source): a
    change drops every page a CDN keeps (articles/purge.py)."""

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        purge.purge_enqueue([purge.ALL])

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        purge.purge_enqueue([purge.ALL])

    def delete_queryset(self, request, queryset):
        # The changelist's "delete selected" action: not through delete_model, and not in a
        # transaction of the admin's, so the purge gets one with the deletion here.
        with transaction.atomic():
            super().delete_queryset(request, queryset)
            purge.purge_enqueue([purge.ALL])


@admin.register(Category)
class CategoryAdmin(PurgeEverywhereMixin, admin.ModelAdmin):
    list_display = ["name", "slug"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Source)
class SourceAdmin(PurgeEverywhereMixin, admin.ModelAdmin):
    list_display = ["name", "contact_email"]
    search_fields = ["name"]
    fields = ["name", "contact_email"]


class RelatedLinkFormSet(forms.BaseInlineFormSet):
    """Each link keeps its own position: the page order, and half of a link's natural key."""

    def clean(self):
        super().clean()
        seen = set()
        for form in self.forms:
            if not form.cleaned_data or form.cleaned_data.get("DELETE"):
                continue
            position = form.cleaned_data.get("position")
            if position in seen:
                raise forms.ValidationError(
                    _("Two related links have position %(position)s; give each link its own position."),
                    params={"position": position},
                )
            seen.add(position)


class RelatedLinkInline(admin.TabularInline):
    model = RelatedLink
    formset = RelatedLinkFormSet
    fk_name = "snapshot"
    fields = ["position", "title", "excerpt", "date", "target", "url"]
    autocomplete_fields = ["target"]
    extra = 0
    formfield_overrides = {
        # A one-line excerpt box keeps the inline table readable.
        RelatedLink._meta.get_field("excerpt").__class__: {"widget": forms.Textarea(attrs={"rows": 2, "cols": 50})}
    }


class SnapshotAdminForm(forms.ModelForm):
    """Editors choose between published and hidden (the editor's status); withholding belongs to the
    moderation workflow's ledger, and the public state follows from both."""

    class Meta:
        model = Snapshot
        fields = ["title", "category", "editor_status", "is_featured"]


class CategoryChoiceForm(forms.Form):
    category = forms.ModelChoiceField(queryset=Category.objects.all(), label=_("Move to category"))


CAPTURED_FIELDS = [
    "captures_link",
    "key",
    "source",
    "reprinted_from",
    "byline",
    "published_at",
    "captured_at",
    "collected_by",
    "original_url",
    "content_hash",
    "body_html",
    "created_at",
    "updated_at",
    "story_members",
]


@admin.register(Snapshot)
class SnapshotAdmin(NumericIdAdmin, SimpleHistoryAdmin):
    form = SnapshotAdminForm
    list_display = ["title", "category", "source", "published_at", "status", "is_featured"]
    list_filter = [
        "status",
        "is_featured",
        "category",
        "source",
        "published_at",
        "captured_at",
    ]
    list_select_related = ["category", "source"]
    search_fields = ["=key", "title", "byline", "original_url"]
    search_help_text = _("Search by title, byline or original address, or by the full 40-character key.")
    date_hierarchy = "published_at"
    show_full_result_count = False
    paginator = LargeTablePaginator
    autocomplete_fields = ["category"]
    inlines = [RelatedLinkInline]
    actions = ["publish", "hide", "move_to_category"]
    fieldsets = [
        (None, {"fields": ["title", "category", "editor_status", "status", "is_featured"]}),
        (
            _("Captured"),
            {
                "fields": [
                    "key",
                    "source",
                    "reprinted_from",
                    "byline",
                    "published_at",
                    "captured_at",
                    "collected_by",
                    "original_url",
                    "body_html",
                ]
            },
        ),
        (_("Story"), {"fields": ["story_members"]}),
        (
            _("Record"),
            {"fields": ["captures_link", "content_hash", "created_at", "updated_at"], "classes": ["collapse"]},
        ),
    ]

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.resolver_match and request.resolver_match.url_name.endswith("changelist"):
            return qs.defer("body")
        return qs

    def get_readonly_fields(self, request, obj=None):
        return [*CAPTURED_FIELDS, "status"]

    def has_add_permission(self, request):
        # Snapshots arrive through `import_snapshots`; a capture cannot be typed in by hand.
        return False

    def has_delete_permission(self, request, obj=None):
        # Nothing is ever deleted: hide it, or let moderation withhold it.
        return False

    @admin.display(description=_("other snapshots of its story"))
    def story_members(self, obj):
        """The reprints of the same article here (articles.stories), in any state."""
        if obj.pk is None:
            return ""
        siblings = stories.story_siblings(snapshot_ids=[obj.pk])
        if not siblings:
            return _("None: no reprint of this text is held here.")
        return format_html(
            "<ul>{}</ul>",
            format_html_join(
                "",
                '<li><a href="{}">{}</a> · {} · {} · {}</li>',
                (
                    (
                        reverse("admin:articles_snapshot_change", args=[s.pk]),
                        s.title,
                        s.source.name,
                        s.published_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M"),
                        s.get_status_display(),
                    )
                    for s in siblings
                ),
            ),
        )

    @admin.display(description=_("body"))
    def body_html(self, obj):
        # The body was sanitized when stored; format_html keeps it from being escaped twice.
        return format_html('<div class="snapshot-body">{}</div>', mark_safe(obj.body))

    @admin.display(description=_("captures"))
    def captures_link(self, obj):
        if not obj.pk:
            return "—"
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:articles_snapshot_captures", args=[obj.pk]),
            ngettext(
                "%(count)d capture: view, compare or pin", "%(count)d captures: view, compare or pin", obj.capture_count
            )
            % {"count": obj.capture_count},
        )

    def get_urls(self):
        return [
            path(
                "<path:object_id>/captures/",
                self.admin_site.admin_view(self.captures_view),
                name="articles_snapshot_captures",
            ),
            *super().get_urls(),
        ]

    def captures_view(self, request, object_id):
        """The snapshot's captures, with a button to pin one (show it whatever is captured later) or
        to go back to showing the newest (services.snapshot_pin_capture)."""
        snapshot = self.get_object(request, object_id)
        if snapshot is None or not self.has_view_permission(request, snapshot):
            raise PermissionDenied
        if request.method == "POST":
            if not self.has_change_permission(request, snapshot):
                raise PermissionDenied
            raw = request.POST.get("capture", "")
            try:
                capture_id = int(raw) if raw else None
                services.snapshot_pin_capture(snapshot_id=snapshot.pk, capture_id=capture_id, actor=request.user)
            except (ValueError, services.CaptureError) as error:
                self.message_user(request, str(error), messages.ERROR)
            else:
                self.message_user(
                    request,
                    _("The snapshot shows the chosen capture.")
                    if capture_id
                    else _("The snapshot shows the newest capture."),
                    messages.SUCCESS,
                )
            return redirect("admin:articles_snapshot_captures", snapshot.pk)
        return TemplateResponse(
            request,
            "admin/articles/snapshot/captures.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Captures of %(title)s") % {"title": snapshot.title},
                "opts": self.model._meta,
                "original": snapshot,
                "captures": snapshot.captures.order_by("-captured_at", "-id").defer("body"),
                "shown": services.shown_capture(snapshot),
                "can_change": self.has_change_permission(request, snapshot),
                "public_url": reverse("articles:captures", kwargs={"key": snapshot.key}),
            },
        )

    def save_model(self, request, obj, form, change):
        # Whether a decision withholds the snapshot is the ledger's alone: whatever a form or an old
        # version (a revert from the history) says, the stored flag stands, and save() derives the
        # public state from it and the editor's status.
        if change:
            obj.withheld = Snapshot.objects.filter(pk=obj.pk).values_list("withheld", flat=True).first() or False
            services.snapshot_ensure_history(snapshot=obj)
        else:
            obj.withheld = False
        before = Snapshot.objects.filter(pk=obj.pk).values_list("key", "category_id").first() if change else None
        super().save_model(request, obj, form, change)
        # The pages of its category before and after, and of the snapshot itself (its related links
        # are saved after this, in the same transaction).
        purge.purge_enqueue(purge.keys_of([(obj.key, obj.category_id), *([before] if before else [])]))
        # A title (or, reverting history, a body) may have changed: its story and related news.
        stories.analysis_enqueue(snapshot_ids=[obj.pk])

    def history_view(self, request, object_id, extra_context=None):
        # simple-history's views hand the id to the database as it is: "abc" was a 500.
        if not is_id(unquote(object_id)):
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if not (is_id(object_id) and is_id(version_id)):
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if request.method == "POST" and not self.has_change_permission(request, Snapshot(pk=object_id)):
            # The revert form hides its button from those who may only view; the POST itself must
            # be refused too, or a moderator could save a title, category or state through it.
            raise PermissionDenied
        # A withheld snapshot may be reverted too: save_model keeps its withheld flag, which only
        # the moderation workflow's ledger changes.
        return super().history_form_view(request, object_id, version_id, extra_context)

    def _report(self, request, result, done_message):
        if result.changed:
            self.message_user(request, done_message % {"count": result.changed}, messages.SUCCESS)
        if result.unchanged:
            self.message_user(
                request,
                ngettext("%(count)d snapshot was already so.", "%(count)d snapshots were already so.", result.unchanged)
                % {"count": result.unchanged},
                messages.INFO,
            )
        if result.withheld:
            self.message_user(
                request,
                ngettext(
                    "%(count)d of them is withheld by a removal decision: it stays withheld until the moderation "
                    "workflow lifts the decision.",
                    "%(count)d of them are withheld by a removal decision: they stay withheld until the moderation "
                    "workflow lifts the decisions.",
                    result.withheld,
                )
                % {"count": result.withheld},
                messages.WARNING,
            )

    @admin.action(description=_("Publish selected snapshots"), permissions=["change"])
    def publish(self, request, queryset):
        result = services.snapshot_set_status(
            snapshot_ids=list(queryset.values_list("pk", flat=True)),
            status=Snapshot.Status.PUBLISHED,
            actor=request.user,
        )
        self._report(request, result, _("Published %(count)d snapshots."))

    @admin.action(description=_("Hide selected snapshots"), permissions=["change"])
    def hide(self, request, queryset):
        result = services.snapshot_set_status(
            snapshot_ids=list(queryset.values_list("pk", flat=True)),
            status=Snapshot.Status.HIDDEN,
            actor=request.user,
        )
        self._report(request, result, _("Hid %(count)d snapshots."))

    @admin.action(description=_("Move selected snapshots to a category…"), permissions=["change"])
    def move_to_category(self, request, queryset):
        form = CategoryChoiceForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            result = services.snapshot_move_to_category(
                snapshot_ids=list(queryset.values_list("pk", flat=True)),
                category=form.cleaned_data["category"],
                actor=request.user,
            )
            self._report(request, result, _("Moved %(count)d snapshots."))
            return None
        return TemplateResponse(
            request,
            "admin/articles/snapshot/move_to_category.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Move snapshots to a category"),
                "opts": self.model._meta,
                "form": form,
                "snapshots": queryset.defer("body")[:100],
                "count": queryset.count(),
                "selected_ids": request.POST.getlist(admin.helpers.ACTION_CHECKBOX_NAME),
                "select_across": request.POST.get("select_across", "0"),
                "action_name": "move_to_category",
            },
        )

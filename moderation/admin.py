"""The moderators' desk: the queue of removal requests, each request's file, and one form per move.

Nothing here changes a request by itself. Every field is read-only; the buttons and actions call the
functions in `moderation.services`, which lock the row, check the move and record the event, and a
move they refuse is reported with `message_user`. Events are never added, changed or deleted here.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import ActionLocation
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Count, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.http import FileResponse, Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.timesince import timesince
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from newsarchive.admin import LargeTablePaginator

from . import selectors, services, workflow
from .models import Appeal, CounterNotice, ModerationEvent, Requester, SourceRecord, TakedownItem, TakedownRequest
from .selectors import listed_urls

Status = TakedownRequest.Status
Ground = TakedownRequest.Ground
Outcome = TakedownItem.Outcome

DECIDE_PERMISSION = "moderation.decide_takedownrequest"
EVIDENCE_PERMISSION = "moderation.view_evidencefile"


def status_label(value: str) -> str:
    """The display name of a stored status (events keep the raw value)."""
    return Status(value).label if value in Status.values else value


# --- the forms behind the workflow buttons -----------------------------------------------------


class MoveForm(forms.Form):
    """The reason a moderator gives; for a decision it becomes the statement of reasons."""

    reason = forms.CharField(
        label=_("Statement of reasons"),
        help_text=_("Sent to the requester and published on the transparency page without personal data."),
        widget=forms.Textarea(attrs={"rows": 6, "cols": 80}),
    )

    def __init__(self, *args, req: TakedownRequest, **kwargs):
        self.req = req
        super().__init__(*args, **kwargs)


class ReviewForm(MoveForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].required = False
        self.fields["reason"].label = _("Note (optional)")
        self.fields["reason"].help_text = _("Kept in the request's history; not sent to the requester.")


class AskForm(MoveForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].label = _("Question to the requester")
        self.fields["reason"].help_text = _("Emailed to the requester, who answers on the request's status page.")


class RejectForm(MoveForm):
    ground = forms.ChoiceField(label=_("Ground"), choices=Ground.choices, initial=Ground.NONE)


class ApproveForm(MoveForm):
    """The reason, the legal ground, and for each pending URL whether it is withheld or refused."""

    ground = forms.ChoiceField(
        label=_("Ground"), choices=[c for c in Ground.choices if c[0] != Ground.NONE], initial=Ground.COPYRIGHT
    )
    OUTCOMES = [(Outcome.ACTIONED, _("withhold")), (Outcome.REFUSED, _("refuse"))]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.listed = listed_urls(self.req, pending_only=True)
        for row in self.listed:
            self.fields[f"item_{row.item.pk}"] = forms.ChoiceField(
                label=_("URL %(position)d") % {"position": row.item.position},
                choices=self.OUTCOMES,
                initial=Outcome.ACTIONED,
                widget=forms.RadioSelect,
            )

    def rows(self):
        """Each pending URL with its choice, for the template."""
        return [(row, self[f"item_{row.item.pk}"]) for row in self.listed]

    def outcomes(self) -> dict[int, str]:
        return {row.item.pk: self.cleaned_data[f"item_{row.item.pk}"] for row in self.listed}


class AppealDecisionForm(MoveForm):
    """The review of an open appeal: which one, and the reasons (sent to the appellant)."""

    appeal = forms.ModelChoiceField(label=_("Appeal"), queryset=Appeal.objects.none(), empty_label=None)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["appeal"].queryset = self.req.appeals.filter(status=Appeal.Status.OPEN).order_by("filed_at")
        self.fields["appeal"].label_from_instance = lambda appeal: (
            f"{appeal.get_party_display()}{f' ({appeal.source.name})' if appeal.source_id else ''}: {appeal.reason[:120]}"
        )
        self.fields["reason"].help_text = _("Sent to the appellant; the outcome is on the public record.")


class AppealReverseForm(AppealDecisionForm):
    ground = forms.ChoiceField(
        label=_("Ground (when a refusal is reversed)"),
        choices=[c for c in Ground.choices if c[0] != Ground.NONE],
        initial=Ground.COPYRIGHT,
    )


@dataclass(frozen=True)
class Move:
    """A workflow button: an action of the workflow table (its label, and the states it is offered
    in; the service has the last word), the form it asks for and the service call it makes."""

    action: workflow.Action
    form: type[MoveForm]
    perform: Callable[[TakedownRequest, object, MoveForm], TakedownRequest]
    done: str

    @property
    def name(self) -> str:
        return self.action.name

    @property
    def label(self) -> str:
        return self.action.label

    @property
    def allowed(self) -> tuple:
        return self.action.sources


# The form and the service call of each moderator action of the table the admin offers as a button.
# Assignment is the changelist's and the change page's "Assign to me" action, which needs no form.
FORMS = {
    "review": (
        ReviewForm,
        lambda req, user, form: services.takedown_review(
            request_id=req.pk, moderator=user, note=form.cleaned_data["reason"]
        ),
        _("%(reference)s is in review."),
    ),
    "ask": (
        AskForm,
        lambda req, user, form: services.takedown_ask(
            request_id=req.pk, moderator=user, question=form.cleaned_data["reason"]
        ),
        _("The question on %(reference)s was sent to the requester."),
    ),
    "approve": (
        ApproveForm,
        lambda req, user, form: services.takedown_approve(
            request_id=req.pk,
            moderator=user,
            reason=form.cleaned_data["reason"],
            ground=form.cleaned_data["ground"],
            outcomes=form.outcomes(),
        ),
        _("%(reference)s is approved; the requester was sent the statement of reasons."),
    ),
    "reject": (
        RejectForm,
        lambda req, user, form: services.takedown_reject(
            request_id=req.pk, moderator=user, reason=form.cleaned_data["reason"], ground=form.cleaned_data["ground"]
        ),
        _("%(reference)s is rejected; the requester was sent the statement of reasons."),
    ),
    "uphold": (
        MoveForm,
        lambda req, user, form: services.takedown_uphold(
            request_id=req.pk, moderator=user, reason=form.cleaned_data["reason"]
        ),
        _("%(reference)s is upheld; its disputed snapshots stay withheld."),
    ),
    "restore": (
        MoveForm,
        lambda req, user, form: services.takedown_restore(
            request_id=req.pk, moderator=user, reason=form.cleaned_data["reason"]
        ),
        _("%(reference)s no longer withholds its disputed snapshots."),
    ),
}
FORMS.update(
    {
        "appeal_uphold": (
            AppealDecisionForm,
            lambda req, user, form: services.appeal_uphold(
                appeal_id=form.cleaned_data["appeal"].pk, moderator=user, reason=form.cleaned_data["reason"]
            ),
            _("The appeal against %(reference)s is decided: the decision stands."),
        ),
        "appeal_reverse": (
            AppealReverseForm,
            lambda req, user, form: services.appeal_reverse(
                appeal_id=form.cleaned_data["appeal"].pk,
                moderator=user,
                reason=form.cleaned_data["reason"],
                ground=form.cleaned_data["ground"],
            ),
            _("The appeal against %(reference)s is decided: the decision is reversed for what it concerned."),
        ),
    }
)
# Moves offered only when there is something to take them on.
NEEDS_OPEN_APPEAL = ("appeal_uphold", "appeal_reverse")
CHANGELIST_ACTIONS = ("assign", "review", "add_items")

MOVES = [
    Move(action, *FORMS[action.name])
    for action in workflow.ACTIONS
    if action.subject == workflow.Subject.REQUEST and workflow.Actor.MODERATOR in action.actors and action.name in FORMS
]


# --- removal requests --------------------------------------------------------------------------


# The queue's risk flags (selectors.with_risk_flags), each a column and a filter.
RISK_FLAGS = {
    "backdated": (_("backdated work"), _("A work is dated after the publication or capture of a snapshot it lists.")),
    "repeat_requester": (
        _("repeat or warned requester"),
        _("The requester was warned, or had several requests rejected."),
    ),
    "large": (_("large notice"), _("Many URLs in one notice.")),
    "disputed": (_("snapshot disputed before"), _("A snapshot it lists was disputed by a counter-notice before.")),
    "repeat_infringer": (
        _("repeat-infringer source"),
        _("A snapshot it lists is of a source that several decisions withheld before."),
    ),
}


class RiskFilter(admin.SimpleListFilter):
    title = _("risk flag")
    parameter_name = "risk"

    def lookups(self, request, model_admin):
        return [(name, label) for name, (label, _help) in RISK_FLAGS.items()]

    def queryset(self, request, queryset):
        if self.value() in RISK_FLAGS:
            return queryset.filter(**{f"flag_{self.value()}": True})
        return queryset


class OpenAppealFilter(admin.SimpleListFilter):
    title = _("appeal")
    parameter_name = "appeal"

    def lookups(self, request, model_admin):
        return [("open", _("an appeal is open"))]

    def queryset(self, request, queryset):
        if self.value() == "open":
            return queryset.filter(appeals__status=Appeal.Status.OPEN).distinct()
        return queryset


class OverdueFilter(admin.SimpleListFilter):
    title = _("overdue")
    parameter_name = "overdue"

    def lookups(self, request, model_admin):
        return [("yes", _("Yes")), ("no", _("No"))]

    def queryset(self, request, queryset):
        overdue = Q(status__in=TakedownRequest.OPEN_STATUSES, due_at__lt=timezone.now())
        if self.value() == "yes":
            return queryset.filter(overdue)
        if self.value() == "no":
            return queryset.exclude(overdue)
        return queryset


BOTH_LOCATIONS = [ActionLocation.CHANGE_LIST, ActionLocation.CHANGE_FORM]


@admin.register(TakedownRequest)
class TakedownRequestAdmin(admin.ModelAdmin):
    list_display = [
        "reference",
        "overdue",
        "status",
        "organisation",
        "url_count",
        "risk_flags",
        "received_at",
        "due_at",
        "assignee",
    ]
    list_filter = [
        "status",
        OverdueFilter,
        RiskFilter,
        OpenAppealFilter,
        ("assignee", admin.RelatedOnlyFieldListFilter),
    ]
    list_select_related = ["assignee"]
    search_fields = ["reference", "email"]
    search_help_text = _("Search by reference or by the requester's email.")
    ordering = ["due_at", "id"]
    show_full_result_count = False
    paginator = LargeTablePaginator
    actions = ["assign_to_me", "take_into_review", "add_story_siblings"]
    fieldsets = [
        (
            _("Decision"),
            {
                "fields": [
                    "reference",
                    "status",
                    "overdue",
                    "risk_flags",
                    "received_at",
                    "due_at",
                    "assignee",
                    "decided_at",
                    "ground",
                    "decision_reason",
                    "info_request",
                    "info_due_at",
                    "lawsuit_note",
                ]
            },
        ),
        (
            _("The requester's submission"),
            {
                "fields": [
                    "requester_link",
                    "works_list",
                    "name",
                    "organisation",
                    "role",
                    "email",
                    "phone",
                    "address",
                    "explanation",
                    "evidence",
                    "good_faith",
                    "accurate_and_authorised",
                    "signature",
                    "submitted_ip",
                ]
            },
        ),
    ]
    readonly_fields = [field for _name, options in fieldsets for field in options["fields"]]

    class Media:
        css = {"all": ["css/moderation-admin.css"]}

    def get_queryset(self, request):
        # A count per row, not a GROUP BY over every request and URL: the queue reads one page of
        # rows, and the GROUP BY made it read them all (0.5 s with 20,000 requests).
        urls = TakedownItem.objects.filter(request=OuterRef("pk")).order_by().values("request").annotate(n=Count("pk"))
        queryset = super().get_queryset(request).annotate(url_count=Coalesce(Subquery(urls.values("n")), 0))
        return selectors.with_risk_flags(queryset)

    # Requests arrive through the public form and the API, change only through the workflow, and
    # are never deleted: the page is read-only for everyone, superusers included.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_decide_permission(self, request, obj=None):
        return request.user.has_perm(DECIDE_PERMISSION)

    @admin.display(description=_("overdue"), ordering="due_at")
    def overdue(self, obj):
        if not obj.is_overdue:
            return ""
        return format_html(
            '<strong class="takedown-overdue">{}</strong>',
            gettext("overdue by %(time)s") % {"time": timesince(obj.due_at)},
        )

    @admin.display(description=_("URLs"), ordering="url_count")
    def url_count(self, obj):
        return obj.url_count

    @admin.display(description=_("risk flags"))
    def risk_flags(self, obj):
        flags = [
            (label, help_text) for name, (label, help_text) in RISK_FLAGS.items() if getattr(obj, f"flag_{name}", False)
        ]
        return format_html_join(
            " ", '<span class="takedown-flag" title="{}">{}</span>', ((h, label) for label, h in flags)
        )

    @admin.display(description=_("works"))
    def works_list(self, obj):
        return format_html_join(
            "",
            "<p>{}. {} ({})</p>",
            (
                (work.position, work.description, work.work_date.isoformat() if work.work_date else "—")
                for work in obj.works.order_by("position")
            ),
        )

    @admin.display(description=_("requester"))
    def requester_link(self, obj):
        requester = obj.requester
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:moderation_requester_change", args=[requester.pk]),
            requester.email,
        )

    # --- actions ---

    def _each(self, request, queryset, call, done_message):
        """Run `call` on each selected request; report the successes and each refusal."""
        done = 0
        for pk in queryset.order_by().values_list("pk", flat=True):
            try:
                call(pk)
            except services.TransitionError as error:
                self.message_user(request, str(error), messages.ERROR)
            else:
                done += 1
        if done:
            self.message_user(request, done_message(done), messages.SUCCESS)

    @admin.action(description=workflow.action("assign").label, permissions=["decide"], location=BOTH_LOCATIONS)
    def assign_to_me(self, request, queryset):
        self._each(
            request,
            queryset,
            lambda pk: services.takedown_assign(request_id=pk, moderator=request.user),
            lambda n: (
                ngettext("%(count)d request assigned to you.", "%(count)d requests assigned to you.", n) % {"count": n}
            ),
        )

    @admin.action(description=workflow.action("review").label, permissions=["decide"], location=BOTH_LOCATIONS)
    def take_into_review(self, request, queryset):
        self._each(
            request,
            queryset,
            lambda pk: services.takedown_review(request_id=pk, moderator=request.user),
            lambda n: (
                ngettext("%(count)d request taken into review.", "%(count)d requests taken into review.", n)
                % {"count": n}
            ),
        )

    @admin.action(description=workflow.action("add_items").label, permissions=["decide"], location=BOTH_LOCATIONS)
    def add_story_siblings(self, request, queryset):
        """Add to each selected request the other snapshots of its snapshots' stories (shown on its
        page as copies that may copy the same work); the requester is told which were added."""
        added = 0
        for pk in queryset.order_by().values_list("pk", flat=True):
            try:
                added += len(services.takedown_add_story_siblings(request_id=pk, moderator=request.user))
            except services.TransitionError as error:
                self.message_user(request, str(error), messages.ERROR)
        if added:
            self.message_user(
                request,
                ngettext(
                    "%(count)d snapshot of the same story added; the requester is told.",
                    "%(count)d snapshots of the same story added; the requester is told.",
                    added,
                )
                % {"count": added},
                messages.SUCCESS,
            )
        else:
            self.message_user(request, _("No other copies of the same story to add."), messages.INFO)

    # --- the change page and the workflow views ---

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        urls = [
            path(
                f"<path:object_id>/{move.name}/",
                self.admin_site.admin_view(self._move_view(move)),
                name="{}_{}_{}".format(*info, move.name),
            )
            for move in MOVES
        ]
        urls.append(
            path(
                "<path:object_id>/evidence/<int:file_id>/",
                self.admin_site.admin_view(self.evidence_view),
                name="{}_{}_evidence".format(*info),
            )
        )
        return urls + super().get_urls()

    def _change_url(self, req):
        return reverse("admin:moderation_takedownrequest_change", args=[req.pk])

    def moves_for(self, request, req) -> list[dict]:
        """The workflow buttons to show on `req`'s page: the moves its state allows, for a moderator."""
        if not self.has_decide_permission(request):
            return []
        return [
            {
                "name": move.name,
                "label": move.label,
                "url": reverse(f"admin:moderation_takedownrequest_{move.name}", args=[req.pk]),
            }
            for move in MOVES
            if req.status in move.allowed
            and (move.name not in NEEDS_OPEN_APPEAL or req.appeals.filter(status=Appeal.Status.OPEN).exists())
        ]

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            requester = Requester.objects.annotate(
                request_count=Count("requests"),
                rejected_count=Count("requests", filter=Q(requests__status=Status.REJECTED)),
            ).get(pk=obj.requester_id)
            can_download = request.user.has_perm(EVIDENCE_PERMISSION)
            context.update(
                moves=self.moves_for(request, obj),
                listed_urls=listed_urls(obj),
                story_siblings=selectors.story_siblings_of(obj),
                requester=requester,
                earlier_requests=earlier_requests(obj),
                appeals=obj.appeals.select_related("source", "decided_by").order_by("filed_at", "pk"),
                counter_notices=CounterNotice.objects.filter(claims__request=obj)
                .distinct()
                .prefetch_related("snapshots")
                .order_by("received_at"),
                evidence_files=[
                    (
                        evidence,
                        reverse("admin:moderation_takedownrequest_evidence", args=[obj.pk, evidence.pk])
                        if can_download
                        else None,
                    )
                    for evidence in obj.files.order_by("pk")
                ],
                events=[
                    (event, status_label(event.from_status), status_label(event.to_status))
                    for event in obj.events.order_by("created_at", "id")
                ],
            )
        return super().render_change_form(request, context, add, change, form_url, obj)

    def _move_view(self, move: Move):
        def view(request, object_id):
            return self.move_view(request, object_id, move)

        return view

    def move_view(self, request, object_id, move: Move):
        """Show the move's form; on a valid POST call its service. A refusal (another moderator
        was quicker, or the state does not allow it) is an error message and changes nothing."""
        if not self.has_decide_permission(request):
            raise PermissionDenied
        req = self.get_object(request, unquote(object_id))
        if req is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if request.method == "POST":
            form = move.form(request.POST, req=req)
            if form.is_valid():
                try:
                    move.perform(req, request.user, form)
                except services.TransitionError as error:
                    self.message_user(request, str(error), messages.ERROR)
                    req.refresh_from_db()
                    if req.status not in move.allowed:
                        return redirect(self._change_url(req))
                    form = move.form(request.POST, req=req)  # the URLs still pending now
                    form.is_valid()
                else:
                    self.message_user(request, move.done % {"reference": req.reference}, messages.SUCCESS)
                    return redirect(self._change_url(req))
        elif req.status not in move.allowed:
            self.message_user(
                request,
                gettext("“%(move)s” is not possible now: %(reference)s is %(status)s.")
                % {"move": move.label, "reference": req.reference, "status": req.get_status_display()},
                messages.WARNING,
            )
            return redirect(self._change_url(req))
        else:
            form = move.form(req=req)
        context = {
            **self.admin_site.each_context(request),
            "title": f"{move.label}: {req.reference}",
            "opts": self.opts,
            "original": req,
            "move": move,
            "form": form,
            "listed_urls": listed_urls(req),
            "media": self.media + form.media,
        }
        return TemplateResponse(
            request,
            [
                f"admin/moderation/takedownrequest/{move.name}_form.html",
                "admin/moderation/takedownrequest/move_form.html",
            ],
            context,
        )

    def evidence_view(self, request, object_id, file_id):
        """Stream an evidence file from the private storage as a download, to moderators only."""
        if not request.user.has_perm(EVIDENCE_PERMISSION):
            raise PermissionDenied
        req = self.get_object(request, unquote(object_id))
        evidence = req.files.filter(pk=file_id).first() if req is not None else None
        if evidence is None:
            raise Http404
        try:
            handle = evidence.file.storage.open(evidence.file.name, "rb")
        except FileNotFoundError:
            raise Http404 from None
        # Never rendered by the browser: whatever the requester uploaded is only ever downloaded.
        response = FileResponse(
            handle, as_attachment=True, filename=evidence.original_name, content_type="application/octet-stream"
        )
        response["Cache-Control"] = "private, no-store"
        return response


def earlier_requests(req: TakedownRequest):
    """The requester's other requests, newest first, with how many URLs each had withheld or refused."""
    return (
        TakedownRequest.objects.filter(requester_id=req.requester_id)
        .exclude(pk=req.pk)
        .annotate(
            url_count=Count("items"),
            actioned_count=Count("items", filter=Q(items__outcome=Outcome.ACTIONED)),
            refused_count=Count("items", filter=Q(items__outcome=Outcome.REFUSED)),
        )
        .order_by("-received_at", "-id")[:50]
    )


# --- requesters --------------------------------------------------------------------------------


class WarnForm(forms.Form):
    note = forms.CharField(
        label=_("Why"),
        help_text=_("Kept on the requester's record; the requester is told by email."),
        widget=forms.Textarea(attrs={"rows": 4, "cols": 80}),
    )


class SuspendForm(WarnForm):
    days = forms.IntegerField(label=_("Days"), min_value=1, initial=30)


class PublicationDelayForm(WarnForm):
    days = forms.IntegerField(
        label=_("Days"),
        min_value=0,
        max_value=365,
        help_text=_("After each decision on their requests, before it appears in the public record. 0: at once."),
    )


class LiftForm(forms.Form):
    note = forms.CharField(
        label=_("Why"),
        help_text=_("Kept on the requester's record; the requester is told by email."),
        widget=forms.Textarea(attrs={"rows": 4, "cols": 80}),
    )


@dataclass(frozen=True)
class Measure:
    """A button on a requester's page: an action of the workflow table, its form and its service."""

    action: workflow.Action
    form: type[forms.Form]
    perform: Callable[[Requester, object, dict], Requester]
    done: str

    @property
    def name(self) -> str:
        return self.action.name

    @property
    def label(self) -> str:
        return self.action.label


MEASURE_FORMS = {
    "warn": (
        WarnForm,
        lambda requester, user, data: services.requester_warn(
            requester_id=requester.pk, moderator=user, note=data["note"]
        ),
        _("%(email)s was warned."),
    ),
    "suspend": (
        SuspendForm,
        lambda requester, user, data: services.requester_suspend(
            requester_id=requester.pk, moderator=user, days=data["days"], note=data["note"]
        ),
        _("%(email)s is suspended."),
    ),
    "set_publication_delay": (
        PublicationDelayForm,
        lambda requester, user, data: services.requester_set_publication_delay(
            requester_id=requester.pk, moderator=user, days=data["days"], note=data["note"]
        ),
        _("The publication delay of %(email)s is set."),
    ),
    "lift": (
        LiftForm,
        lambda requester, user, data: services.requester_lift(
            requester_id=requester.pk, moderator=user, note=data["note"]
        ),
        _("The suspension of %(email)s is lifted."),
    ),
}

MEASURES = [
    Measure(action, *MEASURE_FORMS[action.name])
    for action in workflow.ACTIONS
    if action.subject == workflow.Subject.REQUESTER and workflow.Actor.MODERATOR in action.actors
]


class MeasureFilter(admin.SimpleListFilter):
    title = _("measures against abuse")
    parameter_name = "measure"

    def lookups(self, request, model_admin):
        return [("warned", _("warned")), ("suspended", _("suspended now"))]

    def queryset(self, request, queryset):
        if self.value() == "warned":
            return queryset.filter(warned_at__isnull=False)
        if self.value() == "suspended":
            return queryset.filter(suspended_until__gt=timezone.now())
        return queryset


@admin.register(Requester)
class RequesterAdmin(admin.ModelAdmin):
    list_display = [
        "email",
        "request_count",
        "rejected_count",
        "warned_at",
        "suspended_until",
        "publication_delay_days",
    ]
    list_filter = [MeasureFilter]
    search_fields = ["email"]
    ordering = ["email"]
    show_full_result_count = False
    fields = ["email", "created_at", "warned_at", "suspended_until", "abuse_note", "publication_delay_days"]
    readonly_fields = fields

    class Media:
        css = {"all": ["css/moderation-admin.css"]}

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                request_count=Count("requests"),
                rejected_count=Count("requests", filter=Q(requests__status=Status.REJECTED)),
            )
        )

    # A requester's record changes only through a warning or a suspension.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_measure_permission(self, request, obj=None):
        # Warning or suspending a requester is part of deciding their requests (DSA art. 23).
        return request.user.has_perm(DECIDE_PERMISSION)

    @admin.display(description=_("requests"), ordering="request_count")
    def request_count(self, obj):
        return obj.request_count

    @admin.display(description=_("rejected"), ordering="rejected_count")
    def rejected_count(self, obj):
        return obj.rejected_count

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        urls = [
            path(
                f"<path:object_id>/{measure.name}/",
                self.admin_site.admin_view(self._measure_view(measure)),
                name="{}_{}_{}".format(*info, measure.name),
            )
            for measure in MEASURES
        ]
        return urls + super().get_urls()

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context["measures"] = (
                [
                    {
                        "name": m.name,
                        "label": m.label,
                        "url": reverse(f"admin:moderation_requester_{m.name}", args=[obj.pk]),
                    }
                    for m in MEASURES
                    if workflow.requester_state(obj) in m.action.sources
                ]
                if self.has_measure_permission(request)
                else []
            )
            context["measure_events"] = obj.events.select_related("actor").order_by("created_at", "id")
            context["requests"] = obj.requests.annotate(
                url_count=Count("items"),
                actioned_count=Count("items", filter=Q(items__outcome=Outcome.ACTIONED)),
                refused_count=Count("items", filter=Q(items__outcome=Outcome.REFUSED)),
            ).order_by("-received_at", "-id")[:100]
        return super().render_change_form(request, context, add, change, form_url, obj)

    def _measure_view(self, measure: Measure):
        def view(request, object_id):
            return self.measure_view(request, object_id, measure)

        return view

    def measure_view(self, request, object_id, measure: Measure):
        if not self.has_measure_permission(request):
            raise PermissionDenied
        requester = self.get_object(request, unquote(object_id))
        if requester is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        change_url = reverse("admin:moderation_requester_change", args=[requester.pk])
        form = measure.form(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                measure.perform(requester, request.user, form.cleaned_data)
            except services.TransitionError as error:
                self.message_user(request, str(error), messages.ERROR)
            else:
                self.message_user(request, measure.done % {"email": requester.email}, messages.SUCCESS)
            return redirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "title": f"{measure.label}: {requester.email}",
            "opts": self.opts,
            "original": requester,
            "form": form,
            "measure": measure,
            "media": self.media + form.media,
        }
        return TemplateResponse(request, "admin/moderation/requester/measure_form.html", context)


# --- the event log -------------------------------------------------------------------------------


@admin.register(ModerationEvent)
class ModerationEventAdmin(admin.ModelAdmin):
    """Every request's history in one list. Append-only: nobody, not even a superuser, can add,
    change or delete an event here."""

    list_display = ["created_at", "request", "requester", "action", "from_status", "to_status", "actor_label"]
    list_filter = ["action"]
    list_select_related = ["request", "requester"]
    search_fields = ["=request__reference", "=requester__email", "actor_label"]
    search_help_text = _("Search by the full reference, the requester's full email or the actor.")
    show_full_result_count = False
    fields = ["request", "requester", "created_at", "actor_label", "action", "from_status", "to_status", "note", "data"]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# --- sources: the repeat-infringer count ----------------------------------------------------------


class RepeatInfringerFilter(admin.SimpleListFilter):
    title = _("repeat infringer")
    parameter_name = "repeat"

    def lookups(self, request, model_admin):
        return [("yes", _("past the threshold"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(repeat_infringer=True)
        return queryset


@admin.register(SourceRecord)
class SourceRecordAdmin(admin.ModelAdmin):
    """Each source with how many decisions withheld its snapshots (not reversed on appeal), flagged
    past TAKEDOWN_REPEAT_INFRINGER_THRESHOLD. Read-only: editors keep sources (and their contact
    address) in the articles admin."""

    list_display = ["name", "decisions", "repeat_infringer_flag", "contact_email"]
    list_filter = [RepeatInfringerFilter]
    search_fields = ["name"]
    show_full_result_count = False
    fields = ["name", "contact_email", "decisions", "repeat_infringer_flag"]
    readonly_fields = fields

    def get_queryset(self, request):
        return selectors.sources_with_records(super().get_queryset(request)).order_by("-decisions", "name")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("decisions withholding its snapshots"), ordering="decisions")
    def decisions(self, obj):
        return obj.decisions

    @admin.display(description=_("repeat infringer"), boolean=True, ordering="decisions")
    def repeat_infringer_flag(self, obj):
        return obj.repeat_infringer

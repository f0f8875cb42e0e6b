"""The public side of the removal workflow: the request form and its JSON twin, the requester's
private status page, the counter-notice form and the transparency report.

Every change of state goes through `moderation.services`; these views only validate input, call
one service and show the result. Pages that carry a status token are sent with `no-store` and
`same-origin` referrers, and are kept out of search engines.
"""

import hashlib
import json
import math

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import RequestDataTooBig
from django.core.paginator import InvalidPage, Paginator
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext_lazy
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods
from django.views.generic import ListView

from newsarchive import ratelimit
from newsarchive.http import own_origin, private_response

from . import emails, selectors, services
from .forms import AnswerForm, CounterNoticeForm, LawsuitForm, TakedownForm, WithdrawForm, disputable_snapshot
from .models import TakedownItem, TakedownRequest

TRANSPARENCY_PAGE_SIZE = 50
DECISIONS_JSON_PAGE_SIZE = 500
# Longer than any token `new_token()` makes; anything longer is not looked up at all.
MAX_TOKEN_LENGTH = 128


def _rate_limit_message(retry_after: int) -> str:
    minutes = max(1, math.ceil(retry_after / 60))
    return ngettext(
        "Too many requests from your address: at most %(limit)d are accepted every %(window)d minutes. Try again "
        "in %(minutes)d minute.",
        "Too many requests from your address: at most %(limit)d are accepted every %(window)d minutes. Try again "
        "in %(minutes)d minutes.",
        minutes,
    ) % {
        "limit": settings.TAKEDOWN_RATE_LIMIT,
        "window": max(1, settings.TAKEDOWN_RATE_WINDOW_SECONDS // 60),
        "minutes": minutes,
    }


def _rate_limited(request, retry_after: int):
    response = render(
        request, "moderation/rate_limited.html", {"message": _rate_limit_message(retry_after)}, status=429
    )
    response["Retry-After"] = str(retry_after)
    return response


def _recipient_limited(request, email: str) -> tuple[int, str] | None:
    """Count one request (so one receipt) to `email`; (Retry-After, the reason) beyond the limit.
    Counted per address whatever the client, so that many clients cannot flood one mailbox."""
    recipient = hashlib.sha256(email.strip().lower().encode()).hexdigest()
    retry_after = ratelimit.hit(
        request, ratelimit.TAKEDOWN_RECIPIENT, limit=settings.TAKEDOWN_RECIPIENT_RATE_LIMIT, subject=recipient
    )
    if not retry_after:
        return None
    minutes = max(1, math.ceil(retry_after / 60))
    return retry_after, ngettext(
        "Too many removal requests from this email address: at most %(limit)d are accepted every %(window)d "
        "minutes. Try again in %(minutes)d minute.",
        "Too many removal requests from this email address: at most %(limit)d are accepted every %(window)d "
        "minutes. Try again in %(minutes)d minutes.",
        minutes,
    ) % {
        "limit": settings.TAKEDOWN_RECIPIENT_RATE_LIMIT,
        "window": max(1, settings.TAKEDOWN_RATE_WINDOW_SECONDS // 60),
        "minutes": minutes,
    }


# --- filing a request --------------------------------------------------------------------------


@require_http_methods(["GET", "HEAD", "POST"])
def takedown_new(request):
    """The removal request form, pre-filled from `?url=`. A filed request is answered with its
    receipt in this same response, so that the one-time status link is in no redirect or URL but
    the status page's own."""
    status = 200
    if request.method == "POST":
        retry_after = ratelimit.hit(request, ratelimit.TAKEDOWN)
        if retry_after:
            return _rate_limited(request, retry_after)
        form = TakedownForm(request.POST, request.FILES)
        if form.is_valid() and (limited := _recipient_limited(request, form.cleaned_data["email"])):
            form.add_error("email", limited[1])
            status = 429
        elif form.is_valid():
            try:
                receipt = services.takedown_submit(submission=form.submission(ip=ratelimit.client_ip(request)))
            except services.SubmissionError as error:
                form.add_submission_errors(error.errors)
            else:
                return private_response(_received(request, receipt))
    else:
        form = TakedownForm(initial={"urls": request.GET.get("url", "")})
    context = {"form": form, "files_sent": bool(request.FILES)}
    return render(request, "moderation/takedownrequest_form.html", context, status=status)


def _received(request, receipt: services.Receipt):
    req = receipt.request
    items = list(req.items.select_related("snapshot").order_by("position"))
    return render(
        request,
        "moderation/takedownrequest_received.html",
        {
            "req": req,
            "items": items,
            "already_withheld": [i for i in items if i.outcome == TakedownItem.Outcome.ALREADY_WITHHELD],
            "status_url": emails.status_url(receipt.token),
            "file_count": req.files.count(),
        },
    )


# The API names the requester's fields as its body nests them.
API_FIELD_NAMES = {name: f"requester.{name}" for name in ("name", "organisation", "role", "email", "phone", "address")}
API_TEXT_FIELDS = ("work", "work_date", "explanation", "evidence", "signature")
API_STATEMENTS = ("good_faith", "accurate_and_authorised")


def _api_error(status: int, message: str, key: str = "__all__") -> JsonResponse:
    return JsonResponse({"errors": {key: [message]}}, status=status, json_dumps_params={"ensure_ascii": False})


@csrf_exempt
def api_takedown(request):
    """`POST /api/takedown/`: a removal request as JSON, checked by the very form the web page uses.

    Body: {"requester": {"name", "organisation", "role", "email", "phone", "address"}, "work",
    "work_date" (YYYY-MM-DD or null), "urls": [...], "explanation", "evidence", "good_faith": true,
    "accurate_and_authorised": true, "signature"}. Unknown keys are ignored.

    Answers:
    - 201 {"reference", "status_url", "items": [{"url", "outcome"}]}: filed; `status_url` holds the
      one-time token (also emailed); an item's outcome is "already_withheld" when an earlier
      decision withholds its snapshot, else "pending".
    - 400 {"errors": {key: [messages]}}: keys are the body's own paths: "requester.email", "work",
      "urls" for the list as a whole, "urls.<index>" (0-based) for one address, and "__all__" for
      the body itself (not JSON, not an object) or the request as a whole.
    - 403 for a request with an `Origin` that is not this site's (`newsarchive.http.own_origin`): a
      browser on another site's page. Programs send no Origin.
    - 405 for any method but POST, 413 for a body over DATA_UPLOAD_MAX_MEMORY_SIZE, 415 for a body
      that is not `application/json` (UTF-8), 429 with Retry-After when the client address has
      sent too many requests (shared with the form) or the requester's email address has been
      sent too many receipts, and 503 with Retry-After while the database is away.

    Every answer is JSON: {"errors": {key: [messages]}} for each refusal. The checks of Origin and
    Content-Type keep other sites' pages out: a browser sends a cross-site POST of JSON only
    after a CORS preflight, which this site never answers, and a simple (text/plain or form) POST
    is refused here, before anything is counted or stored.
    """
    if request.method != "POST":
        response = _api_error(405, _("Send the removal request with POST."))
        response["Allow"] = "POST"
        return response
    origin = request.headers.get("Origin")
    if origin is not None and not own_origin(request, origin):
        return _api_error(403, _("Requests from another site's pages are not accepted. Programs send no Origin."))
    if request.content_type != "application/json" or request.content_params.get("charset", "utf-8").lower() not in {
        "utf-8",
        "utf8",
    }:
        return _api_error(415, _("Send the body as Content-Type: application/json (UTF-8)."))
    retry_after = ratelimit.hit(request, ratelimit.TAKEDOWN)
    if retry_after:
        response = _api_error(429, _rate_limit_message(retry_after))
        response["Retry-After"] = str(retry_after)
        return response
    try:
        payload = json.loads(request.body)
    except RequestDataTooBig:
        return _api_error(413, _("The body is too large."))
    except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        return _api_error(400, _("The body is not valid JSON (UTF-8)."))
    if not isinstance(payload, dict):
        return _api_error(400, _("The body must be a JSON object."))

    data, shape_errors = _form_data(payload)
    form = TakedownForm(data)
    if form.is_valid() and not shape_errors:
        limited = _recipient_limited(request, form.cleaned_data["email"])
        if limited:
            response = _api_error(429, limited[1], key="requester.email")
            response["Retry-After"] = str(limited[0])
            return response
        try:
            receipt = services.takedown_submit(submission=form.submission(ip=ratelimit.client_ip(request)))
        except services.SubmissionError as error:
            form.add_submission_errors(error.errors)
        else:
            items = receipt.request.items.order_by("position")
            response = JsonResponse(
                {
                    "reference": receipt.request.reference,
                    "status_url": emails.status_url(receipt.token),
                    "items": [{"url": item.url, "outcome": item.outcome} for item in items],
                },
                status=201,
                json_dumps_params={"ensure_ascii": False},
            )
            return private_response(response)
    errors = _api_errors(form)
    if "requester" in shape_errors:  # not an object: one error for it, not one per missing field
        errors = {key: value for key, value in errors.items() if not key.startswith("requester.")}
    errors.update(shape_errors)  # a value of the wrong type is reported as such, not as "required"
    return JsonResponse({"errors": errors}, status=400, json_dumps_params={"ensure_ascii": False})


def _is_text(value) -> bool:
    if not isinstance(value, str):
        return False
    try:
        value.encode("utf-8")  # lone surrogates ("\ud800") are valid JSON but not text
    except UnicodeEncodeError:
        return False
    return True


def _form_data(payload: dict) -> tuple[dict, dict[str, list[str]]]:
    """The form's data from the API's body, and the errors of values of the wrong type. A value
    that is missing or null is passed on as empty, for the form to name it."""
    errors: dict[str, list[str]] = {}
    data: dict = {}
    requester = payload.get("requester")
    if requester is None:
        requester = {}
    elif not isinstance(requester, dict):
        errors["requester"] = [_("Expected an object with the requester's name, email, phone and address.")]
        requester = {}
    sources = [(requester, name, key) for name, key in API_FIELD_NAMES.items()]
    sources += [(payload, name, name) for name in API_TEXT_FIELDS]
    for source, name, key in sources:
        value = source.get(name)
        if value is None:
            data[name] = ""
        elif _is_text(value):
            data[name] = value
        else:
            errors[key] = [_("Expected a string.")]
    for name in API_STATEMENTS:
        value = payload.get(name)
        if value is not None and not isinstance(value, bool):
            errors[name] = [_("Expected true or false.")]
        data[name] = value is True
    urls = payload.get("urls")
    if urls is None:
        data["urls"] = ""
    elif not isinstance(urls, list):
        errors["urls"] = [_("Expected a list of addresses.")]
    else:
        # One address per line, so that the form's line N is the list's index N-1; anything that is
        # not a single line of text is reported here and left blank there.
        lines = []
        for index, url in enumerate(urls):
            if not _is_text(url) or not url.strip() or "\n" in url or "\r" in url:
                errors[f"urls.{index}"] = [_("Expected one address as a non-empty string.")]
                lines.append("")
            else:
                lines.append(url)
        data["urls"] = "\n".join(lines)
    return data, errors


def _api_errors(form: TakedownForm) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for name, field_errors in form.errors.as_data().items():
        for error in field_errors:
            if name == "urls" and error.code == "url_line":
                key, message = f"urls.{error.params['index']}", str(error.params["detail"])
            else:
                key, message = API_FIELD_NAMES.get(name, name), " ".join(error.messages)
            errors.setdefault(key, []).append(message)
    return errors


# --- the requester's status page ---------------------------------------------------------------

STATUS_ACTIONS = {"answer": AnswerForm, "withdraw": WithdrawForm, "lawsuit": LawsuitForm}
# The history as the requester sees it: what happened and when, not who or with which note.
EVENT_LABELS = {
    "submit": pgettext_lazy("removal request", "request received"),
    "assign": pgettext_lazy("removal request", "assigned to a moderator"),
    "review": pgettext_lazy("removal request", "taken into review"),
    "ask": pgettext_lazy("removal request", "the moderator asked a question"),
    "answer": pgettext_lazy("removal request", "you answered"),
    "approve": pgettext_lazy("removal request", "approved"),
    "reject": pgettext_lazy("removal request", "rejected"),
    "withdraw": pgettext_lazy("removal request", "withdrawn"),
    "counter_notice": pgettext_lazy("removal request", "counter-notice received"),
    "report_lawsuit": pgettext_lazy("removal request", "lawsuit or complaint reported"),
    "uphold": pgettext_lazy("removal request", "withholding upheld after the dispute"),
    "restore": pgettext_lazy("removal request", "snapshots restored"),
    "lapse": pgettext_lazy("removal request", "closed: the question was not answered in time"),
}


@require_http_methods(["GET", "HEAD", "POST"])
def takedown_status(request, token):
    """The requester's private page: state, dates, each URL's outcome, the statement of reasons,
    and the moves left to them (answer a question, withdraw, report a lawsuit)."""
    req = services.takedown_by_token(token) if len(token) <= MAX_TOKEN_LENGTH else None
    if req is None:
        raise Http404
    forms = {action: form_class(prefix=action) for action, form_class in STATUS_ACTIONS.items()}
    problem, status = None, 200
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action not in STATUS_ACTIONS:
            problem, status = _("Unknown action."), 400
        else:
            form = forms[action] = STATUS_ACTIONS[action](request.POST, prefix=action)
            if form.is_valid():
                try:
                    done = _status_action(req, action, form.cleaned_data)
                except services.TransitionError as error:
                    problem, status = str(error), 409
                    req = services.takedown_by_token(token)
                else:
                    messages.success(request, done)
                    return private_response(redirect(request.path))
            else:
                status = 400
    events = list(req.events.order_by("created_at", "id").only("request_id", "action", "created_at"))
    for event in events:
        event.label = EVENT_LABELS.get(event.action, event.action)
    items = list(req.items.select_related("snapshot", "withheld_by").order_by("position"))
    context = {
        "req": req,
        "state_label": selectors.STATES[req.status],
        "decision_label": selectors.OUTCOMES[selectors.decision_of(req, items)],
        "items": items,
        "events": events,
        "counter_notice_dates": list(req.counter_notices.order_by("received_at").values_list("received_at", flat=True)),
        "problem": problem,
        "contact": settings.MODERATION_CONTACT_EMAIL,
        "public_record_url": selectors.public_record_url(req.reference),
        "is_decided": req.status in TakedownRequest.DECIDED_STATUSES,
        **{f"{action}_form": form for action, form in forms.items()},
    }
    return private_response(render(request, "moderation/takedownrequest_status.html", context, status=status))


def _status_action(req: TakedownRequest, action: str, data: dict) -> str:
    if action == "answer":
        services.takedown_answer(request_id=req.pk, answer=data["answer"])
        return _("Your answer was sent. The request is back in review.")
    if action == "withdraw":
        services.takedown_withdraw(request_id=req.pk, note=data["note"])
        return _("The request is withdrawn. It will not be decided.")
    services.takedown_report_lawsuit(request_id=req.pk, note=data["note"])
    return _("The lawsuit or complaint is recorded. The snapshots stay withheld until a moderator decides.")


# --- counter-notice ----------------------------------------------------------------------------


@require_http_methods(["GET", "HEAD", "POST"])
def counter_notice(request):
    """A counter-notice against the decision that withholds the snapshot at `?url=` (linked from
    its 451 page): the request becomes disputed and the requester gets a copy."""
    if request.method == "POST":
        retry_after = ratelimit.hit(request, ratelimit.COUNTER_NOTICE)
        if retry_after:
            return _rate_limited(request, retry_after)
        form = CounterNoticeForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                req = services.counter_notice_submit(
                    snapshot=form.snapshot,
                    name=data["name"],
                    email=data["email"],
                    phone=data["phone"],
                    address=data["address"],
                    explanation=data["explanation"],
                    good_faith=data["good_faith"],
                    consent_to_jurisdiction=data["consent_to_jurisdiction"],
                    signature=data["signature"],
                    ip=ratelimit.client_ip(request),
                )
            except services.TransitionError as error:
                form.add_error(None, str(error))
            else:
                return render(
                    request,
                    "moderation/counternotice_received.html",
                    {
                        "req": req,
                        "snapshot": form.snapshot,
                        "restored": req.status == TakedownRequest.Status.RESTORED,
                        "days": settings.TAKEDOWN_RESTORE_AFTER_DAYS,
                    },
                )
        snapshot, withholding, problem = form.snapshot, form.withholding, None
    else:
        url = request.GET.get("url", "").strip()
        form = CounterNoticeForm(initial={"url": url})
        snapshot, withholding, problem = disputable_snapshot(url) if url else (None, None, None)
    context = {
        "form": form,
        "snapshot": snapshot,
        "withholding": withholding,
        "problem": problem,
        "restore_after_days": settings.TAKEDOWN_RESTORE_AFTER_DAYS,
    }
    return render(request, "moderation/counternotice_form.html", context)


# --- transparency ------------------------------------------------------------------------------

# The chart's geometry, in SVG user units.
CHART_WIDTH, CHART_LABEL_WIDTH, CHART_BAR_WIDTH, CHART_ROW, CHART_BAR = 640, 72, 500, 26, 16


class TransparencyView(ListView):
    """Counts by month and outcome with the median time to decision (as an SVG chart and a table),
    and the public record of every decided request. `?reference=` narrows the list to one."""

    template_name = "moderation/transparency.html"
    context_object_name = "decisions"
    paginate_by = TRANSPARENCY_PAGE_SIZE

    def get_queryset(self):
        # References are printable text; anything else (a NUL, which PostgreSQL refuses in a
        # parameter) cannot be one, and is dropped before the lookup finds nothing.
        typed = "".join(char for char in self.request.GET.get("reference", "") if char.isprintable())
        self.reference = typed.strip()[:20]
        decisions = selectors.public_decisions()
        if self.reference:
            decisions = decisions.filter(reference=self.reference)
        return decisions

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        report = selectors.transparency_report()
        for req in context["decisions"]:
            req.decision = selectors.decision_of(req)
            req.decision_label = selectors.OUTCOMES[req.decision]
            req.state_label = selectors.STATES[req.status]
        return {
            **context,
            "report": report,
            "outcomes": [(key, label, report.totals[key]) for key, label in selectors.OUTCOMES.items()],
            "chart": _chart(report),
            "table": [
                {"label": month.month.strftime("%Y-%m"), "counts": list(month.counts.values()), "total": month.total}
                for month in report.months
            ],
            "median": _duration(report.median_time_to_decision),
            "reference": self.reference,
            "decisions_json_url": reverse("moderation:decisions_json"),
            "contact": settings.MODERATION_CONTACT_EMAIL,
        }


transparency = require_http_methods(["GET", "HEAD"])(TransparencyView.as_view())


def _chart(report: selectors.Report) -> dict | None:
    """Bars per month (oldest on top), one segment per outcome, scaled to the busiest month."""
    if not report.months:
        return None
    busiest = max(month.total for month in report.months) or 1
    rows = []
    for number, month in enumerate(report.months):
        y = number * CHART_ROW + 4
        x = CHART_LABEL_WIDTH
        segments = []
        for outcome, count in month.counts.items():
            if not count:
                continue
            width = CHART_BAR_WIDTH * count / busiest
            segments.append(
                {
                    "outcome": outcome,
                    "label": selectors.OUTCOMES[outcome],
                    "count": count,
                    "x": f"{x:.1f}",
                    "width": f"{width:.1f}",
                }
            )
            x += width
        rows.append(
            {
                "label": month.month.strftime("%Y-%m"),
                "y": y,
                "text_y": y + CHART_BAR - 3,
                "segments": segments,
                "total": month.total,
                "total_x": f"{x + 6:.1f}",
            }
        )
    return {
        "width": CHART_WIDTH,
        "height": len(rows) * CHART_ROW + 8,
        "label_x": CHART_LABEL_WIDTH - 8,
        "bar_height": CHART_BAR,
        "rows": rows,
    }


def _duration(value) -> str | None:
    if value is None:
        return None
    hours = value.total_seconds() / 3600
    if hours < 1:
        minutes = max(1, round(hours * 60))
        return ngettext("%(minutes)d minute", "%(minutes)d minutes", minutes) % {"minutes": minutes}
    if hours < 48:
        return _("%(hours)s hours") % {"hours": f"{hours:.1f}"}
    return _("%(days)s days") % {"days": f"{hours / 24:.1f}"}


@require_http_methods(["GET", "HEAD"])
def transparency_decisions(request):
    """`/transparency/decisions.json`: the public record of decided requests, newest decision first,
    500 to a page (`?page=`). No personal data: see `selectors`."""
    paginator = Paginator(selectors.public_decisions(), DECISIONS_JSON_PAGE_SIZE)
    try:
        page = paginator.page(request.GET.get("page") or 1)
    except InvalidPage:
        return _api_error(404, _("There is no such page."), key="page")

    def page_url(number: int | None) -> str | None:
        if number is None:
            return None
        return request.build_absolute_uri(f"{reverse('moderation:decisions_json')}?page={number}")

    return JsonResponse(
        {
            "count": paginator.count,
            "page": page.number,
            "pages": paginator.num_pages,
            "next": page_url(page.next_page_number() if page.has_next() else None),
            "previous": page_url(page.previous_page_number() if page.has_previous() else None),
            "decisions": [_decision_record(request, req) for req in page],
        },
        json_dumps_params={"ensure_ascii": False, "indent": 1},
    )


def _decision_record(request, req: TakedownRequest) -> dict:
    hide_titles = req.ground == TakedownRequest.Ground.PERSONALITY
    return {
        "reference": req.reference,
        "url": request.build_absolute_uri(selectors.public_record_url(req.reference)),
        "status": req.status,
        "decision": selectors.decision_of(req),
        "ground": req.ground or None,
        "received_at": timezone.localtime(req.received_at).isoformat(),
        "decided_at": timezone.localtime(req.decided_at).isoformat() if req.decided_at else None,
        "organisation": req.organisation or None,
        "items": [
            {
                "snapshot_key": item.snapshot.key if item.snapshot else None,
                "title": None if hide_titles or item.snapshot is None else item.snapshot.title,
                "outcome": item.outcome,
                "withheld_by": item.withheld_by.reference if item.withheld_by_id else None,
            }
            for item in req.items.all()
        ],
        "statement_of_reasons": req.decision_reason,
        # Only a request closed for an unanswered question was decided without a person (a lapse).
        "automated": req.lapsed,
    }

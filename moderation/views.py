"""The public side of the removal workflow: the request form and its JSON twin, the requester's
private status page, the counter-notice form and the transparency report.

Every change of state goes through `moderation.services`; these views only validate input, call
one service and show the result. Pages that carry a status token are sent with `no-store` and
`same-origin` referrers, and are kept out of search engines.
"""

import csv
import hashlib
import json
import math
from datetime import timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import RequestDataTooBig
from django.core.paginator import InvalidPage, Paginator
from django.http import Http404, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods
from django.views.generic import ListView

from newsarchive import ratelimit
from newsarchive.http import own_origin, private_response

from . import emails, selectors, services, statements, workflow
from .forms import AnswerForm, AppealForm, CounterNoticeForm, LawsuitForm, TakedownForm, WithdrawForm
from .models import Appeal, CounterNotice, TakedownItem, TakedownRequest
from .redaction import redact

Status = TakedownRequest.Status
Actor = workflow.Actor

TRANSPARENCY_PAGE_SIZE = 50
DECISIONS_JSON_PAGE_SIZE = 500
STATEMENTS_PAGE_SIZE = 500
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
        if "add_work" in request.POST:
            # Another work's fields, with everything typed so far; nothing is checked or filed yet.
            count = TakedownForm.count_works(request.POST) + 1
            form = TakedownForm(initial=request.POST.dict(), work_count=count)
            form.initial["works"] = form.work_count
            return render(
                request, "moderation/takedownrequest_form.html", {"form": form, "files_sent": bool(request.FILES)}
            )
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
            "already_withheld": [i for i in items if i.snapshot and i.snapshot.withheld],
            "status_url": emails.status_url(receipt.token),
            "file_count": req.files.count(),
        },
    )


# The API names the requester's fields as its body nests them.
API_FIELD_NAMES = {name: f"requester.{name}" for name in ("name", "organisation", "role", "email", "phone", "address")}
API_TEXT_FIELDS = ("explanation", "evidence", "signature")
API_STATEMENTS = ("good_faith", "accurate_and_authorised")


def _api_error(status: int, message: str, key: str = "__all__") -> JsonResponse:
    return JsonResponse({"errors": {key: [message]}}, status=status, json_dumps_params={"ensure_ascii": False})


@csrf_exempt
def api_takedown(request):
    """`POST /api/takedown/`: a removal request as JSON, checked by the very form the web page uses.

    Body: {"requester": {"name", "organisation", "role", "email", "phone", "address"},
    "works": [{"description", "work_date" (YYYY-MM-DD or null), "urls": [...]}, ...], "explanation",
    "evidence", "good_faith": true, "accurate_and_authorised": true, "signature"}. A notice of one
    work may give "work", "work_date" and "urls" at the top level instead of "works". Unknown keys
    are ignored.

    Answers:
    - 201 {"reference", "status_url", "items": [{"url", "work", "outcome"}]}: filed; `status_url`
      holds the one-time token (also emailed); an item's outcome is "not_found" when its address
      names nothing in this archive (recorded, not refused), "already_withheld" when an earlier
      decision withholds its snapshot, else "pending"; `work` is its work's index (0-based).
    - 400 {"errors": {key: [messages]}}: keys are the body's own paths: "requester.email",
      "works.1.description", "works.1.urls.0" (or "work", "urls.<index>" for a body without
      "works"), "urls" for the addresses as a whole, and "__all__" for the body itself (not JSON,
      not an object) or the request as a whole.
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
    refusal = _api_refusal(request)
    if refusal is not None:
        return refusal
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
            return _api_filed(receipt)
    errors = _api_errors(form, with_works="works" in payload)
    if "requester" in shape_errors:  # not an object: one error for it, not one per missing field
        errors = {key: value for key, value in errors.items() if not key.startswith("requester.")}
    if "works" in shape_errors:
        errors = {key: value for key, value in errors.items() if key not in ("work", "urls")}
    errors.update(shape_errors)  # a value of the wrong type is reported as such, not as "required"
    return JsonResponse({"errors": errors}, status=400, json_dumps_params={"ensure_ascii": False})


def _api_refusal(request):
    """The answer to a request the API refuses before reading its body (see api_takedown): a
    method but POST, another site's Origin, a body that is not JSON in UTF-8, too many requests
    from this client. None when it may go on (and it is then counted)."""
    if request.method != "POST":
        response = _api_error(405, _("Send the removal request with POST."))
        response["Allow"] = "POST"
        return response
    origin = request.headers.get("Origin")
    if origin is not None and not own_origin(request, origin):
        return _api_error(403, _("Requests from another site's pages are not accepted. Programs send no Origin."))
    charset = request.content_params.get("charset", "utf-8").lower()
    if request.content_type != "application/json" or charset not in {"utf-8", "utf8"}:
        return _api_error(415, _("Send the body as Content-Type: application/json (UTF-8)."))
    retry_after = ratelimit.hit(request, ratelimit.TAKEDOWN)
    if retry_after:
        response = _api_error(429, _rate_limit_message(retry_after))
        response["Retry-After"] = str(retry_after)
        return response
    return None


def _api_filed(receipt) -> JsonResponse:
    """201 with the reference, the one-time status link and each address's outcome."""
    items = receipt.request.items.select_related("snapshot", "work").order_by("position")
    response = JsonResponse(
        {
            "reference": receipt.request.reference,
            "status_url": emails.status_url(receipt.token),
            "items": [
                {"url": item.url, "work": item.work.position - 1, "outcome": _filed_outcome(item)} for item in items
            ],
        },
        status=201,
        json_dumps_params={"ensure_ascii": False},
    )
    return private_response(response)


def _filed_outcome(item: TakedownItem) -> str:
    """An item's outcome as the API answers a filing: "already_withheld" when another decision
    withholds its snapshot already (the request, if approved, adds a claim of its own)."""
    if item.outcome == TakedownItem.Outcome.PENDING and item.snapshot is not None and item.snapshot.withheld:
        return "already_withheld"
    return item.outcome


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
    works = payload.get("works")
    if works is None:
        _work_data(payload, 1, data, errors, ("work", "work_date", "urls"), "")
    elif not isinstance(works, list) or not works or not all(isinstance(work, dict) for work in works):
        errors["works"] = [_("Expected a list of works, each an object with its description, date and URLs.")]
        data["work"], data["urls"] = "", ""
    elif len(works) > settings.TAKEDOWN_MAX_WORKS:
        errors["works"] = [_("At most %(limit)d works per request.") % {"limit": settings.TAKEDOWN_MAX_WORKS}]
        data["work"], data["urls"] = "", ""
    else:
        for number, work in enumerate(works, start=1):
            _work_data(work, number, data, errors, ("description", "work_date", "urls"), f"works.{number - 1}.")
        data["works"] = str(len(works))
    return data, errors


def _work_data(source: dict, number: int, data: dict, errors: dict, names: tuple, path: str) -> None:
    """The form's fields of work `number` from its part of the body (`names`: its description, date
    and URLs as the body names them; `path`: where the body has them, for errors)."""
    suffix = "" if number == 1 else f"_{number}"
    for name, field in zip(names[:2], ("work", "work_date"), strict=True):
        value = source.get(name)
        if value is None:
            data[field + suffix] = ""
        elif _is_text(value):
            data[field + suffix] = value
        else:
            errors[path + name] = [_("Expected a string.")]
    urls = source.get(names[2])
    if urls is None:
        data["urls" + suffix] = ""
    elif not isinstance(urls, list):
        errors[path + "urls"] = [_("Expected a list of addresses.")]
    else:
        # One address per line, so that the form's line N is the list's index N-1; anything that is
        # not a single line of text is reported here and left blank there.
        lines = []
        for index, url in enumerate(urls):
            if not _is_text(url) or not url.strip() or "\n" in url or "\r" in url:
                errors[f"{path}urls.{index}"] = [_("Expected one address as a non-empty string.")]
                lines.append("")
            else:
                lines.append(url)
        data["urls" + suffix] = "\n".join(lines)


def _api_key(form: TakedownForm, name: str, with_works: bool) -> str:
    """The body's path of a form field: requester.<name>, works.<i>.<name>, or the name itself."""
    if name in API_FIELD_NAMES:
        return API_FIELD_NAMES[name]
    field, _sep, number = name.rpartition("_")
    if not number.isdigit():
        field, number = name, "1"
    if field in ("work", "work_date", "urls") and with_works:
        return f"works.{int(number) - 1}.{'description' if field == 'work' else field}"
    return name


def _api_errors(form: TakedownForm, *, with_works: bool = False) -> dict[str, list[str]]:
    """The form's errors keyed by the body's paths; an error about one address by its index in its
    work's list (or, without "works", in "urls")."""
    starts: dict[str, int] = {}  # the flat index of each work field's first address
    for index, (name, _line) in enumerate(form.url_lines):
        starts.setdefault(name, index)
    errors: dict[str, list[str]] = {}
    for name, field_errors in form.errors.as_data().items():
        for error in field_errors:
            if error.code == "url_line":
                field, index = form.url_lines[error.params["index"]][0], error.params["index"]
                key = f"{_api_key(form, field, with_works)}.{index - starts.get(field, 0)}"
                message = str(error.params["detail"])
            else:
                key, message = _api_key(form, name, with_works), " ".join(error.messages)
            errors.setdefault(key, []).append(message)
    return errors


# --- the requester's status page ---------------------------------------------------------------

STATUS_ACTIONS = {"answer": AnswerForm, "withdraw": WithdrawForm, "lawsuit": LawsuitForm, "appeal": AppealForm}


@require_http_methods(["GET", "HEAD", "POST"])
def takedown_status(request, token):
    """The requester's private page: state, dates, each URL's outcome, the statement of reasons,
    and the moves left to them (answer a question, withdraw, report a lawsuit, appeal). A source's
    link leads to its own page of the request (`source_status`)."""
    req = services.takedown_by_token(token) if len(token) <= MAX_TOKEN_LENGTH else None
    if req is None:
        notice = services.source_notice_by_token(token) if len(token) <= MAX_TOKEN_LENGTH else None
        if notice is None:
            raise Http404
        return source_status(request, token, notice)
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
    # The history as the requester sees it: what happened and when (the workflow table's words), not
    # who or with which note.
    events = list(req.events.order_by("created_at", "id").only("request_id", "action", "created_at"))
    decision = None
    for event in events:
        event.label = workflow.action(event.action).done
        event.automatic = workflow.action(event.action).automatic
        if event.action in emails.DECISIONS:
            decision = event
    moves = {action.name: action for action in workflow.moves(workflow.Subject.REQUEST, req.status, Actor.REQUESTER)}
    items = list(req.items.select_related("snapshot").order_by("position"))
    disputed = [item for item in items if item.claim == TakedownItem.Claim.DISPUTED]
    context = {
        "req": req,
        "state_label": selectors.STATES[req.status],
        "decision_label": selectors.OUTCOMES[selectors.decision_of(req, items)],
        "items": items,
        "events": events,
        "counter_notice_dates": list(
            CounterNotice.objects.filter(claims__request=req)
            .distinct()
            .order_by("received_at")
            .values_list("received_at", flat=True)
        ),
        "disputed": disputed,
        "unanswered": [item for item in disputed if item.lawsuit_reported_at is None],
        "moves": moves,
        "problem": problem,
        "contact": settings.MODERATION_CONTACT_EMAIL,
        "public_record_url": selectors.public_record_url(req.reference),
        "is_decided": req.status in TakedownRequest.DECIDED_STATUSES,
        # Who decided: a person, or an automatic step of the workflow table (said so, never hidden).
        "decided_automatically": bool(decision and decision.automatic),
        "automatic_steps": [event for event in events if event.automatic],
        **_appeal_context(req, Appeal.Party.REQUESTER),
        **{f"{action}_form": form for action, form in forms.items()},
    }
    return private_response(render(request, "moderation/takedownrequest_status.html", context, status=status))


def _appeal_context(req: TakedownRequest, party: str, source=None) -> dict:
    """What a status page says about appeals: the appellant's appeals and their outcomes, and
    whether (and until when) they may appeal now."""
    appeals = list(req.appeals.filter(party=party, source=source).order_by("filed_at", "pk"))
    actor = Actor.SOURCE if party == Appeal.Party.SOURCE else Actor.REQUESTER
    deadline = services.appeal_deadline(req)
    can_appeal = (
        any(move.name == "appeal" for move in workflow.moves(workflow.Subject.REQUEST, req.status, actor))
        and deadline is not None
        and timezone.now() <= deadline
        and not any(appeal.status == Appeal.Status.OPEN for appeal in appeals)
        and bool(services.appealable_items(req, party=party, source=source))
    )
    return {"appeals": appeals, "can_appeal": can_appeal, "appeal_deadline": deadline}


@require_http_methods(["GET", "HEAD", "POST"])
def source_status(request, token, notice):
    """A snapshot source's private page of a request against its snapshots (its link was emailed
    with the notice and the decision, 条例 art. 15): the notice without the requester's private
    data, the decision, the claims on its snapshots, how to counter-notice, and its appeal (DSA
    art. 20)."""
    req, source = notice.request, notice.source
    form, problem, status = AppealForm(prefix="appeal"), None, 200
    if request.method == "POST":
        if request.POST.get("action") != "appeal":
            problem, status = _("Unknown action."), 400
        else:
            form = AppealForm(request.POST, prefix="appeal")
            if form.is_valid():
                try:
                    services.appeal_file(
                        request_id=req.pk, party=Appeal.Party.SOURCE, source=source, reason=form.cleaned_data["reason"]
                    )
                except services.TransitionError as error:
                    problem, status = str(error), 409
                else:
                    messages.success(
                        request,
                        _("Your appeal was received. A moderator other than the one who decided will review it."),
                    )
                    return private_response(redirect(request.path))
            else:
                status = 400
    req.refresh_from_db()
    names = (req.name, req.signature)
    claims = list(req.items.filter(snapshot__source=source).select_related("snapshot").order_by("position"))
    for item in claims:
        item.counter_url = (
            f"{reverse('moderation:counter')}?{urlencode({'url': request.build_absolute_uri(item.snapshot.get_absolute_url())})}"
            if item.claim == TakedownItem.Claim.STANDING
            else ""
        )
    context = {
        "req": req,
        "source": source,
        "state_label": selectors.STATES[req.status],
        "claims": claims,
        "works": [(work.position, redact(work.description, names=names)) for work in req.works.order_by("position")],
        "reason": redact(req.decision_reason, names=names),
        "appeal_form": form,
        "problem": problem,
        "contact": settings.MODERATION_CONTACT_EMAIL,
        "public_record_url": selectors.public_record_url(req.reference),
        **_appeal_context(req, Appeal.Party.SOURCE, source),
    }
    return private_response(render(request, "moderation/takedownrequest_source.html", context, status=status))


def _status_action(req: TakedownRequest, action: str, data: dict) -> str:
    if action == "answer":
        services.takedown_answer(request_id=req.pk, answer=data["answer"])
        return _("Your answer was sent. The request is back in review.")
    if action == "withdraw":
        decided = req.status not in TakedownRequest.OPEN_STATUSES
        services.takedown_withdraw(request_id=req.pk, note=data["note"])
        if decided:
            return _("The request is withdrawn: it no longer withholds any snapshot.")
        return _("The request is withdrawn. It will not be decided.")
    if action == "appeal":
        services.appeal_file(request_id=req.pk, party=Appeal.Party.REQUESTER, reason=data["reason"])
        return _("Your appeal was received. A moderator other than the one who decided will review it.")
    services.takedown_report_lawsuit(request_id=req.pk, note=data["note"])
    return _("The lawsuit or complaint is recorded. The snapshots stay withheld until a moderator decides.")


# --- counter-notice ----------------------------------------------------------------------------


@require_http_methods(["GET", "HEAD", "POST"])
def counter_notice(request):
    """A counter-notice against the decisions that withhold the snapshots it names (pre-filled from
    `?url=`, linked from a 451 page): the claims on them become disputed, and each requester
    concerned gets a copy."""
    if request.method == "POST":
        retry_after = ratelimit.hit(request, ratelimit.COUNTER_NOTICE)
        if retry_after:
            return _rate_limited(request, retry_after)
        form = CounterNoticeForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                notice = services.counter_notice_submit(
                    snapshots=form.snapshots,
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
            except (services.TransitionError, services.SubmissionError) as error:
                form.add_error(None, str(error))
            else:
                claims = list(notice.claims.select_related("request", "snapshot").order_by("request_id", "position"))
                return render(
                    request,
                    "moderation/counternotice_received.html",
                    {
                        "notice": notice,
                        "snapshots": form.snapshots,
                        "references": sorted({item.request.reference for item in claims}),
                        "restored": all(item.claim != TakedownItem.Claim.DISPUTED for item in claims),
                        "days": settings.TAKEDOWN_RESTORE_AFTER_DAYS,
                    },
                )
        disputes, problem = form.disputes, None
    else:
        url = request.GET.get("url", "").strip()
        form = CounterNoticeForm(initial={"urls": url})
        disputes = [selectors.disputable(url)] if url else []
        problem = disputes[0].problem if disputes else None
    context = {
        "form": form,
        "disputes": [dispute for dispute in disputes if not dispute.problem],
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
        context["decisions"] = selectors.publish(context["decisions"])
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
            "monthly": _monthly(),
            "statements_json_url": reverse("moderation:statements_json"),
            "statements_csv_url": reverse("moderation:statements_csv"),
            "reference": self.reference,
            "decisions_json_url": reverse("moderation:decisions_json"),
            "contact": settings.MODERATION_CONTACT_EMAIL,
        }


transparency = require_http_methods(["GET", "HEAD"])(TransparencyView.as_view())


# How many months of decisions the transparency page shows (`transparency_report` gives any month).
MONTHLY_REPORT_MONTHS = 12


def _monthly() -> dict:
    """The monthly report of decisions (DSA art. 15) for the last twelve months, newest first."""
    today = timezone.localdate()
    since = today.replace(day=1)
    for _month in range(MONTHLY_REPORT_MONTHS - 1):
        since = (since - timedelta(days=1)).replace(day=1)
    months = selectors.monthly_report(since=since)[::-1]
    return {
        "grounds": [(key, label) for key, label in TakedownRequest.Ground.choices],
        "outcomes": [(key, label) for key, label in selectors.OUTCOMES.items() if key != "pending"],
        "rows": [
            {
                "label": month.month.strftime("%Y-%m"),
                "decided": month.decided,
                "by_person": month.by_person,
                "automatically": month.automatically,
                "grounds": [month.by_ground[key] for key, _label in TakedownRequest.Ground.choices],
                "outcomes": [month.by_outcome[key] for key in selectors.OUTCOMES if key != "pending"],
                "median": _duration(month.median),
                "p90": _duration(month.p90),
                "lapse_median": _duration(month.lapse_median),
            }
            for month in months
        ],
    }


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


def _json_pages(request, items, *, per_page: int, url_name: str, key: str, record, rows=iter) -> JsonResponse:
    """A public JSON list of `items`, `per_page` to a page (`?page=`), with the count and the
    addresses of the pages beside it; under `key`, each of a page's `rows(page)` as `record` makes it."""
    paginator = Paginator(items, per_page)
    try:
        page = paginator.page(request.GET.get("page") or 1)
    except InvalidPage:
        return _api_error(404, _("There is no such page."), key="page")

    def page_url(number: int | None) -> str | None:
        if number is None:
            return None
        return request.build_absolute_uri(f"{reverse(url_name)}?page={number}")

    return JsonResponse(
        {
            "count": paginator.count,
            "page": page.number,
            "pages": paginator.num_pages,
            "next": page_url(page.next_page_number() if page.has_next() else None),
            "previous": page_url(page.previous_page_number() if page.has_previous() else None),
            key: [record(row) for row in rows(page)],
        },
        json_dumps_params={"ensure_ascii": False, "indent": 1},
    )


@require_http_methods(["GET", "HEAD"])
def transparency_decisions(request):
    """`/transparency/decisions.json`: the public record of decided requests, newest decision first,
    500 to a page (`?page=`). No personal data: see `selectors`."""
    return _json_pages(
        request,
        selectors.public_decisions(),
        per_page=DECISIONS_JSON_PAGE_SIZE,
        url_name="moderation:decisions_json",
        key="decisions",
        rows=selectors.publish,
        record=lambda req: _decision_record(request, req),
    )


def _decision_record(request, req: TakedownRequest) -> dict:
    hide_titles = req.ground == TakedownRequest.Ground.PERSONALITY

    def in_archive(item) -> bool:  # a snapshot an editor hid is not in this archive, to the public
        return item.snapshot is not None and item.snapshot.editor_status == item.snapshot.EditorStatus.PUBLISHED

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
                "snapshot_key": item.snapshot.key if in_archive(item) else None,
                "title": item.snapshot.title if in_archive(item) and not hide_titles else None,
                "outcome": item.outcome,
                "claim": item.claim,
            }
            for item in req.items.all()
        ],
        "works": [
            {"description": work.description, "work_date": work.work_date.isoformat() if work.work_date else None}
            for work in req.public_works
        ],
        "statement_of_reasons": req.public_reason,
        "appeals": [
            {
                "by": appeal.party,
                "filed_at": timezone.localtime(appeal.filed_at).isoformat(),
                "outcome": appeal.status,
                "decided_at": timezone.localtime(appeal.decided_at).isoformat() if appeal.decided_at else None,
            }
            for appeal in req.public_appeals
        ],
        "counter_notices": [
            {"received_at": timezone.localtime(notice.received_at).isoformat(), "explanation": notice.explanation}
            for notice in req.public_counter_notices
        ],
        # Decided by an automatic step (a request closed for an unanswered question), and every
        # step the system took on it automatically.
        "automated": req.decided_automatically,
        "automated_steps": [
            {"action": step.action, "description": str(step.label), "at": timezone.localtime(step.at).isoformat()}
            for step in req.automatic_steps
        ],
    }


# --- statements of reasons (DSA art. 24(5)) ----------------------------------------------------


@require_http_methods(["GET", "HEAD"])
def transparency_statements_json(request):
    """`/transparency/statements.json`: a statement of reasons per withheld URL, in the EU DSA
    Transparency Database's field names and values (see `statements`), newest decision first, 500
    to a page (`?page=`)."""
    return _json_pages(
        request,
        statements.statement_items(),
        per_page=STATEMENTS_PAGE_SIZE,
        url_name="moderation:statements_json",
        key="statements",
        record=statements.statement,
    )


class _Echo:
    """A file for csv.writer that hands each line back instead of keeping it."""

    def write(self, value: str) -> str:
        return value


def _csv_value(value) -> str:
    # Lists as the database's own CSV exports write them, JSON arrays; nothing as an empty cell.
    if value is None:
        return ""
    if isinstance(value, list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


@require_http_methods(["GET", "HEAD"])
def transparency_statements_csv(request):
    """`/transparency/statements.csv`: every statement of reasons, one row each, the columns named
    as the DSA Transparency Database names its fields; streamed, so its size does not matter."""
    writer = csv.writer(_Echo())

    def rows():
        yield "\ufeff" + writer.writerow(statements.FIELDS)  # a BOM, so spreadsheets read UTF-8
        for item in statements.statement_items().iterator(chunk_size=STATEMENTS_PAGE_SIZE):
            record = statements.statement(item)
            yield writer.writerow([_csv_value(record[name]) for name in statements.FIELDS])

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="statements.csv"'
    return response

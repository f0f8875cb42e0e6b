"""The emails of the removal workflow, plain text from templates/moderation/email/. Each is stored
in the outbox and its delivery enqueued in the transaction of the transition it reports, so a
rolled-back transition sends nothing and a failing mail server loses nothing (outbox.services)."""

from django.conf import settings
from django.urls import reverse

from outbox.models import SECRET_PLACEHOLDER, Message
from outbox.services import compose, message_queue

from . import workflow
from .models import STANDING_CLAIMS, Appeal, ClaimState, CounterNotice, Requester, SourceNotice, TakedownRequest
from .redaction import redact

# The actions that decide a request.
DECISIONS = ("approve", "reject", "lapse")


def _queue(template: str, to: str, context: dict, *, reference: str, secret: str = "") -> Message:
    context = {"site_url": settings.SITE_URL, "contact": settings.MODERATION_CONTACT_EMAIL, **context}
    subject, body = compose(f"moderation/email/{template}", context)
    return message_queue(
        stream=Message.Stream.MODERATION,
        kind=template,
        to=to,
        subject=subject,
        body=body,
        secret=secret,
        reference=reference,
    )


def _request(request_id: int) -> TakedownRequest:
    return (
        TakedownRequest.objects.select_related("requester")
        .prefetch_related("items__snapshot", "works__items__snapshot")
        .get(pk=request_id)
    )


def status_url(token: str) -> str:
    return settings.SITE_URL + reverse("moderation:status", kwargs={"token": token})


def send_receipt(request_id: int, token: str) -> None:
    req = _request(request_id)
    _queue(
        "receipt",
        req.email,
        {"req": req, "status_url": SECRET_PLACEHOLDER},
        reference=req.reference,
        secret=status_url(token),
    )


def send_info_request(request_id: int) -> None:
    req = _request(request_id)
    _queue("info_request", req.email, {"req": req}, reference=req.reference)


def send_items_added(request_id: int, item_ids: list[int]) -> None:
    req = _request(request_id)
    added = [item for item in req.items.all() if item.pk in set(item_ids)]
    _queue("items_added", req.email, {"req": req, "added": added}, reference=req.reference)


def send_decision(request_id: int) -> None:
    req = _request(request_id)
    context = {
        "req": req,
        "transparency_url": settings.SITE_URL + reverse("moderation:transparency"),
        # Decided by an automatic step of the workflow table (a lapse), or by a person?
        "automated": workflow.action(
            req.events.filter(action__in=DECISIONS).latest("created_at", "id").action
        ).automatic,
    }
    _queue("decision", req.email, context, reference=req.reference)


def send_counter_notice(request_id: int, notice_id: int) -> None:
    """To the requester whose claims a counter-notice disputes: a copy of it, the snapshots it
    disputes of theirs and when those claims lapse unless they report a lawsuit."""
    req = _request(request_id)
    notice = CounterNotice.objects.prefetch_related("snapshots").get(pk=notice_id)
    claims = list(req.items.filter(counter_notices=notice).select_related("snapshot").order_by("position"))
    _queue(
        "counter_notice",
        req.email,
        {"req": req, "notice": notice, "claims": claims, "status_note": True},
        reference=req.reference,
    )


def send_dispute_outcome(request_id: int, claim_ids: list[int]) -> None:
    """The end of a dispute over `claim_ids` of a request: to its requester and to everyone whose
    counter-notice disputed them."""
    req = _request(request_id)
    claims = list(req.items.filter(pk__in=claim_ids).select_related("snapshot").order_by("position"))
    event = req.events.order_by("-created_at", "-id").first()
    move = workflow.action(event.action)
    context = {"req": req, "claims": claims, "event": event, "automated": move.done if move.automatic else ""}
    _queue("dispute_outcome", req.email, context, reference=req.reference)
    notifiers = CounterNotice.objects.filter(claims__in=claim_ids).distinct().order_by("pk")
    for notice in notifiers:
        _queue("dispute_outcome", notice.email, {**context, "to_counter_notifier": True}, reference=req.reference)


def send_abuse_notice(requester_id: int, measure: str) -> None:
    requester = Requester.objects.get(pk=requester_id)
    _queue("abuse", requester.email, {"requester": requester, "measure": measure}, reference=requester.email)


def send_taken_effect(request_id: int, claim_ids: list[int]) -> None:
    """The changes window ended and the withholding took effect, automatically: to the requester
    and to each source told of the request."""
    req = _request(request_id)
    claims = list(req.items.filter(pk__in=claim_ids).select_related("snapshot").order_by("position"))
    move = workflow.action("take_effect")
    context = {"req": req, "claims": claims, "automated": move.done}
    _queue("taken_effect", req.email, context, reference=req.reference)
    for notice in req.source_notices.select_related("source").order_by("pk"):
        mine = [item for item in claims if item.snapshot.source_id == notice.source_id]
        if mine:
            _queue(
                "taken_effect", notice.email, {**context, "claims": mine, "to_source": True}, reference=req.reference
            )


def _private_names(req: TakedownRequest) -> tuple[str, str]:
    return (req.name, req.signature)


def send_source_notice(notice_id: int, token: str) -> None:
    """To the source of withheld snapshots: the notice without the requester's private data (their
    name, email, phone and address are left out, and taken out of the texts), the decision, when
    the withholding takes effect, how to counter-notice and the link to appeal."""
    notice = SourceNotice.objects.select_related("request", "source").get(pk=notice_id)
    req = notice.request
    names = _private_names(req)
    claims = list(
        req.items.filter(snapshot__source=notice.source, claim__in=(*STANDING_CLAIMS, ClaimState.SCHEDULED))
        .select_related("snapshot")
        .order_by("position")
    )
    context = {
        "req": req,
        "source": notice.source,
        "claims": claims,
        "works": [(work.position, redact(work.description, names=names)) for work in req.works.order_by("position")],
        "explanation": redact(req.explanation, names=names),
        "reason": redact(req.decision_reason, names=names),
        "counter_url": settings.SITE_URL + reverse("moderation:counter"),
        "status_url": SECRET_PLACEHOLDER,
    }
    _queue("source_notice", notice.email, context, reference=req.reference, secret=status_url(token))


def _appellant_email(appeal: Appeal) -> str:
    if appeal.party == Appeal.Party.REQUESTER:
        return appeal.request.email
    notice = appeal.request.source_notices.filter(source=appeal.source).first()
    return notice.email if notice else appeal.source.contact_email


def send_appeal_received(appeal_id: int) -> None:
    appeal = Appeal.objects.select_related("request", "source").get(pk=appeal_id)
    to = _appellant_email(appeal)
    if to:
        _queue("appeal_received", to, {"req": appeal.request, "appeal": appeal}, reference=appeal.request.reference)


def send_appeal_outcome(appeal_id: int) -> None:
    """To the appellant and, when a source's appeal decided the fate of the requester's claims, to
    the requester: the outcome and its reasons."""
    appeal = Appeal.objects.select_related("request", "source").get(pk=appeal_id)
    req = appeal.request
    context = {
        "req": req,
        "appeal": appeal,
        "items": list(appeal.items.select_related("snapshot").order_by("position")),
        "reason": redact(appeal.decision_reason, names=_private_names(req)),
    }
    recipients = [_appellant_email(appeal)]
    if appeal.party == Appeal.Party.SOURCE:
        recipients.append(req.email)
    for to in dict.fromkeys(filter(None, recipients)):
        _queue("appeal_outcome", to, {**context, "to_requester": to == req.email}, reference=req.reference)

"""The emails of the removal workflow, plain text from templates/moderation/email/. Each is stored
in the outbox and its delivery enqueued in the transaction of the transition it reports, so a
rolled-back transition sends nothing and a failing mail server loses nothing (outbox.services)."""

from django.conf import settings
from django.urls import reverse

from outbox.models import SECRET_PLACEHOLDER, Message
from outbox.services import compose, message_queue

from .models import Requester, TakedownRequest


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
        .prefetch_related("items__snapshot", "items__withheld_by")
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
        "automated": req.events.filter(action="lapse").exists(),
    }
    _queue("decision", req.email, context, reference=req.reference)


def send_counter_notice(request_id: int) -> None:
    req = TakedownRequest.objects.prefetch_related("counter_notices__snapshot").get(pk=request_id)
    notice = req.counter_notices.order_by("-received_at").first()
    _queue("counter_notice", req.email, {"req": req, "notice": notice}, reference=req.reference)


def send_dispute_outcome(request_id: int) -> None:
    req = _request(request_id)
    _queue("dispute_outcome", req.email, {"req": req}, reference=req.reference)
    for notice in req.counter_notices.all():
        _queue("dispute_outcome", notice.email, {"req": req, "to_counter_notifier": True}, reference=req.reference)


def send_abuse_notice(requester_id: int, measure: str) -> None:
    requester = Requester.objects.get(pk=requester_id)
    _queue("abuse", requester.email, {"requester": requester, "measure": measure}, reference=requester.email)

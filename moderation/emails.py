"""The emails of the removal workflow. Services queue them with `transaction.on_commit`, so a
rolled-back transition sends nothing. Each is plain text rendered from templates/moderation/email/."""

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from .models import Requester, TakedownRequest


def _send(template: str, to: str, context: dict) -> None:
    # Mail goes out in the site's language, whatever the request that triggered it used.
    with translation.override(settings.LANGUAGE_CODE):
        context = {"site_url": settings.SITE_URL, "contact": settings.MODERATION_CONTACT_EMAIL, **context}
        subject = " ".join(render_to_string(f"moderation/email/{template}_subject.txt", context).split())
        body = render_to_string(f"moderation/email/{template}.txt", context)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [to])


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
    _send("receipt", req.email, {"req": req, "status_url": status_url(token)})


def send_info_request(request_id: int) -> None:
    req = _request(request_id)
    _send("info_request", req.email, {"req": req})


def send_decision(request_id: int) -> None:
    req = _request(request_id)
    context = {
        "req": req,
        "transparency_url": settings.SITE_URL + reverse("moderation:transparency"),
        "automated": req.events.filter(action="lapse").exists(),
    }
    _send("decision", req.email, context)


def send_counter_notice(request_id: int) -> None:
    req = TakedownRequest.objects.prefetch_related("counter_notices__snapshot").get(pk=request_id)
    notice = req.counter_notices.order_by("-received_at").first()
    _send("counter_notice", req.email, {"req": req, "notice": notice})


def send_dispute_outcome(request_id: int) -> None:
    req = _request(request_id)
    _send("dispute_outcome", req.email, {"req": req})
    for notice in req.counter_notices.all():
        _send("dispute_outcome", notice.email, {"req": req, "to_counter_notifier": True})


def send_abuse_notice(requester_id: int, measure: str) -> None:
    requester = Requester.objects.get(pk=requester_id)
    _send("abuse", requester.email, {"requester": requester, "measure": measure})

"""The one module of helpers for the removal workflow's tests.

Requests are built the way the site builds them: filed through `services.takedown_submit` and
moved on through the other services, never written by hand. Below those: what a requester types
into the public form or sends to the API, and how a public page reads."""

import contextlib
import itertools
import re
import tempfile
from html.parser import HTMLParser
from unittest import mock

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase
from django.utils import translation

from articles.models import Snapshot
from articles.tests.helpers import make_editor, make_snapshot, make_superuser  # noqa: F401 - re-exported for the tests
from moderation import services
from moderation.models import (
    Appeal,
    CounterNotice,
    EvidenceFile,
    ModerationEvent,
    Requester,
    TakedownItem,
    TakedownRequest,
)
from moderation.storage import PrivateStorage
from newsarchive.testing import clear_caches, run_tasks

_counter = itertools.count(1)

Status = TakedownRequest.Status


def snapshot_url(snapshot: Snapshot) -> str:
    """The public address of a snapshot page, as a requester copies it from the browser."""
    return settings.SITE_URL + snapshot.get_absolute_url()


def make_moderator(username: str | None = None) -> User:
    """A staff user whose only permissions come from the Moderators group the migrations create."""
    username = username or f"moderator{next(_counter)}"
    user = User.objects.create_user(username, f"{username}@example.org", password=None, is_staff=True)
    user.groups.add(Group.objects.get(name="Moderators"))
    return user


def make_staff(username: str = "staff") -> User:
    """A staff user with no permissions at all."""
    return User.objects.create_user(username, f"{username}@example.org", password=None, is_staff=True)


@contextlib.contextmanager
def temporary_evidence_storage():
    """Evidence files saved inside go to a throwaway directory, not to EVIDENCE_ROOT. Overriding
    STORAGES is not enough: the FileField called its storage callable once, when models loaded."""
    with tempfile.TemporaryDirectory(prefix="newsarchive-evidence-") as location:
        with mock.patch.object(EvidenceFile._meta.get_field("file"), "storage", PrivateStorage(location=location)):
            yield location


def make_evidence_upload(name: str = "证书.pdf", content: bytes = b"%PDF-1.4 proof of rights") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def make_submission(*snapshots: Snapshot, **fields) -> services.Submission:
    """A complete, valid removal request for `snapshots` (or for the raw `urls=[...]` given)."""
    n = next(_counter)
    fields.setdefault("name", "张三")
    fields.setdefault("organisation", "人民资讯版权部")
    fields.setdefault("role", TakedownRequest.Role.RIGHTS_HOLDER)
    fields.setdefault("email", "rights@example.org")
    fields.setdefault("phone", "+86 10 1234 5678")
    fields.setdefault("address", "北京市朝阳区某路 1 号")
    fields.setdefault("work", f"原创报道第 {n} 篇")
    fields.setdefault("work_date", None)
    fields.setdefault("explanation", "该快照全文转载了我方享有著作权的报道。")
    fields.setdefault("evidence", "原文由我方记者撰写并首发。")
    fields.setdefault("good_faith", True)
    fields.setdefault("accurate_and_authorised", True)
    fields.setdefault("signature", "张三")
    urls = fields.pop("urls", [snapshot_url(s) for s in snapshots])
    work, work_date = fields.pop("work"), fields.pop("work_date")
    fields.setdefault("works", [services.SubmittedWork(description=work, work_date=work_date, urls=urls)])
    return services.Submission(**fields)


def submit(*snapshots: Snapshot, **fields) -> services.Receipt:
    """File a removal request for `snapshots` through the service, as the form does."""
    return services.takedown_submit(submission=make_submission(*snapshots, **fields))


def make_counter_notice(*snapshots: Snapshot, **fields) -> CounterNotice:
    """A complete counter-notice against the decisions that withhold `snapshots`."""
    fields.setdefault("name", "李四")
    fields.setdefault("email", "uploader@example.net")
    fields.setdefault("phone", "+86 21 8765 4321")
    fields.setdefault("address", "上海市黄浦区某街 2 号")
    fields.setdefault("explanation", "该报道是公开的政府新闻稿，不构成侵权。")
    fields.setdefault("good_faith", True)
    fields.setdefault("consent_to_jurisdiction", True)
    fields.setdefault("signature", "李四")
    return services.counter_notice_submit(snapshots=list(snapshots), **fields)


def make_request(
    *snapshots: Snapshot, status: str = Status.SUBMITTED, moderator: User | None = None, **fields
) -> TakedownRequest:
    """A removal request for `snapshots` (a fresh snapshot when none is given), filed and moved
    through the services into `status`; the moderators' moves are made by `moderator`."""
    if not snapshots:
        snapshots = (make_snapshot(),)
    req = services.takedown_submit(submission=make_submission(*snapshots, **fields)).request
    if status != Status.SUBMITTED:
        _move_to(req, status, moderator or make_moderator())
    settle_mail()
    return TakedownRequest.objects.get(pk=req.pk)


def settle_mail() -> None:
    """Send what is queued and set it aside: the mail of a test's set-up is not what it checks."""
    run_tasks()
    mail.outbox.clear()


def _move_to(req: TakedownRequest, status: str, moderator: User) -> None:
    if status == Status.WITHDRAWN:
        services.takedown_withdraw(request_id=req.pk)
        return
    services.takedown_review(request_id=req.pk, moderator=moderator)
    if status == Status.INFO_REQUESTED:
        services.takedown_ask(request_id=req.pk, moderator=moderator, question="请提供著作权登记证书。")
    elif status == Status.REJECTED:
        services.takedown_reject(request_id=req.pk, moderator=moderator, reason="证据不足。")
    elif status == Status.REVERSED:
        # Approved, then reversed on the appeal of the snapshots' source by another moderator.
        services.takedown_approve(request_id=req.pk, moderator=moderator, reason="权利证明充分。")
        snapshot = req.items.filter(outcome=TakedownItem.Outcome.ACTIONED).select_related("snapshot").first().snapshot
        appeal = services.appeal_file(
            request_id=req.pk, party=Appeal.Party.SOURCE, source=snapshot.source, reason="该报道系本社原创。"
        )
        services.appeal_reverse(appeal_id=appeal.pk, moderator=make_moderator(), reason="来源方证明了权利。")
    elif status in (Status.APPROVED, Status.DISPUTED, Status.RESTORED):
        services.takedown_approve(request_id=req.pk, moderator=moderator, reason="权利证明充分。")
        if status != Status.APPROVED:
            item = req.items.filter(outcome=TakedownItem.Outcome.ACTIONED).select_related("snapshot").first()
            make_counter_notice(item.snapshot)
        if status == Status.RESTORED:
            services.takedown_restore(request_id=req.pk, moderator=moderator, reason="反通知理由成立。")
    elif status != Status.IN_REVIEW:
        raise ValueError(f"make_request cannot reach {status!r}")


def state_of(req: TakedownRequest) -> dict:
    """Everything a transition on `req` could change, to compare before and after a refused move."""
    return {
        "request": TakedownRequest.objects.filter(pk=req.pk).values().get(),
        "items": list(TakedownItem.objects.filter(request=req).order_by("pk").values()),
        "events": list(ModerationEvent.objects.order_by("pk").values_list("pk", flat=True)),
        "counter_notices": list(CounterNotice.objects.order_by("pk").values_list("pk", flat=True)),
        "snapshots": list(Snapshot.objects.order_by("pk").values_list("pk", "status", "updated_at")),
        "requesters": list(Requester.objects.order_by("pk").values()),
    }


# --- the public pages and the API ------------------------------------------------------------------

EN = {"Accept-Language": "en"}
ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}

PNG_BYTES = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
JPEG_BYTES = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
PDF_BYTES = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"

# Every element of a complete request, by form field, with the message naming it when it is missing.
REQUIRED = {
    "name": "Give your full name.",
    "role": "Say whether you are the rights holder or an agent.",
    "email": "Give an email address: the receipt and the decision are sent there.",
    "phone": "Give a phone number.",
    "address": "Give your postal address.",
    "work": "Describe the work whose rights you hold.",
    "urls": "List at least one snapshot address.",
    "explanation": "Explain why the snapshots infringe your rights.",
    "evidence": "Give preliminary proof of your rights.",
    "good_faith": "Confirm the good-faith statement.",
    "accurate_and_authorised": "Confirm the statement of accuracy and authority.",
    "signature": "Sign the notice by typing your full name.",
}


def form_data(*snapshots: Snapshot, **overrides) -> dict:
    """What a requester types into /takedown/new/ for a complete request for `snapshots`."""
    n = next(_counter)
    data = {
        "name": "王五",
        "organisation": "新华网版权中心",
        "role": "rights_holder",
        "email": f"copyright{n}@example.org",
        "phone": "+86 10 6307 1234",
        "address": "北京市西城区宣武门西大街 57 号",
        "work": f"原创报道第 {n} 篇",
        "work_date": "2023-09-14",
        "urls": "\n".join(snapshot_url(s) for s in snapshots),
        "explanation": "该快照全文转载了我方享有著作权的报道。",
        "evidence": "原文由我方记者撰写并于 2023-09-14 首发。",
        "good_faith": "on",
        "accurate_and_authorised": "on",
        "signature": "王五",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def api_body(*snapshots: Snapshot, requester: dict | None = None, **overrides) -> dict:
    """A complete JSON body for POST /api/takedown/."""
    n = next(_counter)
    body = {
        "requester": {
            "name": "赵六",
            "organisation": "澎湃新闻法务部",
            "role": "agent",
            "email": f"legal{n}@example.org",
            "phone": "+86 21 6000 0000",
            "address": "上海市静安区某路 8 号",
            **(requester or {}),
        },
        "work": f"深度报道第 {n} 篇",
        "work_date": "2023-09-14",
        "urls": [snapshot_url(s) for s in snapshots],
        "explanation": "快照转载了我方报道全文。",
        "evidence": "我方为该报道的著作权人,首发于澎湃新闻。",
        "good_faith": True,
        "accurate_and_authorised": True,
        "signature": "赵六",
    }
    body.update(overrides)
    return body


class PublicPageTestCase(TestCase):
    """Every test starts with an empty cache, so that the rate limit counts its own requests only,
    and ends with no language active: a request's Accept-Language stays active in the thread after
    the response, and would otherwise decide the language of the next test's messages."""

    def setUp(self):
        super().setUp()
        clear_caches()
        self.addCleanup(clear_caches)
        self.addCleanup(translation.deactivate)


class _Fields(HTMLParser):
    """The `div.field` blocks of a page by field name, and the error summary's links."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.values: dict[str, str] = {}
        self.checked: set[str] = set()
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "input" and attrs.get("name"):
            if attrs.get("type") in ("checkbox", "radio"):
                if "checked" in attrs:
                    self.checked.add(f"{attrs['name']}={attrs.get('value', 'on')}")
            elif attrs.get("type") != "hidden" or attrs["name"] == "action":
                self.values[attrs["name"]] = attrs.get("value", "")
        elif tag == "textarea":
            self._textarea = attrs.get("name")
            self.values[self._textarea] = ""

    def handle_endtag(self, tag):
        if tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self.values[self._textarea] += data


def form_values(html: str) -> tuple[dict[str, str], set[str]]:
    """The values a page's form fields hold (textareas without Django's leading newline), and the
    checked boxes as "name=value"."""
    parser = _Fields()
    parser.feed(html)
    return {k: v.removeprefix("\n") for k, v in parser.values.items()}, parser.checked


def field_block(html: str, name: str) -> str:
    """The markup of one field's block (label, help, errors and input)."""
    match = re.search(rf'<div class="field[^"]*" id="field-{re.escape(name)}">(.*?)\n</div>', html, re.S)
    assert match, f"no field block for {name!r}"
    return match.group(1)


def error_summary(html: str) -> str:
    match = re.search(r'<div class="error-summary".*?</div>', html, re.S)
    assert match, "no error summary"
    return match.group(0)


def status_path(status_url: str) -> str:
    """The path of a status URL (which is absolute, under SITE_URL)."""
    match = re.search(r"/takedown/status/[^/]+/", status_url)
    assert match, status_url
    return match.group(0)

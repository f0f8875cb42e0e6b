"""Plain helpers that build removal-workflow test data the way the site does: requests are filed
through `services.takedown_submit` and moved on through the other services, never written by hand."""

import contextlib
import itertools
import tempfile
from unittest import mock

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadedfile import SimpleUploadedFile

from articles.models import Snapshot
from articles.tests.helpers import make_editor, make_snapshot, make_superuser
from moderation import services
from moderation.models import EvidenceFile, TakedownItem, TakedownRequest

__all__ = [
    "make_counter_notice",
    "make_editor",
    "make_evidence_upload",
    "make_moderator",
    "make_request",
    "make_snapshot",
    "make_staff",
    "make_submission",
    "make_superuser",
    "snapshot_url",
    "temporary_evidence_storage",
]

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
        with mock.patch.object(EvidenceFile._meta.get_field("file"), "storage", FileSystemStorage(location=location)):
            yield location


def make_evidence_upload(name: str = "证书.pdf", content: bytes = b"%PDF-1.4 proof of rights") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def make_submission(*snapshots: Snapshot, **fields) -> services.Submission:
    """A complete, valid removal request for `snapshots`."""
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
    fields.setdefault("urls", [snapshot_url(s) for s in snapshots])
    return services.Submission(**fields)


def make_counter_notice(snapshot: Snapshot, **fields) -> TakedownRequest:
    """A complete counter-notice against the decision that withholds `snapshot`."""
    fields.setdefault("name", "李四")
    fields.setdefault("email", "uploader@example.net")
    fields.setdefault("phone", "+86 21 8765 4321")
    fields.setdefault("address", "上海市黄浦区某街 2 号")
    fields.setdefault("explanation", "该报道是公开的政府新闻稿，不构成侵权。")
    fields.setdefault("good_faith", True)
    fields.setdefault("consent_to_jurisdiction", True)
    fields.setdefault("signature", "李四")
    return services.counter_notice_submit(snapshot=snapshot, **fields)


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
    return TakedownRequest.objects.get(pk=req.pk)


def _move_to(req: TakedownRequest, status: str, moderator: User) -> None:
    if status == Status.WITHDRAWN:
        services.takedown_withdraw(request_id=req.pk)
        return
    services.takedown_review(request_id=req.pk, moderator=moderator)
    if status == Status.INFO_REQUESTED:
        services.takedown_ask(request_id=req.pk, moderator=moderator, question="请提供著作权登记证书。")
    elif status == Status.REJECTED:
        services.takedown_reject(request_id=req.pk, moderator=moderator, reason="证据不足。")
    elif status in (Status.APPROVED, Status.DISPUTED, Status.RESTORED):
        services.takedown_approve(request_id=req.pk, moderator=moderator, reason="权利证明充分。")
        if status != Status.APPROVED:
            item = req.items.filter(outcome=TakedownItem.Outcome.ACTIONED).select_related("snapshot").first()
            make_counter_notice(item.snapshot)
        if status == Status.RESTORED:
            services.takedown_restore(request_id=req.pk, moderator=moderator, reason="反通知理由成立。")
    elif status != Status.IN_REVIEW:
        raise ValueError(f"make_request cannot reach {status!r}")

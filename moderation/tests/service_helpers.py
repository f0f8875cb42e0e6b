"""Plain helpers for the removal workflow's service tests. Requests are built the way the form and
the API build them, through `services.takedown_submit`, and moved on through the services."""

import itertools

from django.conf import settings
from django.contrib.auth.models import Group, User

from articles.models import Snapshot
from articles.tests.helpers import make_editor, make_snapshot
from moderation import services
from moderation.models import CounterNotice, ModerationEvent, Requester, TakedownItem, TakedownRequest

__all__ = [
    "counter_notice",
    "make_editor",
    "make_moderator",
    "make_request",
    "make_snapshot",
    "make_submission",
    "snapshot_url",
    "state_of",
    "submit",
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


def make_submission(*snapshots: Snapshot, urls: list[str] | None = None, **fields) -> services.Submission:
    """A complete, valid removal request for `snapshots` (or for the raw `urls`)."""
    fields.setdefault("name", "张三")
    fields.setdefault("organisation", "人民资讯版权部")
    fields.setdefault("role", TakedownRequest.Role.RIGHTS_HOLDER)
    fields.setdefault("email", "rights@example.org")
    fields.setdefault("phone", "+86 10 1234 5678")
    fields.setdefault("address", "北京市朝阳区某路 1 号")
    fields.setdefault("work", "《鲁西新区以环境之优谋发展之势》原创报道")
    fields.setdefault("work_date", None)
    fields.setdefault("explanation", "该快照全文转载了我方享有著作权的报道。")
    fields.setdefault("evidence", "原文发表于 2023-09-14,作者为我方员工。")
    fields.setdefault("good_faith", True)
    fields.setdefault("accurate_and_authorised", True)
    fields.setdefault("signature", "张三")
    if urls is None:
        urls = [snapshot_url(s) for s in snapshots]
    return services.Submission(urls=urls, **fields)


def submit(*snapshots: Snapshot, **fields) -> services.Receipt:
    """File a removal request for `snapshots` through the service, as the form does."""
    return services.takedown_submit(submission=make_submission(*snapshots, **fields))


def counter_notice(snapshot: Snapshot, **fields) -> TakedownRequest:
    """Send a complete counter-notice against the decision that withholds `snapshot`."""
    fields.setdefault("name", "李四")
    fields.setdefault("email", "uploader@example.net")
    fields.setdefault("phone", "+86 21 8765 4321")
    fields.setdefault("address", "上海市黄浦区某街 2 号")
    fields.setdefault("explanation", "该报道是公开的政府新闻稿,不构成侵权。")
    fields.setdefault("good_faith", True)
    fields.setdefault("consent_to_jurisdiction", True)
    fields.setdefault("signature", "李四")
    return services.counter_notice_submit(snapshot=snapshot, **fields)


def make_request(
    *snapshots: Snapshot, status: str = Status.SUBMITTED, moderator: User | None = None, **fields
) -> TakedownRequest:
    """A removal request for `snapshots` (a fresh snapshot when none is given), moved through the
    services into `status`. The moves after review are made by `moderator` (a new one if None)."""
    if not snapshots:
        snapshots = (make_snapshot(),)
    req = submit(*snapshots, **fields).request
    if status == Status.SUBMITTED:
        return req
    if status == Status.WITHDRAWN:
        return services.takedown_withdraw(request_id=req.pk)
    moderator = moderator or make_moderator()
    services.takedown_review(request_id=req.pk, moderator=moderator)
    if status == Status.IN_REVIEW:
        return _fresh(req)
    if status == Status.INFO_REQUESTED:
        return services.takedown_ask(request_id=req.pk, moderator=moderator, question="请提供著作权登记证书。")
    if status == Status.REJECTED:
        return services.takedown_reject(request_id=req.pk, moderator=moderator, reason="证据不足。")
    services.takedown_approve(request_id=req.pk, moderator=moderator, reason="权利证明充分。")
    if status == Status.APPROVED:
        return _fresh(req)
    withheld = next(
        i.snapshot for i in req.items.select_related("snapshot") if i.outcome == TakedownItem.Outcome.ACTIONED
    )
    counter_notice(withheld)
    if status == Status.DISPUTED:
        return _fresh(req)
    if status == Status.RESTORED:
        return services.takedown_restore(request_id=req.pk, moderator=moderator, reason="反通知理由成立。")
    raise ValueError(f"make_request cannot reach {status!r}")


def _fresh(req: TakedownRequest) -> TakedownRequest:
    return TakedownRequest.objects.get(pk=req.pk)


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

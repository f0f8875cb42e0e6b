"""Captures over time: every differing capture kept, the newest shown (or the pinned one), listed and
compared on /detail/<key>/captures/, governed by the snapshot's state."""

from datetime import datetime, timedelta

import pytest
from django.test import Client

from articles import services
from articles.importing import Origin, build_capture
from articles.models import SHANGHAI, Snapshot, SnapshotCapture

from .helpers import make_editor, make_superuser, status_fields
from .query_counts import PAGE_CACHE_CHECK, RENDER

pytestmark = pytest.mark.django_db

URL = "http://news.example.cn/2024/0101/a.html"
FIRST = datetime(2024, 1, 1, 12, 0, tzinfo=SHANGHAI)


def capture_of(body: list[str], *, at: datetime, title="鲁西新区项目落地"):
    return build_capture(
        Origin("test", 1),
        {
            "url": URL,
            "title": title,
            "category": "财经",
            "source": "人民资讯",
            "published_at": "2024-01-01T08:00:00+08:00",
            "captured_at": at.isoformat(),
            "collected_by": "test.crawler",
            "body_html": "".join(f"<p>{p}</p>" for p in body),
        },
    )


def load(*captures):
    return services.snapshots_import(records=list(captures), batch_size=1)


BODY = ["第一段。", "第二段。", "第三段。"]


def test_a_capture_that_says_something_new_is_kept_and_shown_and_the_old_one_stays():
    load(capture_of(BODY, at=FIRST))
    stats = load(capture_of(["第一段。", "第二段改了。", "第三段。", "新加的一段。"], at=FIRST + timedelta(days=1)))

    assert (stats.new, stats.updated) == (0, 1)
    snapshot = Snapshot.objects.get()
    assert snapshot.capture_count == 2
    assert "第二段改了" in snapshot.body and snapshot.captured_at == FIRST + timedelta(days=1)
    versions = list(SnapshotCapture.objects.order_by("captured_at").values_list("captured_at", "body"))
    assert versions[0] == (FIRST, "<p>第一段。</p><p>第二段。</p><p>第三段。</p>")
    assert len(versions) == 2


def test_the_same_content_captured_again_later_stores_nothing_and_refreshes_nothing():
    load(capture_of(BODY, at=FIRST))
    stats = load(capture_of(BODY, at=FIRST + timedelta(days=3)))

    assert (stats.updated, stats.unchanged) == (0, 1)
    snapshot = Snapshot.objects.get()
    assert snapshot.captured_at == FIRST and snapshot.capture_count == 1
    assert not SnapshotCapture.objects.exists()


def test_an_older_capture_arriving_late_is_kept_but_the_newest_stays_shown():
    load(capture_of(BODY, at=FIRST))
    load(capture_of(["更早的版本。"], at=FIRST - timedelta(days=1)))

    snapshot = Snapshot.objects.get()
    assert snapshot.capture_count == 2 and snapshot.captured_at == FIRST and "更早" not in snapshot.body


def test_a_pinned_capture_stays_shown_when_newer_ones_arrive_until_unpinned():
    load(capture_of(BODY, at=FIRST), capture_of(["第二版。"], at=FIRST + timedelta(days=1)))
    snapshot = Snapshot.objects.get()
    first = SnapshotCapture.objects.get(captured_at=FIRST)
    editor = make_superuser()

    services.snapshot_pin_capture(snapshot_id=snapshot.pk, capture_id=first.pk, actor=editor)
    load(capture_of(["第三版。"], at=FIRST + timedelta(days=2)))

    snapshot.refresh_from_db()
    assert snapshot.capture_count == 3 and snapshot.body == first.body and snapshot.pinned_capture == first
    assert snapshot.history.latest().history_user == editor

    services.snapshot_pin_capture(snapshot_id=snapshot.pk, capture_id=None, actor=editor)
    snapshot.refresh_from_db()
    assert snapshot.body == "<p>第三版。</p>" and snapshot.pinned_capture is None


def test_an_editor_pins_a_capture_in_the_admin():
    load(capture_of(BODY, at=FIRST), capture_of(["第二版。"], at=FIRST + timedelta(days=1)))
    snapshot = Snapshot.objects.get()
    first = SnapshotCapture.objects.get(captured_at=FIRST)
    client = Client()
    client.force_login(make_superuser())

    page = client.get(f"/admin/articles/snapshot/{snapshot.pk}/captures/")
    assert page.status_code == 200 and page.context["shown"].captured_at == FIRST + timedelta(days=1)
    response = client.post(f"/admin/articles/snapshot/{snapshot.pk}/captures/", {"capture": first.pk})

    assert response.status_code == 302
    snapshot.refresh_from_db()
    assert snapshot.pinned_capture == first and snapshot.body == first.body
    assert client.post(f"/admin/articles/snapshot/{snapshot.pk}/captures/", {"capture": "x"}).status_code == 302


def test_a_moderator_sees_the_captures_but_cannot_pin_one_and_an_editor_can():
    from moderation.tests.helpers import make_moderator

    load(capture_of(BODY, at=FIRST), capture_of(["第二版。"], at=FIRST + timedelta(days=1)))
    snapshot = Snapshot.objects.get()
    first = SnapshotCapture.objects.get(captured_at=FIRST)
    url = f"/admin/articles/snapshot/{snapshot.pk}/captures/"
    moderator, editor = Client(), Client()
    moderator.force_login(make_moderator())
    editor.force_login(make_editor())

    page = moderator.get(url)
    assert page.status_code == 200 and not page.context["can_change"]
    assert moderator.post(url, {"capture": first.pk}).status_code == 403
    snapshot.refresh_from_db()
    assert snapshot.pinned_capture is None and snapshot.body == "<p>第二版。</p>"

    assert editor.post(url, {"capture": first.pk}).status_code == 302
    snapshot.refresh_from_db()
    assert snapshot.pinned_capture == first


# --- reader pages -----------------------------------------------------------------------------------


def two_captures():
    load(
        capture_of(BODY, at=FIRST),
        capture_of(["第一段。", "第二段改了。", "新加的一段。"], at=FIRST + timedelta(days=1), title="新标题"),
    )
    return Snapshot.objects.get()


def test_the_snapshot_page_says_how_many_captures_and_links_to_them(client):
    snapshot = two_captures()
    page = client.get(snapshot.get_absolute_url()).content.decode()
    assert f'href="/detail/{snapshot.key}/captures/"' in page
    assert "2 次快照" in page


def test_the_captures_page_lists_every_capture_with_its_time(client):
    snapshot = two_captures()
    with_page_cache = PAGE_CACHE_CHECK + RENDER["captures"]
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        page = client.get(f"/detail/{snapshot.key}/captures/")
    assert len(queries) == with_page_cache
    text = page.content.decode()
    assert "2024-01-01 12:00:00" in text and "2024-01-02 12:00:00" in text
    with CaptureQueriesContext(connection) as queries:
        client.get(f"/detail/{snapshot.key}/captures/")
    assert len(queries) == PAGE_CACHE_CHECK


def test_the_comparison_marks_paragraphs_added_removed_and_changed(client):
    snapshot = two_captures()
    older, newer = SnapshotCapture.objects.order_by("captured_at")
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        page = client.get(f"/detail/{snapshot.key}/captures/?a={newer.pk}&b={older.pk}")
    assert len(queries) == PAGE_CACHE_CHECK + RENDER["captures"]
    comparison = page.context["comparison"]
    assert comparison.older == older  # whichever order they were chosen in
    assert [(c.kind, c.old, c.new) for c in comparison.paragraphs] == [
        ("same", "第一段。", "第一段。"),
        ("changed", "第二段。", "第二段改了。"),
        ("changed", "第三段。", "新加的一段。"),
    ]
    assert ("title", "鲁西新区项目落地", "新标题") in comparison.fields
    text = page.content.decode()
    assert '<li class="changed">' in text and "<del>第二段。</del>" in text and "<ins>第二段改了。</ins>" in text


def test_added_and_removed_paragraphs_are_told_apart():
    from articles.captures import compare_captures

    older = SnapshotCapture(body="<p>甲</p><p>乙</p><p>丙</p>", title="t")
    newer = SnapshotCapture(body="<p>甲</p><p>丙</p><p>丁</p>", title="t")
    kinds = [(c.kind, c.old or c.new) for c in compare_captures(older, newer).paragraphs]
    assert kinds == [("same", "甲"), ("removed", "乙"), ("same", "丙"), ("added", "丁")]


@pytest.mark.parametrize("query", ["?a=x&b=1", "?a=999999&b=999998", "?a=1"])
def test_a_comparison_of_captures_that_are_not_this_snapshots_says_so(client, query):
    snapshot = two_captures()
    response = client.get(f"/detail/{snapshot.key}/captures/{query}")
    assert response.status_code == 400
    assert response.context["compare_error"]


def test_a_snapshot_captured_once_lists_its_one_capture(client):
    load(capture_of(BODY, at=FIRST))
    snapshot = Snapshot.objects.get()
    response = client.get(f"/detail/{snapshot.key}/captures/")
    assert response.status_code == 200 and len(response.context["captures"]) == 1


def test_withholding_a_key_withholds_every_capture_and_hiding_hides_them(client):
    snapshot = two_captures()
    Snapshot.objects.filter(pk=snapshot.pk).update(**status_fields(Snapshot.Status.WITHHELD))
    assert client.get(f"/detail/{snapshot.key}/captures/").status_code == 451
    older, newer = SnapshotCapture.objects.order_by("captured_at")
    withheld = client.get(f"/detail/{snapshot.key}/captures/?a={older.pk}&b={newer.pk}")
    assert withheld.status_code == 451 and "第二段" not in withheld.content.decode()
    Snapshot.objects.filter(pk=snapshot.pk).update(**status_fields(Snapshot.Status.HIDDEN))
    assert client.get(f"/detail/{snapshot.key}/captures/").status_code == 404

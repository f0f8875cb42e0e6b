"""The "Capture a page" screen: URLs and uploaded files become tasks, listed with their outcome."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from articles.models import Snapshot
from articles.tests import news_pages as pages
from articles.tests.helpers import SEED_PAGE, make_editor
from capture.models import CaptureRequest, ImportJob
from newsarchive.testing import run_tasks

pytestmark = pytest.mark.django_db


@pytest.fixture
def editor_client(client):
    client.force_login(make_editor())
    return client


def test_an_editor_captures_several_pages_at_once_and_sees_how_each_went(site, editor_client):
    good, missing = site.page("/a.html", pages.INFO_BLOCK), site.url("/missing.html")

    response = editor_client.post("/admin/capture/capturerequest/new/", {"urls": f"{good}\n\n{missing}\n"})

    assert response.status_code == 302
    assert list(CaptureRequest.objects.values_list("status", flat=True)) == ["queued", "queued"]
    run_tasks()
    listing = editor_client.get("/admin/capture/capturerequest/").content.decode()
    done = CaptureRequest.objects.get(url=good)
    assert done.status == "done" and done.snapshot.status == Snapshot.Status.HIDDEN
    assert CaptureRequest.objects.get(url=missing).reason == "HTTP 404 Not Found"
    assert "HTTP 404 Not Found" in listing


def test_the_screen_names_what_is_wrong_with_the_input(editor_client):
    response = editor_client.post("/admin/capture/capturerequest/new/", {"urls": "not a url\nftp://x.cn/a"})
    assert response.status_code == 200
    assert not CaptureRequest.objects.exists()
    assert "not a url" in response.content.decode()
    assert editor_client.post("/admin/capture/capturerequest/new/", {}).status_code == 200


def test_an_uploaded_file_is_imported_as_a_task_with_its_summary_and_rejections(editor_client, tmp_path):
    from articles.tests.test_warc import crawl

    data = crawl(tmp_path).read_bytes() + b"garbage at the end"
    upload = SimpleUploadedFile("crawl.warc.gz", data, content_type="application/octet-stream")

    response = editor_client.post("/admin/capture/capturerequest/new/", {"file": upload, "urls": ""})

    job = ImportJob.objects.get()
    assert response.status_code == 302 and job.status == "queued"
    run_tasks()
    job.refresh_from_db()
    assert (job.status, job.new, job.skipped, job.rejected) == ("done", 2, 4, 1)
    assert job.summary.startswith("new 2, updated 0, unchanged 0, rejected 1, skipped 4 in ")
    assert job.rejections.startswith("rejected crawl.warc.gz at byte ")
    assert job.progress == 1.0
    page = editor_client.get(f"/admin/capture/importjob/{job.pk}/change/").content.decode()
    assert "rejected crawl.warc.gz at byte" in page


def test_a_reader_account_cannot_open_the_screen(client):
    from django.contrib.auth.models import User

    client.force_login(User.objects.create_user("reader", "r@example.org", is_staff=True))
    assert client.get("/admin/capture/capturerequest/new/").status_code == 403


def test_an_address_longer_than_a_request_holds_is_named_and_nothing_is_queued(editor_client):
    long = "https://news.example.cn/" + "a" * 2000

    response = editor_client.post("/admin/capture/capturerequest/new/", {"urls": f"https://news.example.cn/a\n{long}"})

    assert response.status_code == 200
    (error,) = response.context["form"].errors["urls"]
    assert "2000" in error and long[:100] in error
    assert not CaptureRequest.objects.exists()


def test_a_file_sent_by_someone_who_may_not_import_is_refused_before_any_address_is_queued(client):
    from django.contrib.auth.models import Permission, User

    user = User.objects.create_user("capturer", "c@example.org", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=["view_capturerequest", "add_capturerequest"]))
    client.force_login(user)
    upload = SimpleUploadedFile("a.jsonl", b"{}\n", content_type="application/octet-stream")

    response = client.post("/admin/capture/capturerequest/new/", {"urls": "https://news.example.cn/a", "file": upload})

    assert response.status_code == 403
    assert not CaptureRequest.objects.exists() and not ImportJob.objects.exists()


def jsonl_record(n: int, category: str) -> str:
    return json.dumps(
        {
            "url": f"https://news.example.org/{n}.html",
            "title": f"上传的报道 {n}",
            "category": category,
            "source": "某报",
            "body_text": f"第 {n} 篇",
            "published_at": "2024-03-01 08:00",
            "captured_at": "2024-03-01 09:00",
            "collected_by": "tests",
        },
        ensure_ascii=False,
    )


@pytest.mark.parametrize("chosen", ["国际", ""])
def test_an_upload_is_filed_under_the_chosen_category_else_under_its_own(editor_client, chosen):
    lines = "\n".join([jsonl_record(1, "财经"), jsonl_record(2, "体育")]) + "\n"
    upload = SimpleUploadedFile("export.jsonl", lines.encode(), content_type="application/jsonl")
    editor_client.post("/admin/capture/capturerequest/new/", {"file": upload, "urls": "", "category": chosen})
    run_tasks()
    filed = dict(Snapshot.objects.values_list("title", "category__name"))
    expected = {"上传的报道 1": chosen or "财经", "上传的报道 2": chosen or "体育"}
    assert filed == expected


def test_a_saved_page_is_filed_under_the_chosen_category(editor_client):
    page = SEED_PAGE.read_bytes()
    assert "类别:财经".encode() in page
    upload = SimpleUploadedFile("seed.txt", page, content_type="text/plain")
    editor_client.post("/admin/capture/capturerequest/new/", {"file": upload, "urls": "", "category": "国际"})
    run_tasks()
    assert list(Snapshot.objects.values_list("category__name", flat=True)) == ["国际"]

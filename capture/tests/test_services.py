"""Capturing pages from the local test site: extraction per page shape, politeness, failures."""

import socket
from datetime import datetime

import pytest
from warcio.archiveiterator import ArchiveIterator

from articles.models import SHANGHAI, Snapshot, SnapshotCapture, snapshot_key
from articles.tests import news_pages as pages
from articles.warc import WarcStore
from capture import fetch as fetch_module
from capture.models import CaptureRequest
from capture.services import capture_run, captures_request
from newsarchive.testing import run_tasks

pytestmark = pytest.mark.django_db


def capture(url: str, **kwargs) -> CaptureRequest:
    (request,) = captures_request(urls=[url], enqueue=False, **kwargs)
    return capture_run(request_id=request.pk)


def stored_records(version: SnapshotCapture) -> list:
    data = WarcStore().read(file=version.warc_file, offset=version.warc_offset, length=version.warc_length)
    from io import BytesIO

    return [
        (r.rec_type, r.rec_headers.get_header("WARC-Target-URI"), r.http_headers.get_statuscode())
        for r in ArchiveIterator(BytesIO(data))
    ]


# --- what is extracted, per page shape ------------------------------------------------------------


def test_a_page_with_a_metadata_line_gives_every_field_and_its_related_links(site):
    url = site.page("/2023/0914/c1004-40077.html", pages.INFO_BLOCK)

    request = capture(url)

    assert request.status == CaptureRequest.Status.DONE, request.reason
    snapshot = request.snapshot
    assert snapshot.key == snapshot_key(original_url=url, source="", title="", published_at=None)
    assert snapshot.title == "鲁西新区以环境之“优”谋发展之“势”"
    assert snapshot.published_at == datetime(2023, 9, 14, 11, 24, tzinfo=SHANGHAI)
    assert snapshot.source.name == "人民资讯"
    assert snapshot.reprinted_from == "人民网-山东频道"
    assert snapshot.byline == "孙安琪 王燕"
    assert snapshot.collected_by == "newsarchive"
    assert snapshot.body.startswith("<p>在落地鲁西新区")
    assert snapshot.body.endswith("在奔跑中提速。</p>")  # the byline taken off the last paragraph
    assert "来源" not in snapshot.body and "版权所有" not in snapshot.body and "首页" not in snapshot.body
    links = list(snapshot.related_links.order_by("position").values_list("title", "excerpt", "date", "url"))
    assert links == [
        (
            "菏泽鲁西新区：书写高质量发展的“新区”答卷",
            "主要工作和成效时，我们可以从政府工作报告中看到不少鲁西新区努力奔跑的身影。",
            datetime(2023, 12, 27, 10, 28, tzinfo=SHANGHAI),
            site.url("/2023/1227/c1004-1.html"),
        ),
        (
            "等你来约! 菏泽市生态环境现场帮扶项目启动",
            "",
            datetime(2023, 8, 25, 20, 15, tzinfo=SHANGHAI),
            site.url("/2023/0825/c1004-2.html"),
        ),
    ]


def test_json_ld_gives_headline_time_in_its_own_zone_authors_publisher_and_section(site):
    request = capture(site.page("/jsonld.html", pages.JSON_LD))

    snapshot = request.snapshot
    assert snapshot.title == "长江经济带生态保护取得新进展"
    assert snapshot.published_at == datetime(2024, 3, 1, 10, 30, tzinfo=SHANGHAI)  # 02:30Z
    assert snapshot.byline == "李明 王芳"
    assert snapshot.source.name == "新华网"
    assert snapshot.category.name == "环境"
    assert not snapshot.body.startswith("<p>长江经济带")  # the headline is not a paragraph


def test_article_published_time_meta_alone_gives_the_time(site):
    snapshot = capture(site.page("/meta.html", pages.META_ONLY)).snapshot

    assert snapshot.published_at == datetime(2024, 5, 6, 7, 8, 9, tzinfo=SHANGHAI)
    assert (snapshot.title, snapshot.source.name, snapshot.category.name) == (
        "新能源汽车销量再创新高",
        "经济日报",
        "汽车",
    )


def test_a_gbk_page_declared_only_in_its_meta_tag_is_read(site):
    url = site.page("/gbk.html", pages.GBK.encode("gbk"), content_type="text/html")

    snapshot = capture(url).snapshot

    assert snapshot.title == "菏泽牡丹节开幕 游客量创新高"
    assert snapshot.published_at == datetime(2024, 4, 9, 12, 20, tzinfo=SHANGHAI)
    assert snapshot.source.name == "菏泽日报"
    assert snapshot.reprinted_from == "大众日报"
    assert "鲁西新区自成立以来" in snapshot.body and "本文转自" not in snapshot.body


def test_a_page_declared_gb2312_with_characters_only_gb18030_has_is_read_whole(site):
    url = site.page("/gb.html", pages.GB18030.encode("gb18030"), content_type="text/html; charset=gb2312")

    snapshot = capture(url).snapshot

    assert snapshot.title == pages.GB18030_TITLE
    assert snapshot.published_at == datetime(2024, 2, 2, 8, 0, tzinfo=SHANGHAI)


def test_a_mobile_page_is_the_snapshot_of_its_canonical_desktop_page(site):
    snapshot = capture(site.page("/m/42.html", pages.MOBILE)).snapshot

    assert snapshot.original_url == site.url("/2024/0707/c1-42.html")
    assert snapshot.key == snapshot_key(original_url=snapshot.original_url, source="", title="", published_at=None)
    assert snapshot.title == "黄河流域高质量发展座谈会召开"
    assert snapshot.published_at == datetime(2024, 7, 7, 18, 5, tzinfo=SHANGHAI)
    assert "打开APP" not in snapshot.body and "2024-07-07" not in snapshot.body


def test_a_canonical_on_another_site_is_not_followed_so_no_page_takes_over_anothers_key(site):
    victim = "http://www.people.com.cn/n1/2024/0707/c1-42.html"
    hostile = pages.MOBILE.replace('href="/2024/0707/c1-42.html"', f'href="{victim}"')

    snapshot = capture(site.page("/copy.html", hostile)).snapshot

    assert snapshot.original_url == site.url("/copy.html")
    assert snapshot.key != snapshot_key(original_url=victim, source="", title="", published_at=None)


def test_a_related_news_list_keeps_excerpts_titles_and_dates_as_the_seed_shows_them(site):
    snapshot = capture(site.page("/related.html", pages.RELATED)).snapshot

    links = list(snapshot.related_links.order_by("position").values_list("title", "excerpt", "date"))
    assert links[0] == (
        "",
        "民营经济是推动高质量发展的澎湃动力。鲁西新区持续优化营商环境",
        datetime(2023, 11, 28, 12, 12, tzinfo=SHANGHAI),
    )
    assert links[1][:2] == ("鲁西新区：开展全域旅游系列活动", "闻办召开主题系列新闻发布会，鲁西新区有关负责人参加。")
    assert len(links) == 3


# --- the capture itself -------------------------------------------------------------------------


def test_a_capture_names_the_crawler_and_its_contact_and_keeps_the_raw_response(site, settings):
    settings.CAPTURE_CONTACT_EMAIL = "ops@archive.example.org"
    url = site.page("/a.html", pages.INFO_BLOCK)

    request = capture(url)

    (_, _, headers) = site.asked("/a.html")[0]
    assert "newsarchive" in headers["User-Agent"] and "ops@archive.example.org" in headers["User-Agent"]
    version = SnapshotCapture.objects.get(snapshot=request.snapshot)
    assert stored_records(version) == [("response", url, "200")]
    assert request.snapshot.captured_at == version.captured_at


def test_a_new_snapshot_from_a_capture_is_hidden_or_published_as_the_setting_says(site, settings):
    assert capture(site.page("/a.html", pages.INFO_BLOCK)).snapshot.status == Snapshot.Status.HIDDEN
    settings.CAPTURE_NEW_SNAPSHOT_STATUS = "published"
    assert capture(site.page("/b.html", pages.JSON_LD)).snapshot.status == Snapshot.Status.PUBLISHED


def test_redirects_are_followed_recorded_and_kept_in_the_warc_record(site):
    final = site.page("/new/a.html", pages.INFO_BLOCK)
    start = site.page("/old/a.html", "", status=301, headers={"Location": "/new/a.html"})

    request = capture(start)

    assert request.status == CaptureRequest.Status.DONE, request.reason
    assert (request.redirects, request.final_url) == ([start], final)
    version = SnapshotCapture.objects.get(snapshot=request.snapshot)
    assert stored_records(version) == [("response", start, "301"), ("response", final, "200")]


def test_robots_txt_is_obeyed_for_the_crawler_name(site):
    refused = capture(site.page("/members/a.html", pages.INFO_BLOCK))
    # Our own group replaces the `*` group (RFC 9309), which alone disallows /private/.
    allowed = capture(site.page("/private/a.html", pages.INFO_BLOCK))

    assert refused.status == CaptureRequest.Status.FAILED
    assert refused.reason == "robots.txt of 127.0.0.1 disallows newsarchive"
    assert site.asked("/members/a.html") == []
    assert allowed.status == CaptureRequest.Status.DONE


def test_a_site_that_closes_itself_to_every_crawler_is_not_fetched(site):
    site.page("/robots.txt", "User-agent: *\nDisallow: /\n", content_type="text/plain")
    request = capture(site.page("/a.html", pages.INFO_BLOCK))
    assert request.status == CaptureRequest.Status.FAILED
    assert site.asked("/a.html") == []
    assert not Snapshot.objects.exists()


def test_a_site_whose_robots_txt_fails_is_not_fetched(site):
    site.page("/robots.txt", "down", status=503)

    request = capture(site.page("/a.html", pages.INFO_BLOCK))

    assert request.status == CaptureRequest.Status.FAILED
    assert "robots.txt answered HTTP 503" in request.reason
    assert site.asked("/a.html") == []


def test_requests_to_one_host_wait_the_delay_between_them(site, settings):
    settings.CAPTURE_HOST_DELAY_SECONDS = 0.4
    capture(site.page("/a.html", pages.INFO_BLOCK))
    capture(site.page("/b.html", pages.JSON_LD))

    times = [moment for moment, path, _ in site.requests]
    assert len(times) == 3  # robots.txt once, then the two pages
    assert all(later - earlier >= 0.39 for earlier, later in zip(times, times[1:], strict=False))


# --- failures: a clear reason and nothing stored --------------------------------------------------


@pytest.mark.parametrize(
    ("route", "expected"),
    [
        ({"status": 404, "html": "gone"}, "HTTP 404"),
        ({"status": 500, "html": "oops"}, "HTTP 500"),
        ({"html": b"%PDF-1.4", "content_type": "application/pdf"}, "not an HTML page (application/pdf)"),
        ({"html": pages.INDEX}, "no article found"),
    ],
)
def test_a_page_that_is_no_article_fails_with_its_reason_and_stores_nothing(site, route, expected):
    html = route.pop("html")
    request = capture(site.page("/x.html", html, **route))

    assert request.status == CaptureRequest.Status.FAILED
    assert expected in request.reason
    assert not Snapshot.objects.exists() and not SnapshotCapture.objects.exists()


def test_an_oversized_page_is_refused(site, settings):
    settings.CAPTURE_MAX_BYTES = 1000
    request = capture(site.page("/big.html", pages.INFO_BLOCK))
    assert request.status == CaptureRequest.Status.FAILED
    assert "the limit is 1,000" in request.reason


def test_a_page_that_answers_too_slowly_times_out(site, settings):
    settings.CAPTURE_READ_TIMEOUT = 0.3
    site.delay["/slow.html"] = 1.0
    request = capture(site.page("/slow.html", pages.INFO_BLOCK))
    assert request.status == CaptureRequest.Status.FAILED
    assert "timed out waiting for 127.0.0.1" in request.reason


def test_an_unreachable_host_fails_with_its_reason(site):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    request = capture(f"http://127.0.0.1:{port}/a.html")
    assert request.status == CaptureRequest.Status.FAILED
    assert "robots.txt could not be fetched (could not connect to 127.0.0.1: connection refused)" in request.reason


def test_a_host_name_that_does_not_resolve_fails_with_its_reason(site, monkeypatch):
    def no_such_host(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(fetch_module.socket, "getaddrinfo", no_such_host)
    request = capture("http://no-such-host.invalid/a.html")
    assert request.status == CaptureRequest.Status.FAILED
    assert "DNS lookup failed for no-such-host.invalid: Name or service not known" in request.reason


def test_loopback_and_private_addresses_are_refused_unless_allowed(site, settings):
    settings.CAPTURE_ALLOW_PRIVATE_ADDRESSES = False
    request = capture(site.page("/a.html", pages.INFO_BLOCK))
    assert request.status == CaptureRequest.Status.FAILED
    assert "127.0.0.1, a loopback, private or link-local address; not fetched" in request.reason
    assert site.requests == []


def test_a_redirect_to_a_private_address_is_refused(site, settings, monkeypatch):
    # 127.0.0.1 (the test site) counts as public here; 127.0.0.2, where the redirect leads, does not.
    settings.CAPTURE_ALLOW_PRIVATE_ADDRESSES = False
    monkeypatch.setattr(fetch_module, "_public", lambda address: address == "127.0.0.1")
    port = site.base.rsplit(":", 1)[1]
    start = site.page("/go.html", "", status=302, headers={"Location": f"http://127.0.0.2:{port}/a.html"})

    request = capture(start)

    assert request.status == CaptureRequest.Status.FAILED
    assert "127.0.0.2, a loopback, private or link-local address" in request.reason
    assert not Snapshot.objects.exists()


def test_a_capture_queued_with_its_request_runs_as_a_task(site):
    captures_request(urls=[site.page("/a.html", pages.INFO_BLOCK)])
    request = CaptureRequest.objects.get()
    assert request.status == CaptureRequest.Status.QUEUED

    run_tasks()

    request.refresh_from_db()
    assert request.status == CaptureRequest.Status.DONE
    assert request.outcome == CaptureRequest.Outcome.NEW


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.1.2.3", "169.254.169.254", "::1", "::ffff:127.0.0.1", "64:ff9b::7f00:1", "::127.0.0.1",
     "fec0::1", "fe80::1", "2002:7f00:1::1", "fd00::1"],
)  # fmt: skip
def test_an_address_inside_which_a_private_one_hides_is_not_public(address):
    assert not fetch_module._public(address)


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:4700:4700::1111", "64:ff9b::5db8:d822"])
def test_public_addresses_are_public(address):
    assert fetch_module._public(address)


class _DownCache:
    def __getattr__(self, name):
        def fail(*args, **kwargs):
            raise ConnectionError("Redis is down")

        return fail


def test_with_the_shared_cache_down_a_capture_still_waits_its_turn_and_reads_robots(site, monkeypatch):
    monkeypatch.setattr(fetch_module, "cache", _DownCache())

    done = capture(site.page("/cache-down.html", pages.INFO_BLOCK))

    assert done.status == CaptureRequest.Status.DONE, done.reason
    assert done.snapshot is not None


def test_a_capture_a_stopped_worker_left_running_can_be_captured_again(site, django_user_model):
    from datetime import timedelta

    from django.utils import timezone

    from capture.services import captures_request_again

    editor = django_user_model.objects.create_user("editor-again")
    stuck = CaptureRequest.objects.create(
        url=site.page("/stuck.html", pages.INFO_BLOCK),
        status=CaptureRequest.Status.RUNNING,
        started_at=timezone.now() - timedelta(hours=1),
    )
    fresh = CaptureRequest.objects.create(
        url=site.url("/busy.html"), status=CaptureRequest.Status.RUNNING, started_at=timezone.now()
    )

    again = captures_request_again(request_ids=[stuck.pk, fresh.pk], actor=editor)

    assert [request.url for request in again] == [stuck.url]
    stuck.refresh_from_db()
    assert stuck.status == CaptureRequest.Status.FAILED and stuck.reason and stuck.finished_at
    fresh.refresh_from_db()
    assert fresh.status == CaptureRequest.Status.RUNNING

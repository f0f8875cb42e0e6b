"""WARC in (import_snapshots), kept (raw records), out (export_snapshots --format warc) and re-extracted."""

import gzip
import io
import sys
from datetime import UTC, datetime
from io import BytesIO, StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from articles.models import SHANGHAI, Snapshot, SnapshotCapture
from articles.tests import news_pages as pages

from .test_import_command import run_import

pytestmark = pytest.mark.django_db

WHEN = datetime(2024, 6, 1, 2, 30, tzinfo=UTC)  # 10:30 in Shanghai


def write_warc(path: Path, records: list[dict], *, gz: bool = True) -> Path:
    """A WARC file as other crawlers write them: each dict one record (response unless `type`)."""
    with path.open("wb") as stream:
        writer = WARCWriter(stream, gzip=gz)
        writer.write_record(writer.create_warcinfo_record(path.name, {"software": "Heritrix/3.4.0"}))
        for record in records:
            kind = record.get("type", "response")
            headers = [("Content-Type", record.get("content_type", "text/html; charset=utf-8"))]
            body = record.get("body", b"")
            body = body.encode("utf-8") if isinstance(body, str) else body
            http = None
            if kind in ("response", "request"):
                statusline = record.get("status", "200 OK") if kind == "response" else "GET / HTTP/1.1"
                http = StatusAndHeaders(statusline, headers, protocol="HTTP/1.1", is_http_request=kind == "request")
            writer.write_record(
                writer.create_warc_record(
                    record["url"],
                    kind,
                    payload=BytesIO(body),
                    http_headers=http,
                    warc_headers_dict={"WARC-Date": record.get("date", "2024-06-01T02:30:00Z")},
                )
            )
    return path


def crawl(tmp_path: Path, *, gz: bool = True) -> Path:
    return write_warc(
        tmp_path / ("crawl.warc.gz" if gz else "crawl.warc"),
        [
            {"type": "request", "url": "http://news.example.cn/a.html"},
            {"url": "http://news.example.cn/a.html", "body": pages.INFO_BLOCK},
            {"url": "http://news.example.cn/gone.html", "status": "404 Not Found", "body": "gone"},
            {"url": "http://news.example.cn/logo.png", "content_type": "image/png", "body": b"\x89PNG"},
            {"url": "http://news.example.cn/b.html", "body": pages.JSON_LD, "date": "2024-06-02T00:00:00Z"},
        ],
        gz=gz,
    )


@pytest.mark.parametrize("gz", [True, False], ids=["warc.gz", "warc"])
def test_each_html_response_with_status_200_becomes_a_snapshot_and_the_rest_are_skipped(tmp_path, gz):
    run = run_import(crawl(tmp_path, gz=gz))

    assert run.error is None, run.stderr
    assert run.stdout.startswith("new 2, updated 0, unchanged 0, rejected 0, skipped 4 in ")
    first = Snapshot.objects.get(original_url="http://news.example.cn/a.html")
    assert first.captured_at == WHEN  # from WARC-Date
    assert first.published_at == datetime(2023, 9, 14, 11, 24, tzinfo=SHANGHAI)
    assert (first.title, first.source.name, first.reprinted_from) == (
        "鲁西新区以环境之“优”谋发展之“势”",
        "人民资讯",
        "人民网-山东频道",
    )
    assert first.collected_by == "Heritrix/3.4.0"  # the warcinfo record's software
    assert first.related_links.count() == 2
    assert first.status == Snapshot.Status.PUBLISHED


def test_every_snapshot_from_a_warc_file_keeps_its_raw_response_in_the_store(tmp_path):
    run_import(crawl(tmp_path))

    version = SnapshotCapture.objects.get(snapshot__original_url="http://news.example.cn/b.html")
    assert version.warc_file.endswith(".warc.gz")
    from articles.warc import WarcStore, raw_response

    raw = WarcStore().read(file=version.warc_file, offset=version.warc_offset, length=version.warc_length)
    url, content_type, body = raw_response(raw)
    assert (url, content_type) == ("http://news.example.cn/b.html", "text/html; charset=utf-8")
    assert body == pages.JSON_LD.encode("utf-8")


def test_importing_the_same_warc_file_again_changes_nothing(tmp_path):
    path = crawl(tmp_path)
    run_import(path)
    again = run_import(path)
    assert again.stdout.startswith("new 0, updated 0, unchanged 2, rejected 0, skipped 4 in ")
    assert SnapshotCapture.objects.count() == 2


def test_a_truncated_warc_file_keeps_the_records_before_and_names_the_offset(tmp_path):
    path = crawl(tmp_path)
    data = path.read_bytes()
    iterator = ArchiveIterator(BytesIO(data))
    offsets = []
    for record in iterator:
        record.raw_stream.read()
        offsets.append(iterator.get_record_offset())
    last = offsets[-1]  # the second page's record
    cut = tmp_path / "cut.warc.gz"
    cut.write_bytes(data[: last + 60])

    run = run_import(cut)

    assert run.error is not None and run.error.returncode == 1
    assert run.rejections == [f"rejected {cut} at byte {last:,}: the file ends inside a WARC record (truncated)"]
    assert list(Snapshot.objects.values_list("original_url", flat=True)) == ["http://news.example.cn/a.html"]


def test_a_file_named_warc_that_is_not_one_is_refused_at_byte_0(tmp_path):
    path = tmp_path / "notes.warc"
    path.write_text('{"title": "not a crawl"}\n')

    run = run_import(path)

    assert run.error is not None
    assert len(run.rejections) == 1
    assert run.rejections[0].startswith(f"rejected {path} at byte 0: not a readable WARC record here")
    assert not Snapshot.objects.exists()


def test_a_warc_page_with_no_article_is_rejected_with_its_address(tmp_path):
    path = write_warc(tmp_path / "x.warc.gz", [{"url": "http://news.example.cn/", "body": pages.INDEX}])
    run = run_import(path)
    assert run.rejections and "http://news.example.cn/: no article found" in run.rejections[0]


# --- out -------------------------------------------------------------------------------------------


def export_warc(tmp_path: Path) -> Path:
    output = tmp_path / "out.warc.gz"
    call_command("export_snapshots", "--format", "warc", "-o", str(output), stderr=StringIO())
    return output


def test_export_writes_raw_records_and_a_rendered_record_for_json_lines_snapshots(tmp_path):
    from .helpers import make_snapshot

    run_import(crawl(tmp_path))
    plain = make_snapshot(title="只从 JSON Lines 来的快照")
    hidden = make_snapshot(title="隐藏的快照", status=Snapshot.Status.HIDDEN)

    output = export_warc(tmp_path)

    with output.open("rb") as stream:
        records = [
            (r.rec_type, r.rec_headers.get_header("WARC-Target-URI"), r.content_stream().read())
            for r in ArchiveIterator(stream)
        ]
    kinds = [(kind, uri) for kind, uri, _ in records]
    assert ("response", "http://news.example.cn/a.html") in kinds
    assert ("response", "http://news.example.cn/b.html") in kinds
    resource = [body for kind, uri, body in records if kind == "resource"]
    assert len(resource) == 1 and plain.title.encode() in resource[0]
    assert ("resource", f"http://127.0.0.1:8000/detail/{hidden.key}.html") not in kinds
    assert records[0][0] == "warcinfo"


def test_the_rendered_record_shows_a_byline_in_the_brackets_it_was_captured_with(tmp_path):
    from .helpers import make_snapshot

    make_snapshot(byline="（记者 刘洋）")
    make_snapshot(byline="孙安琪 王燕")

    with export_warc(tmp_path).open("rb") as stream:
        rendered = b"".join(r.content_stream().read() for r in ArchiveIterator(stream) if r.rec_type == "resource")
    text = rendered.decode()
    assert "<p>（记者 刘洋）</p>" in text and "<p>(孙安琪 王燕)</p>" in text


def test_warcio_indexes_the_exported_file(tmp_path, capsys):
    from warcio.cli import main as warcio

    run_import(crawl(tmp_path))
    output = export_warc(tmp_path)

    warcio(["index", "-f", "warc-type,warc-target-uri,offset,length", str(output)])

    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3  # warcinfo and the two pages
    assert '"warc-target-uri": "http://news.example.cn/a.html"' in "".join(lines)
    # The offsets the index gives are where records start: each can be read alone, as pywb does.
    import json

    data = output.read_bytes()
    for line in lines:
        entry = json.loads(line)
        member = data[int(entry["offset"]) : int(entry["offset"]) + int(entry["length"])]
        assert gzip.decompress(member).startswith(b"WARC/")


def test_warc_export_needs_an_output_file():
    with pytest.raises(CommandError, match="-o FILE.warc.gz"):
        call_command("export_snapshots", "--format", "warc", stdout=StringIO())


# --- extracted again --------------------------------------------------------------------------------


def test_reextract_reads_the_raw_response_again_and_updates_the_capture_and_its_snapshot(tmp_path):
    run_import(crawl(tmp_path))
    snapshot = Snapshot.objects.get(original_url="http://news.example.cn/a.html")
    # As an older extractor might have left it.
    SnapshotCapture.objects.filter(snapshot=snapshot).update(title="旧的提取结果", content_hash="0" * 64)
    Snapshot.objects.filter(pk=snapshot.pk).update(title="旧的提取结果")
    out = StringIO()

    call_command("reextract", snapshot.key, stdout=out)

    assert out.getvalue().strip() == "changed 1, unchanged 0, failed 0"
    snapshot.refresh_from_db()
    assert snapshot.title == "鲁西新区以环境之“优”谋发展之“势”"
    assert SnapshotCapture.objects.get(snapshot=snapshot).title == snapshot.title
    assert snapshot.history.latest().history_change_reason == "extracted again"


def test_reextract_reports_a_capture_whose_raw_record_is_missing(tmp_path):
    run_import(crawl(tmp_path))
    SnapshotCapture.objects.update(warc_offset=10**9)
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("reextract", stdout=StringIO(), stderr=err)
    assert "the record is missing" in err.getvalue()


def test_stdin_warc_is_read_too(tmp_path, monkeypatch):
    data = crawl(tmp_path).read_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    run = run_import("-")
    assert run.stdout.startswith("new 2,")

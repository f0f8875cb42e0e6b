"""WARC (ISO 28500) in and out, with warcio: reading crawls from other tools, keeping each
capture's raw HTTP response, and writing an archive pywb or ReplayWeb.page can replay.

Raw responses live in WARC files under CAPTURE_WARC_ROOT, not in the database. A page's raw
response is 50 to 500 KB (10 to 100 times the snapshot row); it is read only to extract a capture
again or to export, never by a reader page. Kept as gzipped WARC records appended to files, it is
already in the form archives exchange (each file can be handed to pywb as it is), the database
stays small enough to back up and vacuum quickly, and each capture row keeps only where its
records are (file, offset, length: what a CDX index holds). The price is that a file and the
database are two stores: records are written and flushed to disk before the transaction that
refers to them commits, so a row never points at missing bytes; a transaction that then fails
leaves unreferenced bytes in a file, which nothing reads.
"""

import os
import threading
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path
from typing import IO

from django.conf import settings
from django.utils.dateparse import parse_datetime
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from .importing import Capture, InvalidRecord, Origin, Rejection, Skipped

# A file of the store is closed and a new one begun past this size (the WARC convention: 1 GB).
MAX_FILE_BYTES = 1024**3


def warc_date(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _writer(buffer: IO[bytes]) -> WARCWriter:
    return WARCWriter(buffer, gzip=True, warc_version="1.1")


def response_record(
    *, url: str, status: str, headers: list[tuple[str, str]], body: bytes, date: datetime, protocol="HTTP/1.1"
) -> bytes:
    """One gzipped WARC response record of an HTTP response as received (`status` as `200 OK`).

    The body is stored decoded (as the HTTP client returned it), so a Content-Encoding or
    Transfer-Encoding the server sent would no longer describe it; those headers are kept under
    `X-Archive-Orig-` names, as pywb does."""
    kept = []
    for name, value in headers:
        if name.lower() in ("content-encoding", "transfer-encoding", "content-length"):
            kept.append((f"X-Archive-Orig-{name}", value))
        else:
            kept.append((name, value))
    kept.append(("Content-Length", str(len(body))))
    buffer = BytesIO()
    writer = _writer(buffer)
    http_headers = StatusAndHeaders(status, kept, protocol=protocol)
    record = writer.create_warc_record(
        url,
        "response",
        payload=BytesIO(body),
        http_headers=http_headers,
        warc_headers_dict={"WARC-Date": warc_date(date)},
    )
    writer.write_record(record)
    return buffer.getvalue()


def resource_record(*, url: str, content_type: str, body: bytes, date: datetime) -> bytes:
    buffer = BytesIO()
    writer = _writer(buffer)
    record = writer.create_warc_record(
        url,
        "resource",
        payload=BytesIO(body),
        length=len(body),
        warc_content_type=content_type,
        warc_headers_dict={"WARC-Date": warc_date(date)},
    )
    writer.write_record(record)
    return buffer.getvalue()


def warcinfo_record(*, filename: str, info: dict[str, str]) -> bytes:
    buffer = BytesIO()
    writer = _writer(buffer)
    writer.write_record(writer.create_warcinfo_record(filename, info))
    return buffer.getvalue()


def _software_info() -> dict[str, str]:
    return {
        "software": f"newsarchive ({settings.CAPTURE_CRAWLER_NAME})",
        "format": "WARC File Format 1.1",
        "isPartOf": settings.SITE_URL,
    }


# --- the store of raw records -------------------------------------------------------------------


@dataclass(frozen=True)
class StoredRecord:
    file: str
    offset: int
    length: int


class WarcStore:
    """Append-only WARC files under CAPTURE_WARC_ROOT, one open file per process (so two workers
    never append to the same file), each starting with a warcinfo record."""

    _lock = threading.Lock()
    _current: dict[tuple[str, int], str] = {}

    def __init__(self, root: Path | None = None):
        self.root = Path(root or settings.CAPTURE_WARC_ROOT)

    def _file_for(self, size: int) -> Path:
        key = (str(self.root), os.getpid())
        name = self._current.get(key)
        path = self.root / name if name else None
        if path is None or not path.exists() or path.stat().st_size + size > MAX_FILE_BYTES:
            stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
            name = f"newsarchive-{stamp}-{os.getpid()}-{uuid.uuid4().hex[:8]}.warc.gz"
            self.root.mkdir(parents=True, exist_ok=True)
            path = self.root / name
            with path.open("xb") as stream:
                stream.write(warcinfo_record(filename=name, info=_software_info()))
            self._current[key] = name
        return path

    def append(self, records: list[bytes]) -> list[StoredRecord]:
        """Write each item (one or more gzipped WARC records) at the end of this process's file,
        flushed to disk before returning, and say where each went."""
        if not records:
            return []
        with self._lock:
            path = self._file_for(sum(len(r) for r in records))
            stored = []
            with path.open("ab") as stream:
                offset = stream.tell()
                for data in records:
                    stream.write(data)
                    stored.append(StoredRecord(path.name, offset, len(data)))
                    offset += len(data)
                stream.flush()
                os.fsync(stream.fileno())
        return stored

    def read(self, *, file: str, offset: int, length: int) -> bytes:
        path = (self.root / file).resolve()
        if path.parent != self.root.resolve():
            raise ValueError(f"not a file of the WARC store: {file!r}")
        with path.open("rb") as stream:
            stream.seek(offset)
            data = stream.read(length)
        if len(data) != length:
            raise OSError(f"{file} ends before {offset + length:,}: the record is missing")
        return data


# --- reading WARC files -------------------------------------------------------------------------


class _Counting:
    """A read-only stream that counts the bytes read through it."""

    def __init__(self, stream: IO[bytes]):
        self.stream = stream
        self.count = 0

    def read(self, size=-1):
        data = self.stream.read(size)
        self.count += len(data)
        return data

    def readline(self, size=-1):
        data = self.stream.readline(size)
        self.count += len(data)
        return data


def is_warc(head: bytes, name: str = "") -> bool:
    """A WARC file by its name (.warc, .warc.gz) or its first bytes (`WARC/`, or gzip holding it)."""
    if name.lower().endswith((".warc", ".warc.gz")):
        return True
    if head.startswith(b"WARC/"):
        return True
    if head.startswith(b"\x1f\x8b"):
        try:
            return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head, 16).startswith(b"WARC/")
        except zlib.error:
            return False
    return False


def _record_bytes(record) -> tuple[str, list[tuple[str, str]], bytes]:
    return record.http_headers.statusline, list(record.http_headers.headers), record.content_stream().read()


def _page_record(
    record, origin: Origin, statusline: str, headers, body: bytes, *, software: str, category: str
) -> Capture | Rejection | Skipped:
    """A response record as a snapshot: extracted when it is an HTML page with status 200, skipped
    when it is another response, refused when its date or its page cannot be read."""
    from .extraction import extract_capture, is_html

    url = record.rec_headers.get_header("WARC-Target-URI") or ""
    status = record.http_headers.get_statuscode()
    content_type = record.http_headers.get_header("Content-Type") or ""
    if status != "200":
        return Skipped(origin, f"status {status} for {url}")
    if not is_html(content_type):
        return Skipped(origin, f"not HTML ({content_type.split(';')[0] or 'no content type'}) for {url}")
    date = parse_datetime(record.rec_headers.get_header("WARC-Date") or "")
    if date is None:
        return Rejection(origin, "WARC-Date is missing or not a date")
    try:
        capture = extract_capture(
            body=body,
            content_type=content_type,
            url=url,
            captured_at=date,
            origin=origin,
            collected_by=software or None,
            category=category,
        )
    except InvalidRecord as error:
        return Rejection(origin, f"{url}: {error}")
    capture.raw = response_record(
        url=url,
        status=statusline,
        headers=headers,
        body=body,
        date=date,
        protocol=record.http_headers.protocol or "HTTP/1.1",
    )
    capture.final_url = url
    return capture


def read_warc(
    stream: IO[bytes], path: str, *, category: str = "", progress=None
) -> Iterator[Capture | Rejection | Skipped]:
    """Snapshots from a WARC file: each response record of an HTML page with status 200 is
    extracted (articles.extraction) with its capture time from WARC-Date and its original address
    from WARC-Target-URI, and keeps its response as a raw record; every other record is skipped.
    A file that is not WARC, or that ends inside a record, is refused at the byte where it fails;
    the records before that are kept."""
    counting = _Counting(stream)
    iterator = ArchiveIterator(counting, no_record_parse=False, arc2warc=True)
    end = 0  # where the last complete record ended
    software = ""
    try:
        for record in iterator:
            # Read the record's block before asking where it started: warcio reads a record to its
            # end to answer, and the content would be gone.
            is_page = record.rec_type == "response" and record.http_headers is not None
            if is_page:
                statusline, headers, body = _record_bytes(record)
            else:
                payload = record.raw_stream.read()
            truncated = record.length is None or bool(getattr(record.raw_stream, "limit", 0))
            offset = iterator.get_record_offset()
            origin = Origin(path, offset=offset)
            if truncated:
                yield Rejection(origin, "the file ends inside a WARC record (truncated)")
                return
            end = offset + iterator.get_record_length()
            if record.rec_type == "warcinfo":
                for line in payload.decode("utf-8", "replace").splitlines():
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "software" and value.strip():
                        software = value.strip()[:200]
            if not is_page:
                yield Skipped(origin, f"{record.rec_type} record")
                continue
            if progress is not None:
                progress(counting.count)
            yield _page_record(record, origin, statusline, headers, body, software=software, category=category)
    except Exception as error:  # warcio raises many kinds on a damaged file; each means "stops here"
        yield Rejection(Origin(path, offset=end), f"not a readable WARC record here ({type(error).__name__}: {error})")
        return
    if counting.count - end > 4:  # more than the blank lines that end a record
        reason = "the file ends inside a WARC record (truncated)" if end else "not a WARC file"
        yield Rejection(Origin(path, offset=end), reason)


def raw_response(data: bytes) -> tuple[str, str, bytes]:
    """The final page of a stored capture (its last response record): address, content type, body."""
    found = None
    for record in ArchiveIterator(BytesIO(data)):
        if record.rec_type == "response" and record.http_headers is not None:
            found = (
                record.rec_headers.get_header("WARC-Target-URI") or "",
                record.http_headers.get_header("Content-Type") or "",
                record.content_stream().read(),
            )
    if found is None:
        raise ValueError("no response record in the stored capture")
    return found

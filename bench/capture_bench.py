"""Capture speed: pages captured per second from a local server, and the WARC import rate against
the JSON Lines import rate for the same snapshots.

    python bench/capture_bench.py [--records 10000] [--captures 300]

- captures: `manage.py capture URL...` for N pages of a threaded http.server on 127.0.0.1 (no
  per-host delay, robots.txt fetched once), into a fresh SQLite database: fetch, extract
  (trafilatura), store the raw response as a WARC record and import, one page after another.
- imports: the same N generated news pages written once as a WARC file (warcio, gzipped records)
  and once as JSON Lines carrying what extraction finds in them; each imported by
  `manage.py import_snapshots` into a fresh database, timed as a whole process.
Writes bench/results/capture-sqlite.json and prints a table.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BytesIO
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
DATA = ROOT / "bench" / "data"
RESULTS = ROOT / "bench" / "results"

PARAGRAPHS = [
    "鲁西新区自成立以来，不断深化改革开放，夯实发展基础，壮大整体实力，加速产业结构优化升级，一批好项目、大项目的储备和落地，极大拉动了投资。",
    "产业和项目是鲁西新区的生命线，更是经济高质量发展的压舱石。鲁西新区在招商引资过程中创新推出全员招商工作法，牢树项目为王理念。",
    "审批流程多、周期长，曾是困扰项目落地、企业开办的难点、痛点。鲁西新区创新行政审批服务方式，优化办理程序，精简审批流程。",
    "如今，随着一系列政策的出台，一连串立足实际的工作扎实开展，一个个听企声、解民忧的服务应声落地，鲁西新区在奔跑中提速。",
]


def page(n: int) -> tuple[str, dict]:
    """News page number n and the JSON Lines record of what it says."""
    published = datetime(2023, 1, 1, 8, 0) + timedelta(minutes=37 * n)
    title = f"鲁西新区第{n}号项目签约落地"
    body = [f"{p}（第{n}篇）" for p in PARAGRAPHS[n % 2 :] + PARAGRAPHS[: n % 2]]
    html = f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>{title}_人民资讯</title>
<meta property="og:site_name" content="人民资讯"></head><body><div class="nav"><a href="/">首页</a></div>
<h1>{title}</h1><div class="info">来源：人民网-山东频道　作者：记者{n % 97}　发布时间：{published:%Y-%m-%d %H:%M:%S}</div>
<div class="content">{"".join(f"<p>{p}</p>" for p in body)}</div>
<div class="related-news"><h3>相关新闻</h3><ul><li><a href="/news/{n + 1}.html">鲁西新区第{n + 1}号项目签约落地</a><span>{published:%Y-%m-%d %H:%M}</span></li></ul></div>
<div class="footer">版权所有</div></body></html>"""
    record = {
        "url": f"http://news.example.cn/news/{n}.html",
        "title": title,
        "category": "财经",
        "source": "人民资讯",
        "reprinted_from": "人民网-山东频道",
        "byline": f"记者{n % 97}",
        "published_at": f"{published:%Y-%m-%dT%H:%M:%S}+08:00",
        "captured_at": "2024-06-01T10:30:00+08:00",
        "collected_by": "newsarchive",
        "body_html": "".join(f"<p>{p}</p>" for p in body),
        "related": [{"title": f"鲁西新区第{n + 1}号项目签约落地", "excerpt": "", "date": None,
                     "url": f"http://news.example.cn/news/{n + 1}.html"}],
    }  # fmt: skip
    return html, record


def write_inputs(count: int) -> tuple[Path, Path]:
    DATA.mkdir(parents=True, exist_ok=True)
    warc, jsonl = DATA / f"pages-{count}.warc.gz", DATA / f"pages-{count}.jsonl"
    if not (warc.exists() and jsonl.exists()):
        with warc.open("wb") as w_out, jsonl.open("w", encoding="utf-8") as j_out:
            writer = WARCWriter(w_out, gzip=True)
            for n in range(count):
                html, record = page(n)
                headers = StatusAndHeaders(
                    "200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1"
                )
                writer.write_record(
                    writer.create_warc_record(
                        record["url"],
                        "response",
                        payload=BytesIO(html.encode("utf-8")),
                        http_headers=headers,
                        warc_headers_dict={"WARC-Date": "2024-06-01T02:30:00Z"},
                    )
                )
                j_out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return warc, jsonl


def fresh_database(root: Path, name: str) -> dict:
    env = os.environ | {
        "DATABASE_URL": f"sqlite:///{root / name}.sqlite3",
        "CAPTURE_WARC_ROOT": str(root / f"{name}-warc"),
        "DJANGO_LOG_LEVEL": "ERROR",
    }
    subprocess.run([PYTHON, "manage.py", "migrate", "--no-input", "-v0"], cwd=ROOT, env=env, check=True)
    return env


def timed(command: list[str], env: dict) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def serve(count: int):
    pages = {f"/news/{n}.html": page(n)[0].encode("utf-8") for n in range(count)}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            if self.path == "/robots.txt":
                body, kind, status = b"User-agent: *\nAllow: /\n", "text/plain", 200
            elif self.path in pages:
                body, kind, status = pages[self.path], "text/html; charset=utf-8", 200
            else:
                body, kind, status = b"not found", "text/plain", 404
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--captures", type=int, default=300)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="newsarchive-capture-bench-"))
    warc, jsonl = write_inputs(args.records)

    server = serve(args.captures)
    env = fresh_database(root, "captures") | {"CAPTURE_ALLOW_PRIVATE_ADDRESSES": "1", "CAPTURE_HOST_DELAY_SECONDS": "0"}
    base = f"http://127.0.0.1:{server.server_address[1]}"
    startup = timed([PYTHON, "manage.py", "check", "-v0"], env)  # the process's own start, for reference
    capture_seconds = timed(
        [PYTHON, "manage.py", "capture", *(f"{base}/news/{n}.html" for n in range(args.captures))], env
    )
    server.shutdown()

    jsonl_seconds = timed([PYTHON, "manage.py", "import_snapshots", str(jsonl), "-v0"], fresh_database(root, "jsonl"))
    warc_seconds = timed([PYTHON, "manage.py", "import_snapshots", str(warc), "-v0"], fresh_database(root, "warc"))

    result = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, SQLite",
        "captures": args.captures,
        "capture_seconds": round(capture_seconds, 2),
        "captures_per_second": round(args.captures / capture_seconds, 1),
        "process_start_seconds": round(startup, 2),
        "records": args.records,
        "jsonl_seconds": round(jsonl_seconds, 2),
        "jsonl_records_per_second": round(args.records / jsonl_seconds),
        "warc_seconds": round(warc_seconds, 2),
        "warc_records_per_second": round(args.records / warc_seconds),
        "warc_to_jsonl": round(jsonl_seconds / warc_seconds, 3),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "capture-sqlite.json").write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"captures from a local server: {result['captures_per_second']}/s ({args.captures} in {capture_seconds:.1f} s)"
    )
    print(
        f"JSON Lines import: {result['jsonl_records_per_second']:,} records/s ({args.records:,} in {jsonl_seconds:.1f} s)"
    )
    print(
        f"WARC import:       {result['warc_records_per_second']:,} records/s ({args.records:,} in {warc_seconds:.1f} s)"
    )
    print(f"WARC / JSON Lines: {result['warc_to_jsonl']:.3f}")


if __name__ == "__main__":
    main()

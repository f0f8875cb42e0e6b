"""Where the time of one uncached reader page goes: a crawler's walk, profiled in-process.

    DATABASE_URL=sqlite:///bench/data/million.sqlite3 python bench/profile_page.py [--pages 300] [--top 25]

Runs the walk files of `make bench` (bench/data/walk-<vendor>/walk-snapshots.txt and
walk-categories.txt, written by `bench/bench_site.py walk`) through Django's WSGI handler, the
entry point gunicorn calls, with production settings (DJANGO_DEBUG=0) and the page cache on, as
served: every page of the walk is distinct, so each one misses the cache and is rendered. For each
walk it prints the CPU time per page without the profiler (after a warm-up of its own pages), then
cProfile's entries with the most cumulative time, in milliseconds per page. The profiler's own cost
inflates its figures (about twice); compare entries with each other, and the first figure across runs.
"""

import argparse
import cProfile
import io
import os
import pstats
import sys
import time
from pathlib import Path
from urllib.parse import unquote_to_bytes, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_DEBUG", "0")
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-" + "x" * 50)
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "127.0.0.1")
os.environ.setdefault("DJANGO_LOG_LEVEL", "ERROR")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "newsarchive.settings")

import django  # noqa: E402

django.setup()

from django.core.handlers.wsgi import WSGIHandler  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import RequestFactory  # noqa: E402

WALKS = {"snapshot pages": "walk-snapshots.txt", "category pages": "walk-categories.txt"}
# As bench/http_bench.py sends them: behind the TLS proxy, a Chinese reader, compressed.
HEADERS = {
    "HTTP_HOST": "127.0.0.1",
    "HTTP_X_FORWARDED_PROTO": "https",
    "HTTP_ACCEPT_LANGUAGE": "zh-CN,zh;q=0.9",
    "HTTP_ACCEPT_ENCODING": "gzip, br",
}


def environ(path: str) -> dict:
    parts = urlsplit(path)
    # PATH_INFO as a WSGI server gives it: percent-decoded, UTF-8 bytes read as Latin-1.
    path_info = unquote_to_bytes(parts.path).decode("iso-8859-1")
    return RequestFactory()._base_environ(PATH_INFO=path_info, QUERY_STRING=parts.query, **HEADERS)


def get(handler: WSGIHandler, path: str) -> None:
    statuses = []
    response = handler(environ(path), lambda status, headers, exc_info=None: statuses.append(status))
    b"".join(response)
    response.close()
    if not statuses[0].startswith("200"):
        raise SystemExit(f"{path} answered {statuses[0]}")


def profile(handler: WSGIHandler, paths: list[str], top: int) -> tuple[float, str]:
    for path in paths[:20]:  # warm: connection, templates, translations
        get(handler, path)
    timed = paths[20 : 20 + (len(paths) - 20) // 2]
    started = time.process_time()
    for path in timed:
        get(handler, path)
    cpu_ms = (time.process_time() - started) * 1000 / len(timed)
    profiled = paths[20 + len(timed) :]
    profiler = cProfile.Profile()
    profiler.enable()
    for path in profiled:
        get(handler, path)
    profiler.disable()
    stats = pstats.Stats(profiler)
    rows = []
    for (filename, line, function), (_calls, total_calls, _own, cumulative, _callers) in stats.stats.items():
        where = f"{Path(filename).name}:{line}" if line else filename
        rows.append((cumulative, total_calls, f"{function} ({where})"))
    rows.sort(reverse=True)
    out = io.StringIO()
    out.write(f"{'ms/page':>8}  {'calls/page':>10}  function\n")
    for cumulative, calls, name in rows[:top]:
        out.write(f"{cumulative * 1000 / len(profiled):8.2f}  {calls / len(profiled):10.1f}  {name}\n")
    return cpu_ms, out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=400, help="distinct pages of each walk (default 400)")
    parser.add_argument("--top", type=int, default=25, help="entries of the profile shown (default 25)")
    parser.add_argument("--walk-dir", help="default: bench/data/walk-<vendor>")
    args = parser.parse_args()
    handler = WSGIHandler()
    directory = Path(args.walk_dir or ROOT / "bench" / "data" / f"walk-{connection.vendor}")
    for label, filename in WALKS.items():
        # From the end of the file: the benchmark's walk starts at its beginning.
        paths = (directory / filename).read_text().split()[-args.pages :]
        cpu_ms, table = profile(handler, paths, args.top)
        print(f"{label} ({connection.vendor}): {cpu_ms:.2f} ms CPU a page without the profiler")
        print(table)


if __name__ == "__main__":
    main()

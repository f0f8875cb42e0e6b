"""The site under load at a million snapshots, measured against the stack's own ceiling.

    python bench/http_bench.py [--database-url URL] [--snapshots 1000000] [--duration 10]

1. The database: SQLite at bench/data/million.sqlite3 unless --database-url names another (e.g.
   postgres://postgres@127.0.0.1:5432/newsarchive_bench, created when missing). Migrated, then
   filled with `manage.py demo_data` up to --snapshots (kept between runs: only what is missing is
   added), and given a history of removal requests for the moderation queue (bench/bench_site.py).
2. The server: gunicorn with production settings (DJANGO_DEBUG=0, a generated secret key), one
   sync worker per core, static files collected and served by WhiteNoise. Requests carry
   `X-Forwarded-Proto: https`, as behind the TLS proxy of the README's deployment.
3. The load: wrk, 64 connections (the admin pages: one per core), on /healthz (Django with no template and no query: the ceiling),
   a static file (WhiteNoise: the ceiling of serving finished bytes), /, the largest category's
   first page and a page 90% of the way down it, a snapshot page, a search (when /search/ exists),
   and, logged in, the admin's snapshot list and the moderation queue. Then one connection at a
   time, for the latency of a request on its own. Then the reader pages again with the page cache
   turned off, which is what a crawler walking the archive meets.

Writes bench/results/<sqlite|postgresql>.json, and the summary table to the .txt beside it and the screen. Not part of the tests.
"""

import argparse
import json
import os
import platform
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
DATA = ROOT / "bench" / "data"
RESULTS = ROOT / "bench" / "results"
WRK_SCRIPT = ROOT / "bench" / "wrk_report.lua"
DEFAULT_SQLITE = DATA / "million.sqlite3"

READER_PAGES = ["home", "category", "category_deep", "detail", "search"]
ADMIN_PAGES = ["admin_snapshots", "admin_queue"]
LABELS = {
    "healthz": "/healthz (ceiling)",
    "static": "static file (WhiteNoise)",
    "home": "/",
    "category": "category, page 1",
    "category_deep": "category, deep page",
    "detail": "snapshot page",
    "search": "search",
    "admin_snapshots": "admin: snapshots",
    "admin_queue": "admin: moderation queue",
}
# Where the pinned counts come from (the test suite's single source).
QUERY_PINS = ROOT / "articles" / "tests" / "query_counts.py"
PIN_NAMES = {
    "home": "home",
    "category": "category",
    "category_deep": "category",
    "detail": "detail",
    "search": "search_common",  # the bench's query has well over FEW_MATCHES candidates at a million
}


def run(*command, env=None, capture=False) -> str:
    result = subprocess.run(
        command, cwd=ROOT, env=env, check=True, text=True, stdout=subprocess.PIPE if capture else None
    )
    return result.stdout if capture else ""


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("wrk is missing: installing it from Debian's packages (apt-get install -y wrk)")
        run("apt-get", "install", "-y", "-q", "wrk")
        found = shutil.which("wrk")
    if not found:
        raise SystemExit(
            "wrk is needed: install it with `sudo apt-get install wrk` (Debian/Ubuntu) or `brew install wrk`."
        )
    return found


def ensure_postgresql_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    maintenance = parts._replace(path="/postgres").geturl()
    with psycopg.connect(maintenance, autocommit=True) as connection:
        if not connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            print(f"creating PostgreSQL database {name}")
            connection.execute(f'CREATE DATABASE "{name}"')


def prepare_database(env: dict, snapshots: int) -> None:
    url = env["DATABASE_URL"]
    if url.startswith("postgres"):
        ensure_postgresql_database(url)
    else:
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    print("migrating")
    run(PYTHON, "manage.py", "migrate", "--no-input", "-v0", env=env)
    have = int(run(PYTHON, "bench/bench_site.py", "count", env=env, capture=True))
    if have < snapshots:
        print(f"{have:,} snapshots stored; adding {snapshots - have:,} with demo_data (a long while at a million)")
        run(PYTHON, "manage.py", "demo_data", "--snapshots", str(snapshots - have), env=env)
    else:
        print(f"{have:,} snapshots stored: reusing them")
    run(PYTHON, "manage.py", "collectstatic", "--no-input", "-v0", env=env)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """gunicorn with the project's production settings, one worker per core."""

    def __init__(self, env: dict, workers: int):
        self.env, self.workers, self.port = env, workers, free_port()
        self.base = f"http://127.0.0.1:{self.port}"

    def __enter__(self):
        self.process = subprocess.Popen(
            [
                str(Path(PYTHON).parent / "gunicorn"),
                "newsarchive.wsgi:application",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(self.workers),
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=self.env,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.base}/healthz", timeout=2) as response:  # noqa: S310 - our server
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.3)
        self.__exit__()
        raise SystemExit("gunicorn did not answer /healthz within a minute")

    def __exit__(self, *exc):
        self.process.terminate()
        self.process.wait(timeout=30)

    def cpu_seconds(self) -> float | None:
        """CPU time the workers have used so far (Linux /proc; None elsewhere). Unlike throughput it
        hardly changes when other programs share the machine, so it compares pages fairly there."""
        pid = self.process.pid
        try:
            workers = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            ticks = 0
            for worker in workers:
                fields = Path(f"/proc/{worker}/stat").read_text().rsplit(")", 1)[1].split()
                ticks += int(fields[11]) + int(fields[12])  # utime, stime
        except OSError:
            return None
        return ticks / os.sysconf("SC_CLK_TCK")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def check(url: str, headers: dict) -> int:
    """The status of one request, redirects not followed: every benchmarked page must answer 200."""
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(urllib.request.Request(url, headers=headers), timeout=60) as response:  # noqa: S310 - our server
            response.read()
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def wrk(
    wrk_path: str,
    url: str,
    headers: dict,
    *,
    connections: int,
    threads: int,
    duration: int,
    script: Path = WRK_SCRIPT,
    script_args: tuple = (),
) -> dict:
    command = [
        wrk_path,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration}s",
        "--timeout",
        "30s",
        "-s",
        str(script),
    ]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    tail = ["--", *map(str, script_args)] if script_args else []
    output = subprocess.run([*command, url, *tail], check=True, text=True, capture_output=True, cwd=ROOT).stdout
    line = next(line for line in output.splitlines() if line.startswith("WRK_JSON "))
    raw = json.loads(line.removeprefix("WRK_JSON "))
    if raw["requests"] == 0:
        print(f"(no request completed in {duration} s: is the machine overloaded?) ", end="")
        raw.update(p50_us=float("nan"), p99_us=float("nan"), mean_us=float("nan"))
    seconds = raw["duration_us"] / 1e6
    return {
        "requests": raw["requests"],
        "rps": round(raw["requests"] / seconds, 1),
        "p50_ms": round(raw["p50_us"] / 1000, 2),
        "p99_ms": round(raw["p99_us"] / 1000, 2),
        "mean_ms": round(raw["mean_us"] / 1000, 2),
        "non_2xx_3xx": raw["status"],
        "socket_errors": raw["connect"] + raw["read"] + raw["write"] + raw["timeout"],
    }


def load(
    server: Server, wrk_path: str, pages: dict, names: list[str], headers: dict, admin_headers: dict, args
) -> dict:
    results = {}
    for name in names:
        if name not in pages:
            continue
        url = server.base + pages[name]
        page_headers = admin_headers if name in ADMIN_PAGES else headers
        statuses = {check(url, page_headers) for _ in range(3)}  # also warms the cache and the workers
        if statuses != {200}:
            raise SystemExit(f"{name} ({pages[name]}) answered {statuses}, not 200")
        print(f"  {LABELS[name]:<26} ", end="", flush=True)
        # Editors' pages under a few connections (one per worker), not a crowd: each holds a worker
        # for a tenth of a second or more, and 64 at once would only measure the queue.
        connections = args.admin_connections if name in ADMIN_PAGES else args.connections
        threads = min(args.threads, connections)
        cpu_before = server.cpu_seconds()
        loaded = wrk(wrk_path, url, page_headers, connections=connections, threads=threads, duration=args.duration)
        cpu_after = server.cpu_seconds()
        loaded["server_cpu_ms"] = (
            round((cpu_after - cpu_before) * 1000 / loaded["requests"], 3)
            if cpu_before is not None and cpu_after is not None and loaded["requests"]
            else None
        )
        alone = wrk(wrk_path, url, page_headers, connections=1, threads=1, duration=args.duration)
        results[name] = {"url": pages[name], "connections": connections, "load": loaded, "alone": alone}
        print(f"{loaded['rps']:>8,.0f} req/s  p50 {loaded['p50_ms']:>8.1f} ms   alone p50 {alone['p50_ms']:.1f} ms")
    return results


WALK_SCRIPT = ROOT / "bench" / "wrk_walk.lua"
WALKS = {"walk_snapshots": "walk-snapshots.txt", "walk_categories": "walk-categories.txt"}
LABELS |= {"walk_snapshots": "walk: snapshot pages", "walk_categories": "walk: category pages"}


def walk_load(server: Server, wrk_path: str, headers: dict, args, directory: Path) -> dict:
    """A crawler's walk with the page cache on: each page of the walk files asked for once, so each
    is rendered (nobody opened it in the last ten minutes), against /healthz in the same run."""
    results = {}
    print(f"  {LABELS['healthz']:<26} ", end="", flush=True)
    threads = min(args.threads, args.connections)
    cpu_before = server.cpu_seconds()
    ceiling = wrk(
        wrk_path,
        f"{server.base}/healthz",
        headers,
        connections=args.connections,
        threads=threads,
        duration=args.duration,
    )
    ceiling["server_cpu_ms"] = round((server.cpu_seconds() - cpu_before) * 1000 / ceiling["requests"], 3)
    results["healthz"] = {"load": ceiling}
    print(f"{ceiling['rps']:>8,.0f} req/s")
    for name, filename in WALKS.items():
        path = directory / filename
        paths = path.read_text().split()
        for sample in paths[:: max(1, len(paths) // 20)]:
            status = check(server.base + sample, headers)
            if status != 200:
                raise SystemExit(f"{name}: {sample} answered {status}, not 200")
        print(f"  {LABELS[name]:<26} ", end="", flush=True)
        cpu_before = server.cpu_seconds()
        loaded = wrk(
            wrk_path,
            server.base,
            headers,
            connections=args.connections,
            threads=threads,
            duration=args.walk_seconds,
            script=WALK_SCRIPT,
            script_args=(path, threads),
        )
        if loaded["requests"] > len(paths):
            raise SystemExit(f"{name}: {loaded['requests']:,} requests for {len(paths):,} paths: give more paths")
        loaded["server_cpu_ms"] = round((server.cpu_seconds() - cpu_before) * 1000 / loaded["requests"], 3)
        loaded["distinct_pages"] = loaded["requests"]
        loaded["x_healthz"] = round(loaded["rps"] / ceiling["rps"], 3)
        loaded["x_healthz_cpu"] = round(ceiling["server_cpu_ms"] / loaded["server_cpu_ms"], 3)
        results[name] = {"load": loaded}
        print(
            f"{loaded['rps']:>8,.0f} req/s  {loaded['x_healthz']:.3f} × healthz  "
            f"{loaded['server_cpu_ms']:.2f} ms CPU/page  ({loaded['requests']:,} distinct pages)"
        )
    return results


def machine() -> dict:
    memory = ""
    try:
        total_kib = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
        memory = f"{total_kib / 1024 / 1024:.1f} GiB"
    except (OSError, AttributeError):
        pass
    cpu = ""
    try:
        cpu = re.search(r"model name\s*:\s*(.*)", Path("/proc/cpuinfo").read_text()).group(1)
    except (OSError, AttributeError):
        pass
    versions = run(
        PYTHON,
        "-c",
        "from importlib.metadata import version; print(*(version(p) for p in ['django', 'gunicorn', 'whitenoise']))",
        capture=True,
    ).split()
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.splitlines()[0].split(" [")[0]
    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "memory": memory,
        "system": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "django": versions[0],
        "gunicorn": versions[1],
        "whitenoise": versions[2],
        "wrk": wrk_version,
        "load_average_before": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
    }


def pinned_queries(vendor: str) -> dict:
    pins: dict = {}
    exec(QUERY_PINS.read_text(), pins)  # noqa: S102 - our own file of constants
    render = pins["RENDER_POSTGRESQL"] if vendor == "postgresql" else pins["RENDER"]
    counts = {name: pins["PAGE_CACHE_CHECK"] + render[pin] for name, pin in PIN_NAMES.items()}
    counts.update({f"{name}_render": render[pin] for name, pin in PIN_NAMES.items()})
    counts.update({f"{name}_cached": pins["PAGE_CACHE_CHECK"] for name in PIN_NAMES})
    for name, value in pins.get("OTHER", {}).items():
        counts[name] = value
    return counts


def table(rows: list[tuple]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row))
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return lines


def page_rows(results: dict, queries: dict, *, cached: bool) -> list[tuple]:
    ceiling = results["healthz"]["load"]
    rows = [
        (
            "page",
            "queries",
            "conns",
            "req/s",
            "×healthz",
            "p50 ms",
            "p99 ms",
            "alone p50 ms",
            "CPU ms/req",
            "×healthz (CPU)",
            "non-2xx",
            "sock err",
        )
    ]
    for name, result in results.items():
        load, alone = result["load"], result["alone"]
        q = queries.get(name, {})
        if name in PIN_NAMES:
            q_text = str(q.get("pinned_cached") if cached else q.get("pinned_render"))
        else:
            q_text = str(q.get("measured", ""))
        cpu = load.get("server_cpu_ms")
        rows.append(
            (
                LABELS[name],
                q_text,
                str(result["connections"]),
                f"{load['rps']:,.0f}",
                f"{load['rps'] / ceiling['rps']:.2f}",
                f"{load['p50_ms']:.1f}",
                f"{load['p99_ms']:.1f}",
                f"{alone['p50_ms']:.1f}",
                f"{cpu:.2f}" if cpu else "",
                f"{ceiling['server_cpu_ms'] / cpu:.2f}" if cpu and ceiling.get("server_cpu_ms") else "",
                str(load["non_2xx_3xx"] + alone["non_2xx_3xx"]),
                str(load["socket_errors"] + alone["socket_errors"]),
            )
        )
    return rows


def walk_rows(walk: dict) -> list[tuple]:
    ceiling = walk["healthz"]["load"]
    rows = [("walk", "distinct pages", "req/s", "×healthz", "CPU ms/page", "×healthz (CPU)", "p50 ms", "non-2xx")]
    rows.append(
        (
            "/healthz (same run)",
            "",
            f"{ceiling['rps']:,.0f}",
            "1.00",
            f"{ceiling['server_cpu_ms']:.2f}",
            "1.00",
            f"{ceiling['p50_ms']:.1f}",
            str(ceiling["non_2xx_3xx"]),
        )
    )
    for name in WALKS:
        load = walk[name]["load"]
        rows.append(
            (
                LABELS[name],
                f"{load['distinct_pages']:,}",
                f"{load['rps']:,.0f}",
                f"{load['x_healthz']:.3f}",
                f"{load['server_cpu_ms']:.2f}",
                f"{load['x_healthz_cpu']:.3f}",
                f"{load['p50_ms']:.1f}",
                str(load["non_2xx_3xx"]),
            )
        )
    return rows


def summarise(report: dict) -> str:
    goals = report["goals"]
    return "\n".join(
        [
            "A crawler's walk (page cache on, every page asked for once; goal ≥ 0.25 × /healthz):",
            *table(walk_rows(report["walk"])),
            "",
            "Page cache on (as served):",
            *table(page_rows(report["cached"], report["queries"], cached=True)),
            "",
            "Page cache off (what a crawler walking the archive meets):",
            *table(page_rows(report["uncached"], report["queries"], cached=False)),
            "",
            "queries: the test suite's pins (articles/tests/query_counts.py) for reader pages, measured for the rest;",
            "CPU ms/req: the gunicorn workers' CPU time per request, which other load on the machine hardly changes.",
            f"deep / page 1 latency: {goals['deep_over_page1_uncached']:.2f} uncached under load, "
            f"{goals['deep_over_page1_alone']:.2f} uncached alone, {goals['deep_over_page1_cached']:.2f} cached (goal ≤ 1.5)",
            f"slowest reader page: {goals['slowest_reader_ratio']:.2f} × /healthz cached "
            f"({goals['slowest_reader_ratio_cpu']:.2f} by CPU), {goals['slowest_reader_ratio_uncached']:.2f} uncached (goal ≥ 0.5)",
            f"admin, one request at a time: snapshots {goals['admin_snapshots_ms']:.0f} ms, "
            f"moderation queue {goals['admin_queue_ms']:.0f} ms (goal < 300 ms)",
            f"non-2xx responses: {goals['non_2xx']}, socket errors: {goals['socket_errors']} (goal 0)",
        ]
    )


def goals(report: dict) -> dict:
    cached, uncached = report["cached"], report["uncached"]
    readers = [name for name in READER_PAGES if name in cached]
    every = [*cached.values(), *uncached.values()]
    return {
        "deep_over_page1_cached": cached["category_deep"]["load"]["p50_ms"] / cached["category"]["load"]["p50_ms"],
        "deep_over_page1_uncached": uncached["category_deep"]["load"]["p50_ms"]
        / uncached["category"]["load"]["p50_ms"],
        "deep_over_page1_alone": uncached["category_deep"]["alone"]["p50_ms"] / uncached["category"]["alone"]["p50_ms"],
        "slowest_reader_ratio": min(cached[n]["load"]["rps"] for n in readers) / cached["healthz"]["load"]["rps"],
        "slowest_reader_ratio_cpu": (
            cached["healthz"]["load"]["server_cpu_ms"] / max(cached[n]["load"]["server_cpu_ms"] for n in readers)
            if all(cached[n]["load"].get("server_cpu_ms") for n in [*readers, "healthz"])
            else float("nan")
        ),
        "slowest_reader_ratio_uncached": min(uncached[n]["load"]["rps"] for n in readers)
        / uncached["healthz"]["load"]["rps"],
        "admin_snapshots_ms": cached["admin_snapshots"]["alone"]["p50_ms"],
        "admin_queue_ms": cached["admin_queue"]["alone"]["p50_ms"],
        "non_2xx": sum(r["load"]["non_2xx_3xx"] + r["alone"]["non_2xx_3xx"] for r in every),
        "socket_errors": sum(r["load"]["socket_errors"] + r["alone"]["socket_errors"] for r in every),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{DEFAULT_SQLITE}")
    parser.add_argument("--snapshots", type=int, default=1_000_000)
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per page (default 10)")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument(
        "--admin-connections", type=int, default=os.cpu_count() or 2, help="for the admin pages (default: cores)"
    )
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2, help="wrk threads (default: cores)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="gunicorn workers (default: cores)")
    # More paths than a walk can take in its time: every page of it is asked for once.
    parser.add_argument("--walk-snapshots", type=int, default=200_000, help="snapshot pages to walk (at most)")
    parser.add_argument("--walk-categories", type=int, default=50_000, help="category pages to walk (at most)")
    parser.add_argument("--walk-seconds", type=int, default=60, help="seconds of each walk (default 60)")
    parser.add_argument("--only-walk", action="store_true", help="run the walk alone (data already prepared)")
    parser.add_argument(
        "--cache-url",
        default=os.environ.get("DJANGO_CACHE_URL", ""),
        help="redis://… to keep the page cache in Redis, as in production (default: local memory, per worker)",
    )
    parser.add_argument(
        "--replica-url",
        default=os.environ.get("DATABASE_REPLICA_URL", ""),
        help="postgres://… of a streaming replica of the database for reader pages (scripts/pg-replica)",
    )
    args = parser.parse_args()

    wrk_path = ensure_wrk()
    env = os.environ | {
        "DATABASE_URL": args.database_url,
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_LOG_LEVEL": "ERROR",
        "DJANGO_CACHE_URL": args.cache_url,
        "DATABASE_REPLICA_URL": args.replica_url,
    }
    if not args.replica_url:
        env.pop("DATABASE_REPLICA_URL")
    env.pop("DJANGO_SETTINGS_MODULE", None)
    prepare_database(env, args.snapshots)
    print("preparing the admin account, the moderation queue and the pages")
    site = json.loads(run(PYTHON, "bench/bench_site.py", "prepare", env=env, capture=True))
    pages = site["pages"]
    headers = {
        "X-Forwarded-Proto": "https",
        "Accept-Language": "zh-CN,zh;q=0.9",
        "Accept-Encoding": "gzip, br",
    }
    admin_headers = headers | {"Cookie": site["session_cookie"]}
    names = ["healthz", "static", *READER_PAGES, *ADMIN_PAGES]

    started = datetime.now(UTC)
    report = {"machine": machine(), "database": site["database"], "dataset": site["dataset"], "pages": pages}
    report["settings"] = {
        "duration_s": args.duration,
        "connections": args.connections,
        "admin_connections": args.admin_connections,
        "wrk_threads": args.threads,
        "gunicorn_workers": args.workers,
        "cache": args.cache_url.split("@")[-1] or "local memory (per worker)",
        "replica": args.replica_url.split("@")[-1] or None,
    }
    # One file per set-up: sqlite, postgresql, postgresql-replica-redis, …
    variant = (
        site["database"]["vendor"] + ("-replica" if args.replica_url else "") + ("-redis" if args.cache_url else "")
    )
    walk_dir = DATA / f"walk-{site['database']['vendor']}"
    print(
        run(
            PYTHON,
            "bench/bench_site.py",
            "walk",
            str(args.walk_snapshots),
            str(args.walk_categories),
            str(walk_dir),
            env=env,
            capture=True,
        ).strip()
    )
    if not args.only_walk:
        print(
            f"page cache on ({args.workers} gunicorn workers, {args.connections} connections, {args.duration} s each)"
        )
        with Server(env, args.workers) as server:
            report["cached"] = load(server, wrk_path, pages, names, headers, admin_headers, args)
        print("page cache off")
        with Server(env | {"ARTICLES_PAGE_CACHE_SECONDS": "0"}, args.workers) as server:
            report["uncached"] = load(server, wrk_path, pages, ["healthz", *READER_PAGES], headers, admin_headers, args)
    print("a crawler's walk (page cache on; every page asked for once)")
    with Server(env, args.workers) as server:
        report["walk"] = walk_load(server, wrk_path, headers, args, walk_dir)
    if args.only_walk:
        out = RESULTS / f"walk-{variant}.json"
        out.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        print(f"written to {out.relative_to(ROOT)}")
        return

    pins = pinned_queries(site["database"]["vendor"])
    report["queries"] = {
        name: {
            **measured,
            "pinned": pins.get(name),
            "pinned_cached": pins.get(f"{name}_cached"),
            "pinned_render": pins.get(f"{name}_render"),
        }
        for name, measured in site["queries"].items()
    }
    report["goals"] = goals(report)
    report["started_at"] = started.isoformat(timespec="seconds")
    report["load_average_after"] = os.getloadavg()[0]
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{variant}.json"
    out.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    table = summarise(report)
    mismatched = [
        name
        for name, q in report["queries"].items()
        if q.get("pinned") is not None and (q["measured"], q["measured_again"]) != (q["pinned"], q["pinned_cached"])
    ]
    heading = (
        f"{site['database']['version']}, {site['dataset']['snapshots']:,} snapshots; "
        f"{report['machine']['cores']} cores ({report['machine']['cpu']}), {report['started_at']}; "
        f"page cache: {report['settings']['cache']}; replica: {report['settings']['replica'] or 'none'}"
    )
    summary = RESULTS / f"{variant}.txt"
    summary.write_text(f"{heading}\n{table}\n", encoding="utf-8")
    print()
    print(heading)
    print(table)
    if mismatched:
        print(f"\nwarning: measured queries differ from the test suite's pins for {', '.join(mismatched)}")
    print(f"\nwritten to {out.relative_to(ROOT)} and {summary.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

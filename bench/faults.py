"""Load and faults against a real server: gunicorn on 127.0.0.1, production settings, SQLite or PostgreSQL.

    python bench/faults.py                                                   # SQLite (a fresh file)
    python bench/faults.py --database-url postgres://postgres@127.0.0.1:5432/NAME   # an empty database

1. load: wrk, 64 connections for 30 s each on a category page, on the removal form (GET), and on the
   removal form POSTed incomplete (answered 200 with the form's errors; the rate limit is raised so
   that the form's own work is what is loaded). Must hold: no socket error, every answer 200.
2. burst: 1,000 JSON removal requests, each on its own connection, opened first and then sent at
   once. Every answer must be 201, or 400 / 429 with its reason in the JSON body; the requests
   stored must equal the 201s. Run with the default rate limit (most are refused, 429) and raised.
3. outage: the database goes away under the running server (SQLite: its file is moved aside;
   PostgreSQL: the TCP relay the server reaches it through is cut) and comes back. Meanwhile pages
   must answer 503 with Retry-After and no traceback; afterwards 200, with no restart.

Traffic goes to 127.0.0.1 only, bounded in count and time. Needs wrk (apt-get install wrk).
Writes bench/results/faults-<sqlite|postgresql>.json and exits 1 if any check failed.
"""

import argparse
import asyncio
import json
import os
import platform
import re
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
RESULTS = ROOT / "bench" / "results"
HOST = "127.0.0.1"
WORKERS, THREADS = 2, 16
INVALID_EVERY = 10  # every tenth burst request lacks its signature: a 400 naming the field


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def manage(env: dict, *args: str) -> str:
    return subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    ).stdout


# --- a relay between the server and PostgreSQL, to cut ------------------------------------------


class Relay:
    """A TCP relay on 127.0.0.1 to the database. `cut()` closes every connection through it and
    stops listening (new connections are refused); `restore()` listens again."""

    def __init__(self, target_host: str, target_port: int):
        self.target = (target_host, target_port)
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        self.server = None
        self.writers: set[asyncio.StreamWriter] = set()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        self.restore()

    async def _pipe(self, reader, writer):
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def _handle(self, client_reader, client_writer):
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        except OSError:
            client_writer.close()
            return
        self.writers |= {client_writer, upstream_writer}
        await asyncio.gather(self._pipe(client_reader, upstream_writer), self._pipe(upstream_reader, client_writer))
        self.writers -= {client_writer, upstream_writer}

    def _call(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=10)

    def restore(self):
        async def start():
            self.server = await asyncio.start_server(self._handle, HOST, self.port, reuse_address=True)

        self._call(start())

    def cut(self):
        async def stop():
            self.server.close()
            for writer in list(self.writers):
                writer.transport.abort()
            self.writers.clear()

        self._call(stop())


# --- the server ---------------------------------------------------------------------------------


class Server:
    def __init__(self, env: dict, log: Path, **extra_env):
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.log = log.open("a")
        self.process = subprocess.Popen(
            [
                str(Path(PYTHON).with_name("gunicorn")),
                "newsarchive.wsgi:application",
                "--bind",
                f"{HOST}:{self.port}",
                "--workers",
                str(WORKERS),
                "--threads",
                str(THREADS),
                "--worker-connections",
                "2000",
                "--backlog",
                "4096",
                "--timeout",
                "120",
            ],
            cwd=ROOT,
            env=env | extra_env,
            stdout=self.log,
            stderr=self.log,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as response:  # noqa: S310
                    if response.status == 200:
                        return
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError(f"gunicorn did not start; see {log}") from None
                time.sleep(0.3)

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


def get(url: str) -> tuple[int, dict, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - 127.0.0.1 only
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


# --- 1. load ------------------------------------------------------------------------------------

WRK_REPORT = """
done = function(summary, latency, requests)
  local statuses = {}
  io.write(string.format("JSON{\\"requests\\": %d, \\"seconds\\": %.3f, \\"connect\\": %d, \\"read\\": %d, \\"write\\": %d, \\"timeout\\": %d, \\"status\\": %d, \\"p50_ms\\": %.2f, \\"p99_ms\\": %.2f, \\"max_ms\\": %.2f}\\n",
    summary.requests, summary.duration / 1e6, summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.timeout, summary.errors.status, latency:percentile(50) / 1e3, latency:percentile(99) / 1e3, latency.max / 1e3))
end
"""


def wrk(url: str, *, duration: int, connections: int, post_body: str | None = None, cookie: str = "") -> dict:
    script = WRK_REPORT
    if post_body is not None:
        script = (
            'wrk.method = "POST"\n'
            f"wrk.body = {json.dumps(post_body)}\n"
            'wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\n'
            f'wrk.headers["Cookie"] = "{cookie}"\n'
        ) + script
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    output = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--timeout", "10s", "-s", handle.name, url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    os.unlink(handle.name)
    figures = json.loads(re.search(r"^JSON(\{.*\})$", output, re.M).group(1))
    figures["rps"] = round(figures["requests"] / figures["seconds"], 1)
    figures["errors"] = sum(figures[key] for key in ("connect", "read", "write", "timeout", "status"))
    return figures


def incomplete_removal_form(csrf: str, snapshot_url: str) -> str:
    """What a person sends when they forget most fields: the form comes back with its errors."""
    return urlencode({"csrfmiddlewaretoken": csrf, "name": "王五", "urls": snapshot_url, "good_faith": "on"})


# --- 2. burst -----------------------------------------------------------------------------------


def burst_body(index: int, snapshot_url: str) -> dict:
    body = {
        "requester": {
            "name": f"请求人 {index}",
            "organisation": "压力测试版权部",
            "role": "rights_holder",
            "email": f"burst{index}@example.org",
            "phone": "+86 10 0000 0000",
            "address": "北京市某路 1 号",
        },
        "work": f"原创报道第 {index} 篇",
        "urls": [snapshot_url],
        "explanation": "快照全文转载了我方报道。",
        "evidence": "首发于我方网站。",
        "good_faith": True,
        "accurate_and_authorised": True,
        "signature": f"请求人 {index}",
    }
    if index % INVALID_EVERY == 0:
        del body["signature"]
    return body


async def post_json_at_once(port: int, bodies: list[dict]) -> list[tuple[int, dict | None, str]]:
    """Open one connection per body, then send all together; read each whole answer."""
    go = asyncio.Event()

    async def one(body):
        reader, writer = await asyncio.open_connection(HOST, port)
        data = json.dumps(body, ensure_ascii=False).encode()
        head = (
            f"POST /api/takedown/ HTTP/1.1\r\nHost: {HOST}:{port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n"
        ).encode()
        await go.wait()
        writer.write(head + data)
        await writer.drain()
        raw = await asyncio.wait_for(reader.read(), timeout=300)
        writer.close()
        head, _sep, payload = raw.partition(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        try:
            parsed = json.loads(payload)
        except ValueError:
            parsed = None
        return status, parsed, payload[:300].decode(errors="replace")

    tasks = [asyncio.create_task(one(body)) for body in bodies]
    await asyncio.sleep(2)  # every connection open
    go.set()
    return await asyncio.gather(*tasks, return_exceptions=True)


def count_requests(env: dict) -> int:
    return int(
        manage(
            env, "shell", "-c", "from moderation.models import TakedownRequest; print(TakedownRequest.objects.count())"
        )
        .strip()
        .splitlines()[-1]
    )


def burst(env: dict, server: Server, snapshot_urls: list[str], *, label: str, rate_limit: int, offset: int) -> dict:
    bodies = [burst_body(offset + n, url) for n, url in enumerate(snapshot_urls)]
    before = count_requests(env)
    started = time.monotonic()
    answers = asyncio.run(post_json_at_once(server.port, bodies))
    seconds = time.monotonic() - started
    stored = count_requests(env) - before
    statuses, unexplained, failures = {}, [], []
    for answer in answers:
        if isinstance(answer, BaseException):
            failures.append(repr(answer))
            continue
        status, body, text = answer
        statuses[str(status)] = statuses.get(str(status), 0) + 1
        if status == 201:
            if not (body and body.get("reference")):
                unexplained.append(text)
        elif status in (400, 429):
            errors = (body or {}).get("errors") or {}
            if not errors or not all(messages and all(m.strip() for m in messages) for messages in errors.values()):
                unexplained.append(text)
        else:
            unexplained.append(f"{status}: {text}")
    created = statuses.get("201", 0)
    return {
        "label": label,
        "rate_limit_per_address_per_hour": rate_limit,
        "sent": len(bodies),
        "deliberately_invalid": sum(1 for n in range(len(bodies)) if (offset + n) % INVALID_EVERY == 0),
        "answers": dict(sorted(statuses.items())),
        "connection_failures": len(failures),
        "unexplained": len(unexplained),
        "unexplained_examples": unexplained[:3] + failures[:3],
        "stored": stored,
        "stored_equals_201s": stored == created,
        "seconds": round(seconds, 2),
        "ok": not failures and not unexplained and stored == created,
    }


# --- 3. outage ----------------------------------------------------------------------------------


def outage(server: Server, paths: list[str], cut, restore) -> dict:
    def probe():
        answers = []
        for path in paths:
            status, headers, body = get(server.url + path)
            answers.append(
                {
                    "path": path,
                    "status": status,
                    "retry_after": headers.get("Retry-After"),
                    "traceback_shown": "Traceback" in body or 'File "' in body,
                }
            )
        return answers

    before = probe()
    cut()
    time.sleep(1)
    during = probe()
    restore()
    time.sleep(1)
    after = probe()
    ok = all(a["status"] == 200 for a in before + after) and all(
        a["status"] == 503 and a["retry_after"] and not a["traceback_shown"] for a in during
    )
    return {"before": before, "during": during, "after": after, "ok": ok}


# --- the run ------------------------------------------------------------------------------------


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--database-url", default="", help="an empty PostgreSQL database (default: a fresh SQLite file)"
    )
    parser.add_argument("--snapshots", type=int, default=20_000)
    parser.add_argument("--duration", type=int, default=30)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--burst", type=int, default=1000)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install -y wrk")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 8192)), hard))

    work = Path(tempfile.mkdtemp(prefix="newsarchive-faults-"))
    relay = None
    if args.database_url:
        kind = "postgresql"
        parts = urlsplit(args.database_url)
        relay = Relay(parts.hostname or HOST, parts.port or 5432)
        netloc = parts.netloc.rsplit("@", 1)
        server_url = urlunsplit(
            parts._replace(netloc=f"{netloc[0] + '@' if len(netloc) == 2 else ''}{HOST}:{relay.port}")
        )
        database_url = args.database_url
    else:
        kind = "sqlite"
        sqlite_path = work / "db.sqlite3"
        database_url = server_url = f"sqlite:///{sqlite_path}"
    env = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")} | {
        "DATABASE_URL": database_url,
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": HOST,
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
        "DJANGO_EVIDENCE_ROOT": str(work / "evidence"),
        "DJANGO_SITE_URL": f"http://{HOST}",
    }
    print(f"setting up {kind}: migrate, {args.snapshots:,} demo snapshots, collectstatic", flush=True)
    manage(env, "migrate", "--no-input", "-v0")
    manage(env, "demo_data", "--snapshots", str(args.snapshots))
    manage(env, "collectstatic", "--no-input", "-v0")
    facts = json.loads(
        manage(
            env,
            "shell",
            "-c",
            "import json; from articles.models import Category, Snapshot; "
            "c = Category.objects.order_by('pk').first(); "
            f"keys = list(Snapshot.objects.published().order_by('pk').values_list('key', flat=True)[:{2 * args.burst}]); "
            "print(json.dumps({'category': c.get_absolute_url(), 'keys': keys}))",
        )
        .strip()
        .splitlines()[-1]
    )
    urls = [f"http://{HOST}/detail/{key}.html" for key in facts["keys"]]
    server_env = env | {"DATABASE_URL": server_url}
    log = work / "gunicorn.log"
    results = {
        "database": kind,
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "server": {"gunicorn_workers": WORKERS, "threads": THREADS, "settings": "DJANGO_DEBUG=0"},
        "snapshots": args.snapshots,
    }

    # 1 and the raised-limit burst: one server with the rate limit out of the way.
    raised = 1_000_000
    server = Server(server_env, log, TAKEDOWN_RATE_LIMIT=str(raised))
    try:
        csrf = secrets.token_hex(16)  # a CSRF secret of our own, sent as cookie and field alike
        load = []
        for label, path, body in [
            ("category page (GET)", facts["category"], None),
            ("removal form (GET)", "/takedown/new/", None),
            ("removal form, incomplete (POST)", "/takedown/new/", incomplete_removal_form(csrf, urls[0])),
        ]:
            print(f"wrk {label}: {args.connections} connections, {args.duration} s", flush=True)
            figures = wrk(
                server.url + path,
                duration=args.duration,
                connections=args.connections,
                post_body=body,
                cookie=f"csrftoken={csrf}",
            )
            load.append({"label": label, "path": path, "connections": args.connections, **figures})
        results["load"] = load
        print(f"burst of {args.burst} JSON requests, rate limit raised", flush=True)
        bursts = [burst(env, server, urls[: args.burst], label="rate limit raised", rate_limit=raised, offset=0)]
    finally:
        server.stop()

    server = Server(server_env, log)
    try:
        print(f"burst of {args.burst} JSON requests, default rate limit", flush=True)
        bursts.append(
            burst(
                env,
                server,
                urls[args.burst : 2 * args.burst],
                label="default rate limit",
                rate_limit=10,
                offset=args.burst,
            )
        )
        results["burst"] = bursts
        results["burst_note"] = (
            f"The rate limit is per address and, with the default local-memory cache, per worker process "
            f"({WORKERS} here): production shares it through Redis (DJANGO_CACHE_URL)."
        )

        print("outage", flush=True)
        paths = ["/", facts["category"], urls[-1].removeprefix(f"http://{HOST}")]
        if relay is not None:
            results["outage"] = {"how": "the TCP relay between server and PostgreSQL cut, then restored"}
            results["outage"] |= outage(server, paths, relay.cut, relay.restore)
        else:
            aside = work / "aside"
            aside.mkdir()
            names = ["db.sqlite3", "db.sqlite3-wal", "db.sqlite3-shm"]

            def cut():
                for name in names:
                    if (work / name).exists():
                        (work / name).rename(aside / name)

            def restore():
                for name in names:
                    (work / name).unlink(missing_ok=True)
                    if (aside / name).exists():
                        (aside / name).rename(work / name)

            results["outage"] = {"how": "the SQLite file moved aside, then back"}
            results["outage"] |= outage(server, paths, cut, restore)
    finally:
        server.stop()

    results["ok"] = all(
        [
            all(run["errors"] == 0 for run in results["load"]),
            all(run["ok"] for run in results["burst"]),
            results["outage"]["ok"],
        ]
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    target = RESULTS / f"faults-{kind}.json"
    target.write_text(json.dumps(results, ensure_ascii=False, indent=1) + "\n")
    for run in results["load"]:
        print(
            f"{run['label']:36} {run['rps']:>8} req/s  p50 {run['p50_ms']} ms  p99 {run['p99_ms']} ms  errors {run['errors']}"
        )
    for run in results["burst"]:
        print(f"burst, {run['label']:24} answers {run['answers']}  stored {run['stored']}  ok {run['ok']}")
    print(f"outage ok {results['outage']['ok']}; written to {target.relative_to(ROOT)}")
    shutil.rmtree(work, ignore_errors=True)
    sys.exit(0 if results["ok"] else 1)


if __name__ == "__main__":
    main()

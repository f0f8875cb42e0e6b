"""Load and faults against a real server: gunicorn on 127.0.0.1, production settings, SQLite or PostgreSQL.

    python bench/faults.py                                                   # SQLite (a fresh file)
    python bench/faults.py --database-url postgres://postgres@127.0.0.1:5432/NAME   # an empty database

1. load: wrk, 64 connections for 30 s each on a category page, on the removal form (GET), and on the
   removal form POSTed incomplete (answered 200 with the form's errors; the rate limit is raised so
   that the form's own work is what is loaded). Must hold: no socket error, every answer 200.
2. burst: 1,000 JSON removal requests, each on its own connection, opened first and then sent at
   once. Every answer must be 201, or 400 / 429 with its reason in the JSON body; the requests
   stored must equal the 201s. Run with the default rate limit (most are refused, 429) and raised.
   Then 32 identical requests (one requester, one snapshot) at once: one stored, 31 answered 400
   naming its reference, never its status token.
3. outage: the database goes away under the running server (SQLite: its file is moved aside;
   PostgreSQL: the TCP relay the server reaches it through is cut) and comes back. Meanwhile pages
   must answer 503 with Retry-After and no traceback; afterwards 200, with no restart.
4. mail down: 1,000 JSON removal requests filed (32 at a time) with the task worker (db_worker)
   beside gunicorn and a mail server of our own on 127.0.0.1 that refuses connections (nothing
   listens) for the first 500 and accepts from then on. Must hold: 1,000 stored, no 5xx, and every
   receipt delivered exactly once after the server accepts (OUTBOX_RETRY_SECONDS=2).
5. Redis down: a redis-server of our own (another port, never the shared one) holds the page cache
   and the rate limits; it is stopped under load and started again. Meanwhile reader pages and
   every rate-limited POST (removal form and API, counter-notice, sign-up, new confirmation link,
   password reset) must answer without 5xx, /readyz 503 naming the cache, /healthz 200.

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


def duplicates(env: dict, server: Server, snapshot_url: str, *, count: int = 32) -> dict:
    """`count` identical notices (one requester, one snapshot) opened at once: one must be stored,
    the others answered 400 naming its reference and never its status token."""
    body = burst_body(1, snapshot_url)
    body["requester"]["email"] = "duplicate@example.org"
    body["signature"] = body["requester"]["name"]
    before = count_requests(env)
    answers = asyncio.run(post_json_at_once(server.port, [body] * count))
    stored = count_requests(env) - before
    statuses: dict[str, int] = {}
    for answer in answers:
        key = str(answer[0]) if isinstance(answer, tuple) else "connection failure"
        statuses[key] = statuses.get(key, 0) + 1
    created = [a[1] for a in answers if isinstance(a, tuple) and a[0] == 201]
    reference = created[0]["reference"] if len(created) == 1 else None
    token = created[0]["status_url"].rstrip("/").rsplit("/", 1)[-1] if len(created) == 1 else None
    named = sum(
        1
        for a in answers
        if isinstance(a, tuple)
        and a[0] == 400
        and reference
        and any(reference in m for m in (a[1] or {}).get("errors", {}).get("urls", []))
        and token not in a[2]
    )
    return {
        "sent_at_once": count,
        "answers": dict(sorted(statuses.items())),
        "stored": stored,
        "duplicates_naming_the_stored_reference_without_its_token": named,
        "ok": stored == 1 and len(created) == 1 and named == count - 1,
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


# --- 4. mail down -------------------------------------------------------------------------------


class SmtpServer:
    """A mail server on 127.0.0.1 that we control: while closed nothing listens on its port (a
    connection is refused, as by a mail server that is down); once `listen()`ed it accepts every
    message and counts it by recipient."""

    def __init__(self):
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        self.server = None
        self.received: dict[str, int] = {}
        self.lock = threading.Lock()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()

    async def _session(self, reader, writer):
        def say(line: str):
            writer.write(line.encode() + b"\r\n")

        recipients: list[str] = []
        say("220 faults ESMTP")
        try:
            while line := await reader.readline():
                command = line.decode(errors="replace").strip()
                verb = command.split(" ", 1)[0].upper()
                if verb == "EHLO":
                    say("250-faults")
                    say("250 8BITMIME")
                elif verb in ("HELO", "MAIL", "RSET", "NOOP"):
                    recipients = [] if verb in ("MAIL", "RSET") else recipients
                    say("250 ok")
                elif verb == "RCPT":
                    recipients.append(command.partition(":")[2].strip().strip("<>").lower())
                    say("250 ok")
                elif verb == "DATA":
                    say("354 go on")
                    await writer.drain()
                    while await reader.readline() not in (b".\r\n", b""):
                        pass
                    with self.lock:
                        for recipient in recipients:
                            self.received[recipient] = self.received.get(recipient, 0) + 1
                    say("250 queued")
                elif verb == "QUIT":
                    say("221 bye")
                    await writer.drain()
                    break
                else:
                    say("502 not here")
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    def listen(self):
        async def start():
            self.server = await asyncio.start_server(self._session, HOST, self.port, reuse_address=True)

        asyncio.run_coroutine_threadsafe(start(), self.loop).result(timeout=10)

    def close(self):
        if self.server is not None:
            asyncio.run_coroutine_threadsafe(self._stop(), self.loop).result(timeout=10)

    async def _stop(self):
        self.server.close()
        await self.server.wait_closed()

    def delivered(self) -> dict[str, int]:
        with self.lock:
            return dict(self.received)


async def post_json_paced(port: int, bodies: list[dict], *, concurrency: int = 32) -> list:
    """POST each body to the API, `concurrency` at a time; (status, parsed body) each."""
    limit = asyncio.Semaphore(concurrency)

    async def one(body):
        async with limit:
            reader, writer = await asyncio.open_connection(HOST, port)
            data = json.dumps(body, ensure_ascii=False).encode()
            writer.write(
                (
                    f"POST /api/takedown/ HTTP/1.1\r\nHost: {HOST}:{port}\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n"
                ).encode()
                + data
            )
            await writer.drain()
            raw = await asyncio.wait_for(reader.read(), timeout=300)
            writer.close()
            head, _sep, payload = raw.partition(b"\r\n\r\n")
            try:
                parsed = json.loads(payload)
            except ValueError:
                parsed = None
            return int(head.split(b" ", 2)[1]), parsed

    return await asyncio.gather(*(one(body) for body in bodies), return_exceptions=True)


def message_counts(env: dict) -> dict:
    """The receipts of this run (to mail<n>@example.org) by state: how many, how many have failed at
    least one attempt (an error kept), the most attempts one took."""
    script = (
        "import json; from django.db.models import Count, Max, Q; from outbox.models import Message; "
        "rows = Message.objects.filter(kind='receipt', to__startswith='mail').values('status')"
        ".annotate(n=Count('pk'), failed_once=Count('pk', filter=~Q(last_error='') | Q(attempts__gt=1)), "
        "attempts=Max('attempts')); "
        "print(json.dumps({r['status']: {'n': r['n'], 'failed_at_least_once': r['failed_once'], "
        "'most_attempts': r['attempts']} for r in rows}))"
    )
    return json.loads(manage(env, "shell", "-c", script).strip().splitlines()[-1])


def attempted(env: dict) -> int:
    """Receipts of this run the worker has tried to send at least once."""
    script = (
        "from outbox.models import Message; "
        "print(Message.objects.filter(kind='receipt', to__startswith='mail').exclude(attempts=0, status='pending').count())"
    )
    return int(manage(env, "shell", "-c", script).strip().splitlines()[-1])


def mail_down(env: dict, server_env: dict, log: Path, snapshot_urls: list[str], *, count: int) -> dict:
    smtp = SmtpServer()  # closed: connections refused
    mail_env = {
        "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "DJANGO_EMAIL_HOST": HOST,
        "DJANGO_EMAIL_PORT": str(smtp.port),
        "DJANGO_EMAIL_USE_TLS": "0",
        "OUTBOX_RETRY_SECONDS": "2",
        "OUTBOX_MAX_ATTEMPTS": "30",
        "TAKEDOWN_RATE_LIMIT": "1000000",
    }
    # The mail the earlier steps queued (under the dummy backend, never sent: no worker ran) would
    # keep this step's worker busy; it is dropped, so that what is measured is this step's receipts.
    manage(
        env,
        "shell",
        "-c",
        "from django_tasks_db.models import DBTaskResult; from outbox.models import Message; "
        "DBTaskResult.objects.all().delete(); Message.objects.all().delete()",
    )
    before = count_requests(env)
    server = Server(server_env, log, **mail_env)
    worker = subprocess.Popen(
        [PYTHON, "manage.py", "db_worker", "--queue-name", "*", "--interval", "0.2", "--no-startup-delay", "-v", "0"],
        cwd=ROOT,
        env=server_env | mail_env,
        stdout=server.log,
        stderr=server.log,
    )
    bodies = []
    for n, url in enumerate(snapshot_urls[:count]):
        body = burst_body(n, url)
        body["requester"]["email"] = f"mail{n}@example.org"
        body["signature"] = body["requester"]["name"]  # every one complete
        bodies.append(body)
    half = count // 2
    try:
        started = time.monotonic()
        answers = asyncio.run(post_json_paced(server.port, bodies[:half]))
        # The mail server stays away until the worker has tried, and failed, every receipt so far.
        deadline = time.monotonic() + 300
        while attempted(server_env) < half and time.monotonic() < deadline:
            time.sleep(1)
        refused_for = time.monotonic() - started
        while_down = message_counts(server_env)
        smtp.listen()
        accepting_at = time.monotonic()
        answers += asyncio.run(post_json_paced(server.port, bodies[half:]))
        deadline = time.monotonic() + 600
        while (
            len(set(smtp.delivered()) & {b["requester"]["email"] for b in bodies}) < count
            and time.monotonic() < deadline
        ):
            time.sleep(1)
        all_delivered_after = time.monotonic() - accepting_at
        time.sleep(3)  # anything sent twice would arrive now
        after = message_counts(server_env)
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
        server.stop()
        smtp.close()
    statuses: dict[str, int] = {}
    for answer in answers:
        key = str(answer[0]) if isinstance(answer, tuple) else "connection failure"
        statuses[key] = statuses.get(key, 0) + 1
    expected = {body["requester"]["email"] for body in bodies}
    everything = smtp.delivered()
    # The worker also sends what earlier steps queued (their receipts, under the dummy backend
    # there): only this run's recipients count here.
    delivered = {to: n for to, n in everything.items() if to in expected}
    stored = count_requests(env) - before
    result = {
        "how": f"a mail server of our own on 127.0.0.1 refusing connections while the first {half} requests are filed "
        "and until the worker has failed to send each of their receipts, then accepting; db_worker beside gunicorn, "
        "OUTBOX_RETRY_SECONDS=2",
        "filed": count,
        "answers": dict(sorted(statuses.items())),
        "answers_5xx": sum(n for key, n in statuses.items() if key.startswith("5")),
        "stored": stored,
        "seconds_mail_server_refused": round(refused_for, 1),
        "receipts_while_refused": while_down,
        "receipts_at_end": after,
        "delivered_recipients": len(delivered),
        "delivered_messages": sum(delivered.values()),
        "delivered_twice": sum(1 for n in delivered.values() if n > 1),
        "earlier_receipts_also_delivered": sum(everything.values()) - sum(delivered.values()),
        "missing_recipients": len(expected - set(delivered)),
        "seconds_until_all_delivered_after_accepting": round(all_delivered_after, 1),
    }
    result["ok"] = (
        sum(state["failed_at_least_once"] for state in while_down.values()) == half
        and statuses.get("201") == count
        and result["answers_5xx"] == 0
        and stored == count
        and result["delivered_recipients"] == count
        and result["delivered_messages"] == count
        and result["missing_recipients"] == 0
    )
    return result


# --- 5. Redis down ------------------------------------------------------------------------------


class RedisServer:
    """A redis-server of our own on a free port (never the shared one), without persistence."""

    def __init__(self, work: Path):
        self.port = free_port()
        self.work = work
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", HOST, "--save", "", "--appendonly", "no",
             "--maxmemory-policy", "noeviction", "--dir", str(self.work)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection((HOST, self.port), timeout=1) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("redis-server did not start")

    def stop(self):
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


def post_form(url: str, data: dict, csrf: str) -> int:
    body = urlencode({"csrfmiddlewaretoken": csrf, **data}).encode()
    request = urllib.request.Request(  # noqa: S310 - 127.0.0.1 only
        url,
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": f"csrftoken={csrf}"},
    )
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def rate_limited_posts(server: Server, snapshot_urls: list[str], withheld_url: str, *, each: int, tag: str) -> dict:
    """`each` POSTs to every rate-limited form and the API, from one client address; answers by status."""
    csrf = secrets.token_hex(16)
    password = "Lang genug 2026!"  # noqa: S105 - a throwaway account of the bench

    def removal(n):
        data = {
            "name": "王五", "role": "rights_holder", "email": f"form-{tag}{n}@example.org", "phone": "+86 10 1",
            "address": "北京", "work": "原创报道", "urls": snapshot_urls[n], "explanation": "全文转载。",
            "evidence": "首发于我方网站。", "good_faith": "on", "accurate_and_authorised": "on", "signature": "王五",
        }  # fmt: skip
        return post_form(server.url + "/takedown/new/", data, csrf)

    def api(n):
        body = burst_body(n, snapshot_urls[each + n])
        body["requester"]["email"] = f"api-{tag}{n}@example.org"
        body["signature"] = "请求人"
        request = urllib.request.Request(  # noqa: S310 - 127.0.0.1 only
            server.url + "/api/takedown/",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    def counter(n):
        data = {
            "url": withheld_url,
            "name": "李四",
            "email": f"counter-{tag}{n}@example.org",
            "phone": "+86 10 2",
            "address": "上海",
            "explanation": "这是我方自己的报道。",
            "signature": "李四",
        }  # fmt: skip (incomplete: the statements are missing, so the form answers with its errors)
        return post_form(server.url + "/takedown/counter/", data, csrf)

    def signup(n):
        data = {"email": f"reader-{tag}{n}@example.org", "password1": password, "password2": password}
        return post_form(server.url + "/accounts/signup/", data, csrf)

    def resend(n):
        return post_form(server.url + "/accounts/confirm/again/", {"email": f"reader-{tag}{n}@example.org"}, csrf)

    def reset(n):
        return post_form(server.url + "/accounts/password/reset/", {"email": f"reader-{tag}{n}@example.org"}, csrf)

    results = {}
    for name, call in [("removal form", removal), ("API", api), ("counter-notice", counter), ("sign-up", signup),
                       ("new confirmation link", resend), ("password reset", reset)]:  # fmt: skip
        statuses: dict[str, int] = {}
        for n in range(each):
            status = str(call(n))
            statuses[status] = statuses.get(status, 0) + 1
        results[name] = dict(sorted(statuses.items()))
    return results


def redis_down(server_env: dict, log: Path, work: Path, facts: dict, snapshot_urls: list[str], withheld_url: str,
               *, duration: int, connections: int) -> dict:  # fmt: skip
    redis = RedisServer(work)
    redis.start()
    cache_env = {
        "DJANGO_CACHE_URL": f"redis://{HOST}:{redis.port}/0",
        "DJANGO_RATELIMIT_CACHE_URL": f"redis://{HOST}:{redis.port}/1",
    }
    server = Server(server_env, log, **cache_env)
    each = 15
    try:

        def probe():
            return {
                "readyz": list(get(server.url + "/readyz")[0:3:2]),
                "healthz": get(server.url + "/healthz")[0],
                "category page": get(server.url + facts["category"])[0],
            }

        up = probe()
        load_up = wrk(server.url + facts["category"], duration=duration, connections=connections)
        posts_up = rate_limited_posts(server, snapshot_urls, withheld_url, each=each, tag="up")
        redis.stop()
        time.sleep(0.5)
        down = probe()
        load_down = wrk(server.url + facts["category"], duration=duration, connections=connections)
        posts_down = rate_limited_posts(server, snapshot_urls[2 * each :], withheld_url, each=each, tag="down")
        redis.start()
        time.sleep(0.5)
        back = probe()
    finally:
        server.stop()
        redis.stop()
    answers_5xx = sum(
        n
        for posts in (posts_up, posts_down)
        for statuses in posts.values()
        for s, n in statuses.items()
        if s.startswith("5")
    )
    keep = ("rps", "p50_ms", "p99_ms", "errors", "status")
    result = {
        "how": "a redis-server of our own (page cache db 0, rate limits db 1) stopped under the running server, then started again",
        "rate_limit_per_address_per_hour": 10,
        "posts_each": each,
        "up": {"probe": up, "category_page_wrk": {k: load_up[k] for k in keep}, "posts": posts_up},
        "down": {"probe": down, "category_page_wrk": {k: load_down[k] for k in keep}, "posts": posts_down},
        "back": {"probe": back},
        "answers_5xx": answers_5xx,
        "note": "wrk's 'status' counts answers other than 2xx/3xx. While Redis is down each gunicorn worker counts the "
        f"rate limits in its own memory ({WORKERS} workers here), so one address gets at most {WORKERS} times the limit.",
    }
    result["ok"] = (
        answers_5xx == 0
        and load_down["errors"] == 0
        and down["readyz"][0] == 503
        and "cache: unavailable" in down["readyz"][1]
        and down["healthz"] == 200
        and down["category page"] == 200
        and back["readyz"][0] == 200
        and up["readyz"][0] == 200
    )
    return result


# --- the run ------------------------------------------------------------------------------------


def _arguments():
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
    if shutil.which("redis-server") is None:
        sys.exit("redis-server is not installed: apt-get install -y redis-server")
    return args


def _databases(args, work: Path):
    """(kind, the URL the commands use, the URL the server uses, the relay between them or None):
    on PostgreSQL the server reaches the database through a relay the outage can cut."""
    if not args.database_url:
        url = f"sqlite:///{work / 'db.sqlite3'}"
        return "sqlite", url, url, None
    parts = urlsplit(args.database_url)
    relay = Relay(parts.hostname or HOST, parts.port or 5432)
    netloc = parts.netloc.rsplit("@", 1)
    server_url = urlunsplit(parts._replace(netloc=f"{netloc[0] + '@' if len(netloc) == 2 else ''}{HOST}:{relay.port}"))
    return "postgresql", args.database_url, server_url, relay


def _prepare(env: dict, args, kind: str) -> dict:
    print(f"setting up {kind}: migrate, {args.snapshots:,} demo snapshots, collectstatic", flush=True)
    manage(env, "migrate", "--no-input", "-v0")
    manage(env, "demo_data", "--snapshots", str(args.snapshots))
    manage(env, "collectstatic", "--no-input", "-v0")
    return json.loads(
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


def _with_the_limit_raised(env, server_env, log, args, facts, urls, results) -> list:
    """The load on pages and forms, a burst and the duplicates, the rate limit out of the way."""
    raised = 1_000_000
    server = Server(server_env, log, TAKEDOWN_RATE_LIMIT=str(raised), TAKEDOWN_RECIPIENT_RATE_LIMIT=str(raised))
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
        print("32 identical JSON requests at once", flush=True)
        results["duplicates"] = duplicates(env, server, urls[0])
    finally:
        server.stop()
    return bursts


def _sqlite_outage(work: Path):
    """Moving the database file aside, and back."""
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

    return cut, restore


def _with_the_default_limit(env, server_env, log, args, facts, urls, relay, work, bursts, results) -> None:
    """A burst at the default rate limit, then the database taken away and given back."""
    # On SQLite a kept connection holds the database file open, so moving the file aside would not
    # take it away from a worker that has one: this server opens a connection per request there.
    server = Server(server_env, log, **({"DJANGO_CONN_MAX_AGE": "0"} if relay is None else {}))
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
            results["outage"] = {"how": "the SQLite file moved aside, then back"}
            results["outage"] |= outage(server, paths, *_sqlite_outage(work))
    finally:
        server.stop()


def _print_summary(results: dict, target: Path) -> None:
    for run in results["load"]:
        print(
            f"{run['label']:36} {run['rps']:>8} req/s  p50 {run['p50_ms']} ms  p99 {run['p99_ms']} ms  errors {run['errors']}"
        )
    for run in results["burst"]:
        print(f"burst, {run['label']:24} answers {run['answers']}  stored {run['stored']}  ok {run['ok']}")
    dup = results["duplicates"]
    print(f"32 identical at once: answers {dup['answers']}  stored {dup['stored']}  ok {dup['ok']}")
    mail = results["mail_down"]
    print(
        f"mail down: answers {mail['answers']}  stored {mail['stored']}  delivered {mail['delivered_messages']} to "
        f"{mail['delivered_recipients']} recipients, all {mail['seconds_until_all_delivered_after_accepting']} s after "
        f"the server accepted  ok {mail['ok']}"
    )
    redis = results["redis_down"]
    print(
        f"Redis down: category page {redis['down']['category_page_wrk']['rps']} req/s (up: "
        f"{redis['up']['category_page_wrk']['rps']}), readyz {redis['down']['probe']['readyz'][0]}, "
        f"posts {redis['down']['posts']}  5xx {redis['answers_5xx']}  ok {redis['ok']}"
    )
    print(f"outage ok {results['outage']['ok']}; written to {target.relative_to(ROOT)}")


def main():
    args = _arguments()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 8192)), hard))
    work = Path(tempfile.mkdtemp(prefix="newsarchive-faults-"))
    kind, database_url, server_url, relay = _databases(args, work)
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
    facts = _prepare(env, args, kind)
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
    bursts = _with_the_limit_raised(env, server_env, log, args, facts, urls, results)
    _with_the_default_limit(env, server_env, log, args, facts, urls, relay, work, bursts, results)
    print(f"mail down: {args.burst} JSON requests, the mail server refusing for the first half", flush=True)
    results["mail_down"] = mail_down(env, server_env, log, urls[: args.burst], count=args.burst)
    print("Redis down: a redis-server of our own stopped under load, then started", flush=True)
    results["redis_down"] = redis_down(
        server_env, log, work, facts, urls, urls[-1], duration=min(args.duration, 10), connections=args.connections
    )
    results["ok"] = all(
        [
            all(run["errors"] == 0 for run in results["load"]),
            all(run["ok"] for run in results["burst"]),
            results["duplicates"]["ok"],
            results["outage"]["ok"],
            results["mail_down"]["ok"],
            results["redis_down"]["ok"],
        ]
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    target = RESULTS / f"faults-{kind}.json"
    target.write_text(json.dumps(results, ensure_ascii=False, indent=1) + "\n")
    _print_summary(results, target)
    shutil.rmtree(work, ignore_errors=True)
    sys.exit(0 if results["ok"] else 1)


if __name__ == "__main__":
    main()

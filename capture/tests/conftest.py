"""A local HTTP server for capture tests: threaded http.server on 127.0.0.1 at a random port."""

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from articles.tests import news_pages as pages


class Site:
    """What the server answers (path → (status, headers, body)) and what it was asked."""

    def __init__(self):
        self.routes: dict[str, tuple[int, dict, bytes]] = {}
        self.requests: list[tuple[float, str, dict]] = []
        self.delay: dict[str, float] = {}
        self.base = ""

    def page(self, path: str, html: str | bytes, *, status=200, content_type="text/html; charset=utf-8", headers=None):
        body = html.encode("utf-8") if isinstance(html, str) else html
        self.routes[path] = (status, {"Content-Type": content_type, **(headers or {})}, body)
        return self.url(path)

    def url(self, path: str) -> str:
        return self.base + path

    def asked(self, path: str) -> list[tuple[float, str, dict]]:
        return [request for request in self.requests if request[1] == path]


def make_handler(site: Site):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            site.requests.append((time.monotonic(), self.path, dict(self.headers)))
            if self.path in site.delay:
                time.sleep(site.delay[self.path])
            status, headers, body = site.routes.get(self.path, (404, {"Content-Type": "text/html"}, b"not found"))
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, *args):
            pass

    return Handler


@pytest.fixture
def site(settings):
    """The local news site, with its robots.txt; captures may fetch from 127.0.0.1 while it runs."""
    settings.CAPTURE_ALLOW_PRIVATE_ADDRESSES = True
    settings.CAPTURE_HOST_DELAY_SECONDS = 0
    settings.CAPTURE_READ_TIMEOUT = 2
    state = Site()
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(state))
    server.daemon_threads = True
    state.base = f"http://127.0.0.1:{server.server_address[1]}"
    state.page("/robots.txt", pages.ROBOTS, content_type="text/plain")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()

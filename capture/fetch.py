"""Fetching a page politely and safely.

Polite: robots.txt is obeyed for our crawler's name (RFC 9309, read by protego; a robots.txt that
cannot be fetched because the site fails, 5xx or no answer, disallows everything, a missing one
allows everything), requests to one host are CAPTURE_HOST_DELAY_SECONDS apart (or the site's own
Crawl-delay, if longer) across every worker sharing the cache, and the User-Agent names the site
and how to reach its operators.

Safe: the host name is resolved once, each of its addresses checked, and the connection made to
the checked address (so a second DNS answer cannot point it elsewhere); loopback, private,
link-local and other non-public addresses are refused unless CAPTURE_ALLOW_PRIVATE_ADDRESSES is
set. Every redirect is checked the same way. Connect and read timeouts and a size limit (of the
decoded body, so a compressed bomb stops there too) bound what one page can cost.
"""

import ipaddress
import logging
import socket
import time
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urljoin, urlsplit

import urllib3
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from protego import Protego

from articles.extraction import is_html
from articles.warc import response_record

logger = logging.getLogger(__name__)

REDIRECTS = {301, 302, 303, 307, 308}
ROBOTS_MAX_BYTES = 500 * 1024  # RFC 9309: crawlers must read at least 500 KiB
ROBOTS_CACHE_SECONDS = 3600


class FetchError(Exception):
    """A page that could not be captured; the message is the reason an editor reads."""


@dataclass
class Response:
    url: str
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes
    version: str = "HTTP/1.1"

    def header(self, name: str) -> str:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return ""


@dataclass
class Fetched:
    """A page fetched to its end: the final response, the redirects on the way and their WARC records."""

    url: str
    content_type: str
    body: bytes
    fetched_at: datetime
    redirects: list[str] = field(default_factory=list)
    warc: bytes = b""


def user_agent() -> str:
    return f"Mozilla/5.0 (compatible; {settings.CAPTURE_CRAWLER_NAME}/1.0; +{settings.SITE_URL}; {settings.CAPTURE_CONTACT_EMAIL})"


# IPv6 prefixes that carry an IPv4 address in their last 32 bits (NAT64, RFC 6052 and 8215), so
# 64:ff9b::7f00:1 reaches 127.0.0.1 through a translator.
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))


def _public(address: str) -> bool:
    """Whether an address reaches the public internet, however it is written: IPv4 inside IPv6
    (mapped, compatible ::a.b.c.d, NAT64, 6to4, Teredo) is judged by that IPv4 address."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is None and any(ip in network for network in _NAT64):
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is None and int(ip) >> 32 == 0 and int(ip) > 1:  # ::a.b.c.d (deprecated, still routed)
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            ip = embedded
        elif ip in ipaddress.ip_network("fec0::/10"):  # site-local (deprecated), private in practice
            return False
    return ip.is_global and not ip.is_multicast


def resolve(host: str, port: int) -> str:
    """The address to connect to for `host`, refused when any address it names is not public."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise FetchError(f"DNS lookup failed for {host}: {getattr(error, 'strerror', None) or error}") from None
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not addresses:
        raise FetchError(f"DNS lookup failed for {host}: no address")
    if not settings.CAPTURE_ALLOW_PRIVATE_ADDRESSES:
        for address in addresses:
            if not _public(address):
                raise FetchError(
                    f"{host} resolves to {address}, a loopback, private or link-local address; not fetched"
                )
    return addresses[0]


def _split(url: str) -> tuple[str, str, int, str]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise FetchError(f"not an http(s) address: {url[:200]}")
    if not parts.hostname:
        raise FetchError(f"no host in {url[:200]}")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise FetchError(f"bad port in {url[:200]}") from None
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, parts.hostname, port, target


def request(url: str, *, max_bytes: int | None = None) -> Response:
    """One GET, no redirect followed, to the checked address of the URL's host."""
    scheme, host, port, target = _split(url)
    address = resolve(host, port)
    max_bytes = max_bytes or settings.CAPTURE_MAX_BYTES
    timeout = urllib3.Timeout(connect=settings.CAPTURE_CONNECT_TIMEOUT, read=settings.CAPTURE_READ_TIMEOUT)
    if scheme == "https":
        pool = urllib3.HTTPSConnectionPool(
            address, port, timeout=timeout, retries=False, maxsize=1, server_hostname=host, assert_hostname=host
        )
    else:
        pool = urllib3.HTTPConnectionPool(address, port, timeout=timeout, retries=False, maxsize=1)
    default_port = 443 if scheme == "https" else 80
    headers = {
        "Host": host if port == default_port else f"{host}:{port}",
        "User-Agent": user_agent(),
        "From": settings.CAPTURE_CONTACT_EMAIL,
        "Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5",
        "Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5",
        "Accept-Encoding": "gzip, deflate",
    }
    try:
        with pool:
            raw = pool.urlopen("GET", target, headers=headers, redirect=False, retries=False, preload_content=False)
            try:
                declared = raw.headers.get("Content-Length", "")
                if declared.isdigit() and int(declared) > max_bytes:
                    raise FetchError(f"the page is {int(declared):,} bytes; the limit is {max_bytes:,}")
                chunks, size = [], 0
                for chunk in raw.stream(64 * 1024, decode_content=True):
                    size += len(chunk)
                    if size > max_bytes:
                        raise FetchError(f"the page is larger than the limit of {max_bytes:,} bytes")
                    chunks.append(chunk)
            finally:
                raw.release_conn()
    # NewConnectionError is a kind of ConnectTimeoutError in urllib3 2: asked first.
    except urllib3.exceptions.NewConnectionError as error:
        raise FetchError(f"could not connect to {host}: {_cause(error)}") from None
    except urllib3.exceptions.ConnectTimeoutError:
        raise FetchError(f"timed out connecting to {host} (after {settings.CAPTURE_CONNECT_TIMEOUT:g} s)") from None
    except urllib3.exceptions.ReadTimeoutError:
        raise FetchError(f"timed out waiting for {host} (after {settings.CAPTURE_READ_TIMEOUT:g} s)") from None
    except urllib3.exceptions.SSLError as error:
        raise FetchError(f"TLS failed with {host}: {_cause(error)}") from None
    except (urllib3.exceptions.HTTPError, OSError) as error:
        raise FetchError(f"the connection to {host} failed: {_cause(error)}") from None
    version = {10: "HTTP/1.0", 11: "HTTP/1.1"}.get(raw.version, "HTTP/1.1")
    return Response(
        url=url,
        status=raw.status,
        reason=raw.reason or "",
        headers=list(raw.headers.items()),
        body=b"".join(chunks),
        version=version,
    )


def _cause(error: Exception) -> str:
    text = str(error)
    for known in ("Connection refused", "No route to host", "Network is unreachable", "certificate verify failed"):
        if known.lower() in text.lower():
            return known.lower()
    return text.split(": ", 1)[-1][:200]


# --- politeness ---------------------------------------------------------------------------------


def wait_turn(host: str, delay: float) -> None:
    """Wait until `delay` seconds have passed since the last request to `host` by any worker that
    shares the cache: the first to add the host's key may go; the key expires after the delay."""
    if delay <= 0:
        return
    key = f"capture:turn:{host.lower()}"
    deadline = time.monotonic() + max(60.0, delay * 3)
    while True:
        try:
            if cache.add(key, 1, timeout=delay):
                return
        except Exception:  # the shared cache is down: keep the delay within this worker at least
            logger.warning("capture: cache unavailable, waiting %s s for %s without it", delay, host)
            time.sleep(delay)
            return
        if time.monotonic() > deadline:
            return  # a stuck key must not block a capture forever
        time.sleep(min(0.1, delay))


@dataclass
class Robots:
    parser: Protego | None  # None: everything allowed
    refused: str = ""  # everything disallowed, for this reason

    def allows(self, url: str) -> bool:
        if self.refused:
            return False
        return self.parser is None or self.parser.can_fetch(url, settings.CAPTURE_CRAWLER_NAME)

    def delay(self) -> float:
        if self.parser is None:
            return 0.0
        return float(self.parser.crawl_delay(settings.CAPTURE_CRAWLER_NAME) or 0)


def robots_for(url: str) -> Robots:
    """The robots.txt rules of the URL's site, fetched once an hour."""
    scheme, host, port, _ = _split(url)
    origin = f"{scheme}://{host}:{port}"
    key = f"capture:robots:{origin}"
    try:
        cached = cache.get(key)
    except Exception:  # the shared cache is down: ask the site itself
        logger.warning("capture: cache unavailable, fetching robots.txt of %s anew", origin)
        cached = None
    if cached is not None:
        text, refused = cached
    else:
        text, refused = _fetch_robots(f"{origin}/robots.txt", host)
        try:
            cache.set(key, (text, refused), ROBOTS_CACHE_SECONDS)
        except Exception:  # kept for an hour when the cache answers; fetched again otherwise
            logger.warning("capture: cache unavailable, robots.txt of %s not kept", origin)
    if refused:
        return Robots(None, refused)
    return Robots(Protego.parse(text) if text else None)


def _fetch_robots(url: str, host: str) -> tuple[str, str]:
    for _ in range(settings.CAPTURE_MAX_REDIRECTS + 1):
        try:
            wait_turn(host, settings.CAPTURE_HOST_DELAY_SECONDS)
            response = request(url, max_bytes=ROBOTS_MAX_BYTES * 4)
        except FetchError as error:
            return "", f"robots.txt could not be fetched ({error}); the site is treated as closed to crawlers"
        if response.status in REDIRECTS and response.header("Location"):
            url = urljoin(url, response.header("Location"))
            host = urlsplit(url).hostname or host
            continue
        if response.status >= 500:
            return "", f"robots.txt answered HTTP {response.status}; the site is treated as closed to crawlers"
        if response.status >= 400:
            return "", ""  # no robots.txt: no rules
        return response.body[:ROBOTS_MAX_BYTES].decode("utf-8", "replace"), ""
    return "", "robots.txt redirects too often; the site is treated as closed to crawlers"


# --- one page -------------------------------------------------------------------------------------


def fetch(url: str) -> Fetched:
    """Fetch a page to its end: robots.txt asked first for each host on the way, redirects followed
    (at most CAPTURE_MAX_REDIRECTS, each checked like the first address) and recorded, every
    response kept as a WARC record. Raises FetchError with the reason when there is no HTML page."""
    redirects: list[str] = []
    records: list[bytes] = []
    for _ in range(settings.CAPTURE_MAX_REDIRECTS + 1):
        _, host, _, _ = _split(url)
        robots = robots_for(url)
        if not robots.allows(url):
            raise FetchError(robots.refused or f"robots.txt of {host} disallows {settings.CAPTURE_CRAWLER_NAME}")
        wait_turn(host, max(settings.CAPTURE_HOST_DELAY_SECONDS, robots.delay()))
        now = timezone.now()
        response = request(url)
        records.append(
            response_record(
                url=url,
                status=f"{response.status} {response.reason}".strip(),
                headers=response.headers,
                body=response.body,
                date=now,
                protocol=response.version,
            )
        )
        if response.status in REDIRECTS:
            location = response.header("Location")
            if not location:
                raise FetchError(f"HTTP {response.status} without a Location header")
            redirects.append(url)
            url = urljoin(url, location)
            continue
        if response.status != 200:
            raise FetchError(f"HTTP {response.status} {response.reason}".strip())
        content_type = response.header("Content-Type")
        if not is_html(content_type):
            raise FetchError(f"not an HTML page ({content_type.split(';')[0].strip() or 'no content type'})")
        return Fetched(
            url=url,
            content_type=content_type,
            body=response.body,
            fetched_at=now,
            redirects=redirects,
            warc=b"".join(records),
        )
    raise FetchError(f"more than {settings.CAPTURE_MAX_REDIRECTS} redirects")

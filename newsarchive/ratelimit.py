"""A per-address limit on removal requests, kept in Django's cache.

Each client address may make `settings.TAKEDOWN_RATE_LIMIT` POSTs per
`settings.TAKEDOWN_RATE_WINDOW_SECONDS` to one *scope*. The form at /takedown/new/ and the JSON API
share the scope "takedown", so switching between them buys nothing. Windows are fixed (aligned to
the clock), which is one counter per address and window, at the price of allowing up to twice the
limit across a window boundary.

Counters live in their own cache, `caches["ratelimit"]` (DJANGO_RATELIMIT_CACHE_URL), never in the
page cache, whose entries must not be able to evict them. It must be shared between worker
processes for a limit to hold there: the default local memory cache counts per process; production
points it at Redis (see settings), whose add and incr are atomic across processes.

When that cache does not answer (Redis down), requests are allowed and counted in this process's
memory instead, and a warning is logged (at most once a minute): each worker then holds the limit
by itself, so a client gets at most the limit times the number of workers until Redis is back. A
form or the API never fails because a counter could not be kept.

The client's address is REMOTE_ADDR when clients connect directly (DJANGO_TRUSTED_PROXY_COUNT=0).
Behind N reverse proxies of ours it is the N-th address from the right of X-Forwarded-For: each of
our proxies appends the address it was connected from, so the rightmost N entries are theirs to
vouch for, and whatever a client put in the header itself stays to the left, unread. An IPv6
client is counted by its /64 network, since one host commonly holds a whole /64.
"""

import ipaddress
import logging
import math
import time

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache

from newsarchive.logs import warn_now_and_then

logger = logging.getLogger(__name__)

CACHE_ALIAS = "ratelimit"
# Where counting goes on while the shared cache is away: this process's memory.
_fallback = LocMemCache("newsarchive-ratelimit-fallback", {"TIMEOUT": None, "OPTIONS": {"MAX_ENTRIES": 100_000}})

TAKEDOWN = "takedown"
TAKEDOWN_RECIPIENT = "takedown-to"
COUNTER_NOTICE = "counter-notice"


def _parse_address(value: str) -> str | None:
    """An IP address from a header entry ("203.0.113.7", "2001:db8::1", "[2001:db8::1]:443",
    "203.0.113.7:5678"), normalised; None when it is none."""
    value = value.strip()
    if value.startswith("["):
        value = value[1:].partition("]")[0]
    elif value.count(":") == 1:
        value = value.partition(":")[0]
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def client_ip(request) -> str | None:
    """The client's address, as the server or our trusted proxies saw it (see the module's
    docstring), or None when that is not an IP address."""
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies:
        forwarded = [entry for entry in request.headers.get("x-forwarded-for", "").split(",") if entry.strip()]
        if len(forwarded) >= proxies:
            return _parse_address(forwarded[-proxies])
        # Fewer entries than proxies: the request did not come through all of them, so only the
        # address that connected to us is known.
    return _parse_address(request.META.get("REMOTE_ADDR", ""))


def rate_key(address: str | None) -> str:
    """What one client is counted as: its IPv4 address, or its IPv6 /64 network."""
    if address is None:
        return "unknown"
    ip = ipaddress.ip_address(address)
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def hit(
    request, scope: str = TAKEDOWN, *, limit: int | None = None, window: int | None = None, subject: str | None = None
) -> int | None:
    """Count one request from this client in `scope`. Returns None while within the limit, else the
    number of seconds until the window ends (for a Retry-After header).

    `limit` and `window` (seconds) default to the removal requests' settings. `subject` counts
    something other than the client's address, e.g. a hash of the email address a message goes to."""
    limit = settings.TAKEDOWN_RATE_LIMIT if limit is None else limit
    window = settings.TAKEDOWN_RATE_WINDOW_SECONDS if window is None else window
    now = time.time()
    window_start = int(now // window * window)
    window_end = window_start + window
    who = subject if subject is not None else rate_key(client_ip(request))
    key = f"ratelimit:{scope}:{who}:{window_start}"
    try:
        count = _count(caches[CACHE_ALIAS], key, timeout=window_end - now + 1)
    except Exception:  # whatever the cache server's client raises: allow, count here, log
        warn_now_and_then(
            logger,
            "The rate-limit cache does not answer: requests are allowed and counted in each process until it does.",
        )
        count = _count(_fallback, key, timeout=window_end - now + 1)
    if count > limit:
        return max(1, math.ceil(window_end - now))
    return None


def _count(cache, key: str, *, timeout: float) -> int:
    # add() is a no-op when the key exists, so concurrent first requests do not reset the count.
    cache.add(key, 0, timeout=timeout)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add() and incr()
        cache.set(key, 1, timeout=timeout)
        return 1

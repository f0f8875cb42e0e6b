"""A per-address limit on removal requests, kept in Django's cache.

Each client address may make `settings.TAKEDOWN_RATE_LIMIT` POSTs per
`settings.TAKEDOWN_RATE_WINDOW_SECONDS` to one *scope*. The form at /takedown/new/ and the JSON API
share the scope "takedown", so switching between them buys nothing. Windows are fixed (aligned to
the clock), which is one counter per address and window, at the price of allowing up to twice the
limit across a window boundary.

The cache must be shared between worker processes for the limit to hold there: the default local
memory cache counts per process; production points DJANGO_CACHE_URL at Redis (see settings).

The address is REMOTE_ADDR. Behind a reverse proxy that is the proxy's own address unless the
proxy (or the WSGI server) rewrites it from X-Forwarded-For; a header the client can set itself is
not trusted here.
"""

import ipaddress
import math
import time

from django.conf import settings
from django.core.cache import cache

TAKEDOWN = "takedown"
COUNTER_NOTICE = "counter-notice"


def client_ip(request) -> str | None:
    """The client's address as the server saw it, or None when it is not an IP address."""
    address = request.META.get("REMOTE_ADDR", "")
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


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
    who = subject if subject is not None else client_ip(request) or "unknown"
    key = f"ratelimit:{scope}:{who}:{window_start}"
    # add() is a no-op when the key exists, so concurrent first requests do not reset the count.
    cache.add(key, 0, timeout=window_end - now + 1)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add() and incr()
        cache.set(key, 1, timeout=window)
        count = 1
    if count > limit:
        return max(1, math.ceil(window_end - now))
    return None

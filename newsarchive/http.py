"""Small request helpers shared by the apps."""

from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.utils.http import is_same_domain, url_has_allowed_host_and_scheme


def private_response(response):
    """Headers for a page that carries, or is reached through, a secret link (a status token, a
    confirmation, a private feed): kept by no cache, named to no other site, indexed by no one."""
    response["Cache-Control"] = "private, no-store"
    # Never to another site. Not `no-referrer`: with it Chromium sends `Origin: null` with the
    # page's own forms, and Django's CSRF check refuses them (found by the browser tests).
    response["Referrer-Policy"] = "same-origin"
    response["X-Robots-Tag"] = "noindex"
    return response


def own_address(request, value: str) -> str:
    """`value` when it is an address on this site (a path from the root, or this host, over HTTPS
    when the request is), else "": what may follow `next=` in a redirect without making it an open
    one. A relative word ("abc") is refused too: `redirect()` would take it for a URL pattern's
    name, and it names no page anyway. So is anything with a control character (a NUL, a line
    break), which no address of ours holds."""
    if not value or not value.isprintable():
        return ""
    try:
        parts = urlsplit(value)
    except ValueError:  # "http://[::1": an unbalanced bracket
        return ""
    if not (parts.scheme or parts.netloc) and not value.startswith("/"):
        return ""
    if url_has_allowed_host_and_scheme(value, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return value
    return ""


def own_origin(request, origin: str) -> bool:
    """Whether a request's `Origin` header names this site: the request's own scheme and host (the
    host already vetted by ALLOWED_HOSTS), the origin of SITE_URL, or one CSRF_TRUSTED_ORIGINS lets
    in (exact, or `https://*.example.org` for its subdomains), as Django's CSRF check reads them.
    `null` (a sandboxed frame, a redirect across sites, a file) is never ours."""
    if not origin or origin == "null":
        return False
    try:
        own = f"{'https' if request.is_secure() else 'http'}://{request.get_host()}"
    except DisallowedHost:
        own = None
    site = urlsplit(settings.SITE_URL)
    if origin in (own, f"{site.scheme}://{site.netloc}"):
        return True
    try:
        parts = urlsplit(origin)
    except ValueError:
        return False
    for trusted in settings.CSRF_TRUSTED_ORIGINS:
        if origin == trusted:
            return True
        if "*" in trusted:
            scheme, _sep, host = trusted.partition("://")
            if parts.scheme == scheme and is_same_domain(parts.netloc, host.replace("*", "", 1)):
                return True
    return False

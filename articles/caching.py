"""Whole reader pages, cached for anonymous visitors and keyed by the archive version.

A reader page is the same for every anonymous visitor who asks for the same address in the same
language: it holds no CSRF token (the language switch is a link and the subscribe button of a
visitor who is not logged in a GET form), so it sets no cookie either, and is stored and served
whole. A page whose rendering asks for a CSRF token (a form that posts) is personal, and is not
cached: the token and its cookie are the visitor's own.

Nothing is ever invalidated by hand. The key holds the archive version (`archive_version()`), which
database triggers change in the same transaction as any change to snapshots, related links,
categories or sources (migration 0005). A withholding, an edit, a hide, a move or an import changes
the version, so from the moment it commits every page is looked up under a new key and rendered
afresh; the old entries are never read again and expire. Reading the version costs one small query
per page, which is what lets a process-local cache (the default) and several server processes stay
right: no process has to be told.

Only pages for visitors without a session are cached: a logged-in reader, or anyone with a message
waiting, gets a page rendered for them.

A page is stored only under the query parameters its view reads, which each view declares
(`reader_page_cache(params=...)`). Before the view runs, cached or not, the request's query is
reduced to those parameters, one value each (the last, which is the one a view reads), in the
order of their names: `?utm=1`, `?source=3&source=3`, `?b=…&a=…` are the page of the address
without them, rendered from exactly that and stored once. Junk parameters cannot fill the cache
(each once made an entry of its own: 1,500 junk addresses were 15 MB), and a page from the cache
is always the one its parameters make, never one that carried someone's `utm` in its links.
"""

import hashlib
import logging
from functools import wraps
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, InterfaceError, OperationalError, connections
from django.http import HttpResponse, QueryDict
from django.utils.cache import patch_cache_control
from django.utils.translation import get_language

from newsarchive import replica
from newsarchive.logs import warn_now_and_then

from . import purge

logger = logging.getLogger(__name__)


def archive_version(using: str = DEFAULT_DB_ALIAS) -> str:
    """The archive's current version: changes whenever anything a reader sees changes.

    On a page from the cache this is the request's only query, and it stands in for Django's
    health check of a kept connection (CONN_HEALTH_CHECKS), which would cost a round trip of its
    own: if the kept connection has died (the database restarted), a new one is opened and the
    version read again."""
    connection = connections[using]
    if (
        connection.connection is not None
        and connection.health_check_enabled
        and not connection.health_check_done
        and not connection.in_atomic_block
    ):
        connection.health_check_done = True
        try:
            return _read_version(connection)
        except (InterfaceError, OperationalError):
            connection.close()
    return _read_version(connection)


def _read_version(connection) -> str:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The row moves at commit; the sequence at every statement of a writing transaction.
            cursor.execute(
                "SELECT (SELECT version FROM articles_archiveversion WHERE id = 1), last_value "
                "FROM articles_archive_change"
            )
        else:
            cursor.execute("SELECT version FROM articles_archiveversion WHERE id = 1")
        row = cursor.fetchone()
    return ".".join(str(value) for value in row) if row else "0"


def fragment_key(request, params) -> str | None:
    """The key of a part of a reader page that depends on the archive, the language and the query
    parameters `params` only (a filter form: the same on every page of a category and for every
    `before=`), for `fragment()` (newsarchive/jinja2.py). None when the request's archive
    version was not read (a logged-in reader's page without a replica): the part is then rendered
    each time."""
    version = getattr(request, "archive_version", None)
    if version is None:
        return None
    return urlencode(
        [("version", version), ("language", get_language()), *((name, request.GET.get(name, "")) for name in params)]
    )


def is_cacheable(request) -> bool:
    """A GET from a visitor with no session and no waiting message."""
    return (
        settings.ARTICLES_PAGE_CACHE_SECONDS > 0
        and request.method == "GET"
        and settings.SESSION_COOKIE_NAME not in request.COOKIES
        and "messages" not in request.COOKIES
    )


def page_key(request, version: str) -> str:
    address = request.build_absolute_uri()
    digest = hashlib.sha256(f"{request.LANGUAGE_CODE}\n{address}".encode()).hexdigest()
    return f"page:{version}:{digest}"


def _response(entry: dict) -> HttpResponse:
    response = HttpResponse(entry["content"])
    for name, value in entry["headers"].items():
        response[name] = value
    return response


def keep_only(request, params) -> None:
    """Reduce the request's query string to `params` (see the module's docstring)."""
    query = request.GET
    kept = QueryDict(mutable=True)
    for name in sorted(params):
        values = query.getlist(name)
        if values:
            kept[name] = values[-1]
    normalised = kept.urlencode()
    if normalised != request.META.get("QUERY_STRING", ""):
        kept._mutable = False
        request.GET = kept
        request.META["QUERY_STRING"] = normalised


def reader_page_cache(view=None, *, params: tuple[str, ...] = ()):
    """Serve `view`'s 200 responses to anonymous visitors from the cache (see the module's
    docstring). `params` names the query parameters the view reads; the rest are dropped. Used
    bare (`@reader_page_cache`) for a page that reads none, or as `@reader_page_cache(params=…)`."""
    if view is None:
        return lambda view: reader_page_cache(view, params=params)

    def render(request, version, *args, **kwargs):
        # On the replica when it has replayed this version, else on the primary (newsarchive/replica.py);
        # a template response is rendered inside, where its lazy querysets are read.
        request.archive_version = version  # for fragments (`fragment_key`)
        with replica.reader_reads(version):
            response = view(request, *args, **kwargs)
            if hasattr(response, "render"):
                response.render()
            return response

    @wraps(view)
    def cached_view(request, *args, **kwargs):
        keep_only(request, params)
        if not is_cacheable(request):
            if replica.configured():
                response = render(request, archive_version(), *args, **kwargs)
            else:
                response = view(request, *args, **kwargs)
            # Personal (a logged-in reader's page): no shared cache may keep it.
            patch_cache_control(response, private=True)
            return response
        version = archive_version()
        key = page_key(request, version)
        try:
            entry = cache.get(key)
        except Exception:  # a cache server that is down slows pages; it must not break them
            warn_now_and_then(logger, "page cache unavailable: pages are rendered without it")
            return render(request, version, *args, **kwargs)
        if entry is not None:
            return _response(entry)
        response = render(request, version, *args, **kwargs)
        # Django's get_token() marks the request when a page asks for a token (a form that posts).
        personal = request.META.get("CSRF_COOKIE_NEEDS_UPDATE", False)
        if response.streaming or response.status_code != 200 or response.cookies or personal:
            # Not kept: a 451 notice, a redirect, a page that sets a cookie or holds a CSRF token;
            # nor by a CDN or a browser.
            patch_cache_control(response, no_cache=True)
            return response
        # A CDN may keep the page, purged by its surrogate keys when what it shows changes
        # (articles/purge.py); a browser asks again each time, so a withholding shows at once.
        if "Surrogate-Key" not in response:
            purge.tag(response, [purge.LISTS])
        patch_cache_control(response, public=True, max_age=0, s_maxage=settings.ARTICLES_PAGE_CACHE_SECONDS)
        # The view's own headers (content type, a sitemap's X-Robots-Tag); the middleware adds theirs
        # to every response, from the cache or not.
        entry = {"content": response.content, "headers": dict(response.items())}
        try:
            cache.set(key, entry, settings.ARTICLES_PAGE_CACHE_SECONDS)
        except Exception:
            warn_now_and_then(logger, "page cache unavailable: pages are rendered without it")
        return response

    return cached_view

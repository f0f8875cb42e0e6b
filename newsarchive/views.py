import logging
import secrets
import sys

from django.conf import settings
from django.core.cache import caches
from django.db import DatabaseError, connection
from django.http import Http404, HttpResponse, HttpResponseRedirect, HttpResponseServerError, JsonResponse
from django.template import loader
from django.utils.translation import gettext as _
from django.views import defaults
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import requires_csrf_token
from django.views.decorators.http import require_safe

from .http import own_address
from .middleware import is_api

logger = logging.getLogger(__name__)

# Seconds a client is asked to wait before trying again while the database is away.
RETRY_AFTER_SECONDS = 30


def api_error(status: int, message: str, key: str = "__all__") -> JsonResponse:
    """An answer of the API: {"errors": {key: [message]}}."""
    return JsonResponse({"errors": {key: [message]}}, status=status, json_dumps_params={"ensure_ascii": False})


def outage_response(request) -> HttpResponse:
    """503 with Retry-After for a database that is away: JSON for the API, else the static page."""
    if is_api(request):
        response = api_error(503, _("The archive's database cannot be reached right now. Try again in a minute."))
    else:
        response = HttpResponse(loader.get_template("503.html").render(), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


@requires_csrf_token
def server_error(request):
    """handler500. A database that is down, restarting or unreachable is an outage, not a bug: it
    answers 503 with Retry-After (so load balancers and crawlers come back), and the next request
    after the database returns opens a fresh connection. Both pages are static templates that need
    no database and no context processor; the API answers in JSON. Django has already logged the
    exception."""
    error = sys.exc_info()[1]
    if isinstance(error, DatabaseError):
        return outage_response(request)
    if is_api(request):
        return api_error(500, _("Server error. It has been logged."))
    return HttpResponseServerError(loader.get_template("500.html").render())


# The other error pages: Django's own, except that the API answers each in JSON.


@requires_csrf_token
def bad_request(request, exception):
    if is_api(request):
        return api_error(400, _("Bad request."))
    return defaults.bad_request(request, exception)


@requires_csrf_token
def permission_denied(request, exception):
    if is_api(request):
        return api_error(403, _("Forbidden."))
    return defaults.permission_denied(request, exception)


@requires_csrf_token
def page_not_found(request, exception):
    if is_api(request):
        return api_error(404, _("There is nothing at this address."))
    return defaults.page_not_found(request, exception)


@require_safe
@never_cache
def switch_language(request, code: str):
    """The footer's language links: remember `code` in the language cookie and go back to `next`
    (this site's own addresses only), or to the home page.

    A link, not Django's POST form: a form needs a CSRF token, which would make every reader page
    personal (a cookie and a token per visitor) where it is otherwise the same for everyone and
    cached whole. Choosing a language changes nothing but the visitor's own cookie, so it needs no
    protection against forgery: at worst another site can choose a visitor's language for them."""
    if code not in dict(settings.LANGUAGES):
        raise Http404(_("There is no such language."))
    response = HttpResponseRedirect(own_address(request, request.GET.get("next", "")) or "/")
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        code,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )
    return response


@require_safe
@never_cache
def readyz(request):
    """Readiness, for a load balancer deciding where to send traffic: 200 when the database and both
    caches (pages, rate limits) answer, else 503 naming each that does not, in plain text. `/healthz`
    stays the liveness check: no query, no cache."""
    problems = []
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM django_migrations LIMIT 1")
            cursor.fetchone()
    except DatabaseError:
        connection.close()  # the next check, or request, opens a fresh connection
        problems.append("database")
    for alias in ("default", "ratelimit"):
        token = secrets.token_hex(8)
        try:
            caches[alias].set("readyz", token, 10)
            ok = caches[alias].get("readyz") == token
        except Exception:  # whatever the cache server's client raises
            ok = False
        if not ok:
            problems.append("cache" if alias == "default" else f"cache ({alias})")
    if problems:
        logger.warning("not ready: %s", ", ".join(problems))
        body = "".join(f"{name}: unavailable\n" for name in problems)
        response = HttpResponse(body, status=503, content_type="text/plain; charset=utf-8")
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    return HttpResponse("ok\n", content_type="text/plain; charset=utf-8")

import logging
import sys

from django.conf import settings
from django.db import DatabaseError
from django.http import Http404, HttpResponse, HttpResponseRedirect, HttpResponseServerError
from django.template import loader
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import requires_csrf_token
from django.views.decorators.http import require_safe

from .http import own_address

logger = logging.getLogger(__name__)

# Seconds a client is asked to wait before trying again while the database is away.
RETRY_AFTER_SECONDS = 30


@requires_csrf_token
def server_error(request):
    """handler500. A database that is down, restarting or unreachable is an outage, not a bug: it
    answers 503 with Retry-After (so load balancers and crawlers come back), and the next request
    after the database returns opens a fresh connection. Both pages are static templates that need
    no database and no context processor. Django has already logged the exception."""
    error = sys.exc_info()[1]
    if isinstance(error, DatabaseError):
        response = HttpResponse(loader.get_template("503.html").render(), status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        response["Cache-Control"] = "no-store"
        return response
    return HttpResponseServerError(loader.get_template("500.html").render())


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

import logging
import sys

from django.db import DatabaseError
from django.http import HttpResponse, HttpResponseServerError
from django.template import loader
from django.views.decorators.csrf import requires_csrf_token

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

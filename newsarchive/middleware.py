"""Refuse, before any view, addresses no page of this site can have.

A NUL character in the path, or a NUL or bytes that are not UTF-8 in a query parameter, are
answered 400 with the reason (bytes of the path that are not UTF-8 Django keeps as %XX escapes,
which name no page: 404). Views then never hand such a value to the database (PostgreSQL refuses a NUL in
a parameter, which would surface as the 503 page of a lost database) nor to a redirect: one check
here instead of one in every view that reads its path or `?next=`.

A cookie with a NUL is dropped, as if it had not been sent: no session key or token of ours holds
one, and the session lookup a NUL session cookie caused was the same 503 on PostgreSQL.
"""

from urllib.parse import unquote_to_bytes

from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _


def is_api(request) -> bool:
    """Requests answered in JSON whatever happens: the API and the JSON exports."""
    return request.path.startswith("/api/") or request.path.endswith(".json")


def _path_problem(request) -> str | None:
    # Django keeps bytes of the path that are not UTF-8 as %XX escapes (its path_info), which name
    # no page (404); a NUL it keeps as it is.
    if "\x00" in request.path_info:
        return _("The address contains a NUL character.")
    return None


def _query_problem(request) -> str | None:
    query = request.META.get("QUERY_STRING", "")
    if not query:
        return None
    for part in query.split("&"):
        name, _sep, value = part.partition("=")
        try:
            name = unquote_to_bytes(name.replace("+", " ")).decode("utf-8")
            value = unquote_to_bytes(value.replace("+", " ")).decode("utf-8")
        except UnicodeDecodeError:
            return _("A query parameter is not valid UTF-8.")
        if "\x00" in name or "\x00" in value:
            return _("The query parameter “%(name)s” contains a NUL character.") % {"name": name.replace("\x00", "")}
    return None


class InvalidAddressMiddleware:
    """A 400 naming the problem for a path or query parameter with a NUL or invalid UTF-8."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # Before SessionMiddleware reads its cookie (the lookup would hand the NUL to the database).
        if any("\x00" in name or "\x00" in value for name, value in request.COOKIES.items()):
            request.COOKIES = {
                name: value for name, value in request.COOKIES.items() if "\x00" not in name and "\x00" not in value
            }
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        # In process_view, so that the answer goes back through every middleware (security headers,
        # the language) like any other page. Addresses that resolve to no view are 404s anyway.
        problem = _path_problem(request) or _query_problem(request)
        if problem is None:
            return None
        if is_api(request):
            return JsonResponse(
                {"errors": {"__all__": [problem]}}, status=400, json_dumps_params={"ensure_ascii": False}
            )
        return render(request, "400.html", {"problem": problem}, status=400)

"""Small request helpers shared by the apps."""

from django.utils.http import url_has_allowed_host_and_scheme


def own_address(request, value: str) -> str:
    """`value` when it is an address on this site (a path, or this host, over HTTPS when the request
    is), else "": what may follow `next=` in a redirect without making it an open one."""
    if value and url_has_allowed_host_and_scheme(
        value, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return value
    return ""

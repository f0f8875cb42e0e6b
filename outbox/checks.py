"""System checks for the links the site writes into mail (`manage.py check --deploy`)."""

from urllib.parse import urlsplit

from django.conf import settings
from django.core import checks

LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "0.0.0.0", ""}  # noqa: S104 - names compared, nothing bound


@checks.register(checks.Tags.security, deploy=True)
def check_site_url(app_configs, **kwargs):
    """Every link in mail (receipts with their status links, confirmations, resets, digests) and in
    exports starts with SITE_URL; unset, it is this machine's development address."""
    host = (urlsplit(settings.SITE_URL).hostname or "").lower()
    if not settings.SITE_URL_IS_SET or host in LOCAL_HOSTS or host.endswith(".localhost"):
        return [
            checks.Warning(
                f"DJANGO_SITE_URL is {'unset' if not settings.SITE_URL_IS_SET else 'local'} ({settings.SITE_URL}): "
                "links in emails and exports would point at this machine.",
                hint="Set DJANGO_SITE_URL to the site's public address, e.g. https://archive.example.org.",
                id="outbox.W001",
            )
        ]
    return []

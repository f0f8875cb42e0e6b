"""System checks for running the removal workflow in production (`manage.py check --deploy`)."""

from django.conf import settings
from django.core import checks

PER_PROCESS_CACHES = (
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
)


@checks.register(checks.Tags.security, deploy=True)
def check_rate_limit_cache(app_configs, **kwargs):
    """The rate limits count in the "ratelimit" cache; one each worker keeps to itself lets every
    gunicorn worker accept the limit again, and one shared with the page cache lets page entries
    evict the counters."""
    limits = settings.CACHES.get("ratelimit", {})
    pages = settings.CACHES.get("default", {})
    backend = limits.get("BACKEND", "")
    if backend in PER_PROCESS_CACHES:
        return [
            checks.Warning(
                f"The rate-limit cache ({backend.rsplit('.', 1)[-1]}) is not shared between processes, so the "
                "rate limits count per worker.",
                hint="Set DJANGO_RATELIMIT_CACHE_URL to a Redis database, e.g. redis://127.0.0.1:6379/2.",
                id="moderation.W001",
            )
        ]
    if limits.get("LOCATION") and limits.get("LOCATION") == pages.get("LOCATION"):
        return [
            checks.Warning(
                "The rate-limit counters share the page cache's Redis database: page entries could evict them.",
                hint="Set DJANGO_RATELIMIT_CACHE_URL to another database (docs/security.md: Redis).",
                id="moderation.W002",
            )
        ]
    return []

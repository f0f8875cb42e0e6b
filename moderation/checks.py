"""System checks for running the removal workflow in production (`manage.py check --deploy`)."""

from django.conf import settings
from django.core import checks

PER_PROCESS_CACHES = (
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
)


@checks.register(checks.Tags.security, deploy=True)
def check_rate_limit_cache(app_configs, **kwargs):
    """The rate limits count in the default cache; one each worker keeps to itself lets every
    gunicorn worker accept the limit again."""
    backend = settings.CACHES.get("default", {}).get("BACKEND", "")
    if backend in PER_PROCESS_CACHES:
        return [
            checks.Warning(
                f"The default cache ({backend.rsplit('.', 1)[-1]}) is not shared between processes, so the "
                "removal-request rate limits count per worker.",
                hint="Set DJANGO_CACHE_URL to a Redis server, e.g. redis://127.0.0.1:6379/1.",
                id="moderation.W001",
            )
        ]
    return []

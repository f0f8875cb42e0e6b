from django.conf import settings
from django.tasks import task
from django.utils.module_loading import import_string


@task()
def purge_surrogate_keys(keys: list[str]) -> int:
    """Tell the CDN to drop the pages tagged with `keys` (see articles/purge.py). A hook that raises
    fails the task, which keeps the error; the CDN's own expiry (ARTICLES_PAGE_CACHE_SECONDS)
    bounds how long it serves the pages meanwhile."""
    if not settings.ARTICLES_PURGE_HOOK:
        return 0
    import_string(settings.ARTICLES_PURGE_HOOK)(keys)
    return len(keys)

"""Tasks of the articles app: purging CDN pages, placing snapshots in stories, computing related news.

Stories and related news are queued by `articles.stories.analysis_enqueue` in the transaction that
adds or changes snapshots (imports, the admin, demo data), and run by `manage.py db_worker` on the
"stories" queue.
"""

from django.conf import settings
from django.db import transaction
from django.tasks import task
from django.utils.module_loading import import_string

from . import keyphrases, stories
from .statistics import statistics_refresh_grown


@task()
def purge_surrogate_keys(keys: list[str]) -> int:
    """Tell the CDN to drop the pages tagged with `keys` (see articles/purge.py). A hook that raises
    fails the task, which keeps the error; the CDN's own expiry (ARTICLES_PAGE_CACHE_SECONDS)
    bounds how long it serves the pages meanwhile."""
    if not settings.ARTICLES_PURGE_HOOK:
        return 0
    import_string(settings.ARTICLES_PURGE_HOOK)(keys)
    return len(keys)


@task(queue_name="stories")
def place_in_stories(snapshot_ids: list[int]) -> str:
    """Place the snapshots in stories, then queue their related lists (which leave out their own
    story), in one transaction."""
    with transaction.atomic():
        result = stories.stories_place(snapshot_ids=snapshot_ids)
        compute_related.enqueue(snapshot_ids)
    statistics_refresh_grown(tables=["articles_storyband", "articles_snapshotanalysis"])
    return str(result)


# Snapshots whose related lists one transaction computes. On SQLite a writing transaction holds the
# database's one write lock; a batch of 1,000 in one held it for seconds (tens of seconds under
# load), and a second worker waiting longer than the busy timeout failed with "database is locked".
RELATED_PER_TRANSACTION = 200


@task(queue_name="stories")
def compute_related(snapshot_ids: list[int]) -> str:
    """Compute the snapshots' related lists, and as many lists gone stale as the archive grew. Their
    texts are segmented first, outside any transaction (see keyphrases.segment), then the lists are
    written RELATED_PER_TRANSACTION at a time."""
    segmented = keyphrases.segment(snapshot_ids)
    result = keyphrases.RelatedResult()
    for start in range(0, len(snapshot_ids), RELATED_PER_TRANSACTION):
        chunk = snapshot_ids[start : start + RELATED_PER_TRANSACTION]
        with transaction.atomic():
            done = keyphrases.related_compute(snapshot_ids=chunk, segmented=segmented)
            stale = keyphrases.stale_related(limit=len(chunk))
            if stale:
                done.refreshed = keyphrases.related_compute(snapshot_ids=stale, reuse_terms=True).computed
        result.add(done)
    statistics_refresh_grown(tables=["articles_keyphrase", "articles_computedrelatedlink", "articles_termfrequency"])
    return str(result)


@task(queue_name="stories")
def refresh_related(snapshot_ids: list[int]) -> str:
    """Compute the snapshots' related lists again, their texts unchanged (manage.py related_refresh)."""
    return str(keyphrases.related_compute(snapshot_ids=snapshot_ids, reuse_terms=True))

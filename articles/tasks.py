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
    """Place the snapshots in stories and count their words in the document frequencies, then queue
    their key phrases, in one transaction. The words are cut, and the texts' shingles and LSH buckets
    computed, before it, outside the stories lock.

    The work after placing is two more tasks, each queued by the one before: key phrases, then
    related lists. A bulk load queues all its placing tasks first, so every snapshot of the load is
    counted before the first key phrase is weighed, and every phrase is stored before the first
    list looks for them: each list is computed once, against the whole load. Done in one task, the
    lists of the first batches would see neither the later batches' frequencies nor their phrases,
    and go stale as the load went on (a list weighed at 1,000 documents computed again at 1,250,
    1,563…)."""
    segmented = keyphrases.segment(snapshot_ids)
    prepared = stories.texts_prepare({pk: text.body for pk, text in segmented.items()})
    with transaction.atomic():
        result = stories.stories_place(snapshot_ids=snapshot_ids, prepared=prepared)
        counted = keyphrases.count_terms(segmented)
        compute_key_phrases.enqueue(snapshot_ids)
    statistics_refresh_grown(tables=["articles_storyband", "articles_snapshotanalysis", "articles_termfrequency"])
    return f"{result}; words of {counted} counted"


# Snapshots whose phrases or related lists one transaction computes. On SQLite a writing transaction
# holds the database's one write lock; a batch of 1,000 in one held it for seconds (tens of seconds
# under load), and a second worker waiting longer than the busy timeout failed with "database is
# locked".
RELATED_PER_TRANSACTION = 200


def _chunks(snapshot_ids: list[int]) -> list[list[int]]:
    return [
        snapshot_ids[start : start + RELATED_PER_TRANSACTION]
        for start in range(0, len(snapshot_ids), RELATED_PER_TRANSACTION)
    ]


@task(queue_name="stories")
def compute_key_phrases(snapshot_ids: list[int]) -> str:
    """Weigh and store the snapshots' key phrases, then queue their related lists (in the last
    transaction). Their texts are segmented first, and weighed, outside any transaction (see
    keyphrases.segment and keyphrases.phrases_compute)."""
    segmented = keyphrases.segment(snapshot_ids)
    chunks = _chunks(snapshot_ids)
    weighed = 0
    for number, chunk in enumerate(chunks, start=1):
        last = number == len(chunks)
        weighed += keyphrases.phrases_compute(
            snapshot_ids=chunk,
            segmented=segmented,
            then=(lambda: compute_related.enqueue(snapshot_ids, weighed=True)) if last else None,
        )
    statistics_refresh_grown(tables=["articles_keyphrase", "articles_snapshotanalysis"])
    return f"key phrases of {weighed} snapshots"


@task(queue_name="stories")
def compute_related(snapshot_ids: list[int], weighed: bool = False) -> str:
    """Compute the snapshots' related lists, and as many lists gone stale as the archive grew, a few
    snapshots a transaction. `weighed`: their key phrases are stored (compute_key_phrases), and the
    lists are chosen outside the transactions that write them (keyphrases.lists_compute); else the
    phrases are weighed here too, the texts segmented first, outside any transaction (a task queued
    before the phrases had a task of their own)."""
    segmented = {} if weighed else keyphrases.segment(snapshot_ids)
    result = keyphrases.RelatedResult()
    for chunk in _chunks(snapshot_ids):
        if weighed:
            done = keyphrases.lists_compute(snapshot_ids=chunk)
        else:
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

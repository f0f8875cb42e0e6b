"""Background work on snapshots' text: placing them in stories, then computing related news.

Queued by `articles.stories.analysis_enqueue` in the transaction that adds or changes snapshots
(imports, the admin, demo data), run by `manage.py db_worker` on the "stories" queue.
"""

from django.db import transaction
from django.tasks import task

from . import keyphrases, stories


@task(queue_name="stories")
def place_in_stories(snapshot_ids: list[int]) -> str:
    """Place the snapshots in stories, then queue their related lists (which leave out their own
    story), in one transaction."""
    with transaction.atomic():
        result = stories.stories_place(snapshot_ids=snapshot_ids)
        compute_related.enqueue(snapshot_ids)
    return str(result)


@task(queue_name="stories")
def compute_related(snapshot_ids: list[int]) -> str:
    """Compute the snapshots' related lists, and as many lists gone stale as the archive grew."""
    with transaction.atomic():
        result = keyphrases.related_compute(snapshot_ids=snapshot_ids)
        stale = keyphrases.stale_related(limit=len(snapshot_ids))
        if stale:
            result.refreshed = keyphrases.related_compute(snapshot_ids=stale).computed
    return str(result)

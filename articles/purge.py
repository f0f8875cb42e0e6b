"""Surrogate keys: how a CDN in front of reader pages knows which pages to drop when a snapshot
changes (Fastly's Surrogate-Key; other CDNs have the same under another name).

Every reader page served to anonymous visitors carries `Cache-Control` (a CDN may keep it for
ARTICLES_PAGE_CACHE_SECONDS, a browser must ask again) and a `Surrogate-Key` header naming what it
shows: `archive` (every page), `lists` (the home page, search, the latest feed, the sitemap),
`category-<id>` (a category's page and feed; a snapshot page lists more of its category) and
`snapshot-<key>` (a snapshot's page, and the pages whose related links point at it).

When a snapshot is hidden, published, moved, changed by an import or an editor, or withheld or
restored by a decision, the service that does it calls `purge_enqueue` in its transaction with the
snapshot's keys and its category's; the task queue then calls the hook ARTICLES_PURGE_HOOK names
(a dotted path to a callable taking the list of keys; none by default) once that commits.
"""

from collections.abc import Iterable

from django.conf import settings

ALL = "archive"
LISTS = "lists"


def snapshot_key(key: str) -> str:
    return f"snapshot-{key}"


def category_key(category_id: int) -> str:
    return f"category-{category_id}"


def tag(response, keys: Iterable[str]) -> None:
    """Name what `response` shows (see the module's docstring)."""
    response["Surrogate-Key"] = " ".join([ALL, *sorted(set(keys))])


def keys_of(snapshots: Iterable[tuple[str, int]]) -> set[str]:
    """The keys of the pages that show any of these snapshots, given as (key, category id)."""
    keys = {LISTS}
    for key, category_id in snapshots:
        keys.add(snapshot_key(key))
        keys.add(category_key(category_id))
    return keys


def purge_enqueue(keys: Iterable[str]) -> None:
    """Queue the purge of `keys`, in the caller's transaction: it runs only if that commits. Nothing
    is queued when no hook is configured."""
    keys = sorted(set(keys))
    if settings.ARTICLES_PURGE_HOOK and keys:
        from .tasks import purge_surrogate_keys

        purge_surrogate_keys.enqueue(keys)

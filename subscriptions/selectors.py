"""Reads for subscriptions: the merged stream of what a reader follows, and their settings row."""

import operator
from functools import reduce

from django.db.models import QuerySet

from articles.models import Snapshot
from articles.search import MANY, MIDDLING, search_plans, search_snapshots

from .models import Subscriber, Subscription


def matching(subscriptions: list[Subscription]) -> QuerySet[Snapshot]:
    """Published snapshots in any subscribed category or found by any subscribed keyword, newest
    first, ready for a list (category and source joined, body left in the database).

    The subscriptions' conditions are ORed into one query, so the database walks the newest-first
    index once and stops when the page is full. Each keyword's search needs its plan first (the
    full-text index decides how a keyword is best tested): `search_plans` reads them all from the
    cache in one query, the archive version, and runs one or two queries for each plan the cache
    does not have yet. None per category."""
    base = Snapshot.objects.published()
    category_ids = [s.category_id for s in subscriptions if s.kind == Subscription.Kind.CATEGORY]
    parts = [base.filter(category_id__in=category_ids)] if category_ids else []
    keywords = [s.keyword for s in subscriptions if s.kind == Subscription.Kind.KEYWORD]
    # A keyword stored before the search's rules changed has no plan, and finds nothing.
    plans = search_plans(keywords)
    if any(plan == MANY for plan, _ids in plans.values()):
        # A very common keyword fills the page within a few hundred rows of the walk: testing those
        # rows against a middling keyword's text costs less than building its set of up to
        # MANY_MATCHES ids, which the query would otherwise do first (44 ms to 7 ms at a million).
        plans = {keyword: (MANY, None) if plan == MIDDLING else (plan, ids) for keyword, (plan, ids) in plans.items()}
    parts.extend(
        search_snapshots(keyword, queryset=base, plan=plans[keyword]) for keyword in keywords if keyword in plans
    )
    if not parts:
        return Snapshot.objects.none()
    return reduce(operator.or_, parts).for_listing().newest_first()


def subscriptions_of(reader) -> list[Subscription]:
    return list(Subscription.objects.filter(reader=reader).select_related("category"))


def subscriber_for(reader) -> Subscriber:
    """The reader's settings row, made on first use."""
    subscriber, _ = Subscriber.objects.get_or_create(reader=reader)
    return subscriber

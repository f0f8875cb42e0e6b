"""Reads for subscriptions: the merged stream of what a reader follows, and their settings row."""

from django.db.models import Q, QuerySet

from articles.models import Snapshot
from articles.search import search_snapshots

from .models import Subscriber, Subscription


def matching(subscriptions: list[Subscription]) -> QuerySet[Snapshot]:
    """Published snapshots in any subscribed category or found by any subscribed keyword, newest
    first, ready for a list (category and source joined, body left in the database).

    One query: each keyword's full-text search is a subquery of it."""
    category_ids = [s.category_id for s in subscriptions if s.kind == Subscription.Kind.CATEGORY]
    keywords = [s.keyword for s in subscriptions if s.kind == Subscription.Kind.KEYWORD]
    if not category_ids and not keywords:
        return Snapshot.objects.none()
    condition = Q(category_id__in=category_ids) if category_ids else Q()
    for keyword in keywords:
        condition |= Q(pk__in=search_snapshots(keyword).values("pk"))
    return Snapshot.objects.published().filter(condition).for_listing().newest_first()


def subscriptions_of(reader) -> list[Subscription]:
    return list(Subscription.objects.filter(reader=reader).select_related("category"))


def subscriber_for(reader) -> Subscriber:
    """The reader's settings row, made on first use."""
    subscriber, _ = Subscriber.objects.get_or_create(reader=reader)
    return subscriber

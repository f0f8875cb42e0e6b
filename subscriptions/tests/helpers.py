"""Plain helpers for subscription tests."""

from datetime import timedelta

from django.utils import timezone

from articles.models import Snapshot
from subscriptions import services


def subscribe(reader, *, category=None, keyword: str = ""):
    subscription, _ = services.subscription_add(reader=reader, category=category, keyword=keyword)
    return subscription


def added_ago(snapshot: Snapshot, **delta) -> Snapshot:
    """Pretend the snapshot entered the archive that long ago."""
    Snapshot.objects.filter(pk=snapshot.pk).update(created_at=timezone.now() - timedelta(**delta))
    snapshot.refresh_from_db()
    return snapshot

"""Writes with rules for subscriptions: subscribing, the reader's page visits, the private feed's
token, and digests (collected under a row lock, recorded before they are sent)."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Min
from django.utils import timezone
from django.utils.translation import gettext as _

from articles.models import Category, Snapshot

from . import emails, selectors
from .models import Digest, DigestItem, Subscriber, Subscription, new_feed_token

# Page views closer together than this are one visit: the "new" marks stay while a reader pages
# through their stream, and are reckoned from the end of their previous visit.
VISIT_GAP = timedelta(minutes=30)
# A digest run looks this far behind the previous run's start, for snapshots whose import
# committed after that run had looked; the sent table keeps them from going out twice.
DIGEST_OVERLAP = timedelta(hours=1)


class SubscriptionError(Exception):
    """A subscription that cannot be made; the message says why."""


@transaction.atomic
def subscription_add(*, reader, category: Category | None = None, keyword: str = "") -> tuple[Subscription, bool]:
    """Subscribe the reader to a category or to a keyword (already cleaned by
    `articles.search.clean_query`). Returns the subscription and whether it is new: subscribing
    twice to the same thing (a keyword in any case) keeps the first."""
    if (category is None) == (not keyword):
        raise ValueError("Give a category or a keyword.")
    # The reader's settings row, locked: two subscriptions at once cannot both pass the limit.
    Subscriber.objects.get_or_create(reader=reader)
    Subscriber.objects.select_for_update().filter(reader=reader).first()
    existing = Subscription.objects.filter(reader=reader)
    if category is not None:
        existing = existing.filter(kind=Subscription.Kind.CATEGORY, category=category)
    else:
        existing = existing.filter(kind=Subscription.Kind.KEYWORD, keyword__iexact=keyword)
    found = existing.first()
    if found is not None:
        return found, False
    limit = settings.SUBSCRIPTIONS_MAX_PER_READER
    if Subscription.objects.filter(reader=reader).count() >= limit:
        raise SubscriptionError(
            _("You follow %(limit)d subscriptions already, the most there can be: remove one to add another.")
            % {"limit": limit}
        )
    subscription = Subscription(
        reader=reader,
        kind=Subscription.Kind.CATEGORY if category is not None else Subscription.Kind.KEYWORD,
        category=category,
        keyword=keyword,
    )
    try:
        with transaction.atomic():
            subscription.save()
    except IntegrityError:  # the same subscription made at the same moment elsewhere
        return existing.get(), False
    return subscription, True


def subscription_remove(*, reader, subscription_id: int) -> Subscription:
    """Remove one of the reader's own subscriptions. Raises Subscription.DoesNotExist for any
    other, so nobody can learn or touch what others follow."""
    subscription = Subscription.objects.select_related("category").get(pk=subscription_id, reader=reader)
    subscription.delete()
    return subscription


def subscriber_visit(*, subscriber: Subscriber) -> datetime | None:
    """Record a view of the reader's page; returns the moment after which added snapshots count as
    new on it (None during a first visit: all of them)."""
    now = timezone.now()
    if subscriber.last_visited_at is not None and now - subscriber.last_visited_at > VISIT_GAP:
        subscriber.new_since = subscriber.last_visited_at
    subscriber.last_visited_at = now
    Subscriber.objects.filter(pk=subscriber.pk).update(last_visited_at=now, new_since=subscriber.new_since)
    return subscriber.new_since


def feed_token_regenerate(*, reader) -> Subscriber:
    """Give the reader's private feed a new address; the old one answers 404 from now on."""
    subscriber = selectors.subscriber_for(reader)
    subscriber.feed_token = new_feed_token()
    subscriber.save(update_fields=["feed_token"])
    return subscriber


@transaction.atomic
def digest_set(*, reader, enabled: bool) -> Subscriber:
    """Turn the reader's email digest on or off. Turned back on, it starts from now: it does not
    send what arrived while it was off."""
    selectors.subscriber_for(reader)
    subscriber = Subscriber.objects.select_for_update().get(reader=reader)
    if enabled and not subscriber.digest_enabled:
        subscriber.digest_starts_at = subscriber.digest_checked_until = timezone.now()
    subscriber.digest_enabled = enabled
    subscriber.save(update_fields=["digest_enabled", "digest_starts_at", "digest_checked_until"])
    return subscriber


# --- digests -------------------------------------------------------------------------------------


@dataclass
class DigestRun:
    started_at: datetime
    # The lowest id a snapshot added since the earliest mark can have: lets every reader's query
    # start from the primary key instead of scanning the archive for recent additions.
    first_id: int | None


def digest_run_start() -> DigestRun:
    """The moment a run looks up to, and where in the archive its new snapshots begin."""
    started_at = timezone.now()
    earliest = Subscriber.objects.filter(digest_enabled=True, reader__subscriptions__isnull=False).aggregate(
        earliest=Min("digest_checked_until")
    )["earliest"]
    if earliest is None:
        return DigestRun(started_at=started_at, first_id=None)
    first_id = Snapshot.objects.filter(created_at__gt=earliest - DIGEST_OVERLAP).aggregate(first=Min("id"))["first"]
    return DigestRun(started_at=started_at, first_id=first_id)


@transaction.atomic
def digest_collect(*, reader_id: int, run: DigestRun) -> Digest | None:
    """Record the digest of what the reader has not been sent yet among the snapshots added since
    their last digest, queue its email, and move their mark to the run's start, all in one
    transaction. None when there is nothing to send.

    The reader's settings row is locked first, so two runs at once take turns per reader, and the
    second finds the first one's items already recorded."""
    subscriber = Subscriber.objects.select_for_update().select_related("reader").get(reader_id=reader_id)
    if (
        not subscriber.digest_enabled
        or not subscriber.reader.is_active
        or subscriber.digest_checked_until >= run.started_at
    ):
        return None
    previous_mark = subscriber.digest_checked_until
    subscriber.digest_checked_until = run.started_at
    subscriber.save(update_fields=["digest_checked_until"])
    subscriptions = selectors.subscriptions_of(subscriber.reader)
    if not subscriptions or run.first_id is None:
        return None
    limit = settings.SUBSCRIPTIONS_DIGEST_MAX_ITEMS
    candidates = (
        selectors.matching(subscriptions)
        .filter(
            pk__gte=run.first_id,
            created_at__gt=max(previous_mark - DIGEST_OVERLAP, subscriber.digest_starts_at),
            created_at__lte=run.started_at,
        )
        .exclude(pk__in=DigestItem.objects.filter(reader_id=reader_id).values("snapshot_id"))
    )
    snapshots = list(candidates[:limit])
    if not snapshots:
        return None
    carried = [snapshot.pk for snapshot in snapshots]
    more = 0
    if len(snapshots) == limit:
        # The rest are only counted ("and N more on your page"), and are delivered as far as
        # digests go: those the next run's look-back would see again are recorded too.
        rest = candidates.exclude(pk__in=carried)
        more = rest.count()
        carried += rest.filter(created_at__gt=run.started_at - DIGEST_OVERLAP).values_list("pk", flat=True)
    digest = Digest.objects.create(reader=subscriber.reader, snapshot_count=len(snapshots))
    DigestItem.objects.bulk_create([DigestItem(digest=digest, reader_id=reader_id, snapshot_id=pk) for pk in carried])
    digest.message = emails.send_digest(
        reader=subscriber.reader, snapshots=snapshots, more=more, sent_at=digest.created_at
    )
    digest.save(update_fields=["message"])
    return digest

"""What readers follow (我的订阅): categories and keywords, the state of each reader's page, private
feed and digest, and the record of every snapshot a digest has carried."""

import secrets

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from articles.models import Category, Snapshot

# A keyword is a search query (articles.search.clean_query decides what is one); this bounds what is stored.
KEYWORD_MAX_LENGTH = 100


def new_feed_token() -> str:
    """256 random bits for the private feed's address."""
    return secrets.token_urlsafe(32)


class Subscriber(models.Model):
    """One reader's subscription settings, made on their first subscription or visit.

    The feed token is stored as it is, not hashed: the reader's page shows the feed address
    whenever they come back, and what it guards is a list of public snapshots. Regenerating it
    replaces it, so the old address stops working."""

    reader = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        models.CASCADE,
        primary_key=True,
        related_name="subscriber",
        verbose_name=_("reader"),
    )
    last_visited_at = models.DateTimeField(_("last visit"), null=True, blank=True)
    # Snapshots added after this moment are marked new on the reader's page: the end of their
    # previous visit (empty during the first visit, when everything is new).
    new_since = models.DateTimeField(_("new since"), null=True, blank=True)
    feed_token = models.CharField(_("feed token"), max_length=64, unique=True, default=new_feed_token, editable=False)
    digest_enabled = models.BooleanField(_("email digest"), default=True)
    # Snapshots added to the archive before this moment are never in a digest: when the reader
    # started, or last turned the digest back on. A first digest does not carry the archive.
    digest_starts_at = models.DateTimeField(_("digests start at"), default=timezone.now)
    # The high-water mark of digests: snapshots added up to this moment have been considered for
    # this reader's digests (each run also looks back a little; see services.DIGEST_OVERLAP).
    digest_checked_until = models.DateTimeField(_("digest checked until"), default=timezone.now)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("subscriber")
        verbose_name_plural = _("subscribers")

    def __str__(self):
        return str(self.reader)


class SubscriptionKind(models.TextChoices):
    CATEGORY = "category", _("category")
    KEYWORD = "keyword", _("keyword")


class Subscription(models.Model):
    Kind = SubscriptionKind

    reader = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.CASCADE, related_name="subscriptions", verbose_name=_("reader")
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    category = models.ForeignKey(
        Category, models.CASCADE, null=True, blank=True, related_name="subscriptions", verbose_name=_("category")
    )
    keyword = models.CharField(_("keyword"), max_length=KEYWORD_MAX_LENGTH, blank=True)
    created_at = models.DateTimeField(_("subscribed"), auto_now_add=True)

    class Meta:
        ordering = ["kind", "created_at", "id"]
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(kind=SubscriptionKind.CATEGORY, category__isnull=False, keyword="")
                    | models.Q(kind=SubscriptionKind.KEYWORD, category__isnull=True) & ~models.Q(keyword="")
                ),
                name="subscription_kind_matches_fields",
            ),
            models.UniqueConstraint(
                "reader",
                "category",
                condition=models.Q(kind=SubscriptionKind.CATEGORY),
                name="subscription_unique_category",
            ),
            models.UniqueConstraint(
                "reader",
                Lower("keyword"),
                condition=models.Q(kind=SubscriptionKind.KEYWORD),
                name="subscription_unique_keyword",
            ),
        ]

    def __str__(self):
        return self.category.name if self.kind == self.Kind.CATEGORY else self.keyword

    @property
    def is_category(self) -> bool:
        return self.kind == self.Kind.CATEGORY


class Digest(models.Model):
    """One digest email. Its items and its message are recorded in one transaction; the outbox
    sends the message (and tries again while the mail server refuses it), so a recorded digest is
    a digest on its way."""

    reader = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.CASCADE, related_name="digests", verbose_name=_("reader")
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    message = models.ForeignKey(
        "outbox.Message", models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("email message")
    )
    snapshot_count = models.PositiveIntegerField(_("snapshots"), default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("digest")
        verbose_name_plural = _("digests")

    def __str__(self):
        return f"{self.reader} {self.created_at:%Y-%m-%d %H:%M}"


class DigestItem(models.Model):
    """A snapshot a digest carried to a reader, listed or counted among "N more". The unique pair is what makes "never the same
    snapshot twice to the same reader" a rule of the database, not only of the command."""

    digest = models.ForeignKey(Digest, models.CASCADE, related_name="items", verbose_name=_("digest"))
    reader = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="+", verbose_name=_("reader"))
    snapshot = models.ForeignKey(Snapshot, models.CASCADE, related_name="+", verbose_name=_("snapshot"))

    class Meta:
        verbose_name = _("digest item")
        verbose_name_plural = _("digest items")
        constraints = [models.UniqueConstraint("reader", "snapshot", name="digest_item_once_per_reader")]

    def __str__(self):
        return f"{self.digest_id}: {self.snapshot_id}"

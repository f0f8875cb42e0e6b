"""The reader's private Atom feed: their stream, at an address only they know."""

from django.contrib.syndication.views import Feed
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.utils.html import strip_tags
from django.utils.text import Truncator
from django.utils.translation import gettext as _

from . import selectors
from .models import Subscriber

FEED_ITEMS = 50
SUMMARY_CHARS = 200


class SubscriptionFeed(Feed):
    feed_type = Atom1Feed

    def __call__(self, request, *args, **kwargs):
        response = super().__call__(request, *args, **kwargs)
        # The address is the secret: keep it out of shared caches, referrers and search engines.
        response["Cache-Control"] = "private, max-age=300"
        response["Referrer-Policy"] = "no-referrer"
        response["X-Robots-Tag"] = "noindex"
        return response

    def get_object(self, request, token):
        return get_object_or_404(Subscriber.objects.select_related("reader"), feed_token=token, reader__is_active=True)

    def title(self, obj):
        return _("My subscriptions · newsarchive")

    def subtitle(self, obj):
        return _("New snapshots in the categories and keywords you follow.")

    def link(self, obj):
        return reverse("subscriptions:index")

    def items(self, obj):
        subscriptions = selectors.subscriptions_of(obj.reader)
        return selectors.matching(subscriptions).defer(None)[:FEED_ITEMS]

    def item_title(self, item):
        return item.title

    def item_description(self, item):
        return Truncator(strip_tags(item.body).strip()).chars(SUMMARY_CHARS)

    def item_link(self, item):
        return item.get_absolute_url()

    def item_pubdate(self, item):
        return item.published_at

    def item_updateddate(self, item):
        return item.updated_at

    def item_author_name(self, item):
        return item.source.name

    def item_categories(self, item):
        return [item.category.name]

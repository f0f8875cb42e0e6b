"""Atom feeds of published snapshots: the latest across categories, and one per category."""

from django.contrib.syndication.views import Feed
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.utils.translation import gettext_lazy as _

from . import purge
from .models import Category, Snapshot
from .search import plain_summary

FEED_ITEMS = 50


class SnapshotAtomFeed(Atom1Feed):
    """Atom 1.0, with each entry's original address as `<link rel="via">` (RFC 4287 §4.2.7.2)."""

    def add_item_elements(self, handler, item):
        super().add_item_elements(handler, item)
        if item.get("original_url"):
            handler.addQuickElement("link", "", {"rel": "via", "href": item["original_url"]})


class LatestSnapshotsFeed(Feed):
    """The newest published snapshots across all categories."""

    feed_type = SnapshotAtomFeed
    title = _("newsarchive: latest snapshots")
    subtitle = _("Snapshots of news as they were published, newest first.")
    author_name = "newsarchive"

    def link(self, obj=None):
        return reverse("articles:home")

    def feed_url(self, obj=None):
        return reverse("articles:feed_latest")

    def snapshots(self, obj=None):
        return Snapshot.objects.published()

    def items(self, obj=None):
        # One query: the body is needed for the summaries, category and source for the entries.
        return self.snapshots(obj).select_related("category", "source").newest_first()[:FEED_ITEMS]

    def item_title(self, item):
        return item.title

    def item_description(self, item):
        return plain_summary(item.body)

    def item_pubdate(self, item):
        return item.published_at

    def item_updateddate(self, item):
        return item.updated_at

    def item_author_name(self, item):
        # The publication the snapshot came from is who wrote it, as far as a reader can tell.
        return item.source.name

    def item_categories(self, item):
        return [item.category.name]

    def item_extra_kwargs(self, item):
        return {"original_url": item.original_url}


class CategorySnapshotsFeed(LatestSnapshotsFeed):
    """The newest published snapshots of one category."""

    def get_object(self, request, slug):
        # Kept on the request, not on this instance, which every request shares.
        request.feed_category = get_object_or_404(Category, slug=slug)
        return request.feed_category

    def __call__(self, request, *args, **kwargs):
        response = super().__call__(request, *args, **kwargs)
        purge.tag(response, [purge.category_key(request.feed_category.pk)])
        return response

    def title(self, obj):
        return _("newsarchive: %(category)s") % {"category": obj.name}

    def subtitle(self, obj):
        return _("Snapshots in %(category)s, newest first.") % {"category": obj.name}

    def link(self, obj):
        return obj.get_absolute_url()

    def feed_url(self, obj):
        return reverse("articles:feed_category", kwargs={"slug": obj.slug})

    def snapshots(self, obj=None):
        return Snapshot.objects.published().filter(category=obj)

from django.contrib.sitemaps import views as sitemap_views
from django.urls import path, register_converter

from . import converters, views
from .caching import reader_page_cache
from .feeds import CategorySnapshotsFeed, LatestSnapshotsFeed
from .sitemaps import SITEMAPS

app_name = "articles"

register_converter(converters.SnapshotKeyConverter, "snapshotkey")

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("category/<str:slug>/", views.CategoryView.as_view(), name="category"),
    path("detail/<snapshotkey:key>.html", views.SnapshotDetailView.as_view(), name="detail"),
    path("detail/<snapshotkey:key>/captures/", views.SnapshotCapturesView.as_view(), name="captures"),
    path("search/", views.SearchView.as_view(), name="search"),
    path("feeds/latest.xml", reader_page_cache(LatestSnapshotsFeed()), name="feed_latest"),
    path("feeds/category/<str:slug>.xml", reader_page_cache(CategorySnapshotsFeed()), name="feed_category"),
    path(
        "sitemap.xml",
        reader_page_cache(sitemap_views.index),
        {"sitemaps": SITEMAPS, "sitemap_url_name": "articles:sitemap_section"},
        name="sitemap",
    ),
    path(
        "sitemap-<section>.xml",
        reader_page_cache(sitemap_views.sitemap, params=("p",)),
        {"sitemaps": SITEMAPS},
        name="sitemap_section",
    ),
    path("robots.txt", views.robots_txt, name="robots"),
]

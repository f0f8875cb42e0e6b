from django.urls import path

from . import feeds, views

app_name = "subscriptions"

urlpatterns = [
    path("me/subscriptions/", views.index, name="index"),
    path("me/subscriptions/subscribe/", views.subscribe, name="subscribe"),
    path("me/subscriptions/<int:pk>/remove/", views.remove, name="remove"),
    path("me/subscriptions/feed/regenerate/", views.regenerate_feed, name="regenerate_feed"),
    path("me/subscriptions/feed/<str:token>.xml", feeds.SubscriptionFeed(), name="feed"),
    path("me/subscriptions/digest/", views.digest_settings, name="digest"),
    path("me/subscriptions/digest/unsubscribe/<str:token>/", views.digest_unsubscribe, name="digest_unsubscribe"),
]

from django.urls import path, register_converter

from . import converters, views

app_name = "articles"

register_converter(converters.SnapshotKeyConverter, "snapshotkey")

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("category/<str:slug>/", views.CategoryView.as_view(), name="category"),
    path("detail/<snapshotkey:key>.html", views.SnapshotDetailView.as_view(), name="detail"),
]

from django.urls import path

from . import views

app_name = "moderation"

urlpatterns = [
    path("takedown/new/", views.takedown_new, name="takedown_new"),
    path("takedown/status/<str:token>/", views.takedown_status, name="status"),
    path("takedown/counter/", views.counter_notice, name="counter"),
    path("api/takedown/", views.api_takedown, name="api_takedown"),
    path("transparency/", views.transparency, name="transparency"),
    path("transparency/decisions.json", views.transparency_decisions, name="decisions_json"),
    path("transparency/statements.json", views.transparency_statements_json, name="statements_json"),
    path("transparency/statements.csv", views.transparency_statements_csv, name="statements_csv"),
]

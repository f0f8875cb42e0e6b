from django.contrib import admin
from django.urls import include, path

from articles.views import healthz
from newsarchive.views import readyz, switch_language

admin.site.site_header = admin.site.site_title = "newsarchive"

handler400 = "newsarchive.views.bad_request"
handler403 = "newsarchive.views.permission_denied"
handler404 = "newsarchive.views.page_not_found"
handler500 = "newsarchive.views.server_error"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("language/<str:code>/", switch_language, name="switch_language"),
    # The reader pages first: the resolver tries patterns in order, and they take most requests.
    # No two apps share an address, so the order changes nothing else.
    path("", include("articles.urls")),
    path("", include("moderation.urls")),
    path("", include("accounts.urls")),
    path("", include("subscriptions.urls")),
]

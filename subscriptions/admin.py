from django.contrib import admin
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from newsarchive.admin import NumericIdAdmin

from .models import Digest, Subscriber, Subscription


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ["reader", "kind", "category", "keyword", "created_at"]
    list_filter = ["kind"]
    list_select_related = ["reader", "category"]
    search_fields = ["reader__email", "keyword"]
    raw_id_fields = ["reader"]
    show_full_result_count = False


@admin.register(Subscriber)
class SubscriberAdmin(NumericIdAdmin, admin.ModelAdmin):
    list_display = ["reader", "digest_enabled", "last_visited_at", "digest_checked_until"]
    list_select_related = ["reader"]
    search_fields = ["reader__email"]
    readonly_fields = ["reader", "last_visited_at", "new_since", "digest_checked_until", "created_at"]
    show_full_result_count = False

    def has_add_permission(self, request):
        # Made by the site with a reader's first subscription; its reader is read-only here, so an
        # added one had none and answered 500 (found by newsarchive/tests/test_admin_writes.py).
        return False


@admin.register(Digest)
class DigestAdmin(admin.ModelAdmin):
    list_display = ["reader", "created_at", "mail_status", "snapshot_count"]
    list_select_related = ["reader", "message"]
    search_fields = ["reader__email"]
    readonly_fields = ["reader", "created_at", "mail_status", "snapshot_count"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    @admin.display(description=_("email message"))
    def mail_status(self, obj):
        if obj.message is None:
            return "-"
        sent = f" {timezone.localtime(obj.message.sent_at):%Y-%m-%d %H:%M}" if obj.message.sent_at else ""
        return f"{obj.message.get_status_display()}{sent}"

    def has_change_permission(self, request, obj=None):
        return False

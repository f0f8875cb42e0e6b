from axes.admin import AccessAttemptAdmin as AxesAccessAttemptAdmin
from axes.models import AccessAttempt
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from newsarchive.admin import NumericIdAdmin

from .models import Reader


@admin.register(Reader)
class ReaderAdmin(NumericIdAdmin, admin.ModelAdmin):
    list_display = ["__str__", "signed_up_at", "confirmed_at"]
    list_select_related = ["user"]
    search_fields = ["user__email"]
    readonly_fields = ["user", "signed_up_at", "confirmed_at"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False


admin.site.unregister(AccessAttempt)


@admin.register(AccessAttempt)
class AccessAttemptAdmin(AxesAccessAttemptAdmin):
    """django-axes' page of log-in attempts (superusers lift lockouts here). Its "clean up expired
    attempts" action reads the time of a log-in attempt from the request, which only a log-in
    request has: from the admin it answered 500 (found by newsarchive/tests/test_admin_writes.py).
    Here it counts from now."""

    @admin.action(description=_("Clean up expired attempts"))
    def cleanup_expired_attempts(self, request, queryset):
        request.axes_attempt_time = None  # AXES_COOLOFF_TIME before now
        return super().cleanup_expired_attempts(request, queryset)

from django.contrib import admin

from .models import Reader


@admin.register(Reader)
class ReaderAdmin(admin.ModelAdmin):
    list_display = ["__str__", "signed_up_at", "confirmed_at"]
    list_select_related = ["user"]
    search_fields = ["user__email"]
    readonly_fields = ["user", "signed_up_at", "confirmed_at"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

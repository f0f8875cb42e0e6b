from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from . import services
from .models import Message


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    """Every email the site sent or is still trying to send. Moderators read the mail of removal
    requests, superusers all of it; nobody edits or deletes a message, and "send again" is checked
    message by message in the service, whoever asks."""

    list_display = ["created_at", "kind", "reference", "to", "subject", "status", "attempts", "sent_at"]
    list_filter = ["status", "stream", "kind"]
    search_fields = ["reference", "to", "subject"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    fields = [
        "stream",
        "kind",
        "reference",
        "to",
        "subject",
        "shown_body",
        "headers",
        "status",
        "attempts",
        "last_error",
        "created_at",
        "last_attempt_at",
        "next_attempt_at",
        "sent_at",
    ]
    readonly_fields = fields
    actions = ["send_again"]

    def get_queryset(self, request):
        queryset = super().get_queryset(request).defer("secret")
        if request.user.is_superuser:
            return queryset
        return queryset.filter(stream__in=services.viewable_streams(request.user))

    def has_module_permission(self, request):
        return bool(services.viewable_streams(request.user))

    def has_view_permission(self, request, obj=None):
        if obj is not None:
            return services.can_view(request.user, obj.stream)
        return bool(services.viewable_streams(request.user))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_resend_permission(self, request):
        return any(services.can_resend(request.user, stream) for stream in Message.Stream.values)

    @admin.display(description=_("body"))
    def shown_body(self, obj):
        return services.visible_body(obj)

    @admin.action(description=_("Send again"), permissions=["resend"])
    def send_again(self, request, queryset):
        queued = 0
        for message in queryset.only("pk"):
            try:
                services.message_resend(message_id=message.pk, actor=request.user)
            except services.ResendError as error:
                self.message_user(request, str(error), messages.WARNING)
            else:
                queued += 1
        if queued:
            self.message_user(
                request,
                ngettext("%(n)d email queued again.", "%(n)d emails queued again.", queued) % {"n": queued},
                messages.SUCCESS,
            )

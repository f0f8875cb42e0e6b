from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ModerationConfig(AppConfig):
    name = "moderation"
    verbose_name = _("moderation")

    def ready(self):
        from . import checks  # noqa: F401 - registers the deploy checks

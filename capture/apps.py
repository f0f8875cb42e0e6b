from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CaptureConfig(AppConfig):
    """Capturing pages from the web and importing uploaded files, as tasks. Above `articles`:
    it writes snapshots only through articles.services.snapshots_import; articles never imports it."""

    name = "capture"
    verbose_name = _("Captures")

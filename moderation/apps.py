from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ModerationConfig(AppConfig):
    name = "moderation"
    verbose_name = _("moderation")

    def ready(self):
        from articles import withholding

        from . import (
            checks,  # noqa: F401 - registers the deploy checks
            selectors,
        )

        # The 451 page of a withheld snapshot names the decisions that withhold it through this
        # provider, so that articles imports nothing from moderation.
        withholding.register(selectors.withholding_notice)

"""The third-party apps the admin shows, named in the interface's language (their own names are
English only)."""

from axes.apps import AppConfig as AxesAppConfig
from django.utils.translation import gettext_lazy as _
from django_tasks_db.apps import TasksAppConfig


class LoginThrottlingConfig(AxesAppConfig):
    verbose_name = _("log-in throttling")


class BackgroundTasksConfig(TasksAppConfig):
    verbose_name = _("background tasks")

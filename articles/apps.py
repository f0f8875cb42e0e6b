from django.apps import AppConfig
from django.db.backends.signals import connection_created
from django.utils.translation import gettext_lazy as _


def install_search_functions(sender, connection, **kwargs):
    """SQLite computes search documents in Python: its triggers call these functions."""
    if connection.vendor == "sqlite":
        from .search import install_sqlite_functions

        install_sqlite_functions(connection.connection)


class ArticlesConfig(AppConfig):
    name = "articles"
    verbose_name = _("archive")

    def ready(self):
        connection_created.connect(install_search_functions, dispatch_uid="articles_search_functions")

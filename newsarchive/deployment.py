"""Checks a production process makes of its surroundings as it starts."""

from django.apps import apps
from django.conf import settings
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import ManifestFilesMixin
from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import storages

COLLECT = "DJANGO_DEBUG=0 .venv/bin/python manage.py collectstatic --no-input"


def static_files_problem() -> str | None:
    """What is wrong with the collected static files for this process, or None.

    With DJANGO_DEBUG=0 pages name static files by their hashed names, read from the manifest that
    `collectstatic` writes under production settings; files collected under DEBUG (as `make
    setup` does) have none, and every page would answer 500. So would a file added since the
    last collection."""
    storage = storages["staticfiles"]
    if settings.DEBUG or not isinstance(storage, ManifestFilesMixin):
        return None
    manifest, _hash = storage.load_manifest()  # ({} , "") when there is none
    if not manifest:
        return f"there is no manifest ({storage.manifest_name}) in {settings.STATIC_ROOT}"
    ignore = apps.get_app_config("staticfiles").ignore_patterns
    missing = sorted(
        {path for finder in finders.get_finders() for path, _storage in finder.list(ignore) if path not in manifest}
    )
    if missing:
        return f"{len(missing)} files are not in the manifest, e.g. {', '.join(missing[:3])}"
    return None


def ensure_static_files() -> None:
    """Refuse to start, naming the command to run, rather than answer every page with a 500."""
    problem = static_files_problem()
    if problem:
        raise ImproperlyConfigured(
            f"Static files are not collected for production: {problem}. Run `{COLLECT}` (with this "
            "process's settings), then start again."
        )

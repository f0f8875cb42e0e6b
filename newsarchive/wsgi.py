"""
WSGI config for newsarchive project.

It exposes the WSGI callable as a module-level variable named ``application``.

For more information on this file, see
https://docs.djangoproject.com/en/6.1/howto/deployment/wsgi/
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "newsarchive.settings")

application = get_wsgi_application()

# With DJANGO_DEBUG=0, refuse to start without the static files production needs (the message names
# the command to run) rather than answer every page with a 500.
from newsarchive.deployment import ensure_static_files  # noqa: E402 - needs the settings set up above

ensure_static_files()

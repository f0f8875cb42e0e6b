"""Plain helpers for reader accounts: make one, read the links out of the mail it is sent."""

import re
from urllib.parse import urlsplit

from django.conf import settings
from django.core import mail

from accounts import services
from newsarchive.testing import run_tasks

PASSWORD = "a long and unusual passphrase 7"


def make_reader(email: str = "reader@example.org", *, password: str = PASSWORD, confirmed: bool = True):
    """A reader account made as the sign-up form makes it, confirmed unless told otherwise. Its
    confirmation mail is sent and taken out of the test outbox."""
    outbox_before = len(mail.outbox)
    user = services.reader_sign_up(email=email, password=password)
    run_tasks()
    del mail.outbox[outbox_before:]
    if confirmed:
        user = services.reader_confirm(user_id=user.pk)
    return user


def links_in(message) -> list[str]:
    """The site's addresses in a mail, as paths (with their query) for the test client."""
    found = re.findall(re.escape(settings.SITE_URL) + r"(/\S*)", message.body)
    return found


def link_in(message, fragment: str) -> str:
    """The one address in the mail whose path contains `fragment`."""
    found = [link for link in links_in(message) if fragment in urlsplit(link).path]
    assert len(found) == 1, f"{len(found)} links containing {fragment!r} in {message.body!r}"
    return found[0]

"""The email a stored message becomes when it is sent."""

import email.policy

from django.conf import settings
from django.core.mail import EmailMessage

# Headers mail clients read as URLs (RFC 2369, RFC 8058). The email package folds a header longer
# than 78 characters, and a long URL has no space to fold at, so it would be written as RFC 2047
# encoded words ("=?utf-8?q?=3Chttp…"), which no client reads as an address: these are written
# as they are (a header line may be up to 998 characters, RFC 5322).
UNFOLDED_HEADERS = frozenset({"list-unsubscribe", "list-unsubscribe-post"})


class _Policy(email.policy.EmailPolicy):
    def fold(self, name, value):
        if name.lower() in UNFOLDED_HEADERS and str(value).isascii():
            return f"{name}: {value}{self.linesep}"
        return super().fold(name, value)

    def fold_binary(self, name, value):
        if name.lower() in UNFOLDED_HEADERS and str(value).isascii():
            return f"{name}: {value}{self.linesep}".encode("ascii")
        return super().fold_binary(name, value)


_POLICY = _Policy()
_SMTP_POLICY = _Policy(linesep="\r\n")


# The longest line, in bytes, that SMTP carries as it is (RFC 5322).
MAX_LINE_BYTES = 998


class OutgoingEmail(EmailMessage):
    """Django's EmailMessage, with the URL headers above left unfolded and the text body in UTF-8
    as it is ("8bit"), readable in the console and in the sent bytes. (Left to itself the email
    package base64-encodes any body with a line over 78 bytes: 26 Chinese characters.)"""

    def message(self, *, policy=email.policy.default):
        return super().message(policy=_SMTP_POLICY if policy.linesep == "\r\n" else _POLICY)

    def _add_bodies(self, msg):
        if self.attachments or self.content_subtype != "plain":
            return super()._add_bodies(msg)
        longest = max((len(line.encode()) for line in self.body.splitlines()), default=0)
        cte = "8bit" if longest <= MAX_LINE_BYTES else "quoted-printable"
        msg.set_content(self.body, subtype="plain", charset="utf-8", cte=cte)


def build(*, to: str, subject: str, body: str, headers: dict) -> OutgoingEmail:
    return OutgoingEmail(subject, body, settings.DEFAULT_FROM_EMAIL, [to], headers=headers)

"""Where requesters' evidence files are kept: a directory no URL serves."""

from django.core.files.storage import FileSystemStorage


class PrivateStorage(FileSystemStorage):
    """A file system storage without URLs. Plain FileSystemStorage falls back to MEDIA_URL when it
    has no base URL, which would give every evidence file a public-looking address; here asking for
    one is an error. Moderators download evidence through the admin's permission-checked view."""

    def url(self, name):
        raise ValueError("Evidence files have no public URL; moderators download them through the admin.")

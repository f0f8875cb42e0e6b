import pytest

from newsarchive.testing import clear_caches


@pytest.fixture(autouse=True)
def _empty_cache():
    """Each test starts with empty caches. The local-memory cache outlives a test, while the test's
    rows (the archive version among them) are rolled back, so a page cached by one test could be
    served to the next under the same key; and rate-limit counts would carry over."""
    clear_caches()
    yield
    clear_caches()


@pytest.fixture(autouse=True)
def _private_files(settings, tmp_path_factory):
    """Raw WARC records and uploaded imports go to a folder of the test's own, never the checkout's."""
    root = tmp_path_factory.mktemp("private")
    settings.CAPTURE_WARC_ROOT = root / "warc"
    settings.CAPTURE_UPLOAD_ROOT = root / "uploads"

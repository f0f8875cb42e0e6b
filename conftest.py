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

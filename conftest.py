import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _empty_cache():
    """Each test starts with an empty cache. The local-memory cache outlives a test, while the test's
    rows (the archive version among them) are rolled back, so a page cached by one test could be
    served to the next under the same key."""
    cache.clear()
    yield
    cache.clear()

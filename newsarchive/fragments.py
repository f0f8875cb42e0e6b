"""`kept(key, render)`: a part of a page rendered once per process and key, for the Jinja2 templates'
`{% call fragment(NAME, KEY, …) %}…{% endcall %}` (newsarchive/jinja2.py) and for parts written in
Python (the source select's options, articles/filters.py).

For parts that many pages share and that cost more to render than the rest of a page (a category
page's filter form with every source; the category navigation): the caller's KEY names everything
the part depends on (`articles.caching.fragment_key`: the archive's version, the language, the query
parameters the part reads), and a false KEY renders the part every time. Kept in each process's own
memory, the most recently used first, at most `LIMIT` parts: nothing to pickle, nothing to ask over
the network, and nothing that fails when a cache server is down.
"""

import threading
from collections import OrderedDict
from collections.abc import Callable

LIMIT = 512
_kept: OrderedDict[tuple, str] = OrderedDict()
_lock = threading.Lock()


def forget() -> None:
    """Drop every kept part (between tests)."""
    with _lock:
        _kept.clear()


def kept(key: tuple, render: Callable[[], str]) -> str:
    """The part kept under `key`, or `render()`'s, kept from now on."""
    with _lock:
        found = _kept.get(key)
        if found is not None:
            _kept.move_to_end(key)
            return found
    rendered = render()
    with _lock:
        _kept[key] = rendered
        while len(_kept) > LIMIT:
            _kept.popitem(last=False)
    return rendered

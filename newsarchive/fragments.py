"""`{% fragment NAME KEY … %}…{% endfragment %}`: a part of a page rendered once per process and key
(and `kept(key, render)`, the same for a part written in Python).

For parts that many pages share and that cost more to render than the rest of a page (a category
page's filter form with every source; the category navigation): the caller's KEY names everything
the part depends on (`articles.caching.fragment_key`: the archive's version, the language, the query
parameters the part reads), and a false KEY renders the part every time. Kept in each process's own
memory, the most recently used first, at most `LIMIT` parts: nothing to pickle, nothing to ask over
the network, and nothing that fails when a cache server is down. Registered as the "fragments"
template library (settings.TEMPLATES).
"""

import threading
from collections import OrderedDict
from collections.abc import Callable

from django import template

register = template.Library()

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


class FragmentNode(template.Node):
    def __init__(self, nodelist, name: str, keys: list):
        self.nodelist, self.name, self.keys = nodelist, name, keys

    def render(self, context):
        values = tuple(key.resolve(context) for key in self.keys)
        if not values[0]:
            return self.nodelist.render(context)
        return kept((self.name, *values), lambda: self.nodelist.render(context))


@register.tag
def fragment(parser, token):
    bits = token.split_contents()
    if len(bits) < 3:
        raise template.TemplateSyntaxError(f"{bits[0]} takes a name and at least one key")
    nodelist = parser.parse(("endfragment",))
    parser.delete_first_token()
    return FragmentNode(nodelist, bits[1], [parser.compile_filter(bit) for bit in bits[2:]])

from django.utils.functional import SimpleLazyObject
from django.utils.translation import get_language, to_locale

from .caching import fragment_key
from .models import Category
from .prepared import PreparedQuery

# On every page; compiled once per process (articles.prepared).
categories = PreparedQuery(Category, lambda: Category.objects.all())


def site(request):
    """`html_lang` as BCP 47 (zh-Hans, en) and the category navigation, queried only if a page
    shows it and does not have it as a fragment already (`nav_key`: the archive's version and the
    language, on reader pages)."""
    return {
        "html_lang": to_locale(get_language() or "zh-hans").replace("_", "-"),
        "nav_categories": SimpleLazyObject(categories),
        "nav_key": fragment_key(request, ()),
    }

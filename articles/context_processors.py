from django.utils.functional import SimpleLazyObject
from django.utils.translation import get_language, to_locale

from .caching import CSRF_PLACEHOLDER_ATTRIBUTE
from .models import Category


def site(request):
    """`html_lang` as BCP 47 (zh-Hans, en) and the category navigation, queried only if a page shows it.
    A page rendered for the page cache gets a placeholder for its CSRF token (see `articles.caching`);
    this processor runs after Django's own `csrf` one, so its value wins."""
    context = {
        "html_lang": to_locale(get_language() or "zh-hans").replace("_", "-"),
        "nav_categories": SimpleLazyObject(lambda: list(Category.objects.all())),
    }
    placeholder = getattr(request, CSRF_PLACEHOLDER_ATTRIBUTE, None)
    if placeholder is not None:
        context["csrf_token"] = placeholder
    return context

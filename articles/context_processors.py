from django.utils.functional import SimpleLazyObject
from django.utils.translation import get_language, to_locale

from .models import Category


def site(request):
    """`html_lang` as BCP 47 (zh-Hans, en) and the category navigation, queried only if a page shows it."""
    return {
        "html_lang": to_locale(get_language() or "zh-hans").replace("_", "-"),
        "nav_categories": SimpleLazyObject(lambda: list(Category.objects.all())),
    }

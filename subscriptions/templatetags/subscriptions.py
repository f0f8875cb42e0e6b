from django import template

from ..models import Subscription

register = template.Library()


@register.simple_tag(takes_context=True)
def subscription_for(context, category=None, keyword=""):
    """The current reader's subscription to this category or keyword, or None. One query for a
    logged-in reader; none for anyone else."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    subscriptions = Subscription.objects.filter(reader=user).select_related("category")
    if keyword:
        return subscriptions.filter(kind=Subscription.Kind.KEYWORD, keyword__iexact=keyword).first()
    if category:
        return subscriptions.filter(kind=Subscription.Kind.CATEGORY, category=category).first()
    return None

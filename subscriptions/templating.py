"""What the Jinja2 templates (templates/jinja2/) take from subscriptions, named in settings.TEMPLATES."""

import jinja2

from .templatetags import subscriptions


@jinja2.pass_context
def subscription_for(context, category=None, keyword=""):
    """`{% subscription_for %}`: the reader's subscription to this category or keyword, or None."""
    return subscriptions.subscription_for(
        {"request": context.get("request")}, category=category or None, keyword=keyword or ""
    )

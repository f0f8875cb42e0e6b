"""我的订阅: the reader's merged stream and its settings, the subscribe buttons of the public pages,
the private feed and the digest's unsubscribe link.

Subscribing is a POST. An anonymous reader's subscribe is kept in their session while they log in
or sign up; the log-in sends them to this app's `subscribe` address, which completes it (a GET
that finishes what their own POST asked for) and goes back to the page they were on.
"""

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from newsarchive.http import own_address, private_response

from . import emails, selectors, services
from .forms import DigestForm, KeywordForm, SubscribeForm
from .models import Subscriber, Subscription

PENDING = "subscriptions_pending"


def _next(request, default: str = "") -> str:
    value = request.POST.get("next") or request.GET.get("next") or ""
    return own_address(request, value) or default or reverse("subscriptions:index")


class StreamPage:
    """A page of the stream without counting the whole of it (a count would read every match):
    one row more than the page says whether an older page exists."""

    def __init__(self, queryset, number: int, per_page: int):
        rows = list(queryset[(number - 1) * per_page : number * per_page + 1])
        self.object_list = rows[:per_page]
        self.number = number
        self.has_previous = number > 1
        self.has_next = len(rows) > per_page
        self.previous_page_number = number - 1
        self.next_page_number = number + 1


def _page_number(request) -> int:
    try:
        number = int(request.GET.get("page", "1"))
    except ValueError:
        raise Http404(_("There is no such page.")) from None
    if not 1 <= number <= 10_000:
        raise Http404(_("There is no such page."))
    return number


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def index(request):
    """The stream of snapshots matching any subscription, newest first, those added since the
    reader's previous visit marked new; their subscriptions with a remove button each; forms to add
    a keyword or a category; the private feed's address; the digest switch.

    Its queries do not grow with the number of categories followed: the stream is one query
    whatever they are, plus one for the keywords' cached search plans and, after a change to the
    archive, the queries that choose the plans not cached yet (see selectors.matching)."""
    keyword_form = KeywordForm(request.POST if request.method == "POST" else None)
    if keyword_form.is_valid():
        try:
            subscription, created = services.subscription_add(
                reader=request.user, keyword=keyword_form.cleaned_data["keyword"]
            )
        except services.SubscriptionError as error:
            keyword_form.add_error("keyword", str(error))
        else:
            if created:
                messages.success(request, _("Subscribed to “%(name)s”.") % {"name": subscription})
            else:
                messages.info(request, _("You already follow “%(name)s”.") % {"name": subscription})
            return redirect("subscriptions:index")
    number = _page_number(request)
    subscriber = selectors.subscriber_for(request.user)
    subscriptions = selectors.subscriptions_of(request.user)
    page = StreamPage(selectors.matching(subscriptions), number, settings.ARTICLES_PAGE_SIZE)
    new_since = services.subscriber_visit(subscriber=subscriber)
    for snapshot in page.object_list:
        snapshot.is_new = new_since is None or snapshot.created_at > new_since
    followed = {s.category_id for s in subscriptions if s.is_category}
    context = {
        "subscriber": subscriber,
        "subscriptions": subscriptions,
        "page_obj": page,
        "snapshots": page.object_list,
        "keyword_form": keyword_form,
        "followed_category_ids": followed,
        "feed_url": request.build_absolute_uri(reverse("subscriptions:feed", kwargs={"token": subscriber.feed_token})),
        "max_subscriptions": settings.SUBSCRIPTIONS_MAX_PER_READER,
    }
    return private_response(render(request, "subscriptions/subscription_list.html", context))


@require_http_methods(["GET", "HEAD", "POST"])
def subscribe(request):
    """POST from a logged-in reader's subscribe button: subscribe and go back. The button of a
    visitor who is not logged in sends a GET (public pages carry no CSRF token, see the button's
    template): they are sent to log in first and land back here with GET, which asks them to
    confirm. A GET never subscribes by itself, or any other site could subscribe a reader by a
    link; only the choice a POST put in the session (from a page before the GET button) is
    completed after logging in without asking again."""
    data = request.POST if request.method == "POST" else request.GET
    form = SubscribeForm(data)
    back = _next(request)
    if not form.is_valid():
        return render(request, "subscriptions/subscribe_confirm.html", {"form": form, "next": back}, status=400)
    if not request.user.is_authenticated:
        if request.method == "POST":
            request.session[PENDING] = form.as_query()
        messages.info(request, _("Log in or sign up to subscribe to “%(name)s”.") % {"name": form.describe()})
        resume = f"{reverse('subscriptions:subscribe')}?{urlencode({**form.as_query(), 'next': back})}"
        return redirect_to_login(resume)
    if request.method == "POST" or request.session.get(PENDING) == form.as_query():
        request.session.pop(PENDING, None)
        try:
            subscription, created = services.subscription_add(
                reader=request.user,
                category=form.cleaned_data.get("category"),
                keyword=form.cleaned_data.get("keyword") or "",
            )
        except services.SubscriptionError as error:
            messages.error(request, str(error))
        else:
            if created:
                messages.success(request, _("Subscribed to “%(name)s”.") % {"name": subscription})
            else:
                messages.info(request, _("You already follow “%(name)s”.") % {"name": subscription})
        return redirect(back)
    return render(request, "subscriptions/subscribe_confirm.html", {"form": form, "next": back})


@login_required
@require_POST
def remove(request, pk: int):
    """Unsubscribe from one of the reader's own subscriptions (anyone else's is not found)."""
    try:
        subscription = services.subscription_remove(reader=request.user, subscription_id=pk)
    except Subscription.DoesNotExist:
        raise Http404(_("You have no such subscription.")) from None
    messages.success(request, _("Unsubscribed from “%(name)s”.") % {"name": subscription})
    return redirect(_next(request))


@login_required
@require_POST
def regenerate_feed(request):
    services.feed_token_regenerate(reader=request.user)
    messages.success(request, _("Your private feed has a new address; the old one no longer works."))
    return redirect("subscriptions:index")


@login_required
@require_POST
def digest_settings(request):
    form = DigestForm(request.POST)
    form.is_valid()  # a checkbox: absent means off
    subscriber = services.digest_set(reader=request.user, enabled=form.cleaned_data.get("enabled", False))
    if subscriber.digest_enabled:
        messages.success(request, _("You will get an email digest of new matches."))
    else:
        messages.success(request, _("You will get no more digest emails."))
    return redirect("subscriptions:index")


@csrf_exempt  # a mail client's one-click POST (RFC 8058) carries no CSRF token; the signed token authorizes it
@require_http_methods(["GET", "HEAD", "POST"])
def digest_unsubscribe(request, token: str):
    """The link in every digest. GET asks for confirmation and changes nothing (mail scanners open
    links); POST, from that page or a mail client's one-click unsubscribe, stops the digests."""
    reader_id = emails.reader_from_unsubscribe_token(token)
    subscriber = Subscriber.objects.select_related("reader").filter(reader_id=reader_id).first() if reader_id else None
    if subscriber is None:
        return private_response(render(request, "subscriptions/digest_unsubscribe.html", {"valid": False}, status=404))
    done = False
    if request.method == "POST":
        services.digest_set(reader=subscriber.reader, enabled=False)
        done = True
    return private_response(
        render(
            request,
            "subscriptions/digest_unsubscribe.html",
            {"valid": True, "done": done, "email": subscriber.reader.email},
        )
    )

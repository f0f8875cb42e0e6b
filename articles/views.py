import re
from typing import NamedTuple
from urllib.parse import urlencode

from django.conf import settings
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.decorators import method_decorator
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET
from django.views.generic import DetailView, ListView, TemplateView

from newsarchive.jinja2 import ENGINE as JINJA2

from . import purge, withholding
from .caching import fragment_key, reader_page_cache
from .captures import compare_captures, single_capture
from .filters import SearchFilter, SnapshotFilter
from .forms import SearchForm
from .keyphrases import related_links_of
from .models import Category, Snapshot, snapshot_address
from .pagination import Cursor, InvalidCursor, KeysetPage, cursors_from, keyset_page, older_page
from .prepared import PreparedQuery
from .search import NEWEST, highlight_excerpt, highlight_title, search_snapshots
from .stories import story_reprints

# The query parameters each cached page reads (articles.caching keeps only these): the list's
# position (`page` is an old numbered link, redirected), its filters, the search, and `stories`
# (one entry per story, SnapshotFilter.stories).
LIST_PARAMS = ("before", "after", "page")
CATEGORY_PARAMS = (*LIST_PARAMS, "published_after", "published_before", "source", "stories")
SEARCH_PARAMS = ("q", "order", "published_after", "published_before", "source", "category", "page", "stories")

# The contract path of the removal form (DESIGN.md's URL map), used until the moderation app serves it.
TAKEDOWN_NEW_PATH = "/takedown/new/"
MORE_IN_CATEGORY = 5


@require_GET
def healthz(request):
    """For load balancers and as the benchmarks' baseline: no template, no query."""
    return HttpResponse("ok", content_type="text/plain; charset=utf-8")


class KeysetListView(ListView):
    """A reader list, newest first, paged with cursors (see `articles.pagination`): "older" and "newer"
    links, no page count. Old `?page=N` links are sent to the cursor page that now starts there."""

    def get_paginate_by(self, queryset):
        return settings.ARTICLES_PAGE_SIZE

    def get(self, request, *args, **kwargs):
        if "page" in request.GET:
            return self.numbered_page_redirect(request.GET["page"])
        try:
            before, after = cursors_from(request.GET)
        except InvalidCursor:
            raise Http404(_("This page address is not valid.")) from None
        self.object_list = self.get_queryset()
        self.page = self.list_page(before=before, after=after)
        if after is not None and not self.page.object_list:
            return redirect(self.page_url(before=None, after=None))  # nothing newer: the first page is
        return self.render_to_response(self.get_context_data())

    def get_template_names(self):
        # The view's own template only: ListView would add one named after the QuerySet's model, and
        # asking a category page's QuerySet for its model builds it (CategoryView.get_queryset).
        return [self.template_name]

    def list_page(self, *, before: Cursor | None, after: Cursor | None) -> KeysetPage:
        return keyset_page(self.object_list, size=self.get_paginate_by(None), before=before, after=after)

    def paginate_queryset(self, queryset, page_size):
        return None, self.page, self.page.object_list, self.page.has_other_pages

    def page_url(self, **changes) -> str:
        """This list's address with the query string changed (a None value removes that key)."""
        params = self.request.GET.copy()
        for name, value in changes.items():
            params.pop(name, None)
            if value is not None:
                params[name] = str(value)
        return f"{self.request.path}?{params.urlencode()}" if params else self.request.path

    def numbered_page_redirect(self, number: str):
        """Page N of the former numbered pages: the list from the snapshot that now opens it."""
        if not (number.isascii() and number.isdigit()) or int(number) < 1:  # "²" is a digit to isdigit()
            raise Http404(_("This page address is not valid."))
        if int(number) > MAX_NUMBERED_PAGE:
            raise Http404(_("There is no such page."))
        if int(number) == 1:
            return redirect(self.page_url(page=None), permanent=True)
        position = (int(number) - 1) * self.get_paginate_by(None) - 1
        # An index-only scan, but one that grows with N: only old links come here.
        row = self.get_queryset().values_list("published_at", "pk")[position : position + 1].first()
        if row is None:
            raise Http404(_("There is no such page."))
        return redirect(self.page_url(page=None, before=Cursor(*row)))


# Old numbered links never went this deep (a million snapshots are 50,000 pages); a bigger number
# would overflow the database's OFFSET.
MAX_NUMBERED_PAGE = 10**9


@method_decorator(reader_page_cache(params=LIST_PARAMS), name="dispatch")
class HomeView(KeysetListView):
    """The latest published snapshots across all categories, with what editors feature on top."""

    template_name = "articles/snapshot_home.html"
    template_engine = JINJA2
    context_object_name = "snapshots"

    def get_queryset(self):
        return Snapshot.objects.published().for_listing().newest_first()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if "before" not in self.request.GET and "after" not in self.request.GET:
            context["featured"] = list(
                Snapshot.objects.published().filter(is_featured=True).for_listing().newest_first()[:5]
            )
        return context


# Compiled once per process (articles.prepared), as the snapshot page's queries below.
category_by_slug = PreparedQuery(Category, lambda *, slug: Category.objects.filter(slug=slug)[:1])


def category_snapshots(*, category_id: int):
    """A category's list as readers see it, newest first."""
    return Snapshot.objects.published().filter(category_id=category_id).for_listing().newest_first()


def _category_page(size: int, *, category_id: int, since=None, until=None, source_id=None, published_at=None, pk=None):
    """`size + 1` rows of a category's list, filtered as SnapshotFilter filters it (`since` and
    `until` bound the publication time), from the top or after the cursor (`published_at`, `pk`)."""
    queryset = category_snapshots(category_id=category_id)
    if since is not None:
        queryset = queryset.filter(published_at__gte=since)
    if until is not None:
        queryset = queryset.filter(published_at__lt=until)
    if source_id is not None:
        queryset = queryset.filter(source=source_id)
    if published_at is not None:
        queryset = queryset.filter(Cursor(published_at, pk).older())
    return queryset.values(*LISTED)[: size + 1]


# A crawler's walk is made of these pages, each with its own cursor: compiled once per filter shape.
category_page = PreparedQuery(Snapshot, _category_page)

LISTED = ("pk", "key", "title", "published_at", "source_id", "source__name")


class Named(NamedTuple):
    pk: int
    name: str


class ListedSnapshot:
    """A row of a reader list read as values (LISTED: a category page, "more in this category"): what
    the list shows, at a fifth of the CPU of a Snapshot with its category and source (21 rows: 0.12
    against 0.68 ms)."""

    __slots__ = ("pk", "key", "title", "published_at", "category", "source", "story_size")

    def __init__(self, row: dict, category: Category):
        self.pk, self.key, self.title, self.published_at = row["pk"], row["key"], row["title"], row["published_at"]
        self.category, self.source = category, Named(row["source_id"], row["source__name"])
        self.story_size = None

    def get_absolute_url(self) -> str:
        return snapshot_address(self.key)


@method_decorator(reader_page_cache(params=CATEGORY_PARAMS), name="dispatch")
class CategoryView(KeysetListView):
    """One category, newest first, paged with cursors, filtered by publication dates and source."""

    template_name = "articles/category_detail.html"
    template_engine = JINJA2
    context_object_name = "snapshots"

    def get_queryset(self):
        found = category_by_slug(slug=self.kwargs["slug"])
        if not found:
            raise Http404("No Category matches the given query.")
        self.category = found[0]
        # Most pages of a crawler's walk carry a cursor and no filter: their form is unbound, and built
        # only if the page renders its fields (they are kept between pages), and their rows come from
        # `category_page`, so neither the FilterSet nor the QuerySet below is made for them.
        self.filtered = any(name in self.request.GET for name in SnapshotFilter.base_filters)
        if self.filtered:
            self.filterset = self.make_filterset()
        else:
            self.filterset = SimpleLazyObject(self.make_filterset)
        return SimpleLazyObject(self.filtered_queryset)

    def make_filterset(self) -> SnapshotFilter:
        # Its QuerySet is the category's list, set by `filtered_queryset` when a page needs it.
        filterset = SnapshotFilter(self.request.GET if self.filtered else None, request=self.request)
        filterset.keep_options(fragment_key(self.request, ()))
        return filterset

    def filtered_queryset(self):
        """The list as the filters make it, for the pages `category_page` does not serve."""
        self.filterset.queryset = category_snapshots(category_id=self.category.pk)
        if self.filterset.is_bound and not self.filterset.is_valid():
            # The form shows what is wrong; no results are better than unfiltered ones.
            return self.filterset.queryset.none()
        if self.filterset.one_per_story:
            return self.filterset.qs.one_per_story()
        return self.filterset.qs

    def list_page(self, *, before: Cursor | None, after: Cursor | None) -> KeysetPage:
        """The page's rows through `category_page` (the same rows as the filtered QuerySet's, without
        building it again for each page), except for the rarer "newer" and one-per-story pages."""
        # An unfiltered page leaves its FilterSet unbuilt: valid, no filter, not one per story.
        valid = not self.filtered or self.filterset.is_valid()
        if after is not None or not valid or (self.filtered and self.filterset.one_per_story):
            return super().list_page(before=before, after=after)
        values = {"category_id": self.category.pk, **(self.filterset.bounds() if self.filtered else {})}
        if before is not None:
            values |= {"published_at": before.published_at, "pk": before.pk}
        size = self.get_paginate_by(None)
        rows = [ListedSnapshot(row, self.category) for row in category_page(size, **values)]
        return older_page(rows, size=size, before=before)

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            category=self.category,
            filter=self.filterset,
            filter_errors=self.filtered and self.filterset.form.errors,
            is_filtering=self.filtered and self.filterset.is_filtering,
            filter_key=fragment_key(self.request, SnapshotFilter.base_filters),
            **kwargs,
        )

    def render_to_response(self, context, **kwargs):
        response = super().render_to_response(context, **kwargs)
        purge.tag(response, [purge.category_key(self.category.pk)])
        return response


def takedown_url(request, snapshot):
    """The removal form pre-filled with this snapshot's address."""
    try:
        path = reverse("moderation:takedown_new")
    except NoReverseMatch:
        path = TAKEDOWN_NEW_PATH
    return f"{path}?{urlencode({'url': request.build_absolute_uri(snapshot.get_absolute_url())})}"


def withheld_response(request, snapshot):
    """HTTP 451 (RFC 7725) for a snapshot withheld by removal decisions: a notice naming each
    decision that withholds it, its public record and how to dispute it. Nothing of the snapshot's
    content is shown, not even its title (the title itself may be what a decision is about). The
    decisions come from whichever app registered with `articles.withholding`."""
    page_url = request.build_absolute_uri(snapshot.get_absolute_url())
    notice = withholding.notice_for(snapshot, page_url=page_url)
    response = render(request, "articles/snapshot_withheld.html", {"snapshot": snapshot, "notice": notice}, status=451)
    blocked_by = notice.claims[0].record_url if notice.claims else notice.record_url
    if blocked_by:
        response["Link"] = f'<{request.build_absolute_uri(blocked_by)}>; rel="blocked-by"'
    return response


# A snapshot page's own queries, compiled once per process (articles.prepared): building them was
# about a millisecond each, a query's own run a tenth of that.
snapshot_page = PreparedQuery(
    Snapshot, lambda *, key: Snapshot.objects.with_page().select_related("category", "source").filter(key=key)[:1]
)
more_in_category = PreparedQuery(
    Snapshot,
    lambda *, category_id, snapshot_id: (
        Snapshot.objects.published()
        .filter(category_id=category_id)
        .exclude(pk=snapshot_id)
        .newest_first()
        .values(*LISTED)[:MORE_IN_CATEGORY]
    ),
)


@method_decorator(reader_page_cache, name="dispatch")
class SnapshotDetailView(DetailView):
    """One snapshot, laid out as the seed page: everything captured, related links, more in its category."""

    template_name = "articles/snapshot_detail.html"
    template_engine = JINJA2
    context_object_name = "snapshot"

    def get(self, request, *args, **kwargs):
        if kwargs["key"] != kwargs["key"].lower():
            return redirect("articles:detail", key=kwargs["key"].lower(), permanent=True)
        self.object = self.get_object()
        if not self.object.is_public:
            return withheld_response(request, self.object)
        context = self.get_context_data(object=self.object)
        response = self.render_to_response(context)
        # What the page shows: the snapshot, more of its category, the snapshots its links lead to,
        # and those its links to other addresses will lead to once imported (the import purges
        # them). Its reprints and computed related news too: each leaves the page when it is withheld.
        targets = [
            purge.snapshot_key(link.target_key or link.awaited_key)
            for link in [*context["related_links"], *context["computed_links"]]
            if link.target_key or link.awaited_key
        ]
        targets += [purge.snapshot_key(other.key) for other in context["reprints"]]
        purge.tag(
            response,
            [purge.snapshot_key(self.object.key), purge.category_key(self.object.category_id), *targets],
        )
        return response

    def get_object(self, queryset=None):
        found = snapshot_page(key=self.kwargs["key"])
        if not found:
            raise Http404("No Snapshot matches the given query.")
        return found[0]

    def get_context_data(self, **kwargs):
        snapshot = self.object
        # Crawled links first, as captured, then the ones the archive computed: one query.
        related_links, computed_links = related_links_of(snapshot)
        reprints = story_reprints(snapshot)
        more = [
            ListedSnapshot(row, snapshot.category)
            for row in more_in_category(category_id=snapshot.category_id, snapshot_id=snapshot.pk)
        ]
        return super().get_context_data(
            related_links=related_links,
            computed_links=computed_links,
            reprints=reprints,
            reprints_total=reprints[0].reprints_total if reprints else 0,
            # The earliest published copy of the story: the first of the others, or this one.
            first_seen=reprints[0]
            if reprints and (reprints[0].published_at, reprints[0].pk) < (snapshot.published_at, snapshot.pk)
            else snapshot,
            more_in_category=more,
            takedown_url=takedown_url(self.request, snapshot),
            **kwargs,
        )


# Deeper than this a reader narrows the search; it also bounds how far a query walks.
SEARCH_MAX_PAGES = 50
# Words and signs that mean something to search engines and FTS syntax, but not here.
SEARCH_OPERATORS = re.compile(r"""\b(?:AND|OR|NOT|NEAR)\b|[*^"()]""")


@method_decorator(reader_page_cache(params=SEARCH_PARAMS), name="dispatch")
class SearchView(TemplateView):
    """Published snapshots containing the query, newest first or most relevant first, filtered
    like a category page, with each title and a passage of its text highlighted. Pages are read
    one row past the page instead of counted: at a million snapshots a count costs more than the
    page."""

    template_name = "articles/search_results.html"

    def get_context_data(self, **kwargs):
        request = self.request
        data = None
        if "q" in request.GET:
            data = request.GET.copy()
            data.setdefault("order", NEWEST)
        form = SearchForm(data, initial={"order": NEWEST})
        filterset = SearchFilter(
            request.GET or None,
            queryset=Snapshot.objects.published().select_related("category", "source"),
            request=request,
        )
        filterset.keep_options(fragment_key(request, ()))
        context = super().get_context_data(
            form=form,
            filter=filterset,
            searched=data is not None,
            search_query=request.GET.get("q", ""),
            snapshots=[],
            page_obj=None,
            **kwargs,
        )
        if not context["searched"] or not form.is_valid() or not filterset.is_valid():
            return context
        query = form.cleaned_data["q"]
        number = self.page_number()
        context.update(query=query, literal_operators=bool(SEARCH_OPERATORS.search(query)))
        if number > SEARCH_MAX_PAGES:
            context["too_deep"] = SEARCH_MAX_PAGES
            return context
        size = settings.ARTICLES_PAGE_SIZE
        results = search_snapshots(query, queryset=filterset.qs, order=form.cleaned_data["order"])
        if filterset.one_per_story:
            # After the search: each story's first seen among the snapshots that match.
            results = results.one_per_story()
        snapshots = list(results[(number - 1) * size : number * size + 1])
        for snapshot in snapshots[:size]:
            snapshot.marked_title = highlight_title(snapshot.title, query)
            snapshot.marked_excerpt = highlight_excerpt(snapshot.body, query)
        more = len(snapshots) > size
        context.update(
            snapshots=snapshots[:size],
            page_obj=SearchPage(number=number, has_next=more and number < SEARCH_MAX_PAGES),
            # The last page shown says there are more results than the pages go to.
            truncated=SEARCH_MAX_PAGES if more and number == SEARCH_MAX_PAGES else None,
        )
        return context

    def page_number(self) -> int:
        try:
            number = int(self.request.GET.get("page") or 1)
        except ValueError:
            raise Http404("page is not a number") from None
        if number < 1:
            raise Http404("no page before the first")
        return number


class SearchPage:
    """The little of a paginator's page the templates use, without a total."""

    def __init__(self, *, number: int, has_next: bool):
        self.number = number
        self.has_next = has_next
        self.has_previous = number > 1
        self.next_page_number = number + 1
        self.previous_page_number = number - 1


ROBOTS_DISALLOW = ["/admin/", "/search/", "/takedown/", "/api/", "/accounts/", "/me/", "/language/"]


@require_GET
def robots_txt(request):
    """Crawlers: everything public but search results, forms and private pages; the sitemap."""
    lines = ["User-agent: *", *(f"Disallow: {path}" for path in ROBOTS_DISALLOW)]
    lines.append(f"Sitemap: {request.build_absolute_uri(reverse('articles:sitemap'))}")
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8")


@method_decorator(reader_page_cache(params=("a", "b")), name="dispatch")
class SnapshotCapturesView(DetailView):
    """Every capture of a key, newest first, and what changed between any two (`?a=<id>&b=<id>`).
    The snapshot's state governs them all: a withheld key answers 451, a hidden one 404, as its page."""

    template_name = "articles/snapshot_captures.html"
    context_object_name = "snapshot"

    def get(self, request, *args, **kwargs):
        if kwargs["key"] != kwargs["key"].lower():
            return redirect("articles:captures", key=kwargs["key"].lower(), permanent=True)
        self.object = get_object_or_404(
            Snapshot.objects.with_page().select_related("category", "source"), key=kwargs["key"]
        )
        if not self.object.is_public:
            return withheld_response(request, self.object)
        context = self.get_context_data(object=self.object)
        return self.render_to_response(context, status=400 if context["compare_error"] else 200)

    def get_context_data(self, **kwargs):
        snapshot = self.object
        captures = list(snapshot.captures.order_by("-captured_at", "-id")) or [single_capture(snapshot)]
        shown = next((c for c in captures if c.pk == snapshot.pinned_capture_id), captures[0])
        comparison, error = None, ""
        if "a" in self.request.GET or "b" in self.request.GET:
            by_id = {str(c.pk): c for c in captures}
            older, newer = by_id.get(self.request.GET.get("a", "")), by_id.get(self.request.GET.get("b", ""))
            if older is None or newer is None or older.pk == newer.pk:
                error = _("Choose two different captures of this snapshot to compare.")
            else:
                if (older.captured_at, older.pk) > (newer.captured_at, newer.pk):
                    older, newer = newer, older
                comparison = compare_captures(older, newer)
        return super().get_context_data(
            captures=captures,
            shown=shown,
            comparison=comparison,
            compare_error=error,
            selected_a=self.request.GET.get("a", str(captures[1].pk) if len(captures) > 1 else ""),
            selected_b=self.request.GET.get("b", str(captures[0].pk)),
            **kwargs,
        )

import html
from datetime import date, datetime, time, timedelta

import django_filters
from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.forms.renderers import Jinja2 as Jinja2Renderer
from django.forms.utils import flatatt
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django_filters.fields import ModelChoiceField, ModelChoiceIterator

from newsarchive import fragments

from .models import Category, Snapshot, Source


class DateInput(forms.DateInput):
    """A native date picker; browsers send ISO dates. Text that is not a date is not echoed back
    into `value` (browsers drop it anyway, and it would make the page invalid HTML): the field's
    error says what was wrong."""

    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")

    def format_value(self, value):
        if isinstance(value, str):
            try:
                return date.fromisoformat(value.strip()).isoformat()
            except ValueError:
                return None
        return super().format_value(value)


class LongSelect(forms.Select):
    """A select of many options (every source: hundreds) written out directly. Django renders each
    option through its own template, which took most of a category page's time. The standard
    library's escape is Django's `escape` without its lazy-string wrapper (the same output, in a
    third of the time over 300 options).

    With `kept_key` set (`FilterSet.keep_options`: the archive version and the language) the options
    are read and written once per key and process (newsarchive/fragments.py), and a page only marks
    its choice: a millisecond and a query less on a filtered page."""

    kept_key = None

    def options_html(self) -> str:
        return "\n".join(
            f'<option value="{html.escape("" if value is None else str(value))}">{html.escape(str(label))}</option>'
            for value, label in self.choices
        )

    def render(self, name, value, attrs=None, renderer=None):
        if self.kept_key:
            options = fragments.kept(("select options", self.kept_key, name), self.options_html)
        else:
            options = self.options_html()
        for chosen in {str(v) for v in self.format_value(value)}:
            mark = f'<option value="{html.escape(chosen)}">'
            options = options.replace(mark, f"{mark[:-1]} selected>", 1)
        attrs = flatatt(self.build_attrs(self.attrs, {**(attrs or {}), "name": name}))
        return mark_safe(f"<select{attrs}>\n{options}\n</select>")


class NameChoiceIterator(ModelChoiceIterator):
    """(id, name) pairs read as such: hundreds of sources without building a model object for each."""

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        yield from self.queryset.values_list("pk", "name")


class NameChoiceField(ModelChoiceField):
    iterator = NameChoiceIterator


class NameChoiceFilter(django_filters.ModelChoiceFilter):
    field_class = NameChoiceField


# Dates outside these bounds cannot be news and would overflow when turned into instants.
DATE_BOUNDS = [MinValueValidator(date(1900, 1, 1)), MaxValueValidator(date(2999, 12, 31))]


def start_of_day(day):
    return timezone.make_aware(datetime.combine(day, time.min))


def end_of_day(day):
    """The first instant after `day` (an exclusive bound)."""
    return start_of_day(day + timedelta(days=1))


class CheckboxFilter(django_filters.Filter):
    """A choice a checkbox makes: on (any value but an empty one) or off (absent)."""

    field_class = forms.BooleanField


class FilterForm(forms.Form):
    """The filters' form, its widgets and labels rendered by Django's Jinja2 form templates: the same
    markup as its own templates (django/forms/jinja2/ beside django/forms/templates/), at a fraction
    of the cost on a filtered page, whose fields are not kept (their values differ page to page)."""

    default_renderer = Jinja2Renderer()  # one for all forms: its environment compiles each template once


class SnapshotFilter(django_filters.FilterSet):
    """Filters of category pages: publication dates from and until (inclusive days in the site's
    time zone, compared as instants so the category index serves them) and a source."""

    published_after = django_filters.DateFilter(
        label=_("Published from"), method="filter_published_after", widget=DateInput, validators=DATE_BOUNDS
    )
    published_before = django_filters.DateFilter(
        label=_("Published until"), method="filter_published_before", widget=DateInput, validators=DATE_BOUNDS
    )
    source = NameChoiceFilter(
        queryset=Source.objects.all(), label=_("Source"), empty_label=_("All sources"), widget=LongSelect
    )
    # A way of showing the list, kept in the address (?stories=1) like the filters: the views apply
    # it last (`SnapshotQuerySet.one_per_story`), after every filter and the search itself.
    stories = CheckboxFilter(
        label=_("One entry per story"),
        method="keep",
        widget=forms.CheckboxInput(attrs={"value": "1"}),
    )

    class Meta:
        model = Snapshot
        form = FilterForm
        fields = ["published_after", "published_before", "source", "stories"]

    def filter_published_after(self, queryset, name, value):
        return queryset.filter(published_at__gte=start_of_day(value))

    def filter_published_before(self, queryset, name, value):
        return queryset.filter(published_at__lt=end_of_day(value))

    def keep(self, queryset, name, value):
        return queryset

    def get_form_class(self):
        """The form class, made once per FilterSet class instead of once a page (its fields are
        copied into each form, so a page changing its own, as `keep_options` does, changes no other)."""
        cls = type(self)
        if "_form_class" not in cls.__dict__:
            cls._form_class = super().get_form_class()
        return cls._form_class

    def bounds(self) -> dict:
        """The valid form's filters as the values of a prepared query (articles.views.category_page):
        `since` and `until`, the instants the publication dates stand for, and `source_id`."""
        data = self.form.cleaned_data if self.is_bound else {}
        bounds = {}
        if data.get("published_after"):
            bounds["since"] = start_of_day(data["published_after"])
        if data.get("published_before"):
            bounds["until"] = end_of_day(data["published_before"])
        if data.get("source"):
            bounds["source_id"] = data["source"].pk
        return bounds

    def keep_options(self, key: str | None) -> None:
        """Keep the source select's options between pages under `key` (articles.caching.fragment_key)."""
        self.form.fields["source"].widget.kept_key = key

    @property
    def one_per_story(self) -> bool:
        """Whether the reader asked for one entry per story (a valid form only)."""
        return bool(self.is_bound and self.is_valid() and self.form.cleaned_data.get("stories"))

    @property
    def is_filtering(self) -> bool:
        return any(self.data.get(name) for name in self.filters if name != "stories")


class SearchFilter(SnapshotFilter):
    """The category pages' filters, and the category itself (by slug, as in its address)."""

    category = django_filters.ModelChoiceFilter(
        queryset=Category.objects.all(), to_field_name="slug", label=_("Category"), empty_label=_("All categories")
    )

    class Meta(SnapshotFilter.Meta):
        # Django's own form templates: the category select's options are laid out with blank lines
        # between them there, and not in the Jinja2 ones (the search page is off the walk).
        form = forms.Form
        fields = ["category", "published_after", "published_before", "source", "stories"]

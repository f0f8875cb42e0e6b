from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from articles.models import Category
from articles.search import QueryError, clean_query

from .models import KEYWORD_MAX_LENGTH


class KeywordField(forms.CharField):
    """A keyword is a search query: what the search page would refuse, it refuses with the same message."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", KEYWORD_MAX_LENGTH)
        kwargs.setdefault("label", _("Keyword"))
        super().__init__(**kwargs)

    def clean(self, value):
        value = super().clean(value)
        if not value:
            return value
        try:
            return clean_query(value)
        except QueryError as error:
            raise ValidationError(str(error), code="query") from error


class SubscribeForm(forms.Form):
    """What a subscribe button sends: a category (its id) or a keyword, never both."""

    category = forms.ModelChoiceField(queryset=Category.objects.all(), required=False, label=_("Category"))
    keyword = KeywordField(required=False)

    def clean(self):
        data = super().clean()
        if not self.errors and bool(data.get("category")) == bool(data.get("keyword")):
            raise ValidationError(_("Choose a category or type a keyword."), code="one_of")
        return data

    def as_query(self) -> dict[str, str]:
        """The same subscription as address parameters."""
        if self.cleaned_data.get("category"):
            return {"category": str(self.cleaned_data["category"].pk)}
        return {"keyword": self.cleaned_data["keyword"]}

    def describe(self) -> str:
        return self.cleaned_data["category"].name if self.cleaned_data.get("category") else self.cleaned_data["keyword"]


class KeywordForm(forms.Form):
    """Adding a keyword on the reader's page."""

    keyword = KeywordField(
        help_text=_(
            "New snapshots whose title or text contain it appear on this page, as a search for it would find them."
        )
    )


class DigestForm(forms.Form):
    enabled = forms.BooleanField(required=False, label=_("Email me a digest of new matches"))

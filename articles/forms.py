from django import forms
from django.utils.translation import gettext_lazy as _

from .search import NEWEST, RELEVANCE, QueryError, clean_query


class SearchForm(forms.Form):
    """The query and the order of results; the filters are SearchFilter's."""

    q = forms.CharField(
        label=_("Search for"),
        required=False,
        # No maxlength: a browser would cut a long query silently; the error says what is too long.
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )
    order = forms.ChoiceField(
        label=_("Order"),
        choices=[(NEWEST, _("Newest first")), (RELEVANCE, _("Most relevant first"))],
        required=False,
        widget=forms.RadioSelect,
    )

    def clean_q(self):
        try:
            return clean_query(self.cleaned_data["q"])
        except QueryError as error:
            raise forms.ValidationError(str(error), code="query") from None

    def clean_order(self):
        return self.cleaned_data["order"] or NEWEST

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.utils.translation import gettext_lazy as _

from .models import CaptureRequest

MAX_URLS = 100
# The longest address a capture request holds (URLValidator lets 2,048 characters through; a longer
# one than the column took was refused by PostgreSQL as a server error).
MAX_URL_LENGTH = CaptureRequest._meta.get_field("url").max_length


class CaptureForm(forms.Form):
    """URLs to capture (one per line) and/or a file to import; each filed under `category` if given."""

    urls = forms.CharField(
        label=_("URLs"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "cols": 80}),
        help_text=_("One address per line."),
    )
    file = forms.FileField(
        label=_("or a file to import"),
        required=False,
        help_text=_("JSON Lines, a saved snapshot page, or a WARC file (.warc, .warc.gz)."),
    )
    category = forms.CharField(
        label=_("category"),
        max_length=100,
        required=False,
        help_text=_("Empty: the page's own section, else the default category."),
    )

    def clean_urls(self):
        lines = [line.strip() for line in self.cleaned_data["urls"].splitlines() if line.strip()]
        if len(lines) > MAX_URLS:
            raise ValidationError(_("At most %(count)d addresses at a time."), params={"count": MAX_URLS})
        long = [line for line in lines if len(line) > MAX_URL_LENGTH]
        if long:
            raise ValidationError(
                _("Addresses of at most %(limit)d characters: %(lines)s"),
                params={"limit": MAX_URL_LENGTH, "lines": ", ".join(f"{line[:100]}…" for line in long[:5])},
            )
        validate = URLValidator(schemes=["http", "https"])
        bad = []
        for line in lines:
            try:
                validate(line)
            except ValidationError:
                bad.append(line)
        if bad:
            raise ValidationError(
                _("Not an http(s) address: %(lines)s"), params={"lines": ", ".join(line[:100] for line in bad[:5])}
            )
        return list(dict.fromkeys(lines))

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("urls") and not cleaned.get("file") and not self.errors:
            raise ValidationError(_("Give at least one address, or a file to import."))
        return cleaned

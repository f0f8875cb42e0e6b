"""The public forms of the removal workflow. The JSON API builds `TakedownForm` from its body, so the
form and the API apply exactly the same checks (see `views.api_takedown`)."""

import codecs
import re
from urllib.parse import urlsplit

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from articles.filters import DateInput
from articles.models import Snapshot

from . import selectors, services
from .models import TakedownItem, TakedownRequest

# The longest address a listed URL may have (TakedownItem.url) and generous caps on free text, so
# that no input reaches the database only to be refused there.
MAX_URL_LENGTH = TakedownItem._meta.get_field("url").max_length
MAX_SHORT_TEXT = 5_000
MAX_LONG_TEXT = 20_000

PDF, PNG, JPEG, TEXT = "application/pdf", "image/png", "image/jpeg", "text/plain"
MAGIC = [(b"%PDF-", PDF), (b"\x89PNG\r\n\x1a\n", PNG), (b"\xff\xd8\xff", JPEG)]
# Text a browser could take for HTML, SVG or XML is refused even when it is valid UTF-8 (the
# WHATWG sniffing patterns, plus XML): evidence is read by moderators, never rendered.
MARKUP_START = re.compile(r"\s*<(?:!doctype|!--|\?xml|[a-z])", re.IGNORECASE)
MARKUP_ANYWHERE = re.compile(r"<(?:script|html|body|iframe|svg|object|embed)\b", re.IGNORECASE)
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def sniff_content_type(upload) -> str | None:
    """The type of an uploaded file judged by its content alone (never its name or the type the
    browser claimed): PDF, PNG, JPEG or plain UTF-8 text. None for anything else."""
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    for magic, content_type in MAGIC:
        if head.startswith(magic):
            return content_type
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    first, tail = True, ""
    try:
        for chunk in upload.chunks():
            text = decoder.decode(chunk)
            if first and text and MARKUP_START.match(text):
                return None
            first = first and not text.strip()
            # The end of the previous chunk too, so that a tag split between chunks is still seen.
            if CONTROL_CHARACTERS.search(text) or MARKUP_ANYWHERE.search(tail + text):
                return None
            tail = text[-16:]
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return None
    finally:
        upload.seek(0)
    return TEXT


class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


class EvidenceFilesField(forms.FileField):
    """Any number of files (up to TAKEDOWN_MAX_FILES), each size-capped and typed by its content.
    Each file accepted gets `checked_content_type`, which the service stores."""

    widget = MultipleFileInput

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def clean(self, data, initial=None):
        uploads = [d for d in (data if isinstance(data, list | tuple) else [data]) if d]
        errors = []
        limit = settings.TAKEDOWN_MAX_FILES
        if len(uploads) > limit:
            raise ValidationError(
                ngettext("Attach at most %(limit)d file.", "Attach at most %(limit)d files.", limit) % {"limit": limit},
                code="too_many_files",
            )
        for upload in uploads:
            if upload.size == 0:
                errors.append(ValidationError(_("“%(name)s” is empty."), code="empty", params={"name": upload.name}))
            elif upload.size > settings.TAKEDOWN_MAX_FILE_BYTES:
                errors.append(
                    ValidationError(
                        _("“%(name)s” is %(size)s; a file may be at most %(limit)s."),
                        code="too_large",
                        params={
                            "name": upload.name,
                            "size": filesizeformat(upload.size),
                            "limit": filesizeformat(settings.TAKEDOWN_MAX_FILE_BYTES),
                        },
                    )
                )
            else:
                content_type = sniff_content_type(upload)
                if content_type is None:
                    errors.append(
                        ValidationError(
                            _("“%(name)s” is not a PDF, PNG, JPEG or plain text file (judged by its content)."),
                            code="file_type",
                            params={"name": upload.name},
                        )
                    )
                else:
                    upload.checked_content_type = content_type
        if errors:
            raise ValidationError(errors)
        return uploads


def url_line_error(index: int, line: int, message: str) -> ValidationError:
    """An error about one listed address. The form shows “line N”; the API keys it `urls.<index>`."""
    return ValidationError(
        _("Line %(line)d: %(detail)s"), code="url_line", params={"line": line, "index": index, "detail": message}
    )


def _text(label, max_length: int, required_message, **kwargs) -> forms.CharField:
    return forms.CharField(label=label, max_length=max_length, error_messages={"required": required_message}, **kwargs)


def _textarea(label, max_length: int, required_message, rows: int = 4, **kwargs) -> forms.CharField:
    return _text(label, max_length, required_message, widget=forms.Textarea(attrs={"rows": rows}), **kwargs)


def _work_fields(number: int) -> dict[str, forms.Field]:
    """The fields of the notice's `number`th work: its description, its date and its addresses.
    The first keeps the plain names (work, work_date, urls) the form and the API always had; the
    others are suffixed with their number (work_2, work_date_2, urls_2, …)."""
    suffix = "" if number == 1 else f"_{number}"
    label = (lambda text: text) if number == 1 else (lambda text: format_lazy("{} ({})", text, number))
    return {
        f"work{suffix}": _textarea(
            label(_("The work")),
            MAX_SHORT_TEXT,
            _("Describe the work whose rights you hold."),
            help_text=_("Its title, author and where it was first published."),
        ),
        f"work_date{suffix}": forms.DateField(
            label=label(_("Date of the work (optional)")),
            required=False,
            help_text=_("When the work was first published, if you know it (YYYY-MM-DD)."),
            widget=DateInput,
        ),
        f"urls{suffix}": forms.CharField(
            label=label(_("Snapshot addresses")),
            strip=False,
            error_messages={"required": _("List at least one snapshot address.")},
            help_text=_(
                "The address of each snapshot page on this site (…/detail/<key>.html), or of the original "
                "article, one per line. An address that names nothing in this archive is recorded as not found."
            ),
            widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false", "autocapitalize": "off"}),
        ),
    }


class TakedownForm(forms.Form):
    """Every element a valid notice needs: 条例 art. 14, 民法典 art. 1195, DMCA §512(c)(3)(A) and
    DSA art. 16(2). A notice claims one work or several (`works` says how many are shown; the
    filer adds one with the "add another work" button, which submits nothing), each with its
    addresses, one per line. `url_lines` keeps, for each accepted address in order across the works,
    its field and line, so that errors about an address name both."""

    name = _text(
        _("Your name"),
        200,
        _("Give your full name."),
        help_text=_("Your real name (民法典 art. 1195). It is never published."),
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    organisation = _text(
        _("Organisation (optional)"),
        200,
        None,
        required=False,
        help_text=_(
            "The company or body you act for. Published on the transparency page; leave it empty if you "
            "act as an individual."
        ),
        widget=forms.TextInput(attrs={"autocomplete": "organization"}),
    )
    role = forms.ChoiceField(
        label=_("You are"),
        choices=TakedownRequest.Role.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("Say whether you are the rights holder or an agent.")},
    )
    email = forms.EmailField(
        label=_("Email"),
        max_length=254,
        error_messages={"required": _("Give an email address: the receipt and the decision are sent there.")},
        help_text=_("The receipt, any question and the decision are sent here. Never published."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    phone = _text(
        _("Phone"),
        50,
        _("Give a phone number."),
        help_text=_("Never published."),
        widget=forms.TextInput(attrs={"autocomplete": "tel", "type": "tel"}),
    )
    address = _textarea(
        _("Postal address"),
        1000,
        _("Give your postal address."),
        rows=3,
        help_text=_("Never published."),
    )
    explanation = _textarea(
        _("Why it infringes"),
        MAX_LONG_TEXT,
        _("Explain why the snapshots infringe your rights."),
        rows=6,
        help_text=_("A substantiated explanation: what in each snapshot is yours and why it may not be shown here."),
    )
    evidence = _textarea(
        _("Proof of your rights"),
        MAX_LONG_TEXT,
        _("Give preliminary proof of your rights."),
        help_text=_(
            "For example a copyright registration number, the original publication with its date, or a licence."
        ),
    )
    files = EvidenceFilesField(
        label=_("Evidence files (optional)"),
        help_text=_(
            "Up to %(count)d PDF, PNG, JPEG or plain text files of at most %(size)s each. Only moderators can "
            "open them."
        ),
    )
    good_faith = forms.BooleanField(
        label_suffix="",
        label=_(
            "I have a good faith belief that the use of the material described above is not authorised by the "
            "rights holder, its agent or the law, and I submit this notice in good faith."
        ),
        error_messages={"required": _("Confirm the good-faith statement.")},
    )
    accurate_and_authorised = forms.BooleanField(
        label_suffix="",
        label=_(
            "I believe in good faith that the information and allegations in this notice are accurate and "
            "complete, and, under penalty of perjury, that I am the rights holder or authorised to act on behalf "
            "of the rights holder."
        ),
        error_messages={"required": _("Confirm the statement of accuracy and authority.")},
    )
    signature = _text(
        _("Signature"),
        200,
        _("Sign the notice by typing your full name."),
        help_text=_("Type your full name; it serves as your electronic signature."),
    )

    works = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)

    def __init__(self, *args, work_count: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if work_count is not None:
            self.work_count = max(1, min(work_count, settings.TAKEDOWN_MAX_WORKS))
        else:
            self.work_count = self.count_works(self.data) if self.is_bound else 1
        # The works' fields go where the single work's always were: after the requester's.
        fields = list(self.fields.items())
        at = [name for name, _field in fields].index("explanation")
        work_fields = {}
        for number in range(1, self.work_count + 1):
            work_fields.update(_work_fields(number))
        self.fields = dict(fields[:at] + list(work_fields.items()) + fields[at:])
        self.initial.setdefault("works", self.work_count)
        self.url_lines: list[tuple[str, int]] = []
        self.fields["files"].help_text = self.fields["files"].help_text % {
            "count": settings.TAKEDOWN_MAX_FILES,
            "size": filesizeformat(settings.TAKEDOWN_MAX_FILE_BYTES),
        }
        self.fields["files"].widget.attrs["accept"] = (
            ".pdf,.png,.jpg,.jpeg,.txt,application/pdf,image/png,image/jpeg,text/plain"
        )

    @staticmethod
    def count_works(data) -> int:
        """How many works the form shows: the number it says, at least the highest numbered work
        filled in, at most TAKEDOWN_MAX_WORKS."""
        try:
            count = int(data.get("works") or 1)
        except (TypeError, ValueError):
            count = 1
        for key in data:
            name, _sep, number = str(key).rpartition("_")
            if name in ("work", "work_date", "urls") and number.isdigit():
                count = max(count, int(number))
        return max(1, min(count, settings.TAKEDOWN_MAX_WORKS))

    def work_groups(self) -> list[tuple[int, list]]:
        """Each work's number and bound fields, for the template."""
        return [(number, [self[name] for name in self.work_names(number)]) for number in range(1, self.work_count + 1)]

    @property
    def can_add_work(self) -> bool:
        return self.work_count < settings.TAKEDOWN_MAX_WORKS

    def work_names(self, number: int) -> tuple[str, str, str]:
        suffix = "" if number == 1 else f"_{number}"
        return f"work{suffix}", f"work_date{suffix}", f"urls{suffix}"

    def clean(self):
        data = super().clean()
        today = timezone.localdate()
        for number in range(1, self.work_count + 1):
            _work, work_date, _urls = self.work_names(number)
            if data.get(work_date) and data[work_date] > today:
                self.add_error(
                    work_date, ValidationError(_("The date of the work cannot be in the future."), code="future")
                )
        self.clean_addresses(data)
        return data

    def clean_addresses(self, data) -> None:
        """One address per line, blank lines ignored, in every work. Each must be a web address;
        the service looks them up (and records those that name nothing here as not found)."""
        self.url_lines = []
        for number in range(1, self.work_count + 1):
            _work, _date, name = self.work_names(number)
            if name not in data:
                continue  # required and missing: the field has said so
            lines = data[name].replace("\r\n", "\n").replace("\r", "\n").split("\n")
            urls = []
            for line_number, line in enumerate(lines, start=1):
                if line.strip():
                    urls.append((line.strip(), line_number))
            if not urls:
                self.add_error(name, ValidationError(_("List at least one snapshot address."), code="required"))
                continue
            errors = []
            for url, line_number in urls:
                index = len(self.url_lines)
                self.url_lines.append((name, line_number))
                problem = _address_problem(url)
                if problem:
                    errors.append(url_line_error(index, line_number, problem))
            data[name] = [url for url, _line in urls]
            if errors:
                self.add_error(name, errors)
        limit = settings.TAKEDOWN_MAX_URLS
        if len(self.url_lines) > limit:
            self.add_error(
                "urls",
                ValidationError(
                    _("At most %(limit)d addresses per request; send the rest in another."),
                    code="too_many",
                    params={"limit": limit},
                ),
            )

    def add_submission_errors(self, errors: dict[str, list[str]]) -> None:
        """Show the service's refusal (SubmissionError.errors) on the fields it names: `urls.<i>`,
        the i-th address across the works, on its work's field and line."""
        for key, messages in errors.items():
            field, _dot, index = key.partition(".")
            for message in messages:
                if field == "urls" and index.isdigit() and int(index) < len(self.url_lines):
                    name, line = self.url_lines[int(index)]
                    self.add_error(name, url_line_error(int(index), line, message))
                elif field in self.fields:
                    self.add_error(field, message)
                else:
                    self.add_error(None, message)

    def submission(self, *, ip: str | None) -> services.Submission:
        data = self.cleaned_data
        return services.Submission(
            name=data["name"],
            organisation=data["organisation"],
            role=data["role"],
            email=data["email"],
            phone=data["phone"],
            address=data["address"],
            works=[
                services.SubmittedWork(description=data[work], work_date=data[work_date], urls=data[urls])
                for work, work_date, urls in map(self.work_names, range(1, self.work_count + 1))
            ],
            explanation=data["explanation"],
            evidence=data["evidence"],
            good_faith=data["good_faith"],
            accurate_and_authorised=data["accurate_and_authorised"],
            signature=data["signature"],
            files=data["files"],
            ip=ip,
        )


def _address_problem(url: str) -> str | None:
    """What is wrong with a line before looking it up: too long, or not a web address at all."""
    if len(url) > MAX_URL_LENGTH:
        return str(_("The address is longer than %(limit)d characters.") % {"limit": MAX_URL_LENGTH})
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        return str(_("%(url)s is not a web address (https://…).") % {"url": url})
    return None


class WithdrawForm(forms.Form):
    confirm = forms.BooleanField(
        label_suffix="",
        label=_("I withdraw this request."),
        error_messages={"required": _("Tick the box to confirm that you withdraw the request.")},
    )
    note = forms.CharField(
        label=_("Reason (optional)"),
        required=False,
        max_length=MAX_SHORT_TEXT,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class AnswerForm(forms.Form):
    answer = forms.CharField(
        label=_("Your answer"),
        max_length=MAX_LONG_TEXT,
        widget=forms.Textarea(attrs={"rows": 6}),
        error_messages={"required": _("Write your answer.")},
    )


class AppealForm(forms.Form):
    reason = forms.CharField(
        label=_("Why the decision is wrong"),
        max_length=MAX_LONG_TEXT,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("A moderator other than the one who decided reviews the appeal and tells you the outcome."),
        error_messages={"required": _("Say why the decision is wrong.")},
    )


class LawsuitForm(forms.Form):
    note = forms.CharField(
        label=_("The lawsuit or complaint"),
        max_length=MAX_SHORT_TEXT,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Where and when it was filed: the court or authority, the case number and the date."),
        error_messages={"required": _("Say where and when the lawsuit or complaint was filed.")},
    )


class CounterNoticeForm(forms.Form):
    """The elements of 条例 art. 16 and DMCA §512(g)(3). `urls` names the withheld snapshots the
    counter-notice disputes, one address per line; each must be withheld by a decision that can
    still be disputed. `snapshots` holds them once they are."""

    urls = forms.CharField(
        label=_("Addresses of the withheld snapshots"),
        strip=False,
        max_length=(MAX_URL_LENGTH + 2) * 50,
        error_messages={"required": _("Give the address of the withheld snapshot.")},
        help_text=_("One address per line. The counter-notice disputes these snapshots and no others."),
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "autocapitalize": "off"}),
    )
    name = _text(_("Your name"), 200, _("Give your full name."), widget=forms.TextInput(attrs={"autocomplete": "name"}))
    email = forms.EmailField(
        label=_("Email"),
        max_length=254,
        error_messages={"required": _("Give an email address.")},
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    phone = _text(
        _("Phone"), 50, _("Give a phone number."), widget=forms.TextInput(attrs={"autocomplete": "tel", "type": "tel"})
    )
    address = _textarea(_("Postal address"), 1000, _("Give your postal address."), rows=3)
    explanation = _textarea(
        _("Why the removal was a mistake"),
        MAX_LONG_TEXT,
        _("Explain why the removal was a mistake."),
        rows=6,
        help_text=_(
            "Your preliminary proof that the snapshot does not infringe: for example a licence, or why the law allows it."
        ),
    )
    good_faith = forms.BooleanField(
        label_suffix="",
        label=_(
            "Under penalty of perjury, I have a good faith belief that the material was removed as a result of "
            "mistake or misidentification."
        ),
        error_messages={"required": _("Confirm the good-faith statement.")},
    )
    consent_to_jurisdiction = forms.BooleanField(
        label_suffix="",
        label=_(
            "I consent to the jurisdiction of the court for the district where my address is (or, outside the "
            "United States, any district where this service may be found), and I will accept service of process "
            "from the person who sent the removal request or their agent."
        ),
        error_messages={"required": _("Consent to the jurisdiction, or the counter-notice is not complete.")},
    )
    signature = _text(
        _("Signature"),
        200,
        _("Sign the counter-notice by typing your full name."),
        help_text=_("Type your full name; it serves as your electronic signature."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.snapshots: list[Snapshot] = []
        self.disputes: list[selectors.Disputable] = []

    def clean_urls(self):
        lines = [line.strip() for line in self.cleaned_data["urls"].replace("\r", "\n").split("\n")]
        urls = list(dict.fromkeys(line for line in lines if line))
        if not urls:
            raise ValidationError(_("Give the address of the withheld snapshot."), code="required")
        if len(urls) > settings.TAKEDOWN_MAX_URLS:
            raise ValidationError(
                _("At most %(limit)d addresses per counter-notice."),
                code="too_many",
                params={"limit": settings.TAKEDOWN_MAX_URLS},
            )
        self.disputes = [selectors.disputable(url) for url in urls]
        problems = [dispute.problem for dispute in self.disputes if dispute.problem]
        if problems:
            raise ValidationError(problems, code="not_disputable")
        self.snapshots = [dispute.snapshot for dispute in self.disputes]
        return urls

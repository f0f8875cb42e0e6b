import hashlib
import json
import re
from datetime import datetime
from functools import lru_cache
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Length
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from .converters import SnapshotKeyConverter
from .sanitize import sanitize_html

models.CharField.register_lookup(Length)

SHANGHAI = ZoneInfo("Asia/Shanghai")
KEY_PATTERN = r"[0-9a-f]{40}"
DEFAULT_PORTS = {"http": 80, "https": 443}


_ALREADY_CANONICAL = re.compile(r"^https?://[a-z0-9.\-]+/[^#\s]*$")


def canonical_url(url: str) -> str:
    """The form of an address that identifies a capture: scheme and host lower-cased, default port,
    fragment and surrounding white space dropped, an empty path made `/`. Path and query are kept
    as they are: on news sites they name the article."""
    if _ALREADY_CANONICAL.match(url):
        return url  # the common case, and the import's hot path
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    netloc = host
    if parts.port and parts.port != DEFAULT_PORTS.get(scheme):
        netloc = f"{host}:{parts.port}"
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


def snapshot_key(*, original_url: str, source: str, title: str, published_at: datetime) -> str:
    """A snapshot's public key: the SHA-1 of its canonical original URL or, with no URL, of
    source, title and publication time (ISO 8601 in Asia/Shanghai), one per line."""
    if original_url and original_url.strip():
        return _sha1(canonical_url(original_url))
    return _sha1("\n".join([source.strip(), title.strip(), published_at.astimezone(SHANGHAI).isoformat()]))


DETAIL_PATH = re.compile(rf"^/detail/({KEY_PATTERN})\.html$", re.IGNORECASE)


def archive_hosts() -> set[str]:
    """Host names under which this archive's own pages are reached."""
    hosts = {host.lower() for host in settings.ALLOWED_HOSTS if host and not host.startswith(".") and host != "*"}
    site_host = urlsplit(settings.SITE_URL).hostname
    if site_host:
        hosts.add(site_host.lower())
    return hosts


def archive_key(url: str) -> str | None:
    """The key in an address of this archive's own snapshot pages (`/detail/<key>.html`), else None."""
    if "/detail/" not in url:
        return None
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").lower()
    except ValueError:  # a malformed address (e.g. an unclosed IPv6 bracket) names nothing here
        return None
    match = DETAIL_PATH.match(parts.path)
    if match and host in archive_hosts():
        return match.group(1).lower()
    return None


def key_for_url(url: str) -> str:
    """The key of the snapshot an address names: our own `/detail/<key>.html` pages name theirs,
    any other address names the snapshot captured from it."""
    return archive_key(url) or _sha1(canonical_url(url))


def _sha1(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8"), usedforsecurity=False).hexdigest()


class SanitizedHTMLField(models.TextField):
    """A TextField whose value is run through the sanitizer on every way Django writes it: save(),
    bulk_create(), bulk_update(), QuerySet.update() and loaddata's raw saves."""

    def pre_save(self, model_instance, add):
        value = sanitize_html(getattr(model_instance, self.attname) or "")
        setattr(model_instance, self.attname, value)
        return value

    def get_db_prep_save(self, value, connection):
        if isinstance(value, str):
            value = sanitize_html(value)
        return super().get_db_prep_save(value, connection)


class CategoryManager(models.Manager):
    def get_by_natural_key(self, slug):
        return self.get(slug=slug)


class Category(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    slug = models.SlugField(_("slug"), max_length=100, unique=True, allow_unicode=True)

    objects = CategoryManager()

    class Meta:
        ordering = ["name"]
        verbose_name = _("category")
        verbose_name_plural = _("categories")

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        if not self.slug:
            self.slug = slugify(self.name, allow_unicode=True)
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("articles:category", kwargs={"slug": self.slug})

    def natural_key(self):
        return (self.slug,)


class SourceManager(models.Manager):
    def get_by_natural_key(self, name):
        return self.get(name=name)


class Source(models.Model):
    name = models.CharField(_("name"), max_length=200, unique=True)
    # Where the source is told of a removal request against its snapshots and of the decision, and
    # may answer (条例 art. 15): never published.
    contact_email = models.EmailField(
        _("contact email"),
        blank=True,
        db_default="",
        help_text=_("Told of removal requests against this source's snapshots and of each decision. Never published."),
    )

    objects = SourceManager()

    class Meta:
        ordering = ["name"]
        verbose_name = _("source")
        verbose_name_plural = _("sources")

    def __str__(self):
        return self.name

    def natural_key(self):
        return (self.name,)


class SnapshotQuerySet(models.QuerySet):
    def published(self):
        """What readers may see: not hidden by an editor, not withheld by a decision."""
        return self.filter(status=Snapshot.Status.PUBLISHED)

    def with_page(self):
        """Snapshots whose address answers: published ones, and withheld ones, whose page is only a
        removal notice (HTTP 451). Hidden ones are not found. Never for lists: use published()."""
        return self.filter(status__in=[Snapshot.Status.PUBLISHED, Snapshot.Status.WITHHELD])

    def newest_first(self):
        """The order of every reader list: by the source's publication time, ties broken by id."""
        return self.order_by("-published_at", "-id")

    def for_listing(self):
        """Rows for a list of titles: category and source joined, the body left in the database."""
        return self.select_related("category", "source").defer("body")

    def one_per_story(self):
        """One entry per story: of the snapshots this QuerySet holds, those with no earlier one
        (published_at, then id) of the same story among them, i.e. each story's first seen. The
        test is one probe of the story index per row, and reads this QuerySet's own filters, so a
        category, a date range or a search keeps the story's first snapshot *among its results*.
        Each row gets `story_size` (see with_story_size)."""
        same = self.order_by().filter(story_id=models.OuterRef("story_id"))
        # `published_at <= t` bounds the story index's range; the rest decides among equal times.
        # (Written as one OR, SQLite 3.40 answered it through a multi-index OR that lost rows.)
        earlier = same.filter(
            models.Q(published_at__lte=models.OuterRef("published_at"))
            & (models.Q(published_at__lt=models.OuterRef("published_at")) | models.Q(pk__lt=models.OuterRef("pk")))
        )
        return self.filter(~models.Exists(earlier)).with_story_size()

    def with_story_size(self):
        """Each row with `story_size`: the published snapshots of its story, itself included; None
        for a snapshot in no story. A subquery per row shown, not a query per page."""
        size = (
            Snapshot.objects.published()
            .filter(story_id=models.OuterRef("story_id"))
            .order_by()
            .values("story_id")
            .annotate(n=models.Count("pk"))
            .values("n")
        )
        return self.annotate(story_size=models.Subquery(size, output_field=models.IntegerField()))

    def get_by_natural_key(self, key):
        return self.get(key=key)


class SnapshotStatus(models.TextChoices):
    PUBLISHED = "published", _("published")
    HIDDEN = "hidden", _("hidden")
    WITHHELD = "withheld", _("withheld")


class EditorStatus(models.TextChoices):
    PUBLISHED = "published", _("published")
    HIDDEN = "hidden", _("hidden")


def derive_status(editor_status: str, withheld: bool) -> str:
    """A snapshot's public state from its two inputs: hidden when an editor hid it (the archive then
    answers as if it held no such snapshot), else withheld while a removal decision withholds it,
    else published. The database checks every row against this (snapshot_status_derived)."""
    if editor_status == EditorStatus.HIDDEN:
        return SnapshotStatus.HIDDEN
    return SnapshotStatus.WITHHELD if withheld else SnapshotStatus.PUBLISHED


# Brackets a captured byline may come in; one without them is shown in ASCII parentheses.
BYLINE_BRACKETS = ("(", "（", "[", "【", "〔", "［")


# What the snapshot page's address converter accepts and writes unchanged.
SNAPSHOT_KEY = re.compile(SnapshotKeyConverter.regex)


@lru_cache(maxsize=16)
def _detail_address_parts(script_prefix: str, urlconf: str) -> tuple[str, str]:
    """A snapshot page's address before and after its key, under this script prefix and URLconf."""
    stand_in = "0" * 40
    head, tail = reverse("articles:detail", kwargs={"key": stand_in}, urlconf=urlconf).split(stand_in)
    return head, tail


def snapshot_address(key: str) -> str:
    """The address of the snapshot page of `key`: `reverse("articles:detail", …)`, at a tenth of its
    cost where the key is one the address takes as it is (lists and related links ask for twenty
    of these a page, at 20 µs a `reverse`)."""
    if SNAPSHOT_KEY.fullmatch(key):
        head, tail = _detail_address_parts(get_script_prefix(), get_urlconf() or settings.ROOT_URLCONF)
        return f"{head}{key}{tail}"
    return reverse("articles:detail", kwargs={"key": key})


class Snapshot(models.Model):
    Status = SnapshotStatus
    EditorStatus = EditorStatus

    # What editors choose between (editor_status). Withholding is not theirs: see `withheld`.
    EDITOR_STATUSES = (Status.PUBLISHED, Status.HIDDEN)

    key = models.CharField(
        _("key"),
        max_length=40,
        unique=True,
        validators=[RegexValidator(rf"^{KEY_PATTERN}$", _("A key is 40 lower-case hexadecimal digits."))],
        help_text=_("SHA-1 of the canonical original URL, or of source, title and publication time."),
    )
    title = models.CharField(_("title"), max_length=500)
    category = models.ForeignKey(Category, models.PROTECT, related_name="snapshots", verbose_name=_("category"))
    source = models.ForeignKey(Source, models.PROTECT, related_name="snapshots", verbose_name=_("source"))
    reprinted_from = models.CharField(_("reprinted from"), max_length=200, blank=True)
    byline = models.CharField(_("byline"), max_length=300, blank=True)
    body = SanitizedHTMLField(_("body"), blank=True)
    published_at = models.DateTimeField(_("published at"), help_text=_("The source's publication time."))
    captured_at = models.DateTimeField(_("captured at"), help_text=_("When the crawler took the snapshot."))
    collected_by = models.CharField(_("collected by"), max_length=200, help_text=_("The crawler that captured it."))
    original_url = models.URLField(_("original URL"), max_length=2000, blank=True)
    content_hash = models.CharField(_("content hash"), max_length=64, editable=False)
    # `status` is derived from the two fields after it (derive_status), in the same write: it is the
    # one indexed column that published(), the search index's triggers and the page cache's version
    # read, so "is it public?" stays one filter. Nothing sets it directly.
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=Status,
        default=Status.PUBLISHED,
        editable=False,
        help_text=_("Public state: hidden if an editor hid it, else withheld while a removal decision stands."),
    )
    editor_status = models.CharField(
        _("editor's status"),
        max_length=10,
        choices=EditorStatus,
        default=EditorStatus.PUBLISHED,
        db_default=EditorStatus.PUBLISHED,
        help_text=_("Published or hidden, as editors decide. A removal decision does not change it."),
    )
    # Kept by the withholding ledger of the removal workflow (moderation.ledger), which recomputes it
    # from the standing claims on this snapshot whenever a claim changes, under the snapshot's row lock.
    withheld = models.BooleanField(
        _("withheld"),
        default=False,
        db_default=False,
        editable=False,
        help_text=_("Whether at least one approved removal claim on this snapshot stands."),
    )
    is_featured = models.BooleanField(_("featured"), default=False)
    # The reprints of one article (see articles.stories); none while the snapshot has no reprint
    # here, or has not been compared yet. Set by the stories task, never by hand.
    story = models.ForeignKey(
        "Story",
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="snapshots",
        verbose_name=_("story"),
        db_index=False,  # the story_members index below serves every lookup by story
        editable=False,
    )
    # How many different captures of this key the archive holds (SnapshotCapture), kept on the row
    # so the page says "N captures" without a query of its own. 1 with no SnapshotCapture rows: a
    # snapshot captured once, from JSON Lines, is its own only capture.
    # Both columns are added in place (a database default, no index): on SQLite any other new column
    # makes Django rebuild the table, which drops its search and archive-version triggers.
    capture_count = models.PositiveIntegerField(_("captures"), default=1, db_default=1, editable=False)
    pinned_capture = models.ForeignKey(
        "SnapshotCapture",
        models.SET_NULL,
        null=True,
        blank=True,
        db_index=False,
        related_name="+",
        editable=False,
        verbose_name=_("pinned capture"),
        help_text=_("The capture an editor chose to show instead of the newest."),
    )
    created_at = models.DateTimeField(_("added"), auto_now_add=True)
    updated_at = models.DateTimeField(_("changed"), auto_now=True)

    # Computed, not edited: history would record every regrouping or new capture as an edit.
    history = HistoricalRecords(excluded_fields=["updated_at", "capture_count", "pinned_capture", "story"])

    objects = SnapshotQuerySet.as_manager()

    # The published snapshots of its story, on rows of a one-per-story list (with_story_size); None
    # on any other row. Declared so that the lists' templates find it at once: for an attribute an
    # instance lacks, Django's template lookup calls dir() on it, 1.1 ms over a category page.
    story_size = None

    class Meta:
        ordering = ["-published_at", "-id"]
        verbose_name = _("snapshot")
        verbose_name_plural = _("snapshots")
        indexes = [
            # Category pages: WHERE category_id = ? AND status = 'published' ORDER BY published_at DESC, id DESC.
            models.Index(fields=["category", "status", "-published_at", "-id"], name="snapshot_category_page"),
            # The same filtered by source: without it a rare source is found by reading the whole
            # category (0.7 s at a million snapshots on SQLite). The source before the status, so that
            # no query without a source can take this index for the one above: SQLite, without
            # statistics of it, did for "more in this category" and sorted the whole category.
            models.Index(
                fields=["category", "source", "status", "-published_at", "-id"], name="snapshot_source_in_category"
            ),
            # Home page, feeds and sitemap: every published snapshot, newest first.
            models.Index(fields=["status", "-published_at", "-id"], name="snapshot_latest"),
            # The home page's featured few: without it, found by reading the latest rows until five
            # featured ones turn up (3 ms at a million, on the busiest page).
            models.Index(
                fields=["status", "-published_at", "-id"],
                condition=models.Q(is_featured=True),
                name="snapshot_featured",
            ),
            # The admin changelist's default order over all states.
            models.Index(fields=["-published_at", "-id"], name="snapshot_published"),
            models.Index(fields=["source", "-published_at"], name="snapshot_source"),
            # A story's members in publication order: the snapshot page's reprints, the "one entry
            # per story" lists (is there an earlier member?) and their reprint counts. Partial: a
            # snapshot arrives in no story, so an import writes nothing to it.
            models.Index(
                fields=["story", "published_at", "id"],
                condition=models.Q(story__isnull=False),
                name="snapshot_story_members",
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=SnapshotStatus.values), name="snapshot_status_valid"),
            models.CheckConstraint(
                condition=models.Q(editor_status=EditorStatus.HIDDEN, status=SnapshotStatus.HIDDEN)
                | models.Q(editor_status=EditorStatus.PUBLISHED, withheld=True, status=SnapshotStatus.WITHHELD)
                | models.Q(editor_status=EditorStatus.PUBLISHED, withheld=False, status=SnapshotStatus.PUBLISHED),
                name="snapshot_status_derived",
            ),
            models.CheckConstraint(condition=models.Q(key__length=40), name="snapshot_key_40_chars"),
        ]

    def __str__(self):
        return self.title

    def save(self, *args, **kwargs):
        if not self.key:
            self.key = self.compute_key()
        if not self.content_hash:
            self.content_hash = self.compute_content_hash()
        self.status = derive_status(self.editor_status, self.withheld)
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return snapshot_address(self.key)

    def natural_key(self):
        return (self.key,)

    @property
    def byline_shown(self) -> str:
        """The byline as the page shows it: in the brackets it was captured with (（记者 刘洋）), or
        in the parentheses the seed's page puts around every byline: (孙安琪 王燕)."""
        if not self.byline or self.byline.startswith(BYLINE_BRACKETS):
            return self.byline
        return f"({self.byline})"

    @property
    def is_public(self) -> bool:
        return self.status == self.Status.PUBLISHED

    def compute_key(self) -> str:
        return snapshot_key(
            original_url=self.original_url,
            source=self.source.name,
            title=self.title,
            published_at=self.published_at,
        )

    def compute_content_hash(self) -> str:
        """The capture digest of this row and its stored related links (see `capture_digest`)."""
        related = []
        if self.pk:
            related = [
                {"title": link.title, "excerpt": link.excerpt, "date": link.date, "url": link.url}
                for link in self.related_links.order_by("position", "id")
            ]
        return capture_digest(
            title=self.title,
            category=self.category.name,
            source=self.source.name,
            reprinted_from=self.reprinted_from,
            byline=self.byline,
            body=sanitize_html(self.body),
            published_at=self.published_at,
            captured_at=self.captured_at,
            collected_by=self.collected_by,
            original_url=self.original_url,
            related=related,
        )


def content_digest(**fields) -> str:
    """SHA-256 of what a capture says, leaving out when and by whom it was taken: two captures of a
    key with the same digest are the same version (see SnapshotCapture)."""
    return capture_digest(**(fields | {"captured_at": None, "collected_by": ""}))


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(SHANGHAI).isoformat() if moment else None


def capture_digest(
    *,
    title: str,
    category: str,
    source: str,
    reprinted_from: str,
    byline: str,
    body: str,
    published_at: datetime,
    captured_at: datetime | None,
    collected_by: str,
    original_url: str,
    related: list[dict],
) -> str:
    """SHA-256 of a capture as the crawler delivered it (the body already sanitized): its fields
    and its related links in page order. Re-importing an unchanged capture gives the same digest; editors' later changes do not
    touch it, so they are never mistaken for a new capture."""
    captured = {
        "title": title,
        "category": category,
        "source": source,
        "reprinted_from": reprinted_from,
        "byline": byline,
        "body": body,
        "published_at": _iso(published_at),
        "captured_at": _iso(captured_at),
        "collected_by": collected_by,
        "original_url": original_url,
        "related": [
            [link["title"] or "", link["excerpt"] or "", _iso(link["date"]), link["url"] or ""] for link in related
        ],
    }
    return hashlib.sha256(json.dumps(captured, ensure_ascii=False, sort_keys=True).encode()).hexdigest()


class SnapshotCapture(models.Model):
    """One version of a snapshot: a capture of its key whose content differs from every other one.

    Rows exist for a key once it has been captured more than once, and for every capture that
    came with its raw HTTP response (a URL capture or a WARC record), which is kept in a WARC file
    under CAPTURE_WARC_ROOT at `warc_file`/`warc_offset`/`warc_length` (see articles.warc). The
    snapshot row shows one of them: the pinned one, else the newest. The snapshot's status governs
    every capture of it: withholding a key withholds them all."""

    snapshot = models.ForeignKey(Snapshot, models.CASCADE, related_name="captures", verbose_name=_("snapshot"))
    captured_at = models.DateTimeField(_("captured at"))
    collected_by = models.CharField(_("collected by"), max_length=200)
    content_hash = models.CharField(
        _("content hash"), max_length=64, help_text=_("SHA-256 of the content, without the capture time.")
    )
    title = models.CharField(_("title"), max_length=500)
    category = models.CharField(_("category"), max_length=100)
    source = models.CharField(_("source"), max_length=200)
    reprinted_from = models.CharField(_("reprinted from"), max_length=200, blank=True)
    byline = models.CharField(_("byline"), max_length=300, blank=True)
    body = SanitizedHTMLField(_("body"), blank=True)
    published_at = models.DateTimeField(_("published at"))
    original_url = models.URLField(_("original URL"), max_length=2000, blank=True)
    related = models.JSONField(_("related links"), default=list, blank=True)
    final_url = models.URLField(_("fetched from"), max_length=2000, blank=True)
    warc_file = models.CharField(_("WARC file"), max_length=200, blank=True)
    warc_offset = models.BigIntegerField(_("WARC offset"), null=True, blank=True)
    warc_length = models.BigIntegerField(_("WARC length"), null=True, blank=True)
    created_at = models.DateTimeField(_("added"), auto_now_add=True)

    class Meta:
        ordering = ["-captured_at", "-id"]
        verbose_name = _("capture")
        verbose_name_plural = _("captures")
        indexes = [models.Index(fields=["snapshot", "-captured_at", "-id"], name="snapshotcapture_by_time")]
        constraints = [
            models.UniqueConstraint(fields=["snapshot", "content_hash"], name="snapshotcapture_one_per_content"),
        ]

    def __str__(self):
        return f"{self.title} ({self.captured_at:%Y-%m-%d %H:%M})"

    @property
    def has_raw_record(self) -> bool:
        return bool(self.warc_file)


class RelatedLinkQuerySet(models.QuerySet):
    def visible(self):
        """Links a reader may see: external ones, and internal ones whose target is published.
        A link to a hidden or withheld snapshot disappears with it."""
        # A correlated EXISTS, looked up per link: `target__in=<published ids>` let PostgreSQL build
        # the list of every published snapshot for each page (2.5 s at a million).
        target_published = Snapshot.objects.published().filter(pk=models.OuterRef("target_id"))
        return self.filter(models.Q(target__isnull=True) | models.Exists(target_published))

    def get_by_natural_key(self, snapshot_key, position):
        return self.get(snapshot__key=snapshot_key, position=position)


class RelatedLink(models.Model):
    snapshot = models.ForeignKey(Snapshot, models.CASCADE, related_name="related_links", verbose_name=_("snapshot"))
    position = models.PositiveIntegerField(_("position"), default=0)
    title = models.CharField(_("title"), max_length=500, blank=True)
    excerpt = models.TextField(_("excerpt"), blank=True)
    date = models.DateTimeField(_("date"), null=True, blank=True)
    target = models.ForeignKey(
        Snapshot,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="linked_from",
        verbose_name=_("archived snapshot"),
        help_text=_("The snapshot here that the link points to, when we hold it."),
    )
    url = models.URLField(_("URL"), max_length=2000, blank=True, help_text=_("The link's original address."))
    # The key of the snapshot the URL names, kept so a link finds its target when that snapshot
    # is imported later, and indexed so that lookup stays cheap.
    target_key = models.CharField(_("target key"), max_length=40, blank=True, db_index=True, editable=False)

    history = HistoricalRecords()

    objects = RelatedLinkQuerySet.as_manager()

    class Meta:
        ordering = ["snapshot", "position", "id"]
        verbose_name = _("related link")
        verbose_name_plural = _("related links")

    def __str__(self):
        return self.title or self.excerpt[:40]

    def save(self, *args, **kwargs):
        if self.url:
            self.target_key = key_for_url(self.url)
        elif self.target_id is not None:
            self.target_key = Snapshot.objects.filter(pk=self.target_id).values_list("key", flat=True).first() or ""
        else:
            self.target_key = ""
        super().save(*args, **kwargs)

    def natural_key(self):
        return (*self.snapshot.natural_key(), self.position)

    natural_key.dependencies = ["articles.snapshot"]


class SearchEntry(models.Model):
    """A published snapshot in the search index: its document (see `articles.search_text`).

    Written only by database triggers on the snapshot table (migration 0004), never from Python:
    a row exists exactly while its snapshot is published. SQLite: an FTS5 trigram table, which
    stores no text, so `document` reads back as None; PostgreSQL: a table with the text."""

    snapshot = models.OneToOneField(
        Snapshot, models.DO_NOTHING, primary_key=True, db_column="rowid", db_constraint=False, related_name="+"
    )
    document = models.TextField()

    class Meta:
        managed = False
        db_table = "articles_search"

    def __str__(self):
        return f"search entry of snapshot {self.snapshot_id}"


class SearchBigramEntry(models.Model):
    """The two-character side of the index. SQLite: an FTS5 table of each document's character
    pairs; PostgreSQL: a view of `articles_search` with the pairs stored beside each document."""

    snapshot = models.OneToOneField(
        Snapshot, models.DO_NOTHING, primary_key=True, db_column="rowid", db_constraint=False, related_name="+"
    )
    document = models.TextField()

    class Meta:
        managed = False
        db_table = "articles_search_bigram"

    def __str__(self):
        return f"bigram entry of snapshot {self.snapshot_id}"


class ArchiveVersion(models.Model):
    """One row whose `version` changes in the same transaction as any change to what readers see:
    snapshots, related links, categories and sources. Database triggers move it (migration 0005), so
    every way of writing counts (services, the admin, imports, moderation, loaddata, a shell) and
    none can be forgotten. Cached reader pages are keyed by it (`articles.caching`)."""

    version = models.BigIntegerField(_("version"), default=0)

    class Meta:
        verbose_name = _("archive version")
        verbose_name_plural = _("archive versions")

    def __str__(self):
        return str(self.version)


# --- stories and computed related news (articles.stories, articles.keyphrases) ----------------


class Story(models.Model):
    """One article and its reprints: snapshots whose bodies are near-duplicates (articles.stories).
    Made when a second snapshot is found to copy a first; a snapshot with no copy here has none."""

    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("story")
        verbose_name_plural = _("stories")

    def __str__(self):
        return f"story {self.pk}"


class StoryBand(models.Model):
    """The locality-sensitive hashing index of stories: one row per band of each compared
    snapshot's MinHash signature, the band's number and values hashed into `bucket`. Snapshots that
    share a bucket are candidate reprints of each other. A table rather than memory, so any worker
    process, on either database, finds what the others stored."""

    pk = models.CompositePrimaryKey("bucket", "snapshot")
    bucket = models.BigIntegerField(_("bucket"))
    snapshot = models.ForeignKey(Snapshot, models.CASCADE, related_name="+", verbose_name=_("snapshot"))

    class Meta:
        verbose_name = _("story band")
        verbose_name_plural = _("story bands")

    def __str__(self):
        return f"{self.bucket} of snapshot {self.snapshot_id}"


class SnapshotAnalysis(models.Model):
    """What the background tasks worked out about one snapshot's text, so that they redo only what
    changed: the text compared for stories, whether its words are counted in the document
    frequencies, and how large the archive was when its related list was computed."""

    snapshot = models.OneToOneField(
        Snapshot, models.CASCADE, primary_key=True, related_name="analysis", verbose_name=_("snapshot")
    )
    # SHA-1 of the body's normalized text (articles.stories.story_text); the same digest is the
    # same text, a reprint whatever its punctuation. Empty when the text is too short to compare.
    text_digest = models.CharField(_("text digest"), max_length=40, db_index=True)
    terms_counted = models.BooleanField(_("terms counted"), default=False)
    # TermFrequency's document count when the related list was computed; None: not computed yet.
    related_documents = models.BigIntegerField(_("related computed at"), null=True, db_index=True)
    # The text's best key phrase candidates, [phrase, occurrences, word, (word)], so that a refresh
    # weighs them again under the archive's new frequencies without segmenting the text again.
    terms = models.JSONField(_("phrase candidates"), default=list, blank=True)

    class Meta:
        verbose_name = _("snapshot analysis")
        verbose_name_plural = _("snapshot analyses")

    def __str__(self):
        return f"analysis of snapshot {self.snapshot_id}"


class TermFrequency(models.Model):
    """The archive's own document frequencies: in how many snapshots each word occurs. The row of
    the empty term counts the snapshots counted (articles.keyphrases)."""

    term = models.CharField(_("term"), max_length=50, primary_key=True)
    documents = models.BigIntegerField(_("documents"), default=0)

    class Meta:
        verbose_name = _("term frequency")
        verbose_name_plural = _("term frequencies")

    def __str__(self):
        return f"{self.term}: {self.documents}"


class KeyPhrase(models.Model):
    """One of a snapshot's key phrases, with its TF-IDF weight. Indexed by phrase and date: the
    newest snapshots sharing a phrase are one index range."""

    snapshot = models.ForeignKey(Snapshot, models.CASCADE, related_name="key_phrases", verbose_name=_("snapshot"))
    phrase = models.CharField(_("phrase"), max_length=50)
    weight = models.FloatField(_("weight"))
    published_at = models.DateTimeField(_("published at"))  # the snapshot's, for the index

    class Meta:
        verbose_name = _("key phrase")
        verbose_name_plural = _("key phrases")
        indexes = [models.Index(fields=["phrase", "-published_at"], name="keyphrase_newest")]

    def __str__(self):
        return self.phrase


class ComputedRelatedLinkQuerySet(models.QuerySet):
    def visible(self):
        """Links a reader may see: those whose target is published (see RelatedLinkQuerySet.visible)."""
        return self.filter(models.Exists(Snapshot.objects.published().filter(pk=models.OuterRef("target_id"))))


class ComputedRelatedLink(models.Model):
    """A related snapshot the archive found (articles.keyphrases), shown after the crawled related
    links: a recent snapshot of another story sharing a key phrase, with an excerpt around it."""

    snapshot = models.ForeignKey(Snapshot, models.CASCADE, related_name="computed_links", verbose_name=_("snapshot"))
    position = models.PositiveIntegerField(_("position"))
    target = models.ForeignKey(Snapshot, models.CASCADE, related_name="+", verbose_name=_("related snapshot"))
    phrase = models.CharField(_("phrase"), max_length=50)
    excerpt = models.TextField(_("excerpt"))

    objects = ComputedRelatedLinkQuerySet.as_manager()

    class Meta:
        ordering = ["snapshot", "position"]
        verbose_name = _("computed related link")
        verbose_name_plural = _("computed related links")
        constraints = [
            models.UniqueConstraint(fields=["snapshot", "position"], name="computed_link_position_unique"),
        ]

    def __str__(self):
        return self.excerpt[:40]

"""Plain helpers that build test data. Each returns saved rows with sensible defaults."""

import itertools
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management import call_command

from articles.models import SHANGHAI, Category, RelatedLink, Snapshot, Source

_counter = itertools.count(1)

SEED_KEY = "f865b6c86dae4b28b16c6845307068a66aad47e2"


def make_category(name: str = "财经", slug: str | None = None) -> Category:
    category, _ = Category.objects.get_or_create(name=name, defaults={"slug": slug or ""})
    return category


def make_source(name: str = "人民资讯") -> Source:
    source, _ = Source.objects.get_or_create(name=name)
    return source


def make_snapshot(**fields) -> Snapshot:
    n = next(_counter)
    fields.setdefault("title", f"测试快照 {n}")
    if "category" not in fields:
        fields["category"] = make_category()
    if "source" not in fields:
        fields["source"] = make_source()
    fields.setdefault("published_at", datetime(2024, 1, 1, 8, 0, tzinfo=SHANGHAI) + timedelta(minutes=n))
    fields.setdefault("captured_at", fields["published_at"] + timedelta(hours=3))
    fields.setdefault("collected_by", "test.crawler")
    fields.setdefault("body", f"<p>第 {n} 篇测试正文。</p>")
    # `status` is derived (Snapshot.save): a test that wants a hidden or withheld snapshot gets it
    # through the fields it derives from. A withheld one made here has no claim behind it: for
    # tests of the reader side only (the moderation tests withhold through the workflow).
    status = fields.pop("status", None)
    if status == Snapshot.Status.HIDDEN:
        fields.setdefault("editor_status", Snapshot.EditorStatus.HIDDEN)
    elif status == Snapshot.Status.WITHHELD:
        fields.setdefault("withheld", True)
    return Snapshot.objects.create(**fields)


def status_fields(status: str) -> dict:
    """The fields to write for a snapshot to end up in public state `status`, for a bulk update()
    that bypasses save() (the database checks that `status` follows from the other two)."""
    return {
        "status": status,
        "editor_status": Snapshot.EditorStatus.HIDDEN
        if status == Snapshot.Status.HIDDEN
        else Snapshot.EditorStatus.PUBLISHED,
        "withheld": status == Snapshot.Status.WITHHELD,
    }


def make_related_link(snapshot: Snapshot, **fields) -> RelatedLink:
    fields.setdefault("position", snapshot.related_links.count() + 1)
    fields.setdefault("excerpt", "相关摘要")
    fields.setdefault("date", datetime(2024, 2, 1, 9, 30, tzinfo=SHANGHAI))
    return RelatedLink.objects.create(snapshot=snapshot, **fields)


def make_superuser(username: str = "admin") -> User:
    return User.objects.create_superuser(username, f"{username}@example.org", password=None)


def make_editor(username: str = "editor") -> User:
    """A staff user whose only permissions come from the Editors group the migrations create."""
    user = User.objects.create_user(username, f"{username}@example.org", password=None, is_staff=True)
    user.groups.add(Group.objects.get(name="Editors"))
    return user


# The demo data `make setup` loads, and the page it reproduces as a reader saw it on the source site
# (a copy of DESIGN.md's seed page, kept here so the tests run from a checkout alone).
SEED_FIXTURE = Path(settings.BASE_DIR) / "fixtures" / "seed.json"
SEED_PAGE = Path(__file__).parent / "data" / "seed_page.txt"


def load_seed() -> Snapshot:
    call_command("loaddata", str(SEED_FIXTURE), verbosity=0)
    return Snapshot.objects.get(key=SEED_KEY)

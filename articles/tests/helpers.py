"""Plain helpers that build test data. Each returns saved rows with sensible defaults."""

import itertools
from datetime import datetime, timedelta

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
    return Snapshot.objects.create(**fields)


def make_related_link(snapshot: Snapshot, **fields) -> RelatedLink:
    fields.setdefault("position", snapshot.related_links.count() + 1)
    fields.setdefault("excerpt", "相关摘要")
    fields.setdefault("date", datetime(2024, 2, 1, 9, 30, tzinfo=SHANGHAI))
    return RelatedLink.objects.create(snapshot=snapshot, **fields)

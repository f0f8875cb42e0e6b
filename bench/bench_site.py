"""The Django side of bench/http_bench.py, run in the benchmark's environment (DATABASE_URL and
production settings): `python bench/bench_site.py count | prepare`.

- `count` prints the number of snapshots stored.
- `prepare` makes sure the admin account and a queue of removal requests exist, logs the account
  in, picks the pages to load (the largest category, a page deep in it, a snapshot with related
  links), counts each page's queries with Django's test client, and prints it all as JSON.
- `walk SNAPSHOTS CATEGORY_PAGES DIR` writes the paths of a crawler's walk: SNAPSHOTS distinct
  snapshot pages picked at random (walk-snapshots.txt) and CATEGORY_PAGES distinct category pages
  (walk-categories.txt): each starts at a random snapshot of a random category (`before=` its
  cursor), one in three also filtered by source or by a publication date range.
"""

import json
import os
import random
import sys
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote, urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "newsarchive.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.contrib.staticfiles.storage import staticfiles_storage  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.db.models import Count, Max, Min  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import Resolver404, resolve  # noqa: E402
from django.utils import timezone  # noqa: E402

from articles.models import Category, RelatedLink, Snapshot  # noqa: E402
from articles.pagination import Cursor  # noqa: E402
from moderation.models import Requester, TakedownItem, TakedownRequest, Work  # noqa: E402

ADMIN_USERNAME = "bench-admin"
# About one snapshot in fifty named in a request (20,000 at a million): a busy archive's history.
SNAPSHOTS_PER_TAKEDOWN_REQUEST = 50
OPEN_SHARE = 0.1
DEEP_SHARE = 0.9  # the deep page starts 90% of the way down the largest category
SEARCH_QUERY = "营商环境"
HEADERS = {"HTTP_HOST": "127.0.0.1", "HTTP_X_FORWARDED_PROTO": "https", "HTTP_ACCEPT_LANGUAGE": "zh-CN,zh;q=0.9"}


def count() -> None:
    print(Snapshot.objects.count())


def ensure_admin() -> User:
    user = User.objects.filter(username=ADMIN_USERNAME).first()
    if user is None:
        user = User.objects.create_superuser(ADMIN_USERNAME, "bench@example.invalid", password=None)
    return user


@transaction.atomic
def ensure_takedown_requests(admin: User) -> None:
    """A history of removal requests for the moderation queue: most decided, some open, each
    naming one to three snapshots; approved ones withhold theirs, as the workflow would."""
    have = TakedownRequest.objects.count()
    wanted = Snapshot.objects.count() // SNAPSHOTS_PER_TAKEDOWN_REQUEST
    if have >= wanted:
        return
    rng = random.Random(6)
    highest = Snapshot.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    requesters = [Requester(email=f"rights{n}@example.invalid") for n in range(2000)]
    Requester.objects.bulk_create(requesters, ignore_conflicts=True)
    requester_ids = list(Requester.objects.filter(email__endswith="@example.invalid").values_list("pk", flat=True))
    now = timezone.now()
    Status = TakedownRequest.Status
    decided = [Status.APPROVED, Status.REJECTED, Status.APPROVED, Status.RESTORED]
    open_ = [Status.SUBMITTED, Status.IN_REVIEW, Status.INFO_REQUESTED]
    requests, planned = [], []
    for n in range(have, wanted):
        received = now - timedelta(minutes=rng.randint(0, 3 * 365 * 24 * 60))
        status = rng.choice(open_) if rng.random() < OPEN_SHARE else rng.choice(decided)
        requests.append(
            TakedownRequest(
                reference=f"TD-BENCH-{n:06d}",
                token_hash=f"{n:064x}",
                status=status,
                requester_id=rng.choice(requester_ids),
                name="演示权利人",
                organisation=f"演示版权代理{n % 50}",
                role=TakedownRequest.Role.AGENT,
                email=f"rights{n % 2000}@example.invalid",
                phone="+86 10 0000 0000",
                address="演示地址",
                explanation="演示说明",
                evidence="演示证据",
                good_faith=True,
                accurate_and_authorised=True,
                signature="演示",
                received_at=received,
                due_at=received + timedelta(hours=24),
                decided_at=None if status in open_ else received + timedelta(hours=rng.randint(1, 48)),
                assignee=admin if status == Status.IN_REVIEW else None,
                ground=TakedownRequest.Ground.COPYRIGHT if status not in open_ else "",
            )
        )
        planned.append([rng.randint(1, highest) for _ in range(rng.randint(1, 3))] if highest else [])
    TakedownRequest.objects.bulk_create(requests, batch_size=2000)
    by_reference = dict(
        TakedownRequest.objects.filter(reference__startswith="TD-BENCH-").values_list("reference", "pk")
    )
    # One claimed work per request, as most notices name.
    Work.objects.bulk_create(
        [Work(request_id=pk, position=1, description="演示作品") for pk in by_reference.values()], batch_size=5000
    )
    work_of = dict(Work.objects.filter(request_id__in=by_reference.values()).values_list("request_id", "pk"))
    keys = dict(Snapshot.objects.filter(pk__in={i for p in planned for i in p}).values_list("pk", "key"))
    items, withhold = [], set()
    for req, snapshot_ids in zip(requests, planned, strict=True):
        for position, snapshot_id in enumerate(dict.fromkeys(snapshot_ids), start=1):
            if snapshot_id not in keys:
                continue
            claim = TakedownItem.Claim.NONE
            if req.status == Status.APPROVED:
                outcome, claim = TakedownItem.Outcome.ACTIONED, TakedownItem.Claim.STANDING
                withhold.add(snapshot_id)
            elif req.status in open_:
                outcome = TakedownItem.Outcome.PENDING
            elif req.status == Status.RESTORED:
                outcome, claim = TakedownItem.Outcome.ACTIONED, TakedownItem.Claim.RESTORED
            else:
                outcome = TakedownItem.Outcome.REFUSED
            items.append(
                TakedownItem(
                    request_id=by_reference[req.reference],
                    work_id=work_of[by_reference[req.reference]],
                    position=position,
                    url=f"{settings.SITE_URL}/detail/{keys[snapshot_id]}.html",
                    snapshot_id=snapshot_id,
                    outcome=outcome,
                    claim=claim,
                    effective_at=req.decided_at if claim != TakedownItem.Claim.NONE else None,
                )
            )
    TakedownItem.objects.bulk_create(items, batch_size=5000)
    withhold = sorted(withhold)
    # As the withholding ledger would: withheld while a claim stands; a hidden snapshot stays hidden.
    for start in range(0, len(withhold), 5000):
        chunk = Snapshot.objects.filter(pk__in=withhold[start : start + 5000])
        chunk.filter(editor_status=Snapshot.EditorStatus.PUBLISHED).update(
            withheld=True, status=Snapshot.Status.WITHHELD
        )
        chunk.filter(editor_status=Snapshot.EditorStatus.HIDDEN).update(withheld=True)


def analyze() -> None:
    """Planner statistics and, on PostgreSQL, the visibility map, as a production database has them
    (autovacuum, `PRAGMA optimize`) but a freshly loaded one may not yet: without the map an
    index-only scan still visits every row (an admin page 3,000: 4 s instead of 0.1 s)."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA analysis_limit=1000")  # sampled: seconds, not minutes, at a million rows
            cursor.execute("ANALYZE")
        else:
            cursor.execute("VACUUM (ANALYZE)")


def pick_pages() -> tuple[dict, dict]:
    largest = (
        Snapshot.objects.published()
        .values("category")
        .annotate(n=Count("pk"))
        .order_by("-n")
        .values_list("category", "n")
        .first()
    )
    category = Category.objects.get(pk=largest[0])
    in_category = Snapshot.objects.published().filter(category=category).newest_first()
    deep_at = int(largest[1] * DEEP_SHARE)
    deep_row = in_category.values_list("published_at", "pk")[deep_at]
    first_page = list(in_category.values_list("pk", flat=True)[:20])
    link_counts = dict(
        RelatedLink.objects.visible()
        .filter(snapshot__in=first_page)
        .values("snapshot")
        .annotate(n=Count("pk"))
        .values_list("snapshot", "n")
    )
    subject = Snapshot.objects.get(pk=max(first_page, key=lambda pk: link_counts.get(pk, 0)))
    pages = {
        "healthz": "/healthz",
        "static": staticfiles_storage.url("css/site.css"),
        "home": "/",
        "category": category.get_absolute_url(),
        "category_deep": f"{category.get_absolute_url()}?before={Cursor(*deep_row)}",
        "detail": subject.get_absolute_url(),
    }
    try:
        resolve("/search/")
    except Resolver404:
        pass
    else:
        pages["search"] = f"/search/?{urlencode({'q': SEARCH_QUERY})}"
    pages["admin_snapshots"] = "/admin/articles/snapshot/"
    pages["admin_queue"] = "/admin/moderation/takedownrequest/"
    dataset = {
        "snapshots": Snapshot.objects.count(),
        "published": Snapshot.objects.published().count(),
        "related_links": RelatedLink.objects.count(),
        "categories": Category.objects.count(),
        "largest_category": {"name": category.name, "published": largest[1], "deep_page_position": deep_at},
        "detail_visible_related_links": link_counts.get(subject.pk, 0),
        "takedown_requests": TakedownRequest.objects.count(),
        "open_takedown_requests": TakedownRequest.objects.filter(status__in=TakedownRequest.OPEN_STATUSES).count(),
    }
    return pages, dataset


def count_queries(client: Client, url: str) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, **HEADERS)
    if response.status_code != 200:
        raise SystemExit(f"{url} answered {response.status_code}")
    return len(queries), response.status_code


def prepare() -> None:
    admin = ensure_admin()
    ensure_takedown_requests(admin)
    analyze()
    pages, dataset = pick_pages()
    staff = Client()
    staff.force_login(admin)
    queries = {}
    for name, url in pages.items():
        if name == "static":
            queries[name] = {"measured": 0}
            continue
        client = staff if name.startswith("admin") else Client()
        first, _ = count_queries(client, url)
        again, _ = count_queries(client, url)
        queries[name] = {"measured": first, "measured_again": again}
    print(
        json.dumps(
            {
                "pages": pages,
                "dataset": dataset,
                "queries": queries,
                "session_cookie": f"{settings.SESSION_COOKIE_NAME}={staff.cookies[settings.SESSION_COOKIE_NAME].value}",
                "database": {"vendor": connection.vendor, "version": database_version()},
            },
            ensure_ascii=False,
        )
    )


def database_version() -> str:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT sqlite_version()")
            return f"SQLite {cursor.fetchone()[0]}"
        cursor.execute("SHOW server_version")
        return f"PostgreSQL {cursor.fetchone()[0]}"


def random_published(rng: random.Random, wanted: int) -> list[tuple]:
    """`wanted` distinct published snapshots picked at random: (key, category slug, published_at,
    id, source id), found by random ids (no ORDER BY random() over a million rows)."""
    bounds = Snapshot.objects.aggregate(low=Min("pk"), high=Max("pk"))
    wanted = min(wanted, Snapshot.objects.published().count())
    found: dict[int, tuple] = {}
    while len(found) < wanted:
        ids = {rng.randint(bounds["low"], bounds["high"]) for _ in range(min(5000, 2 * (wanted - len(found))))}
        rows = (
            Snapshot.objects.published()
            .filter(pk__in=ids - found.keys())
            .values_list("pk", "key", "category__slug", "published_at", "source_id")
        )
        for pk, key, slug, published_at, source_id in rows:
            found[pk] = (key, slug, published_at, pk, source_id)
    return list(found.values())[:wanted]


def walk(snapshots: str, category_pages: str, directory: str) -> None:
    rng = random.Random(2026)
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    wanted = int(snapshots) + int(category_pages)
    picked = random_published(rng, wanted)
    # Fewer published snapshots than asked for: both walks get their share of them.
    split = int(snapshots) if len(picked) >= wanted else len(picked) * int(snapshots) // max(wanted, 1)
    detail, starts = picked[:split], picked[split:]
    (out / "walk-snapshots.txt").write_text("".join(f"/detail/{key}.html\n" for key, *_ in detail))
    lines = []
    for n, (_key, slug, published_at, pk, source_id) in enumerate(starts):
        query = {"before": str(Cursor(published_at, pk))}
        if n % 3 == 1:
            query["source"] = source_id
        elif n % 3 == 2:
            day = timezone.localtime(published_at).date()
            query |= {"published_after": (day - timedelta(days=365)).isoformat(), "published_before": day.isoformat()}
        lines.append(f"/category/{quote(slug)}/?{urlencode(query)}\n")
    (out / "walk-categories.txt").write_text("".join(lines))
    print(json.dumps({"snapshots": len(detail), "category_pages": len(lines)}))


if __name__ == "__main__":
    {"count": count, "prepare": prepare, "walk": walk}[sys.argv[1]](*sys.argv[2:])

"""Time to build 我的订阅 (/me/subscriptions/) for a reader with 20 subscriptions.

    DATABASE_URL=sqlite:////tmp/million.sqlite3 python bench/subscriptions_bench.py [--runs 100]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/newsarchive_million python bench/subscriptions_bench.py

Against an archive filled by `manage.py demo_data` (a million snapshots for the figures in the
README) and migrated to the current schema. The script adds (once; later runs reuse them) a
confirmed reader `bench-subscriptions@example.invalid` following 5 categories and 15 keywords:
two-, three-, four- and five-character Chinese words, place names, Latin words, and words no
snapshot contains, so that common, rare and empty matches are all in the mix.

Each run is one whole request through Django's test client (middleware, session, the page's
queries, template), with DEBUG off as in production; the reader's page-1 view (its keywords' search
plans cached, as for every view until the archive next changes), the same with the cache emptied
first (the first view after a change: each plan chosen again), page 2, the private feed, and
with --digest one digest collection (rolled back). Reports median and 95th percentile in
milliseconds, the query counts of the page, and writes
bench/results/subscriptions-<sqlite|postgresql>.json.
"""

import argparse
import json
import os
import platform
import secrets
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
sys.path.insert(0, str(ROOT))

# Production settings (no DEBUG query log, cached templates), without the HTTPS redirect a test
# client would trip over; the secret only signs this process's own session.
os.environ.setdefault("DJANGO_DEBUG", "0")
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-" + "x" * 50)
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "localhost")
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("DJANGO_EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "newsarchive.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, override_settings  # noqa: E402
from django.urls import reverse  # noqa: E402

from accounts import services as account_services  # noqa: E402
from articles.models import Category, Snapshot  # noqa: E402
from subscriptions import services  # noqa: E402
from subscriptions.models import Subscriber, Subscription  # noqa: E402

EMAIL = "bench-subscriptions@example.invalid"
CATEGORIES = 5
# From demo_data's vocabulary (topics, places, English words) and outside it.
KEYWORDS = [
    "车展",  # 2 characters, a topic
    "博物馆",  # 3
    "充电桩",  # 3
    "营商环境",  # 4, a topic
    "垃圾分类",  # 4
    "新能源汽车",  # 5
    "江北新城",  # a place, in many bodies
    "望江区",  # a place
    "第7号演示段落",  # a phrase
    "Riverside",  # Latin word
    "library",  # Latin word
    "秒批",  # 2 characters, in no snapshot
    "鲁西新区",  # in no snapshot
    "quantum",  # in no snapshot
    "营商",  # 2 characters, common
]


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def timed(label: str, runs: int, warmup: int, action) -> dict:
    for _ in range(warmup):
        action()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    result = {
        "runs": runs,
        "median_ms": round(statistics.median(samples), 2),
        "p95_ms": round(percentile(samples, 0.95), 2),
        "min_ms": round(min(samples), 2),
        "max_ms": round(max(samples), 2),
    }
    print(f"{label:<28} median {result['median_ms']:8.2f} ms   p95 {result['p95_ms']:8.2f} ms")
    return result


def bench_reader():
    """The bench reader and their 20 subscriptions, made once."""
    from articles.search import QueryError, clean_query

    User = get_user_model()
    user = User.objects.filter(username=EMAIL).first()
    if user is None:
        user = account_services.reader_sign_up(email=EMAIL, password=secrets.token_urlsafe(24))
        user = account_services.reader_confirm(user_id=user.pk)
    if Subscription.objects.filter(reader=user).count() != 20:
        Subscription.objects.filter(reader=user).delete()
        # Common and less common categories alike (demo_data weighs them by rank): every other one.
        for category in list(Category.objects.order_by("pk"))[::2][:CATEGORIES]:
            services.subscription_add(reader=user, category=category)
        for keyword in KEYWORDS:
            try:
                services.subscription_add(reader=user, keyword=clean_query(keyword))
            except QueryError:
                continue
        filler = iter(["文旅融合", "智慧农业", "数字金融", "health"])
        while Subscription.objects.filter(reader=user).count() < 20:
            services.subscription_add(reader=user, keyword=clean_query(next(filler)))
    return user


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--no-migrate", action="store_true", help="The database is migrated already.")
    parser.add_argument(
        "--digest",
        action="store_true",
        help="Also time one digest collection. It covers what was added since the reader's last digest, less an "
        "hour's look-back: on an archive just filled by demo_data, that is every snapshot of the last hour.",
    )
    args = parser.parse_args()

    if not args.no_migrate:
        call_command("migrate", "--no-input", verbosity=0)
    vendor = connection.vendor
    snapshots = Snapshot.objects.count()
    published = Snapshot.objects.published().count()
    user = bench_reader()
    subscriptions = list(Subscription.objects.filter(reader=user).select_related("category"))
    print(f"{vendor}: {snapshots:,} snapshots ({published:,} published); reader follows {len(subscriptions)}:")
    print("  " + ", ".join(f"{s.get_kind_display()} {s}" for s in subscriptions))

    static = {"staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
    with override_settings(STORAGES={**settings.STORAGES, **static}):
        client = Client(HTTP_HOST="localhost")
        client.force_login(user)
        index = reverse("subscriptions:index")
        feed = reverse("subscriptions:feed", kwargs={"token": Subscriber.objects.get(reader=user).feed_token})

        def page(number: int):
            def get():
                response = client.get(index, {"page": number} if number > 1 else {}, secure=True)
                assert response.status_code == 200, response.status_code

            return get

        def get_feed():
            response = client.get(feed, secure=True)
            assert response.status_code == 200, response.status_code

        def digest():
            with transaction.atomic():
                Subscriber.objects.filter(reader=user).update(digest_enabled=True)
                run = services.digest_run_start()
                services.digest_collect(reader_id=user.pk, run=run)
                transaction.set_rollback(True)

        def page_after_a_change():
            cache.clear()  # as after any change to the archive: every keyword's plan chosen again
            page(1)()

        cache.clear()
        with CaptureQueriesContext(connection) as queries:
            client.get(index, secure=True)
        cold_queries = len(queries)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(index, secure=True)
        page_queries = len(queries)
        stream = response.content.decode().split('<section class="stream"')[1].split("</section>")[0]
        listed = stream.count('<a href="/detail/')
        results = {
            "page_1": timed("/me/subscriptions/", args.runs, args.warmup, page(1)),
            "page_1_after_a_change": timed(
                "  the same, plans not cached", max(10, args.runs // 3), 1, page_after_a_change
            ),
            "page_2": timed("/me/subscriptions/?page=2", args.runs, args.warmup, page(2)),
            "feed": timed("private feed", max(10, args.runs // 5), 2, get_feed),
        }
        if args.digest:
            results["digest_collect"] = timed("digest collection", max(5, args.runs // 10), 1, digest)

    with connection.cursor() as cursor:
        cursor.execute("select sqlite_version()" if vendor == "sqlite" else "show server_version")
        version = cursor.fetchone()[0]
    report = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, CPython {platform.python_version()}",
        "database": f"{vendor} {version}",
        "snapshots": snapshots,
        "published": published,
        "subscriptions": [{"kind": s.kind, "value": str(s)} for s in subscriptions],
        "page_size": settings.ARTICLES_PAGE_SIZE,
        "page_queries": page_queries,
        "page_queries_after_a_change": cold_queries,
        "page_rows_listed": listed,
        **results,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"subscriptions-{vendor}.json"
    path.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(
        f"{page_queries} queries for the page ({cold_queries} when no plan is cached), {listed} snapshots listed; "
        f"written {path.relative_to(ROOT)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

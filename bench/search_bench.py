"""Search speed against an existing database, e.g. a million demo snapshots.

    DATABASE_URL=sqlite:////tmp/million.sqlite3 python bench/search_bench.py [--runs 20]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/million python bench/search_bench.py

The database must be migrated (the search index is built for existing rows by the migration).
Queries come from the vocabulary of `manage.py demo_data`, in classes: two-, three- and
five-character Chinese, a Latin word, a middling-frequency phrase and a text no snapshot holds.
Each query runs once to warm the caches, then `--runs` times; a class reports the median and the
95th percentile of all its timings, in milliseconds, for:

- search: `search_snapshots(q)` and reading the first page (21 rows with category and source),
  newest first: the two queries /search/ sends for its results;
- relevance: the same, most relevant first;
- page: a whole GET /search/?q=… through Django (form, filters, highlighting, template), rendered
  each time (the page cache, which would answer repeats, is off).

Reports which plan each query took (see articles/search.py) and how many snapshots the index
offers for it on SQLite (counted once, outside the timings; the matches themselves for two- and
three-character queries). PostgreSQL's count would re-check every candidate, so it is left out.
Writes bench/results/search-<vendor>.json and prints a table.
"""

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
sys.path.insert(0, str(ROOT))
# Production settings (no DEBUG query log, cached templates) with the page cache off, so that each
# whole-page run renders the page; no HTTPS redirect for the test client; the secret signs nothing kept.
os.environ.setdefault("DJANGO_DEBUG", "0")
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-" + "x" * 50)
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "localhost")
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "0")
os.environ["ARTICLES_PAGE_CACHE_SECONDS"] = "0"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "newsarchive.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import override_settings  # noqa: E402

from articles import search  # noqa: E402
from articles.models import Snapshot  # noqa: E402

QUERIES = {
    "2 characters": ["新区", "营商", "医保", "车展", "民宿", "非遗"],
    "3 characters": ["博物馆", "中医药", "短视频", "演唱会", "云岭县", "白鹭洲"],
    "5 characters": ["新能源汽车", "城市马拉松", "青少年足球", "公共图书馆", "卫星互联网", "乒乓球联赛"],
    "Latin word": ["Riverside", "library", "milestone", "economy", "Northbank", "synthetic"],
    "middling": ["第517号演示", "第28号演示", "第903号演示", "第64号演示", "第350号演示", "第771号演示"],
    "no match": ["量子纠缠", "秒批", "鲁西新区", "quantum", "区块链技术", "碳达峰"],
}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def timed(function, runs: int) -> list[float]:
    function()  # warm the caches
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def first_page(query: str, order: str):
    return lambda: list(search.search_snapshots(query, order=order).select_related("category", "source")[:21])


# As in subscriptions_bench: plain static storage, so that no collected manifest is needed.
PLAIN_STATIC = {"staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}


def page(client: Client, query: str):
    def get():
        response = client.get("/search/", {"q": query}, HTTP_HOST="localhost")
        assert response.status_code == 200, response.status_code

    return get


def summary(timings: list[float]) -> dict:
    return {"median_ms": round(statistics.median(timings), 2), "p95_ms": round(percentile(timings, 0.95), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="timed runs per query (default 20)")
    parser.add_argument("--no-page", action="store_true", help="skip the whole-page timings")
    args = parser.parse_args()

    vendor = connection.vendor
    client = Client()
    published = Snapshot.objects.published().count()
    result = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_implementation()} {platform.python_version()}",
        "database": vendor,
        "database_version": ".".join(map(str, connection.Database.sqlite_version_info))
        if vendor == "sqlite"
        else connection.cursor().connection.info.server_version,
        "published_snapshots": published,
        "runs_per_query": args.runs,
        "page_size": settings.ARTICLES_PAGE_SIZE,
        "plan_thresholds": {"few_below": search.FEW_MATCHES, "middling_below": search.MANY_MATCHES},
        "classes": {},
    }
    for name, queries in QUERIES.items():
        kinds = {"search": [], "relevance": [], "page": []}
        details = []
        for query in queries:
            text = search.clean_query(query)
            candidates, _ = search.index_candidates(text, vendor=vendor)
            plan, _ = search.choose_plan(text, candidates, vendor=vendor)
            # PostgreSQL re-checks every candidate while counting: seconds for a common word, so not there.
            matches = candidates.count() if vendor == "sqlite" else None
            search_timings = timed(first_page(query, search.NEWEST), args.runs)
            kinds["search"] += search_timings
            kinds["relevance"] += timed(first_page(query, search.RELEVANCE), args.runs)
            if not args.no_page:
                with override_settings(STORAGES={**settings.STORAGES, **PLAIN_STATIC}):
                    kinds["page"] += timed(page(client, query), args.runs)
            details.append({"query": query, "plan": plan, "matches": matches, **summary(search_timings)})
            in_index = f"{matches:>9,} in index" if matches is not None else " " * 18
            print(f"  {query:<12} {plan:<9} {in_index}  {summary(search_timings)}", flush=True)
        result["classes"][name] = {kind: summary(timings) for kind, timings in kinds.items() if timings}
        result["classes"][name]["queries"] = details

    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"search-{vendor}.json"
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(f"\n{vendor}, {published:,} published snapshots, {args.runs} runs per query; milliseconds")
    print(f"{'':28}{'search med':>11}{'p95':>8}{'relevance med':>15}{'p95':>8}{'page med':>10}{'p95':>8}")
    for name, figures in result["classes"].items():
        row = f"{name:28}{figures['search']['median_ms']:>11}{figures['search']['p95_ms']:>8}"
        row += f"{figures['relevance']['median_ms']:>15}{figures['relevance']['p95_ms']:>8}"
        if "page" in figures:
            row += f"{figures['page']['median_ms']:>10}{figures['page']['p95_ms']:>8}"
        print(row)
    print(f"written to {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

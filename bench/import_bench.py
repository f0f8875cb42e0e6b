"""Import speed against the floor of plain sqlite3, and the importer's peak memory.

    python bench/import_bench.py [--records 100000] [--memory-records 100000 1000000]
    python bench/import_bench.py --records 20000 --memory-records --stories-runs 3

For each run: a fresh SQLite database migrated to the current schema.
- import: `manage.py import_snapshots FILE` on N generated JSON Lines records (bench/generate_jsonl.py),
  timed as a whole process, peak RSS from the kernel's accounting of the child.
- floor: the least any importer must do to get those rows in: read the lines, json.loads them,
  then executemany the snapshot and related-link rows with plain sqlite3 in one transaction, into
  the same schema (same indexes, and the search index's triggers with their functions registered,
  as Django registers them). Also reported: executemany alone, rows built beforehand.
- stories (with --stories-runs N): the import N times as shipped and N times with the queueing of
  the stories task switched off, alternately, each into a fresh database: the slowdown stories
  cost an import (docs/stories.md), by the medians of the processes' CPU time.
Writes bench/results/import-sqlite.json and prints a table.
"""

import argparse
import hashlib
import json
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
DATA = ROOT / "bench" / "data"
RESULTS = ROOT / "bench" / "results"

sys.path.insert(0, str(ROOT))
from articles.search import install_sqlite_functions  # noqa: E402


def generate(count: int) -> Path:
    DATA.mkdir(parents=True, exist_ok=True)
    path = DATA / f"snapshots-{count}.jsonl"
    if not path.exists():
        with path.open("w", encoding="utf-8") as out:
            subprocess.run([PYTHON, str(ROOT / "bench" / "generate_jsonl.py"), str(count)], stdout=out, check=True)
    return path


def fresh_database() -> Path:
    path = Path(tempfile.mkdtemp(prefix="newsarchive-bench-")) / "db.sqlite3"
    env = os.environ | {"DATABASE_URL": f"sqlite:///{path}"}
    subprocess.run([PYTHON, "manage.py", "migrate", "--no-input", "-v0"], cwd=ROOT, env=env, check=True)
    return path


# manage.py import_snapshots with the stories task's queueing switched off (the baseline of its cost).
WITHOUT_STORIES = (
    "import os, sys, django; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'newsarchive.settings'); django.setup();"
    "import articles.services; articles.services.analysis_enqueue = lambda **kwargs: None;"
    "from django.core.management import execute_from_command_line; execute_from_command_line(['manage.py', *sys.argv[1:]])"
)


def run_import(db: Path, jsonl: Path, *, stories: bool = True, cpu: bool = False) -> tuple[float, int]:
    """Wall seconds (CPU seconds, user and system, with `cpu`) and peak RSS in KiB of one
    import_snapshots process."""
    env = os.environ | {"DATABASE_URL": f"sqlite:///{db}"}
    command = [PYTHON, "manage.py"] if stories else [PYTHON, "-c", WITHOUT_STORIES]
    started = time.perf_counter()
    process = subprocess.Popen(
        [*command, "import_snapshots", str(jsonl), "-v0"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL
    )
    peak = 0
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        peak = max(peak, high_water_mark(process.pid))
        time.sleep(0.2)
    elapsed = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"import_snapshots failed with status {status}")
    return (usage.ru_utime + usage.ru_stime if cpu else elapsed), peak or usage.ru_maxrss


def high_water_mark(pid: int) -> int:
    """The process's peak RSS so far in KiB (VmHWM), 0 when it cannot be read. Not ru_maxrss: a
    child started by fork or vfork and exec inherits its parent's peak there, and this script holds
    all of the floor's rows (800 MiB at 100,000), which every import after it then reported."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def utc(value: str) -> str:
    return datetime.fromisoformat(value).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def floor(db: Path, jsonl: Path) -> dict:
    """Read, decode and executemany the same rows; time with and without the reading and decoding."""
    connection = sqlite3.connect(db, isolation_level=None)
    install_sqlite_functions(connection)  # the triggers that keep the search index call them
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    started = time.perf_counter()
    snapshots, links = [], []
    categories, sources = {}, {}
    with jsonl.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            record = json.loads(line)
            category = categories.setdefault(record["category"], len(categories) + 1)
            source = sources.setdefault(record["source"], len(sources) + 1)
            key = hashlib.sha1(record["url"].encode(), usedforsecurity=False).hexdigest()
            snapshots.append(
                (number, key, record["title"], category, source, record["reprinted_from"] or "",
                 record["byline"] or "", record["body_html"], utc(record["published_at"]),
                 utc(record["captured_at"]), record["collected_by"], record["url"], key + key[:24],
                 "published", False, "2026-01-01 00:00:00", "2026-01-01 00:00:00")
            )  # fmt: skip
            for position, link in enumerate(record["related"], start=1):
                links.append(
                    (number, position, link["title"] or "", link["excerpt"], utc(link["date"]), link["url"] or "",
                     hashlib.sha1(link["url"].encode(), usedforsecurity=False).hexdigest() if link["url"] else "")
                )  # fmt: skip
    built = time.perf_counter()
    connection.execute("BEGIN")
    connection.executemany(
        "INSERT INTO articles_category (id, name, slug) VALUES (?, ?, ?)",
        [(i, name, f"c{i}") for name, i in categories.items()],
    )
    connection.executemany(
        "INSERT INTO articles_source (id, name) VALUES (?, ?)", [(i, name) for name, i in sources.items()]
    )
    connection.executemany(
        "INSERT INTO articles_snapshot (id, key, title, category_id, source_id, reprinted_from, byline, body, "
        "published_at, captured_at, collected_by, original_url, content_hash, status, is_featured, created_at, "
        "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        snapshots,
    )
    connection.executemany(
        "INSERT INTO articles_relatedlink (snapshot_id, position, title, excerpt, date, url, target_key) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        links,
    )
    connection.execute("COMMIT")
    done = time.perf_counter()
    connection.close()
    return {"seconds": done - started, "insert_only_seconds": done - built, "related_links": len(links)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--memory-records", type=int, nargs="*", default=[100_000, 1_000_000])
    parser.add_argument("--stories-runs", type=int, default=0, help="imports with and without stories, each")
    args = parser.parse_args()

    jsonl = generate(args.records)
    imported_seconds, imported_rss = run_import(fresh_database(), jsonl)
    floor_result = floor(fresh_database(), jsonl)
    result = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_implementation()} {platform.python_version()}",
        "sqlite": sqlite3.sqlite_version,
        "records": args.records,
        "related_links": floor_result["related_links"],
        "import_seconds": round(imported_seconds, 2),
        "import_rate": round(args.records / imported_seconds),
        "floor_seconds": round(floor_result["seconds"], 2),
        "floor_rate": round(args.records / floor_result["seconds"]),
        "floor_insert_only_rate": round(args.records / floor_result["insert_only_seconds"]),
        "ratio_to_floor": round(floor_result["seconds"] / imported_seconds, 3),
        "peak_memory_mib": {},
    }
    for count in args.memory_records:
        seconds, rss = run_import(fresh_database(), generate(count))
        result["peak_memory_mib"][str(count)] = round(rss / 1024, 1)
        result[f"import_rate_{count}"] = round(count / seconds)

    if args.stories_runs:
        with_stories, without = [], []
        for _ in range(args.stories_runs):
            # CPU time: on a shared machine the wall time of the same import varied by a factor of 2.5.
            without.append(run_import(fresh_database(), jsonl, stories=False, cpu=True)[0])
            with_stories.append(run_import(fresh_database(), jsonl, cpu=True)[0])
        result["stories"] = {
            "import_cpu_seconds": sorted(round(t, 2) for t in with_stories),
            "without_stories_cpu_seconds": sorted(round(t, 2) for t in without),
            "slowdown": round(statistics.median(with_stories) / statistics.median(without) - 1, 4),
        }

    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "import-sqlite.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"{'':28}{'seconds':>10}{'records/s':>12}")
    print(f"{'import_snapshots':28}{result['import_seconds']:>10}{result['import_rate']:>12,}")
    print(f"{'floor: sqlite3 executemany':28}{result['floor_seconds']:>10}{result['floor_rate']:>12,}")
    print(
        f"ratio import/floor: {result['ratio_to_floor']}  (insert-only floor: {result['floor_insert_only_rate']:,}/s)"
    )
    for count, mib in result["peak_memory_mib"].items():
        print(f"peak memory importing {int(count):,} records: {mib} MiB")
    if "stories" in result:
        stories = result["stories"]
        print(
            f"stories: import {stories['import_cpu_seconds']} CPU s, "
            f"without stories {stories['without_stories_cpu_seconds']} CPU s: "
            f"{stories['slowdown']:+.1%} (medians)"
        )


if __name__ == "__main__":
    main()

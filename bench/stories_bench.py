"""Stories and computed related news: clustering quality, import slowdown, worker speed.

    python bench/stories_bench.py [--size 100000] [--database-url URL] [--skip-baseline] [--workers N]
                                  [--corpus-dir DIR] [--import-only | --resume URL]

1. Generates a corpus of SIZE snapshots with known reprint groups (`corpus`): original articles
   on a thousand topics (same place, same topic words, shared stock sentences: same-topic
   articles that are *not* reprints), a quarter of them reprinted one to eight times, each reprint
   with one to three of the issue's variations (a new headline, a paragraph trimmed, one added,
   other punctuation, another byline line), a third of them made from an earlier reprint.
2. Imports it twice into fresh databases with `manage.py import_snapshots`: as shipped (each
   batch queues its stories task), and with the queueing switched off (the baseline), and reports
   the slowdown.
3. Runs the queued tasks through WORKERS worker processes at once (`manage.py db_worker --batch`,
   one by default), timing placing in stories and computing related lists from the tasks' own
   start and finish times, and the whole run by the clock.
4. Compares the stories with the known groups: pairwise precision (of the pairs put in one
   story, the share that are reprints of each other) and recall (of the pairs of reprints, the
   share put in one story).

Writes bench/results/stories-<vendor>-<size>.json and prints a summary. SQLite by default; a
PostgreSQL URL names a database this script may drop and create again.

A corpus kept in `--corpus-dir DIR` is used again (it is deterministic). A long run can be cut
in two: `--import-only --corpus-dir DIR` stops after step 2 and keeps the corpus, the known groups
and the import's figures in DIR; `--resume URL --corpus-dir DIR` runs steps 3 and 4 on that
database later (with the code checked out then).
"""

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
RESULTS = ROOT / "bench" / "results"
SHANGHAI = timezone(timedelta(hours=8))

# The 3,755 characters of GB 2312 level 1: the common Chinese characters.
CHARS = [
    bytes([high, low]).decode("gb2312")
    for high in range(0xB0, 0xD8)
    for low in range(0xA1, 0xFF)
    if (high, low) < (0xD7, 0xFA)  # the last row ends at D7F9
]
CATEGORIES = ["财经", "科技", "体育", "国际", "社会", "文化", "教育", "健康", "汽车", "旅游"]
TOPICS = 1000
REPRINTED_SHARE = 0.25
MAX_REPRINTS = 8
CHAIN_SHARE = 0.33


def dictionary_words(count: int) -> list[str]:
    """The `count` most frequent words of two to four characters in jieba's dictionary, most
    frequent first: text of real words segments as real news does (made-up words would all go
    through jieba's HMM, several times slower)."""
    import jieba

    path = Path(jieba.__file__).parent / "dict.txt"
    entries = []
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            word, frequency, *_ = line.split()
            if 2 <= len(word) <= 4:
                entries.append((-int(frequency), word))
    entries.sort()
    return [word for _, word in entries[:count]]


class Corpus:
    """Deterministic text for a seed: a vocabulary, topics, articles and their reprints."""

    def __init__(self, seed: int = 1):
        self.rng = random.Random(seed)
        rng = self.rng
        self.words = dictionary_words(30_000)
        self.word_weights = [1 / (rank + 1) ** 0.8 for rank in range(len(self.words))]
        self.cum_weights = []
        total = 0.0
        for weight in self.word_weights:
            total += weight
            self.cum_weights.append(total)
        self.topics = []
        for n in range(TOPICS):
            place = "".join(rng.choices(CHARS, k=2)) + rng.choice(["新区", "县", "市", "镇", "开发区"])
            words = [self.word() for _ in range(6)]
            topic = {"place": place, "words": words, "category": CATEGORIES[n % len(CATEGORIES)]}
            topic["stock"] = [self.sentence(topic) for _ in range(3)]
            self.topics.append(topic)
        self.sources = [
            "".join(rng.choices(CHARS, k=2)) + rng.choice(["日报", "新闻网", "资讯", "在线"]) for _ in range(300)
        ]

    def word(self) -> str:
        return self.rng.choices(self.words, cum_weights=self.cum_weights, k=1)[0]

    def sentence(self, topic) -> str:
        rng = self.rng
        parts = []
        for _ in range(rng.randint(3, 5)):
            clause = []
            for _ in range(rng.randint(3, 7)):
                roll = rng.random()
                clause.append(
                    topic["place"] if roll < 0.06 else rng.choice(topic["words"]) if roll < 0.2 else self.word()
                )
            parts.append("".join(clause))
        return "，".join(parts) + "。"

    def paragraph(self, topic) -> str:
        sentences = [self.sentence(topic) for _ in range(self.rng.randint(2, 4))]
        if self.rng.random() < 0.3:
            sentences.insert(self.rng.randrange(len(sentences) + 1), self.rng.choice(topic["stock"]))
        return "".join(sentences)

    def title(self, topic) -> str:
        return topic["place"] + self.rng.choice(topic["words"]) + self.word() + self.word()

    def article(self, topic) -> list[str]:
        return [self.paragraph(topic) for _ in range(self.rng.randint(4, 8))]

    def vary(self, paragraphs: list[str], topic) -> list[str]:
        """A reprint: one to three of the issue's variations (the headline is changed elsewhere)."""
        rng = self.rng
        paragraphs = list(paragraphs)
        for kind in rng.sample(["trim", "add", "punctuation", "byline"], rng.randint(1, 3)):
            if kind == "trim" and len(paragraphs) > 3:
                del paragraphs[rng.choice([0, len(paragraphs) - 1, rng.randrange(len(paragraphs))])]
            elif kind == "add":
                paragraphs.insert(rng.choice([0, len(paragraphs)]), self.paragraph(topic))
            elif kind == "punctuation":
                paragraphs = [p.replace("，", ", ").replace("。", ". ") for p in paragraphs]
            elif kind == "byline":
                name = "".join(rng.choices(CHARS, k=rng.randint(2, 3)))
                if rng.random() < 0.5:
                    paragraphs.insert(0, f"（记者 {name}）")
                else:
                    paragraphs[-1] += f"（编辑：{name}）"
        return paragraphs

    def records(self, size: int):
        """(group, record) pairs: SIZE records in publication order, reprints after their original."""
        rng = self.rng
        items = []
        group = 0
        start = datetime(2024, 1, 1, tzinfo=SHANGHAI)
        while len(items) < size:
            group += 1
            topic = rng.choice(self.topics)
            published = start + timedelta(minutes=rng.randrange(2 * 365 * 24 * 60))
            versions = [self.article(topic)]
            copies = 1
            if rng.random() < REPRINTED_SHARE:
                copies += min(MAX_REPRINTS, 1 + int(rng.expovariate(0.5)))
            for copy in range(copies):
                if len(items) >= size:
                    break
                if copy:
                    base = rng.choice(versions) if rng.random() < CHAIN_SHARE else versions[0]
                    versions.append(self.vary(base, topic))
                    published_at = published + timedelta(minutes=rng.randrange(1, 72 * 60))
                else:
                    published_at = published
                items.append(
                    (
                        group,
                        {
                            "url": f"https://stories.invalid/{len(items)}.html",
                            "title": self.title(topic),
                            "category": topic["category"],
                            "source": rng.choice(self.sources),
                            "published_at": published_at.isoformat(),
                            "captured_at": (published_at + timedelta(hours=2)).isoformat(),
                            "collected_by": "stories_bench",
                            "body_html": "".join(f"<p>{p}</p>" for p in versions[-1]),
                        },
                    )
                )
        items.sort(key=lambda item: item[1]["published_at"])
        return items


def write_corpus(size: int, directory: Path) -> tuple[Path, dict[str, int]]:
    path = directory / f"stories-{size}.jsonl"
    groups = {}
    with path.open("w", encoding="utf-8") as out:
        for group, record in Corpus().records(size):
            groups[record["url"]] = group
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return path, groups


def fresh_database(url: str | None) -> str:
    if url is None:
        return f"sqlite:///{Path(tempfile.mkdtemp(prefix='newsarchive-stories-')) / 'db.sqlite3'}"
    name = urlsplit(url).path.lstrip("/")
    admin = url.rsplit("/", 1)[0] + "/postgres"
    subprocess.run(["psql", admin, "-qc", f'DROP DATABASE IF EXISTS "{name}"'], check=True)
    subprocess.run(["psql", admin, "-qc", f'CREATE DATABASE "{name}"'], check=True)
    return url


# The settings production runs with (DEBUG off: no query log kept by each worker).
PRODUCTION = {"DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": "stories-bench", "DJANGO_ALLOWED_HOSTS": "localhost"}


def manage(database: str, *args: str, baseline: bool = False, processes: int = 1) -> float:
    """Seconds one manage.py command takes, run in `processes` processes at once until the last
    ends; `baseline` switches the stories queueing off."""
    env = os.environ | {"DATABASE_URL": database} | PRODUCTION
    code = (
        "import django, sys; sys.argv = ['manage.py', *sys.argv[1:]];"
        "import os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'newsarchive.settings'); django.setup();"
        + ("import articles.services as s; s.analysis_enqueue = lambda **kwargs: None;" if baseline else "")
        + "from django.core.management import execute_from_command_line; execute_from_command_line(sys.argv)"
    )
    started = time.perf_counter()
    running = [
        subprocess.Popen([PYTHON, "-c", code, *args], cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
        for _ in range(processes)
    ]
    if any(process.wait() for process in running):
        raise SystemExit(f"manage.py {args[0]} failed")
    return time.perf_counter() - started


def measure(database: str, groups: dict[str, int]) -> dict:
    """Task times by kind and the clustering's pairwise precision and recall."""
    env = os.environ | {"DATABASE_URL": database} | PRODUCTION
    script = """
import json, django, math, os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "newsarchive.settings"); django.setup()
from django_tasks_db.models import DBTaskResult
from django.conf import settings
from articles.models import Snapshot, SnapshotAnalysis, StoryBand, ComputedRelatedLink, TermFrequency
documents = TermFrequency.objects.filter(term="").values_list("documents", flat=True).first() or 0
tasks = {}
spans = {}
for path, started, finished, status in DBTaskResult.objects.values_list("task_path", "started_at", "finished_at", "status"):
    kind = path.rsplit(".", 1)[-1]
    entry = tasks.setdefault(kind, {"tasks": 0, "seconds": 0.0, "failed": 0})
    entry["tasks"] += 1
    entry["failed"] += status != "SUCCESSFUL"
    if started and finished:
        entry["seconds"] += (finished - started).total_seconds()
        first, last = spans.get(kind, (started, finished))
        spans[kind] = (min(first, started), max(last, finished))
for kind, (first, last) in spans.items():
    # From the first task's start to the last one's end: the kinds of a bulk load run one after the other.
    tasks[kind]["wall_seconds"] = round((last - first).total_seconds(), 1)
print(json.dumps({
    "tasks": tasks,
    "stories": dict(Snapshot.objects.values_list("original_url", "story_id")),
    "bands": StoryBand.objects.count(),
    "computed_links": ComputedRelatedLink.objects.count(),
    "documents": documents,
    "lists_never_computed": SnapshotAnalysis.objects.filter(related_documents__isnull=True).count(),
    "lists_stale": SnapshotAnalysis.objects.filter(
        related_documents__lt=math.floor(documents / (1 + settings.ARTICLES_RELATED_REFRESH_GROWTH))
    ).count(),
}))
"""
    found = json.loads(
        subprocess.run([PYTHON, "-c", script], cwd=ROOT, env=env, check=True, capture_output=True).stdout
    )
    predicted = found.pop("stories")
    # Pairs: within predicted stories (a snapshot in no story is alone), within true groups, and
    # within both (the cells of the contingency table).
    singles = iter(range(-1, -(10**9), -1))
    clusters = {url: story if story is not None else next(singles) for url, story in predicted.items()}

    def pairs(counter: Counter) -> int:
        return sum(n * (n - 1) // 2 for n in counter.values())

    both = pairs(Counter((clusters[url], groups[url]) for url in clusters))
    predicted_pairs = pairs(Counter(clusters.values()))
    true_pairs = pairs(Counter(groups[url] for url in clusters))
    found["precision"] = round(both / predicted_pairs, 4) if predicted_pairs else 1.0
    found["recall"] = round(both / true_pairs, 4) if true_pairs else 1.0
    found["pairs"] = {"predicted": predicted_pairs, "true": true_pairs, "both": both}
    found["stories_formed"] = len({c for c in clusters.values() if c > 0})
    found["true_groups_with_reprints"] = sum(1 for n in Counter(groups.values()).values() if n > 1)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000, help="snapshots in the corpus (default 100,000)")
    parser.add_argument("--database-url", help="a PostgreSQL database to use (dropped and made again)")
    parser.add_argument("--skip-baseline", action="store_true", help="do not import without the stories task")
    parser.add_argument("--workers", type=int, default=1, help="worker processes on the stories queue (default 1)")
    parser.add_argument("--corpus-dir", type=Path, help="keep the corpus and the import's figures here")
    phases = parser.add_mutually_exclusive_group()
    phases.add_argument("--import-only", action="store_true", help="stop after the import (needs --corpus-dir)")
    phases.add_argument(
        "--resume", metavar="URL", help="run the workers on this imported database (needs --corpus-dir)"
    )
    args = parser.parse_args()
    if (args.import_only or args.resume) and not args.corpus_dir:
        parser.error("--import-only and --resume need --corpus-dir")

    directory = args.corpus_dir or Path(tempfile.mkdtemp(prefix="newsarchive-stories-corpus-"))
    directory.mkdir(parents=True, exist_ok=True)
    state = directory / "state.json"
    if args.resume:
        result = json.loads(state.read_text())
        groups = json.loads((directory / "groups.json").read_text())
        database = args.resume
        args.size = result["size"]
    else:
        result = import_corpus(args, directory)
        groups = json.loads((directory / "groups.json").read_text())
        database = result.pop("database")
        if args.import_only:
            state.write_text(json.dumps(result, indent=2) + "\n")
            print(f"imported; resume with --resume {database} --corpus-dir {directory}")
            return
    run_workers(args, database, groups, result)


def import_corpus(args, directory: Path) -> dict:
    """Steps 1 and 2: the corpus (and its known groups, in DIR/groups.json) and its import."""
    began = time.perf_counter()
    jsonl = directory / f"stories-{args.size}.jsonl"
    if jsonl.exists() and (directory / "groups.json").exists():  # the same corpus: it is deterministic
        groups = json.loads((directory / "groups.json").read_text())
    else:
        jsonl, groups = write_corpus(args.size, directory)
        (directory / "groups.json").write_text(json.dumps(groups))
    print(
        f"corpus: {args.size:,} snapshots in {len(set(groups.values())):,} groups ({time.perf_counter() - began:.0f} s)"
    )

    result = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_implementation()} {platform.python_version()}",
        "size": args.size,
        "groups": len(set(groups.values())),
    }
    if not args.skip_baseline:
        database = fresh_database(args.database_url)
        manage(database, "migrate", "--no-input", "-v0")
        result["import_baseline_seconds"] = round(
            manage(database, "import_snapshots", str(jsonl), "-v0", baseline=True), 2
        )
        print(f"import without stories: {result['import_baseline_seconds']} s")
    database = fresh_database(args.database_url)
    print(f"database: {database}")
    manage(database, "migrate", "--no-input", "-v0")
    result["import_seconds"] = round(manage(database, "import_snapshots", str(jsonl), "-v0"), 2)
    print(f"import with stories queued: {result['import_seconds']} s")
    if "import_baseline_seconds" in result:
        result["import_slowdown"] = round(result["import_seconds"] / result["import_baseline_seconds"] - 1, 4)
        print(f"import slowdown: {result['import_slowdown']:.1%}")
    result["database"] = database
    return result


def run_workers(args, database: str, groups: dict[str, int], result: dict) -> None:
    """Steps 3 and 4: the queued tasks through the workers, then the figures."""
    result["worker_seconds"] = round(
        manage(
            database,
            "db_worker",
            "--batch",
            "--queue-name",
            "stories",
            "--no-startup-delay",
            "-v0",
            processes=args.workers,
        ),
        2,
    )
    result["workers"] = args.workers
    result.update(measure(database, groups))
    for entry in result["tasks"].values():
        entry["snapshots_per_second"] = round(args.size / entry["seconds"]) if entry["seconds"] else None
    print(f"worker: {result['worker_seconds']} s; tasks: {json.dumps(result['tasks'])}")
    print(f"lists never computed: {result['lists_never_computed']:,}; stale at the end: {result['lists_stale']:,}")
    print(
        f"precision {result['precision']}, recall {result['recall']} ({result['pairs']}); "
        f"{result['stories_formed']:,} stories formed, {result['true_groups_with_reprints']:,} groups with reprints"
    )
    vendor = "sqlite" if database.startswith("sqlite") else "postgresql"
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"stories-{vendor}-{args.size}.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()

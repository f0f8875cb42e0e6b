"""Fill the database with generated, clearly synthetic snapshots for development and benchmarks.

    python manage.py demo_data --snapshots 1000000 [--seed 1] [--categories 10] [--sources 300] [--no-related]

Every generated snapshot says what it is: its title starts with 【演示】 ("[demo]" for the few in
English), its body opens with a paragraph saying it was generated, its `collected_by` is
`demo_data`, and its original URL is https://demo.invalid/news/<number>.html, whose
`snapshot_key` is its key. Numbering continues after the highest demo number stored, so each run
adds N more snapshots with new keys; the same seed on the same database state gives the same rows.

Rows go in as plain rows in one `executemany` per table (articles.bulk.insert_rows), one
transaction per batch, with no per-row queries and no simple-history records (demo data has no
editorial history; the editors' services record a baseline when they first change a row). Memory
stays flat: one batch and a fixed window of recent snapshots, which related links point to, are
all that is held.
"""

import gc
import random
import time
from array import array
from bisect import bisect
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from html import escape
from itertools import accumulate, count

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, reset_queries, transaction
from django.db.models import Max
from django.utils import timezone

from articles.bulk import ids_by_key, insert_rows, sqlite_bulk_session
from articles.models import (
    SHANGHAI,
    Category,
    RelatedLink,
    Snapshot,
    Source,
    capture_digest,
    key_for_url,
    snapshot_key,
)
from articles.sanitize import sanitize_html
from articles.statistics import statistics_refresh
from articles.stories import analysis_enqueue

COLLECTED_BY = "demo_data"
URL_PREFIX = "https://demo.invalid/news/"
URL_DIGITS = 9  # zero-padded, so the highest number is also the greatest URL
TITLE_MARK = "【演示】"
TITLE_MARK_EN = "[demo] "
ENGLISH_SHARE = 0.05
HIDDEN_SHARE = 0.02
FEATURED_SHARE = 0.005
MAX_LINKS = 9
INTERNAL_LINK_SHARE = 0.8
LINK_TITLE_SHARE = 0.4
# Related links point to one of the last TARGET_WINDOW snapshots of the run, so memory does not
# grow with N: per snapshot in the window, its pk, key and publication time.
TARGET_WINDOW = 100_000
DEFAULT_BATCH_SIZE = 10_000
PUBLISHED_FROM = datetime(2020, 1, 1, tzinfo=SHANGHAI)
PUBLISHED_UNTIL = datetime(2026, 1, 1, tzinfo=SHANGHAI)
# While loading into SQLite: no fsync at commits, and a page cache of 1 GiB rather than the import's
# 256 MiB (articles.bulk): demo snapshots are published at random times over six years, so the four
# date-ordered indexes of the snapshot table grow in random order as well as the keys, and at a
# million they no longer fit in 256 MiB. A development tool may take the memory.
SQLITE_PRAGMAS = {"synchronous": 0, "cache_size": -1024 * 1024}
# PostgreSQL: the search table's GIN indexes (as migrations 0004 and 0009 make them). Growing them row by row
# more than halves the rate of a load; one of this many snapshots or more drops them and builds
# them again at the end, in one pass each ("Populating a Database" in PostgreSQL's manual). Search
# still answers meanwhile, without the index.
PG_SEARCH_INDEXES = {
    "articles_search_trigrams": "ON articles_search USING gin (document gin_trgm_ops)",
    "articles_search_pairs": "ON articles_search USING gin (pairs)",
}
DEFER_SEARCH_INDEXES_FROM = 50_000
PG_INDEX_BUILD_MEMORY = "512MB"

# Category name and the topics its generated titles and paragraphs talk about.
CATEGORIES = {
    "财经": ["营商环境", "招商引资", "消费市场", "小微企业融资", "数字金融", "外贸订单", "产业园区", "民营经济"],
    "科技": ["人工智能", "新能源电池", "量子通信", "卫星互联网", "芯片研发", "智慧农业", "机器人产业", "数据中心"],
    "体育": ["全民健身", "城市马拉松", "青少年足球", "乒乓球联赛", "冰雪运动", "篮球邀请赛", "游泳比赛", "体育公园"],
    "国际": ["双边合作", "国际航线", "友好城市", "跨境电商", "国际论坛", "海外侨胞", "国际展会", "人文交流"],
    "社会": ["社区治理", "养老服务", "交通出行", "志愿服务", "防汛救灾", "物业管理", "食品安全", "就业帮扶"],
    "文化": ["非遗传承", "博物馆", "文旅融合", "公共图书馆", "地方戏曲", "古籍保护", "音乐节", "全民阅读"],
    "教育": ["义务教育", "职业教育", "高校招生", "乡村学校", "课后服务", "教师培训", "学前教育", "研学旅行"],
    "健康": ["基层医疗", "医保服务", "慢病管理", "疫苗接种", "中医药", "心理健康", "健康体检", "远程医疗"],
    "娱乐": ["电影节", "综艺节目", "演唱会", "网络文学", "动画电影", "剧本创作", "短视频", "舞台剧"],
    "汽车": ["新能源汽车", "充电桩建设", "汽车消费", "自动驾驶", "二手车市场", "汽车零部件", "车展", "智能座舱"],
    "旅游": ["乡村旅游", "景区预约", "夜间经济", "精品民宿", "红色旅游", "自驾游", "假日出游", "旅游公路"],
    "环境": ["生态保护", "垃圾分类", "河湖治理", "空气质量", "植树造林", "湿地公园", "节能减排", "海洋保护"],
}
DEFAULT_CATEGORIES = 10

# Made-up places, so no generated sentence reads as news about a real one.
PLACES = [
    "江北新城", "云岭县", "青川市", "临海区", "松原镇", "白鹭洲", "东湖新区", "南山片区", "北岸新区", "丰收县",
    "海棠湾", "长林市", "石门县", "望江区", "桃源镇", "星河新区", "凤鸣山区", "清水河县", "金穗市", "银杏镇",
    "青石港", "玉泉区", "紫荆新区", "翠湖县", "朝阳湾", "明月镇", "彩虹市", "龙泉新区", "春晖县", "碧水区",
]  # fmt: skip
PROVINCES = ["江南", "岭北", "海东", "河西", "山南", "湖中", "云上", "塞北", "滨海", "中原"]
SOURCE_SUFFIXES = ["日报", "晚报", "晨报", "新闻网", "融媒体中心", "资讯", "在线", "时报", "广播电视台", "观察"]
DEFAULT_SOURCES = 300
PREDICATES = [
    "持续向好", "再上新台阶", "迎来新机遇", "取得阶段性成效", "跑出加速度", "按下快进键",
    "交出亮眼成绩单", "释放新活力", "开启新篇章", "稳步推进", "提质增效", "多点开花",
]  # fmt: skip
TITLE_FORMS = [
    "{place}{topic}{predicate}",
    "{place}：{topic}{predicate}",
    "聚焦{topic}：{place}{predicate}",
    "{topic}{predicate} {place}探索新路径",
]
SENTENCES = [
    "{place}围绕{topic}持续发力，今年以来已推进{n}个重点项目。",
    "据演示数据统计，{topic}相关指标同比增长{pct}%，环比增长{pct2}%。",
    "这是一段自动生成的演示文字，用于填充页面和测试性能，内容纯属虚构。",
    "{place}有关负责人表示，下一步将继续深化{topic}工作，力争在{year}年底前完成阶段目标。",
    "截至{month}月底，{place}累计服务群众{n}万人次，{topic}满意度达到{pct}%。",
    "业内人士认为，{topic}的发展离不开政策支持和市场活力的共同作用。",
    "第{n}号演示段落：{place}{topic}{predicate}。",
    "{place}将{topic}列为年度重点任务，建立“{n}+{pct2}”工作机制。",
]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = "安琪燕明华丽军伟芳敏静磊洋勇艳杰娟涛超秀霞平刚桂英"

TOPICS_EN = ["local economy", "clean energy", "school meals", "river cleanup", "public transport", "city library"]
PLACES_EN = ["Northbank", "Riverside", "Maple County", "Harbor District", "Pine Hill", "Lakeview"]
PREDICATES_EN = ["shows steady progress", "reaches a new milestone", "draws record interest", "enters a new phase"]
SENTENCES_EN = [
    "{place} reported {n} new projects related to {topic} this year.",
    "This paragraph was generated automatically for demos and benchmarks; none of it is real.",
    "Demo figures show {topic} grew by {pct}% year on year in {place}.",
    "Officials in {place} said work on {topic} would continue until the end of {year}.",
    "Demo paragraph number {n}: {place} and its {topic}.",
]
NAMES_EN = ["Alex Demo", "Sam Sample", "Robin Placeholder", "Kim Example", "Jo Synthetic"]

INTRO = "<p>【演示数据】本文由 demo_data 命令自动生成，内容纯属虚构，仅供开发与性能测试使用。</p>"
INTRO_EN = "<p>[demo data] Generated by the demo_data command. Fictional, for development and benchmarks only.</p>"
PARAGRAPH_POOL = 2000
PARAGRAPH_POOL_EN = 200


def demo_url(number: int) -> str:
    return f"{URL_PREFIX}{number:0{URL_DIGITS}d}.html"


def next_demo_number() -> int:
    """The number after the highest demo snapshot stored, 1 when there is none."""
    highest = Snapshot.objects.filter(original_url__startswith=URL_PREFIX).aggregate(m=Max("original_url"))["m"]
    if not highest:
        return 1
    try:
        return int(highest.removeprefix(URL_PREFIX).removesuffix(".html")) + 1
    except ValueError:
        raise CommandError(f"Cannot read the demo number in {highest!r}.") from None


def pick(random_, items):
    """`random.choice` without its overhead, which shows at tens of millions of calls."""
    return items[int(random_() * len(items))]


def zipf_cum_weights(n: int, exponent: float) -> list[float]:
    """Cumulative weights where item i weighs 1 / (i + 1) ** exponent: a few big, many small."""
    return list(accumulate(1 / (rank + 1) ** exponent for rank in range(n)))


@dataclass
class Batch:
    first: int  # run position of the first snapshot
    # Rows of articles_snapshot by field name, as articles.bulk.insert_rows takes them.
    snapshots: list[dict]
    # Per snapshot: its related links' rows (snapshot and target unset) and each link's target as a
    # run position, None for an external link.
    links: list[tuple[list[dict], list[int | None]]]


class DemoGenerator:
    """Everything random about demo data. The text pools depend on the seed alone, the rows of a run
    on the seed and the run's first demo number."""

    def __init__(
        self, *, seed: int, start: int, categories: dict[int, str], sources: dict[int, str], with_related: bool = True
    ):
        pool_rng = random.Random(seed)
        self.rng = random.Random(f"{seed}:{start}")
        self.random = self.rng.random
        self.start = start
        self.with_related = with_related
        self.category_names = categories
        self.category_ids = list(categories)
        self.category_cum = zipf_cum_weights(len(categories), 0.6)
        self.topics = {pk: CATEGORIES.get(name, [name]) for pk, name in categories.items()}
        self.topic_lists = list(self.topics.values())
        self.source_names = sources
        self.source_ids = sorted(sources)
        pool_rng.shuffle(self.source_ids)
        self.source_cum = zipf_cum_weights(len(sources), 0.9)
        # Paragraphs pass the sanitizer once here, so a body made of them is already what it would
        # store: the content hash can be taken from it without sanitizing every body again.
        topics = [topic for topic_list in CATEGORIES.values() for topic in topic_list]
        self.paragraphs = [
            sanitize_html(self.paragraph(pool_rng, SENTENCES, PLACES, topics, "")) for _ in range(PARAGRAPH_POOL)
        ]
        self.paragraphs_en = [
            sanitize_html(self.paragraph(pool_rng, SENTENCES_EN, PLACES_EN, TOPICS_EN, " "))
            for _ in range(PARAGRAPH_POOL_EN)
        ]
        self.intro = sanitize_html(INTRO)
        self.intro_en = sanitize_html(INTRO_EN)
        self.excerpt_texts = [paragraph[3:-4] for paragraph in self.paragraphs]  # without <p> and </p>
        self.published_from = PUBLISHED_FROM.timestamp()
        self.published_span = PUBLISHED_UNTIL.timestamp() - self.published_from
        # Key and publication time of the last TARGET_WINDOW snapshots, by run position modulo the
        # window; their pks are known only where the batches are stored (Command.store).
        self.window_key = [""] * TARGET_WINDOW
        self.window_published = array("q", bytes(8 * TARGET_WINDOW))

    @staticmethod
    def paragraph(rng: random.Random, sentences: list[str], places: list[str], topics: list[str], joiner: str) -> str:
        text = joiner.join(
            rng.choice(sentences).format(
                place=rng.choice(places),
                topic=rng.choice(topics),
                predicate=rng.choice(PREDICATES),
                n=rng.randint(2, 999),
                pct=rng.randint(1, 99),
                pct2=rng.randint(1, 30),
                year=rng.randint(2020, 2026),
                month=rng.randint(1, 12),
            )
            for _ in range(rng.randint(3, 6))
        )
        return f"<p>{escape(text, quote=False)}</p>"

    def batch(self, first: int, last: int) -> Batch:
        """The snapshots at run positions first to last - 1, with their related links."""
        batch = Batch(first=first, snapshots=[], links=[])
        for position in range(first, last):
            snapshot, links, targets = self.snapshot(position)
            batch.snapshots.append(snapshot)
            batch.links.append((links, targets))
        return batch

    def snapshot(self, position: int) -> tuple[dict, list[dict], list[int | None]]:
        random_ = self.random
        english = random_() < ENGLISH_SHARE
        category_id = self.category_ids[bisect(self.category_cum, random_() * self.category_cum[-1])]
        source_id = self.source_ids[bisect(self.source_cum, random_() * self.source_cum[-1])]
        title = self.title(self.topics[category_id], english=english)
        published_ts = int(self.published_from + random_() * self.published_span) // 60 * 60
        published_at = datetime.fromtimestamp(published_ts, SHANGHAI)
        # Captured between half an hour and seven and a half hours later.
        captured_at = datetime.fromtimestamp(published_ts + 1800 + int(random_() * 7 * 3600), SHANGHAI)
        if english:
            body = "\n".join([self.intro_en, *self.rng.choices(self.paragraphs_en, k=2 + int(random_() * 5))])
            byline = f"(By {pick(random_, NAMES_EN)})" if random_() < 0.7 else ""
            reprinted_from = ""
        else:
            body = "\n".join([self.intro, *self.rng.choices(self.paragraphs, k=3 + int(random_() * 7))])
            byline = f"({' '.join(self.name() for _ in range(1 + (random_() < 0.4)))})" if random_() < 0.7 else ""
            reprinted_from = f"演示网-{pick(random_, PROVINCES)}频道" if random_() < 0.35 else ""
        original_url = demo_url(self.start + position)
        key = snapshot_key(original_url=original_url, source="", title="", published_at=published_at)
        slot = position % TARGET_WINDOW
        self.window_key[slot] = key
        self.window_published[slot] = published_ts
        links, targets = self.links(position, published_ts) if self.with_related else ([], [])
        roll = random_()
        status = Snapshot.Status.HIDDEN if roll < HIDDEN_SHARE else Snapshot.Status.PUBLISHED
        snapshot = {
            "key": key,
            "title": title,
            "category_id": category_id,
            "source_id": source_id,
            "reprinted_from": reprinted_from,
            "byline": byline,
            # Already what the sanitizer gives: made of paragraphs that passed it (see __init__).
            "body": body,
            "published_at": published_at,
            "captured_at": captured_at,
            "collected_by": COLLECTED_BY,
            "original_url": original_url,
            "editor_status": status,
            "status": status,
            "is_featured": HIDDEN_SHARE <= roll < HIDDEN_SHARE + FEATURED_SHARE,
            # What compute_content_hash() gives once the links are stored, without asking for them.
            "content_hash": capture_digest(
                title=title,
                category=self.category_names[category_id],
                source=self.source_names[source_id],
                reprinted_from=reprinted_from,
                byline=byline,
                body=body,
                published_at=published_at,
                captured_at=captured_at,
                collected_by=COLLECTED_BY,
                original_url=original_url,
                related=links,
            ),
        }
        return snapshot, links, targets

    def links(self, position: int, published_ts: int) -> tuple[list[dict], list[int | None]]:
        random_ = self.random
        # Earlier snapshots of this run still in the window, never the snapshot itself.
        lowest = max(0, position - TARGET_WINDOW + 1)
        candidates = position - lowest
        links = []
        targets = []
        for link_position in range(1, 1 + int(random_() * (MAX_LINKS + 1))):
            target = lowest + int(random_() * candidates) if candidates and random_() < INTERNAL_LINK_SHARE else None
            if target is not None and target not in targets:
                slot = target % TARGET_WINDOW
                url = demo_url(self.start + target)
                target_key = self.window_key[slot]  # what key_for_url(url) gives
                date_ts = self.window_published[slot]
            else:
                target = None
                url = f"https://www.example.com/demo/{int(random_() * 1e9):09d}.html"
                target_key = key_for_url(url)
                date_ts = published_ts - int(random_() * 400) * 86400
            text = pick(random_, self.excerpt_texts)
            offset = int(random_() * max(1, len(text) - 60))
            links.append(
                {
                    "snapshot_id": None,
                    "position": link_position,
                    "title": self.title(pick(random_, self.topic_lists)) if random_() < LINK_TITLE_SHARE else "",
                    "excerpt": "..." + text[offset : offset + 60],
                    "date": datetime.fromtimestamp(date_ts, SHANGHAI),
                    "url": url,
                    "target_key": target_key,
                    "target_id": None,
                }
            )
            targets.append(target)
        return links, targets

    def title(self, topics: list[str], *, english: bool = False) -> str:
        random_ = self.random
        if english:
            return (
                f"{TITLE_MARK_EN}{pick(random_, PLACES_EN)} {pick(random_, TOPICS_EN)} {pick(random_, PREDICATES_EN)}"
            )
        return TITLE_MARK + pick(random_, TITLE_FORMS).format(
            place=pick(random_, PLACES), topic=pick(random_, topics), predicate=pick(random_, PREDICATES)
        )

    def name(self) -> str:
        random_ = self.random
        return pick(random_, SURNAMES) + "".join(pick(random_, GIVEN) for _ in range(1 + (random_() < 0.6)))


@contextmanager
def bulk_load(*, defer_search_indexes: bool = False):
    """Make a long run of batch inserts cheaper, then put things back.

    - The cyclic garbage collector is paused; the caller runs it once per batch. Building a batch
      allocates millions of objects, and the automatic passes over them took a quarter of the
      time. What is alive before the load is frozen, so those passes skip it.
    - SQLite: the bulk session's page cache (articles.bulk.sqlite_bulk_session), and no fsync at
      each commit, which halves commit time. A power cut during the load can then damage the
      database file; a crash of the command cannot. (Not inside a transaction, where SQLite refuses it.)
    - PostgreSQL, with `defer_search_indexes`: the search indexes are dropped and built again at
      the end, even when the load fails; one left missing by a killed run is built by the next.
    """
    if defer_search_indexes:
        with connection.cursor() as cursor:
            for name in PG_SEARCH_INDEXES:
                cursor.execute(f"DROP INDEX IF EXISTS {name}")
    gc.freeze()
    gc.disable()
    try:
        with sqlite_bulk_session(connection.alias, **SQLITE_PRAGMAS):
            yield
    finally:
        gc.enable()
        gc.unfreeze()
        if connection.vendor == "postgresql":
            build_search_indexes(analyze=defer_search_indexes)


def build_search_indexes(*, analyze: bool) -> None:
    """PostgreSQL: the search indexes that are missing, each built in one pass over the rows."""
    with connection.cursor() as cursor:
        cursor.execute(f"SET maintenance_work_mem = '{PG_INDEX_BUILD_MEMORY}'")
        for name, definition in PG_SEARCH_INDEXES.items():
            cursor.execute(f"CREATE INDEX IF NOT EXISTS {name} {definition}")
        cursor.execute("RESET maintenance_work_mem")
        if analyze:
            cursor.execute("ANALYZE articles_search")


class Command(BaseCommand):
    help = (
        "Add N generated, clearly synthetic snapshots (titles start with 【演示】, collected_by demo_data) "
        "with related links, spread over categories, sources and six years. Each run adds N more."
    )

    def add_arguments(self, parser):
        parser.add_argument("--snapshots", type=int, required=True, metavar="N", help="How many snapshots to add.")
        parser.add_argument("--seed", type=int, default=1, help="Random seed (default 1).")
        parser.add_argument(
            "--categories",
            type=int,
            default=DEFAULT_CATEGORIES,
            help=f"How many categories to use, 1 to {len(CATEGORIES)} (default {DEFAULT_CATEGORIES}).",
        )
        parser.add_argument(
            "--sources",
            type=int,
            default=DEFAULT_SOURCES,
            help=f"How many sources to use, 1 to {len(PLACES) * len(SOURCE_SUFFIXES)} (default {DEFAULT_SOURCES}).",
        )
        parser.add_argument("--no-related", action="store_true", help="Add no related links.")
        parser.add_argument(
            "--batch-size",
            type=int,
            default=DEFAULT_BATCH_SIZE,
            help=f"Snapshots per transaction, 1 to {TARGET_WINDOW} (default {DEFAULT_BATCH_SIZE}).",
        )

    def handle(self, *args, snapshots, seed, categories, sources, no_related, batch_size, verbosity, **options):
        if snapshots < 0:
            raise CommandError("--snapshots cannot be negative.")
        if not 1 <= categories <= len(CATEGORIES):
            raise CommandError(f"--categories must be between 1 and {len(CATEGORIES)}.")
        if not 1 <= sources <= len(PLACES) * len(SOURCE_SUFFIXES):
            raise CommandError(f"--sources must be between 1 and {len(PLACES) * len(SOURCE_SUFFIXES)}.")
        if not 1 <= batch_size <= TARGET_WINDOW:
            raise CommandError(f"--batch-size must be between 1 and {TARGET_WINDOW}.")

        start = next_demo_number()
        generator = DemoGenerator(
            seed=seed,
            start=start,
            categories=self.ensure_categories(categories),
            sources=self.ensure_sources(sources),
            with_related=not no_related,
        )
        window_pk = array("q", bytes(8 * TARGET_WINDOW))  # pks by run position, as in DemoGenerator
        began = time.monotonic()
        done = link_count = 0
        defer = connection.vendor == "postgresql" and snapshots >= DEFER_SEARCH_INDEXES_FROM
        with bulk_load(defer_search_indexes=defer):
            for first in range(0, snapshots, batch_size):
                batch = generator.batch(first, min(first + batch_size, snapshots))
                link_count += self.store(batch, window_pk)
                done += len(batch.snapshots)
                del batch
                reset_queries()  # with DEBUG on, Django would keep every query's SQL
                gc.collect()
                if verbosity >= 1:
                    elapsed = time.monotonic() - began
                    self.stdout.write(
                        f"{done:,}/{snapshots:,} snapshots, {link_count:,} related links, "
                        f"{elapsed:.1f} s, {done / elapsed:,.0f} snapshots/s"
                    )
        statistics_refresh(changed=done)
        elapsed = time.monotonic() - began
        if verbosity >= 1:
            numbers = f" (demo numbers {start:,} to {start + done - 1:,})" if done else ""
            self.stdout.write(
                self.style.SUCCESS(
                    f"Added {done:,} demo snapshots{numbers} and {link_count:,} related links in {elapsed:.1f} s: "
                    f"{done / elapsed:,.0f} snapshots/s."
                )
            )

    @staticmethod
    def store(batch: Batch, window_pk: array) -> int:
        """Insert a batch of snapshots, then their related links, in one transaction; return the
        number of links. A link's target is an earlier snapshot of the run, whose pk is known."""
        now = timezone.now()
        for snapshot in batch.snapshots:
            snapshot["created_at"] = snapshot["updated_at"] = now
        with transaction.atomic():
            insert_rows(Snapshot, batch.snapshots)
            pks = ids_by_key(Snapshot, [snapshot["key"] for snapshot in batch.snapshots])
            link_rows = []
            for position, snapshot, (links, targets) in zip(
                count(batch.first), batch.snapshots, batch.links, strict=False
            ):
                pk = window_pk[position % TARGET_WINDOW] = pks[snapshot["key"]]
                for link, target in zip(links, targets, strict=True):
                    link["snapshot_id"] = pk
                    if target is not None:
                        link["target_id"] = window_pk[target % TARGET_WINDOW]
                    link_rows.append(link)
            insert_rows(RelatedLink, link_rows)
            # Stories and related news, by the worker (manage.py db_worker), as for imports.
            analysis_enqueue(snapshot_ids=[pks[snapshot["key"]] for snapshot in batch.snapshots])
        return len(link_rows)

    @staticmethod
    def ensure_categories(how_many: int) -> dict[int, str]:
        """The first `how_many` demo categories, created when missing, as {pk: name}."""
        found = {}
        for name in list(CATEGORIES)[:how_many]:
            category, _ = Category.objects.get_or_create(name=name)
            found[category.pk] = category.name
        return found

    @staticmethod
    def ensure_sources(how_many: int) -> dict[int, str]:
        """`how_many` demo sources (演示·<place><suffix>), created when missing, as {pk: name}."""
        names = [f"演示·{place}{suffix}" for suffix in SOURCE_SUFFIXES for place in PLACES][:how_many]
        Source.objects.bulk_create([Source(name=name) for name in names], ignore_conflicts=True)
        return dict(Source.objects.filter(name__in=names).values_list("pk", "name"))

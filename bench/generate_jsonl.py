"""Write N synthetic snapshots in the crawler's JSON Lines schema (README), for import benchmarks.

Usage: python bench/generate_jsonl.py N > FILE
Records are deterministic for a given N and --seed; about a fifth of the related links point at
other records of the same file, so target resolution is measured too.
"""

import argparse
import json
import random
import sys
from datetime import datetime, timedelta, timezone

SHANGHAI = timezone(timedelta(hours=8))
CATEGORIES = ["财经", "科技", "体育", "国际", "社会", "文化", "教育", "健康"]
PHRASES = [
    "鲁西新区持续优化营商环境",
    "项目建设跑出加速度",
    "推动经济高质量发展",
    "不断提升服务水平",
    "创新行政审批服务方式",
    "新能源装备制造持续保持高位发展",
    "为企业纾难解困",
    "The quick brown fox reports 2024 results",
]


def record(n: int, rng: random.Random, total: int) -> dict:
    published = datetime(2020, 1, 1, tzinfo=SHANGHAI) + timedelta(minutes=n * 7 + rng.randrange(5))
    paragraphs = ["，".join(rng.choice(PHRASES) for _ in range(12)) + "。" for _ in range(5)]
    related = []
    for _ in range(rng.randrange(0, 9)):
        other = rng.randrange(total)
        related.append(
            {
                "title": f"【演示】相关报道 {other}" if rng.random() < 0.4 else None,
                "excerpt": rng.choice(PHRASES) * 3,
                "date": (published - timedelta(days=rng.randrange(400))).isoformat(),
                "url": f"https://bench.invalid/news/{other}.html"
                if rng.random() < 0.2
                else f"https://elsewhere.invalid/{n}/{other}",
            }
        )
    return {
        "url": f"https://bench.invalid/news/{n}.html",
        "title": f"【演示】基准测试快照 {n} " + rng.choice(PHRASES),
        "category": CATEGORIES[n % len(CATEGORIES)],
        "source": f"演示来源 {n % 300}",
        "reprinted_from": "演示网-频道" if n % 3 == 0 else None,
        "byline": "演示记者" if n % 2 == 0 else None,
        "published_at": published.isoformat(),
        "captured_at": (published + timedelta(hours=3)).isoformat(),
        "collected_by": "bench.generator",
        "body_html": "".join(f"<p>{p}</p>" for p in paragraphs),
        "related": related,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("count", type=int)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    out = sys.stdout
    for n in range(args.count):
        out.write(json.dumps(record(n, rng, args.count), ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()

"""Search and topic-matching speed on a generated archive of 100,000 articles.

    uv run python bench/search.py [--articles 100000] [--topics 10000] [--runs 200]

Prints p50/p95/p99 of the inline handler's query (parse, build the MATCH expression, run
storage.search.find for one page of 20 and load the sections) for 1-word, 3-word, prefix and
filtered queries, the same figures for a naive LIKE '%…%' scan in the same run, and the time to
match one new article against 10,000 followed topics.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot import search, topics
from bot.domain import Follow
from bot.sections import builtin
from storage import db
from storage import search as stored
from storage.text import fold

CATALOGUE = builtin("https://aze.media")
PAGE = 20


def _split(text: str) -> list[str]:
    return text.split()


# Words a news site about Azerbaijan and its region actually uses, plus a long Zipf tail.
TOPICAL = _split(
    "karabakh azerbaijan baku armenia yerevan russia turkey iran georgia europe union peace "
    "talks treaty border energy gas oil pipeline climate cop29 economy inflation bank market "
    "trade transport railway corridor culture music festival history defense army drone "
    "minister president parliament election women gender science university diaspora "
    "shusha şuşa ganja nakhchivan caspian sea green transition renewable solar wind hydrogen "
    "sanctions export import investment reconstruction mines refugees humanitarian summit"
)
COMMON = _split(
    "the of and to in a is that for on with as by at from it be was are this an has have "
    "will its new not but after more said over also about into than year two first"
)


def vocabulary(rng: random.Random, size: int = 30_000) -> list[str]:
    """Zipf-ranked words: the topical ones spread over the head, invented ones in the tail."""
    letters = "abcdefghijklmnopqrstuvwxyzəışçğöü"
    tail = sorted({"".join(rng.choices(letters, k=rng.randint(4, 11))) for _ in range(size)})
    rng.shuffle(tail)
    for word in TOPICAL:
        tail.insert(rng.randint(0, 400), word)
    return tail


def sentence(rng: random.Random, vocab: Sequence[str], cum: Sequence[float], n: int) -> str:
    content = rng.choices(vocab, cum_weights=cum, k=n)
    words = [rng.choice(COMMON) if rng.random() < 0.35 else w for w in content]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def generate(path: Path, count: int, rng: random.Random) -> list[str]:
    """Write `count` articles straight through sqlite3: the fastest way to fill the file."""
    vocab = vocabulary(rng)
    cum = list(itertools.accumulate(1 / (rank + 1) ** 1.05 for rank in range(len(vocab))))
    slugs = [s.slug for s in CATALOGUE]
    conn = sqlite3.connect(path)
    conn.execute("BEGIN")
    t0 = 1_600_000_000
    for i in range(1, count + 1):
        title = sentence(rng, vocab, cum, rng.randint(6, 14))
        summary = ". ".join(sentence(rng, vocab, cum, rng.randint(12, 25)) for _ in range(3))
        author = " ".join(rng.choices(vocab[len(TOPICAL) :], k=2)).title()
        published = t0 + i * 600 + rng.randint(0, 300)
        sections = rng.sample(slugs, rng.choice((1, 1, 2)))
        conn.execute(
            "INSERT INTO articles (id, key, url, title, summary, author, published_at, image_url, "
            "first_seen_at, updated_at, announced) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)",
            (
                i,
                f"post-{i}",
                f"https://aze.media/post-{i}/",
                title,
                summary,
                author,
                published,
                f"https://aze.media/img/{i}.jpg",
                published,
                published,
            ),
        )
        conn.executemany(
            "INSERT INTO article_sections (article_id, section) VALUES (?, ?)",
            [(i, s) for s in sections],
        )
        conn.execute(
            "INSERT INTO articles_fts (rowid, title, summary, author, sections) "
            "VALUES (?, ?, ?, ?, ?)",
            (i, fold(title), fold(summary), fold(author), fold(" ".join(sections))),
        )
        if i % 500 == 0:  # ingest commits a poll's worth at a time; so does the index
            conn.execute("COMMIT")
            conn.execute("BEGIN")
    conn.execute("COMMIT")
    conn.close()
    return vocab


def percentiles(samples: list[float]) -> tuple[float, float, float]:
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return cuts[49], cuts[94], cuts[98]


async def timed(run: Callable[[str], Awaitable[object]], queries: Sequence[str]) -> list[float]:
    samples = []
    for text in queries:
        start = time.perf_counter()
        await run(text)
        samples.append((time.perf_counter() - start) * 1000)
    return samples


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--topics", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--seed", type=int, default=6)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        conn = await db.connect(path)
        await conn.close()
        started = time.perf_counter()
        vocab = generate(path, args.articles, rng)
        print(f"generated {args.articles:,} articles in {time.perf_counter() - started:.1f} s")
        conn = await db.connect(path)

        async def inline(text: str) -> object:
            query = search.parse(text, CATALOGUE)
            return await stored.find(
                conn, search.match_expression(query), query.sections, limit=PAGE
            )

        async def naive(text: str) -> object:
            query = search.parse(text, CATALOGUE)
            where = " AND ".join("(title LIKE ? OR summary LIKE ?)" for _ in query.words) or "1"
            params: list[object] = [f"%{w}%" for w in query.words for _ in (0, 1)]
            if query.sections:
                marks = ", ".join("?" for _ in query.sections)
                where += (
                    f" AND id IN (SELECT article_id FROM article_sections "
                    f"WHERE section IN ({marks}))"
                )
                params += query.sections
            async with conn.execute(
                f"SELECT * FROM articles WHERE {where} ORDER BY published_at DESC LIMIT {PAGE}",
                params,
            ) as cur:
                return await cur.fetchall()

        pick = rng.choice
        kinds: dict[str, Callable[[], str]] = {
            "1 word": lambda: pick(TOPICAL),
            "1 rarer word": lambda: pick(vocab[2000:6000]),
            "3 words": lambda: " ".join(rng.sample(TOPICAL, 3)),
            "prefix": lambda: pick(TOPICAL)[: rng.randint(3, 5)],
            "filtered": lambda: f"#{pick(CATALOGUE).slug} {pick(TOPICAL)}",
            "empty (newest)": lambda: "",
        }
        print(f"\n{'query':<16}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'LIKE p50':>10}{'ratio':>8}")
        for name, make in kinds.items():
            queries = [make() for _ in range(args.runs)]
            await timed(inline, queries[:10])  # warm the page cache
            fts = percentiles(await timed(inline, queries))
            like_runs = max(10, args.runs // 10)
            like = percentiles(await timed(naive, queries[:like_runs]))
            print(
                f"{name:<16}{fts[0]:>9.2f}{fts[1]:>9.2f}{fts[2]:>9.2f}{like[0]:>10.1f}"
                f"{like[0] / fts[0]:>7.1f}x"
            )

        # Topic alerts: one chat per topic, 1-3 words from the head of the vocabulary.
        head = vocab[:2000]
        follows = [
            Follow(-1000 - i, " ".join(rng.sample(head, rng.randint(1, 3))))
            for i in range(args.topics)
        ]
        await conn.executemany(
            "INSERT INTO chats (id, kind, created_at, updated_at) VALUES (?, 'group', 0, 0)",
            [(f.chat_id,) for f in follows],
        )
        await conn.executemany(
            "INSERT OR IGNORE INTO follows (chat_id, thread_id, query, created_at) "
            "VALUES (?, 0, ?, 0)",
            [(f.chat_id, f.query) for f in follows],
        )
        articles = await stored.find(conn, None, limit=100)
        start = time.perf_counter()
        index = topics.index(follows)
        index_ms = (time.perf_counter() - start) * 1000
        pure = []
        for article in articles:
            start = time.perf_counter()
            topics.recipients(index, article)
            pure.append((time.perf_counter() - start) * 1000)
        one = articles[0]
        start = time.perf_counter()
        present = set(search.words(one.title)) | set(search.words(one.summary))
        naive_hits = sum(all(w in present for w in f.words) for f in follows)
        naive_ms = (time.perf_counter() - start) * 1000
        full = []
        added = 0
        for article in articles:
            start = time.perf_counter()
            added += await topics.enqueue_followers(conn, [article])
            full.append((time.perf_counter() - start) * 1000)
        print(f"\ntopic alerts, one new article against {args.topics:,} followed topics:")
        p50, p95, p99 = percentiles(pure)
        print(
            f"  matching (index of topics built once, {index_ms:.1f} ms): "
            f"p50 {p50:.3f} ms, p95 {p95:.3f} ms, p99 {p99:.3f} ms"
        )
        print(f"  baseline, every topic checked in turn: {naive_ms:.2f} ms ({naive_hits} matched)")
        p50, p95, p99 = percentiles(full)
        print(
            f"  enqueue_followers (load topics, index, match, INSERT OR IGNORE): "
            f"p50 {p50:.1f} ms, p95 {p95:.1f} ms, p99 {p99:.1f} ms; "
            f"{added / len(articles):.1f} deliveries per article"
        )
        await conn.close()


if __name__ == "__main__":
    asyncio.run(main())

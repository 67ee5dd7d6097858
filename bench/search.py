"""Search and topic-matching speed on a generated archive of 100,000 articles with their text.

    uv run python bench/search.py [--articles 100000] [--topics 10000] [--runs 200]

Every article has a headline, a summary, two tags and a text of about 800 words. Prints the
time to build the archive and its index, the database size per 1,000 articles (and how much of
it is the index), the cost of indexing one article at ingest (storage.articles.upsert_many with
and without its text), then p50/p95/p99 of the inline handler's query (parse, build the tiers,
storage.search.find for one page of 20, the matched passages for text-only matches) for each
query kind, against a naive LIKE '%…%' scan over the same columns in the same run, and the time
to match one new article against 10,000 followed topics.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot import search, topics
from bot.domain import Article, Follow, Write, fold
from bot.sections import builtin
from storage import articles as stored_articles
from storage import db
from storage import search as stored

CATALOGUE = builtin("https://aze.media")
PAGE = 20
POOL = 50_000  # distinct sentences the texts are made of
BODY_SENTENCES = (30, 50)  # about 20 words each: 800 words on average
INGEST_SAMPLE = 300


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
LETTERS = "abcdefghijklmnopqrstuvwxyzəışçğöü"


def invented(rng: random.Random, size: int) -> list[str]:
    words = sorted({"".join(rng.choices(LETTERS, k=rng.randint(4, 11))) for _ in range(size)})
    rng.shuffle(words)
    return words


def vocabulary(rng: random.Random, size: int = 30_000) -> list[str]:
    """Zipf-ranked words: the topical ones spread over the head, invented ones in the tail."""
    tail = invented(rng, size)
    for word in TOPICAL:
        tail.insert(rng.randint(0, 400), word)
    return tail


def zipf(n: int) -> list[float]:
    return list(itertools.accumulate(1 / (rank + 1) ** 1.05 for rank in range(n)))


def sentence(rng: random.Random, vocab: Sequence[str], cum: Sequence[float], n: int) -> str:
    content = rng.choices(vocab, cum_weights=cum, k=n)
    words = [rng.choice(COMMON) if rng.random() < 0.35 else w for w in content]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


class Corpus:
    """The words of the generated archive: headline/summary words, text-only words, tags."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.vocab = vocabulary(rng)
        self.cum = zipf(len(self.vocab))
        known = set(self.vocab)
        # Words only texts use (names, places, details a headline leaves out): a Zipf tail of
        # their own, so some are common and most are rare.
        self.text_only = [w for w in invented(rng, 12_000) if w not in known]
        self.text_cum = zipf(len(self.text_only))
        known |= set(self.text_only)
        self.tags = [w.title() for w in invented(rng, 4_000) if w not in known]
        self.tag_cum = zipf(len(self.tags))

    def text_sentence(self) -> str:
        words = sentence(self.rng, self.vocab, self.cum, self.rng.randint(14, 26)).split()
        for _ in range(self.rng.randint(0, 3)):
            extra = self.rng.choices(self.text_only, cum_weights=self.text_cum)[0]
            words.insert(self.rng.randint(1, len(words)), extra)
        return " ".join(words) + "."

    def article(self, i: int, slugs: Sequence[str]) -> tuple[object, ...]:
        rng = self.rng
        title = sentence(rng, self.vocab, self.cum, rng.randint(6, 14))
        summary = ". ".join(
            sentence(rng, self.vocab, self.cum, rng.randint(12, 25)) for _ in range(3)
        )
        author = " ".join(rng.choices(self.vocab[len(TOPICAL) :], k=2)).title()
        tags = "\n".join(dict.fromkeys(rng.choices(self.tags, cum_weights=self.tag_cum, k=2)))
        published = 1_600_000_000 + i * 600 + rng.randint(0, 300)
        return (
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
            tags,
        )


def generate(path: Path, count: int, corpus: Corpus) -> float:
    """Fill the file: headlines in Python, texts assembled by SQL from a pool of sentences,
    then the index built by the same expression ingest uses. Returns the indexing seconds."""
    rng = corpus.rng
    slugs = [s.slug for s in CATALOGUE]
    conn = sqlite3.connect(path, isolation_level=None)
    conn.create_function("fold", 1, fold, deterministic=True)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("CREATE TEMP TABLE pool (id INTEGER PRIMARY KEY, s TEXT NOT NULL)")
    conn.executemany(
        "INSERT INTO pool VALUES (?, ?)",
        ((n, corpus.text_sentence()) for n in range(1, POOL + 1)),
    )
    low, high = BODY_SENTENCES
    chunk = 5_000
    for start in range(1, count + 1, chunk):
        ids = range(start, min(count, start + chunk - 1) + 1)
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO articles (id, key, url, title, summary, author, published_at, "
            "image_url, first_seen_at, updated_at, tags, announced) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)",
            (corpus.article(i, slugs) for i in ids),
        )
        conn.executemany(
            "INSERT INTO article_sections (article_id, section) VALUES (?, ?)",
            [(i, s) for i in ids for s in rng.sample(slugs, rng.choice((1, 1, 2)))],
        )
        # Each text: 30-50 sentences of the pool, drawn at random per article (the subquery
        # names the article, so SQLite draws again for each one).
        conn.execute(
            f"INSERT INTO article_texts (article_id, body) "
            f"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {high}) "
            "SELECT a.id, (SELECT group_concat(p.s, ' ') FROM n JOIN pool p "
            f"ON p.id = abs(random() + 0 * a.id) % {POOL} + 1 "
            f"WHERE n.i <= {low} + a.id % {high - low + 1}) "
            "FROM articles a WHERE a.id BETWEEN ? AND ?",
            (ids[0], ids[-1]),
        )
        conn.execute("COMMIT")
    started = time.perf_counter()
    for start in range(1, count + 1, chunk):
        conn.execute("BEGIN")
        for table, (columns, expression) in stored_articles.INDEXES.items():
            conn.execute(
                f"INSERT INTO {table} ({columns}) {expression} WHERE a.id BETWEEN ? AND ?",
                (start, start + chunk - 1),
            )
        conn.execute("COMMIT")
    indexing = time.perf_counter() - started
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return indexing


def sizes(path: Path, count: int) -> str:
    """Database size per 1,000 articles, and the share of each part."""
    conn = sqlite3.connect(path)
    total = path.stat().st_size
    parts = {"articles (headline, summary, tags)": 0, "texts": 0, "search indexes": 0, "other": 0}
    text = conn.execute("SELECT sum(length(CAST(body AS BLOB))) FROM article_texts").fetchone()[0]
    try:
        for name, size in conn.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name"):
            if name.startswith(("articles_fts", "articles_about")):
                parts["search indexes"] += size
            elif name in ("articles", "sqlite_autoindex_articles_1"):
                parts["articles (headline, summary, tags)"] += size
            elif name == "article_texts":
                parts["texts"] += size
            else:
                parts["other"] += size
    except sqlite3.OperationalError:
        parts = {}
    conn.close()
    per = 1000 / count
    lines = [
        f"database: {total / 2**20:,.0f} MiB, {total * per / 2**20:.2f} MiB per 1,000 articles"
    ]
    lines += [f"  {name}: {size * per / 2**20:.2f} MiB per 1,000" for name, size in parts.items()]
    lines.append(f"  (the texts' own bytes: {text * per / 2**20:.2f} MiB per 1,000; stored once)")
    return "\n".join(lines)


async def ingest_cost(conn: object, corpus: Corpus, first_id: int) -> str:
    """ms per article for storage.articles.upsert_many, with its text and without."""
    rng = corpus.rng
    results = []
    for with_text in (False, True):
        batch = []
        for n in range(INGEST_SAMPLE):
            i = first_id + n + (INGEST_SAMPLE if with_text else 0)
            body = " ".join(corpus.text_sentence() for _ in range(rng.randint(*BODY_SENTENCES)))
            batch.append(
                Write(
                    Article(
                        key=f"ingest-{i}",
                        url=f"https://aze.media/ingest-{i}/",
                        title=sentence(rng, corpus.vocab, corpus.cum, 10),
                        summary=sentence(rng, corpus.vocab, corpus.cum, 50),
                        author="Bench Author",
                        published=datetime.fromtimestamp(1_700_000_000 + i, UTC),
                        sections=(rng.choice(CATALOGUE).slug,),
                        body=body if with_text else "",
                        tags=("Tag", "Other") if with_text else (),
                    ),
                    announced=True,
                )
            )
        started = time.perf_counter()
        for k in range(0, len(batch), 20):  # a poll stores a feed page at a time
            await stored_articles.upsert_many(conn, batch[k : k + 20], 1_700_000_000)  # type: ignore[arg-type]
        results.append((time.perf_counter() - started) * 1000 / len(batch))
    without, with_ = results
    return (
        f"indexing at ingest (upsert_many, pages of 20): {with_:.2f} ms per article with an "
        f"800-word text, {without:.2f} ms without"
    )


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
    parser.add_argument("--like-runs", type=int, default=10, help="LIKE scans per query kind")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    corpus = Corpus(rng)
    print(
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}"
    )

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        conn = await db.connect(path)
        await conn.close()
        started = time.perf_counter()
        indexing = generate(path, args.articles, corpus)
        print(
            f"generated {args.articles:,} articles in {time.perf_counter() - started:.1f} s; "
            f"building their index took {indexing:.1f} s "
            f"({indexing / args.articles * 1000:.2f} ms per article)"
        )
        print(sizes(path, args.articles))
        conn = await db.connect(path)

        async def inline(text: str) -> object:
            # What bot/handlers/inline.py does for one page.
            query = search.parse(text, CATALOGUE)
            tiers = search.match_tiers(query)
            found = await stored.find(conn, tiers, query.sections, limit=PAGE)
            unexplained = [
                a.id for a in found if a.id and not search.found_in(query, a.title, a.summary)
            ]
            if tiers and unexplained:
                await stored.snippets(conn, tiers[-1], unexplained)
            return found

        async def naive(text: str) -> object:
            query = search.parse(text, CATALOGUE)
            columns = ("a.title", "a.tags", "a.summary", "t.body")
            where = (
                " AND ".join(
                    "(" + " OR ".join(f"{c} LIKE ?" for c in columns) + ")" for _ in query.words
                )
                or "1"
            )
            params: list[object] = [f"%{w}%" for w in query.words for _ in columns]
            if query.sections:
                marks = ", ".join("?" for _ in query.sections)
                where += (
                    f" AND a.id IN (SELECT article_id FROM article_sections "
                    f"WHERE section IN ({marks}))"
                )
                params += query.sections
            async with conn.execute(
                "SELECT a.id, a.title, a.summary FROM articles a "
                f"LEFT JOIN article_texts t ON t.article_id = a.id WHERE {where} "
                f"ORDER BY a.published_at DESC LIMIT {PAGE}",
                params,
            ) as cur:
                return await cur.fetchall()

        pick = rng.choice
        vocab = corpus.vocab
        names = [s.name for s in CATALOGUE if len(s.name) > 5]
        kinds: dict[str, Callable[[], str]] = {
            "1 word": lambda: pick(TOPICAL),
            "1 rarer word": lambda: pick(vocab[2000:6000]),
            "3 words": lambda: " ".join(rng.sample(TOPICAL, 3)),
            "prefix": lambda: pick(TOPICAL)[: rng.randint(3, 5)],
            "#section + word": lambda: f"#{pick(CATALOGUE).slug} {pick(TOPICAL)}",
            "text-only word": lambda: pick(corpus.text_only[100:4000]),
            "tag word": lambda: pick(corpus.tags[:2000]).lower(),
            "section name": lambda: pick(names)[: rng.randint(4, 6)],
            "empty (newest)": lambda: "",
        }
        print(f"\n{'query':<18}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'LIKE p50':>10}{'ratio':>8}")
        for name, make in kinds.items():
            queries = [make() for _ in range(args.runs)]
            await timed(inline, queries[:10])  # warm the page cache
            fts = percentiles(await timed(inline, queries))
            like = percentiles(await timed(naive, queries[: args.like_runs]))
            print(
                f"{name:<18}{fts[0]:>9.2f}{fts[1]:>9.2f}{fts[2]:>9.2f}{like[0]:>10.1f}"
                f"{like[0] / fts[0]:>7.1f}x"
            )
        print()
        print(await ingest_cost(conn, corpus, args.articles + 1))

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

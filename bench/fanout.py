"""Delivery benchmarks: enqueue time, dispatch throughput vs the naive PTB loop, limit fidelity,
peak RSS with 100,000 pending rows.  Run: uv run python bench/fanout.py [--quick]"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import itertools
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from datetime import UTC
from pathlib import Path

import httpx
import psutil
from telegram import Bot
from telegram.ext import AIORateLimiter, ExtBot

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot import config, fanout, render, sections, send
from bot.domain import Article, ChatSettings
from storage import articles, db
from storage import sections as stored_sections
from tests.doubles.botapi_rules import busiest_second


async def seed(path: Path, chats: int, site: str) -> Article:
    """`chats` private chats subscribed to News, and one new News article (not yet fanned out)."""
    conn = await db.connect(path)
    await stored_sections.sync(conn, sections.builtin(site))
    now = int(time.time())
    await conn.execute("BEGIN")
    await conn.executemany(
        "INSERT INTO chats (id, kind, created_at, updated_at) VALUES (?, 'private', ?, ?)",
        [(1_000_000 + i, now, now) for i in range(chats)],
    )
    await conn.executemany(
        "INSERT INTO subscriptions (chat_id, thread_id, section, created_at) VALUES (?, 0, ?, ?)",
        [(1_000_000 + i, "news", now) for i in range(chats)],
    )
    await conn.execute("COMMIT")
    article = await articles.upsert(
        conn,
        Article(
            key="b",
            url="https://aze.media/b/",
            title="Bench",
            summary="S " * 80,
            sections=("news",),
        ),
        announced=True,
        now=now + 1,
    )
    await conn.close()
    return article


async def bench_enqueue(tmp: Path, n: int) -> float:
    path = tmp / "enqueue.db"
    article = await seed(path, n, "https://aze.media")
    conn = await db.connect(path)
    started = time.perf_counter()
    rows = await fanout.fan_out(conn, [article])
    elapsed = time.perf_counter() - started
    await conn.close()
    assert rows == n, rows
    print(f"enqueue: {n:,} subscribers -> {rows:,} rows in {elapsed * 1000:.0f} ms")
    return elapsed


TOKEN = "123456:bench"
_runs = itertools.count(1)
STUB = Path(__file__).resolve().parent / "botstub.py"


@contextlib.asynccontextmanager
async def stub(limits: str | None = None) -> AsyncIterator[str]:
    """The Bot API stub in its own process; yields its base URL."""
    args = [sys.executable, str(STUB), *(["--limits", limits] if limits else [])]
    proc = await asyncio.create_subprocess_exec(*args, stdout=asyncio.subprocess.PIPE)
    assert proc.stdout is not None
    port = int(await proc.stdout.readline())
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        proc.kill()
        await proc.wait()


async def stub_stats(url: str) -> dict[str, int]:
    async with httpx.AsyncClient() as client:
        stats: dict[str, int] = (await client.get(url + "stats")).json()
        return stats


def settings(base: str, path: Path, rate: float) -> config.Settings:
    return config.load(
        {
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_BASE_URL": base + "bot",
            "NEWSBOT_DATABASE": str(path),
            "NEWSBOT_RATE_LIMIT": str(rate),
            "NEWSBOT_PAID_BROADCAST": "true" if rate > 30 else "false",
        }
    )


@dataclasses.dataclass
class Run:
    seconds: float
    cpu: float  # CPU seconds of this (the bot's) process, every thread included


async def run_dispatcher(base: str, tmp: Path, n: int, rate: float | None) -> Run:
    """Our dispatcher delivering one article to `n` subscribed chats, from the outbox."""
    path = tmp / f"dispatch-{n}-{rate}-{next(_runs)}.db"
    article = await seed(path, n, "https://aze.media")
    conn = await db.connect(path)
    await fanout.fan_out(conn, [article])
    cfg = settings(base, path, rate or 30)
    async with send.sending_bot(cfg) as bot:
        dispatcher = send.Dispatcher(
            bot, conn, cfg, sections.builtin(cfg.site_url), asyncio.Event(), rate=rate
        )
        cpu, started = time.process_time(), time.perf_counter()
        await dispatcher.drain()
        run = Run(time.perf_counter() - started, time.process_time() - cpu)
    await conn.close()
    assert dispatcher.sent == n, dispatcher.sent
    return run


async def run_naive(base: str, n: int) -> Run:
    """The loop a PTB user writes: one awaited send after another behind AIORateLimiter
    (limits off), the same rendered message to every chat."""
    article = Article(key="b", url="https://aze.media/b/", title="Bench", summary="S " * 80)
    message = render.article_message(article, ChatSettings(), "en", section_names={}, tz=UTC)
    limiter: AIORateLimiter = AIORateLimiter(overall_max_rate=0, group_max_rate=0)
    async with ExtBot(TOKEN, base_url=base + "bot", rate_limiter=limiter) as bot:
        cpu, started = time.process_time(), time.perf_counter()
        for i in range(n):
            await bot.send_message(
                chat_id=2_000_000 + i,
                text=message.text,
                parse_mode="HTML",
                reply_markup=message.reply_markup,
                link_preview_options=message.link_preview,
            )
        return Run(time.perf_counter() - started, time.process_time() - cpu)


def figures(name: str, run: Run, n: int) -> str:
    return f"{name} {n / run.seconds:,.0f} msg/s, {run.cpu / n * 1000:.2f} CPU ms/msg"


async def main(quick: bool, reps: int) -> None:
    n_enqueue = 100_000
    n_throughput = 4_000 if quick else 20_000
    n_fidelity = 300 if quick else 3_000
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        await bench_enqueue(tmp, n_enqueue)

        async with stub() as base:
            ours = await run_dispatcher(base, tmp, n_throughput, None)
            naive = await run_naive(base, n_throughput)
        print(
            f"throughput (stub in its own process, rate limit off), {n_throughput:,} messages: "
            f"{figures('ours', ours, n_throughput)}; "
            f"{figures('naive PTB loop (AIORateLimiter, limits off too)', naive, n_throughput)}; "
            f"ours/naive {naive.seconds / ours.seconds:.1f}x"
        )

        for rate in (25, 30):
            for rep in range(1, reps + 1):
                async with stub(limits="30,1") as base:
                    run = await run_dispatcher(base, tmp, n_fidelity, rate)
                    stats = await stub_stats(base)
                achieved = n_fidelity / run.seconds
                print(
                    f"limit fidelity at {rate}/s, run {rep}/{reps}: {n_fidelity:,} private chats, "
                    f"stub enforcing 30/s and 1/s per chat: achieved {achieved:.2f} msg/s = "
                    f"{achieved / rate * 100:.1f}% of the limit, "
                    f"429s received: {stats['too_many']}"
                )

        async with stub(limits="1000,1") as base:
            run = await run_dispatcher(base, tmp, n_fidelity, 500)
            stats = await stub_stats(base)
        print(
            f"paid broadcasts at NEWSBOT_RATE_LIMIT=500: {n_fidelity:,} private chats, achieved "
            f"{n_fidelity / run.seconds:.0f} msg/s, busiest second at the stub "
            f"{busiest_second(sorted(t for _, t in stats['sends']))} sends, "
            f"429s received: {stats['too_many']}"
        )

        path = tmp / "rss.db"
        article = await seed(path, 100_000, "https://aze.media")
        conn = await db.connect(path)
        await fanout.fan_out(conn, [article])
        async with stub() as base:
            cfg = settings(base, path, 30)
            async with Bot(TOKEN, base_url=base + "bot") as bot:
                dispatcher = send.Dispatcher(
                    bot, conn, cfg, sections.builtin(cfg.site_url), asyncio.Event(), rate=None
                )
                task = asyncio.create_task(dispatcher.run())
                peak = 0
                for _ in range(40):
                    await asyncio.sleep(0.05)
                    peak = max(peak, psutil.Process().memory_info().rss)
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await conn.close()
        print(
            f"memory: peak RSS {peak / 2**20:.0f} MB with 100,000 pending deliveries "
            "(the bot's process; the stub runs in its own)"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="reduced scale (CI smoke run)")
    parser.add_argument("--reps", type=int, default=5, help="fidelity runs per rate")
    args = parser.parse_args()
    asyncio.run(main(args.quick, args.reps))

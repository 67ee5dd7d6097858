"""Delivery benchmarks: enqueue time, dispatch throughput vs the naive PTB loop, limit fidelity,
peak RSS with 100,000 pending rows.  Run: uv run python bench/fanout.py [--quick]"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import sys
import tempfile
import time
from pathlib import Path

import psutil
from telegram import Bot
from telegram.ext import AIORateLimiter, ExtBot

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot import config, fanout, sections, send
from bot.domain import Article
from storage import articles, db
from storage import sections as stored_sections
from tests.doubles.botapi import BotApiDouble


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


def settings(api: BotApiDouble, path: Path, rate: float) -> config.Settings:
    return config.load(
        {
            "TELEGRAM_BOT_TOKEN": api.token,
            "TELEGRAM_BASE_URL": api.base_url,
            "NEWSBOT_DATABASE": str(path),
            "NEWSBOT_RATE_LIMIT": str(rate),
        }
    )


async def run_dispatcher(api: BotApiDouble, tmp: Path, n: int, rate: float | None) -> float:
    """Seconds for our dispatcher to deliver `n` pushes to `n` chats."""
    path = tmp / f"dispatch-{n}-{rate}.db"
    article = await seed(path, n, "https://aze.media")
    conn = await db.connect(path)
    await fanout.fan_out(conn, [article])
    cfg = settings(api, path, rate or 30)
    async with Bot(api.token, base_url=api.base_url) as bot:
        dispatcher = send.Dispatcher(
            bot, conn, cfg, sections.builtin(cfg.site_url), asyncio.Event(), rate=rate
        )
        started = time.perf_counter()
        await dispatcher.drain()
        elapsed = time.perf_counter() - started
    await conn.close()
    assert dispatcher.sent == n, dispatcher.sent
    return elapsed


async def run_naive(api: BotApiDouble, n: int) -> float:
    """The loop a PTB user writes: one awaited send after another behind AIORateLimiter."""
    limiter: AIORateLimiter = AIORateLimiter(overall_max_rate=0, group_max_rate=0)
    async with ExtBot(api.token, base_url=api.base_url, rate_limiter=limiter) as bot:
        started = time.perf_counter()
        for i in range(n):
            await bot.send_message(chat_id=2_000_000 + i, text="<b>Bench</b>", parse_mode="HTML")
        return time.perf_counter() - started


def cpu() -> float:
    t = psutil.Process().cpu_times()
    return t.user + t.system


async def main(quick: bool) -> None:
    n_enqueue = 100_000
    n_throughput = 4_000 if quick else 20_000
    n_fidelity = 300 if quick else 3_000
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        await bench_enqueue(tmp, n_enqueue)

        async with BotApiDouble() as api:
            c0 = cpu()
            ours = await run_dispatcher(api, tmp, n_throughput, None)
            c1 = cpu()
            api.calls.clear()
            naive = await run_naive(api, n_throughput)
            c2 = cpu()
            api.calls.clear()
        print(
            f"throughput (stub in-process, rate limit off), {n_throughput:,} messages: "
            f"ours {n_throughput / ours:,.0f} msg/s "
            f"({(c1 - c0) / n_throughput * 1000:.2f} CPU ms/msg incl. stub), "
            f"naive PTB loop {n_throughput / naive:,.0f} msg/s "
            f"({(c2 - c1) / n_throughput * 1000:.2f} CPU ms/msg); ratio {naive / ours:.1f}x"
        )

        async with BotApiDouble() as api:
            api.enforce_limits(global_per_s=30, per_chat_per_s=1, group_per_min=20)
            elapsed = await run_dispatcher(api, tmp, n_fidelity, 30)
            achieved = n_fidelity / elapsed
            print(
                f"limit fidelity: {n_fidelity:,} private chats, stub enforcing 30/s: achieved "
                f"{achieved:.2f} msg/s = {achieved / 30 * 100:.1f}% of the limit, "
                f"429s received: {api.too_many_requests}"
            )

        path = tmp / "rss.db"
        article = await seed(path, 100_000, "https://aze.media")
        conn = await db.connect(path)
        await fanout.fan_out(conn, [article])
        async with BotApiDouble() as api:
            cfg = dataclasses.replace(settings(api, path, 30), database=path)
            async with Bot(api.token, base_url=api.base_url) as bot:
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
            "(whole bench process, including the Bot API stub)"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="reduced scale (CI smoke run)")
    asyncio.run(main(parser.parse_args().quick))

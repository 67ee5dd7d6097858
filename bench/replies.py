"""The shared send budget under readers: reply bursts, a fan-out with readers talking, and the
fair baseline (PTB's AIORateLimiter() with its defaults) in the same run against the same stub.

The whole bot runs in this process (PTB Application, handlers, dispatcher); the Bot API stub
(bench/botstub.py) runs in its own process and enforces 30/s and 1/s per chat like Telegram.
Run: uv run python bench/replies.py [--quick]"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from telegram.error import TelegramError
from telegram.ext import AIORateLimiter, ExtBot

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fanout import TOKEN, busiest_second, seed, stub, stub_stats

from bot import app, config, fanout, sections, send
from storage import db

LIMITS = "30,1"  # the stub refuses like Telegram: 30/s overall, 1/s per chat
RATE = 25.0  # the bot's default NEWSBOT_RATE_LIMIT
READERS = 5_000_000  # user ids of readers sending commands
SUBSCRIBERS = 1_000_000  # chat ids bench/fanout.seed subscribes


def bot_settings(base: str, path: Path) -> config.Settings:
    return config.load(
        {
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_BASE_URL": base + "bot",
            "NEWSBOT_DATABASE": str(path),
            "NEWSBOT_SITE_URL": "http://127.0.0.1:9",  # nothing to poll; the feeds fail fast
            "NEWSBOT_POLL_INTERVAL": "3600",
            "NEWSBOT_RATE_LIMIT": str(RATE),
        }
    )


async def inject(base: str, count: int, first: int) -> float:
    async with httpx.AsyncClient() as client:
        answer = await client.get(f"{base}inject/{count}/{first}")
        at: float = answer.json()["at"]
        return at


async def until(check: Callable[[], Awaitable[bool]], within: float) -> None:
    deadline = time.monotonic() + within
    while not await check() and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.25)


def sends_to(stats: dict[str, Any], lo: int, hi: int) -> list[float]:
    return sorted(t for chat, t in stats["sends"] if lo <= chat < hi)


async def reply_burst(tmp: Path, n: int) -> None:
    """`n` readers send one command each at the same instant (one getUpdates answer)."""
    async with stub(LIMITS) as base, app.running(bot_settings(base, tmp / f"burst{n}.db")):
        await asyncio.sleep(1.0)  # polling has started
        at = await inject(base, n, READERS)

        async def answered() -> bool:
            return len(sends_to(await stub_stats(base), READERS, READERS + n)) >= n

        await until(answered, n / RATE + 60)
        stats = await stub_stats(base)
    replies = sends_to(stats, READERS, READERS + n)
    last = max(replies) - at if replies else float("nan")
    print(
        f"reply burst {n:,}: {len(replies):,}/{n:,} replies delivered, "
        f"{stats['too_many']} x 429, last reply after {last:.1f} s "
        f"(target <= {n / RATE + 2:.1f} s = N/limit + 2 s), "
        f"busiest second {busiest_second(sorted(t for _, t in stats['sends']))} sends"
    )


async def mixed_load(tmp: Path, chats: int, readers: int) -> None:
    """A `chats`-chat fan-out while `readers` readers send a command each, spread over it."""
    path = tmp / "mixed.db"
    article = await seed(path, chats, "https://aze.media")
    conn = await db.connect(path)
    await fanout.fan_out(conn, [article])
    await conn.close()
    expected = chats / RATE
    asked: dict[int, float] = {}
    async with stub(LIMITS) as base, app.running(bot_settings(base, path)):
        for i in range(readers):
            await asyncio.sleep(expected / (readers + 1))
            asked[READERS + i] = await inject(base, 1, READERS + i)

        async def done() -> bool:
            stats = await stub_stats(base)
            return (
                len(sends_to(stats, SUBSCRIBERS, SUBSCRIBERS + chats)) >= chats
                and len(sends_to(stats, READERS, READERS + readers)) >= readers
            )

        await until(done, expected + 120)
        stats = await stub_stats(base)
    pushes = sends_to(stats, SUBSCRIBERS, SUBSCRIBERS + chats)
    first_reply = {}
    for chat, t in sorted(stats["sends"], key=lambda s: s[1]):
        if chat in asked and chat not in first_reply:
            first_reply[chat] = t
    latency = sorted(first_reply[c] - asked[c] for c in first_reply)
    p95 = latency[max(0, int(len(latency) * 0.95) - 1)] if latency else float("nan")
    span = pushes[-1] - pushes[0]
    push_rate = len(pushes) / span
    left = RATE - len(first_reply) / span
    print(
        f"mixed load: {len(pushes):,}/{chats:,} pushes and {len(first_reply)}/{readers} replies "
        f"delivered, {stats['too_many']} x 429, reply latency median "
        f"{statistics.median(latency):.2f} s, p95 {p95:.2f} s, max {latency[-1]:.2f} s; "
        f"push rate {push_rate:.2f}/s = {push_rate / left * 100:.1f}% of the {left:.2f}/s the "
        f"replies leave of {RATE:g}/s; busiest second "
        f"{busiest_second(sorted(t for _, t in stats['sends']))} sends"
    )


async def ours(tmp: Path, base: str, n: int) -> None:
    path = tmp / f"ours{n}.db"
    article = await seed(path, n, "https://aze.media")
    conn = await db.connect(path)
    await fanout.fan_out(conn, [article])
    cfg = bot_settings(base, path)
    async with send.sending_bot(cfg) as bot:
        dispatcher = send.Dispatcher(
            bot, conn, cfg, sections.builtin(cfg.site_url), asyncio.Event(), rate=RATE
        )
        await dispatcher.drain()
    await conn.close()


async def ptb_loop(base: str, n: int, together: bool) -> int:
    """What a PTB user writes: AIORateLimiter() with its defaults, then a loop (or gather)."""
    lost = 0
    async with ExtBot(TOKEN, base_url=base + "bot", rate_limiter=AIORateLimiter()) as bot:

        async def one(chat: int) -> None:
            nonlocal lost
            try:
                await bot.send_message(chat_id=chat, text="Bench <b>news</b>", parse_mode="HTML")
            except TelegramError:  # a 429 with max_retries=0 (the default) is raised: lost
                lost += 1

        if together:
            await asyncio.gather(*(one(SUBSCRIBERS + i) for i in range(n)))
        else:
            for i in range(n):
                await one(SUBSCRIBERS + i)
    return lost


async def baseline(tmp: Path, n: int) -> None:
    """Ours vs PTB's AIORateLimiter() defaults, `n` private chats, same stub, same run."""
    runs: dict[str, list[float]] = {}
    for name in ("ours (NEWSBOT_RATE_LIMIT=25)", "PTB loop", "PTB gather"):
        async with stub(LIMITS) as base:
            started = time.time()
            if name.startswith("ours"):
                await ours(tmp, base, n)
            else:
                await ptb_loop(base, n, together=name == "PTB gather")
            stats = await stub_stats(base)
        runs[name] = [t - started for t in sends_to(stats, SUBSCRIBERS, SUBSCRIBERS + n)]
        print(
            f"baseline, {n:,} chats, {name}: delivered {len(runs[name]):,}, "
            f"lost {n - len(runs[name]):,} ({stats['too_many']} x 429), "
            f"time to last {max(runs[name]):.1f} s"
        )
    mine = runs["ours (NEWSBOT_RATE_LIMIT=25)"]
    for name in ("PTB loop", "PTB gather"):
        theirs = runs[name]
        horizon = max(theirs)
        ours_then = sum(1 for t in mine if t <= horizon)
        print(
            f"  within {name}'s {horizon:.1f} s: ours delivered {ours_then:,}, it {len(theirs):,}"
            f" -> ratio {ours_then / max(1, len(theirs)):.2f}"
        )


async def main(quick: bool) -> None:
    logging.basicConfig(level=logging.ERROR)
    # The baseline's refused sends are counted in its line; AIORateLimiter would also log each
    # one with a traceback.
    logging.getLogger("telegram.ext.AIORateLimiter").setLevel(logging.CRITICAL)
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        for n in (100,) if quick else (100, 1_000):
            await reply_burst(tmp, n)
        await mixed_load(tmp, 300 if quick else 3_000, 10 if quick else 50)
        await baseline(tmp, 200 if quick else 1_000)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="reduced scale (CI smoke run)")
    asyncio.run(main(parser.parse_args().quick))

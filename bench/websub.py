"""Publish-to-first-push latency with WebSub pings, against polling alone, in the same run.

    uv run python bench/websub.py [--quick] [--posts 20]

The whole bot runs in this process at the default settings (poll interval printed) against the
WordPress double (tests/doubles/site.py), which pings the bot's /websub after each publish as
the "WebSub (FKA PubSubHubbub)" plugin does, and the Bot API double. Posts are published at
random moments (fixed seed; about 2 s apart); latency runs from the publish to the first
sendMessage/sendPhoto naming the post. The baseline (skipped by --quick) publishes the same way
with no hub configured, spread over two poll intervals: what a publisher gets from polling
alone. Both doubles share the bot's event loop and CPU, so the figures are on the slow side.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot import app, config, sections, websub
from storage import chats, db, subscriptions
from storage import sections as stored_sections
from tests.doubles.botapi import BotApiDouble, Call
from tests.doubles.site import SiteDouble

CHAT = 7001
TARGET_P95 = 3.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def first_pass_done(conn_path: Path, feeds: int) -> None:
    conn = await db.connect(conn_path)
    try:
        while True:
            async with conn.execute("SELECT count(*) FROM feeds WHERE initialized = 1") as cur:
                row = await cur.fetchone()
            if row and row[0] >= feeds:
                return
            await asyncio.sleep(0.05)
    finally:
        await conn.close()


def naming(call: Call, title: str) -> bool:
    return call.method in ("sendMessage", "sendPhoto") and title in str(call.params)


def pushed(botapi: BotApiDouble, title: str) -> float | None:
    """When the first message naming `title` reached Telegram (monotonic), if it has."""
    return next((c.at for c in botapi.calls if naming(c, title)), None)


async def run(
    posts: int, window: float, *, pings: bool, seed: int
) -> tuple[list[float], dict[str, float]]:
    """Latencies (s) of `posts` posts published at random moments within `window` seconds."""
    rng = random.Random(seed)
    moments = sorted(rng.uniform(0.0, window) for _ in range(posts))
    port = free_port()
    async with SiteDouble() as site, BotApiDouble() as botapi:
        with tempfile.TemporaryDirectory() as tmp:
            database = Path(tmp) / "bench.db"
            settings = config.load(
                {
                    "TELEGRAM_BOT_TOKEN": botapi.token,
                    "TELEGRAM_BASE_URL": botapi.base_url,
                    "NEWSBOT_SITE_URL": site.url,
                    "NEWSBOT_DATABASE": str(database),
                    "NEWSBOT_METRICS_PORT": str(port),
                    "NEWSBOT_LISTEN": "127.0.0.1",
                }
            )
            catalogue = sections.builtin(site.url)
            conn = await db.connect(database)
            await stored_sections.sync(conn, catalogue)
            # A reader per section: one reader of everything would get at most a message a
            # second (Telegram's per-chat limit), and posts found in the same pass would queue
            # behind each other, measuring that limit instead of the time to news.
            for i, section in enumerate(catalogue):
                await chats.ensure(conn, CHAT + i, "private")
                await subscriptions.add(conn, CHAT + i, [section.slug])
            await conn.close()
            if pings:
                site.hubs.append(f"http://127.0.0.1:{port}{websub.PATH}")
            slugs = [s.slug for s in catalogue]
            async with app.running(settings):
                await first_pass_done(database, sum(len(s.feeds) for s in catalogue))
                requests0, not_modified0 = len(site.requests), site.not_modified_count
                started = time.monotonic()
                published: dict[str, float] = {}
                for n, moment in enumerate(moments):
                    await asyncio.sleep(max(0.0, started + moment - time.monotonic()))
                    title = f"Bench {'ping' if pings else 'poll'} {n}: Şuşa–Ağdam road opens"
                    published[title] = time.monotonic()
                    await site.publish(title, [slugs[n % len(slugs)]])
                for title in published:
                    await botapi.wait_for(None, lambda c, t=title: naming(c, t), timeout=300)
                minutes = (time.monotonic() - started) / 60
                requests = len(site.requests) - requests0
                not_modified = site.not_modified_count - not_modified0
    latencies = [(pushed(botapi, t) or 0.0) - at for t, at in published.items()]
    figures = {
        "per_minute": requests / minutes,
        "share_304": not_modified / requests if requests else 0.0,
        "answers_204": float(site.hub_answers.count(204)),
    }
    return latencies, figures


def line(name: str, latencies: list[float], figures: dict[str, float]) -> str:
    p95 = statistics.quantiles(latencies, n=20, method="inclusive")[-1]
    return (
        f"{name:<22} p50 {statistics.median(latencies):6.2f} s  p95 {p95:6.2f} s  "
        f"max {max(latencies):6.2f} s  | site {figures['per_minute']:5.1f} req/min, "
        f"{figures['share_304']:.0%} 304"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="skip the polling-only baseline")
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
        f"; {args.posts} posts, poll interval {config.load({}).poll_interval:g} s"
    )
    interval = config.load({}).poll_interval
    # With pings the phase of the poll loop does not matter: posts come ~2 s apart. Without,
    # posts must fall at random phases of the loop: spread over two intervals.
    with_pings, figures = await run(args.posts, 2.0 * args.posts, pings=True, seed=11)
    print(line("with WebSub pings", with_pings, figures))
    p95 = statistics.quantiles(with_pings, n=20, method="inclusive")[-1]
    verdict = "meets" if p95 <= TARGET_P95 else "MISSES"
    print(f"  hub answered 204 to {figures['answers_204']:.0f} pings; {verdict} p95 <= 3 s")
    if not args.quick:
        polled, figures = await run(args.posts, 2 * interval, pings=False, seed=11)
        print(line("polling alone", polled, figures))


if __name__ == "__main__":
    asyncio.run(main())

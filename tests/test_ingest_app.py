"""The whole bot: its poll loop finds a new post on the site double and Telegram gets it once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

from bot import ingest, sections
from bot.config import Settings
from storage import chats, db, subscriptions
from storage import sections as stored_sections
from tests.doubles.botapi import BotApiDouble, Call
from tests.doubles.site import SiteDouble
from tests.harness import run_bot, settings_for

CHAT = 5001


async def passes_done(site: SiteDouble, n: int, timeout: float = 30.0) -> None:  # noqa: ASYNC109
    """Wait until `n` more passes are over: each starts by asking the site-wide feed."""
    target = site.hits("/feed/") + n + 1  # the pass under way, then n more begun
    async with asyncio.timeout(timeout):
        # The site double offers a request log, not an event.
        while site.hits("/feed/") < target:  # noqa: ASYNC110
            await asyncio.sleep(0.05)


def mentions(title: str) -> Callable[[Call], bool]:
    def check(call: Call) -> bool:
        return call.method in ("sendMessage", "sendPhoto") and title in str(call.params)

    return check


async def subscriber(settings: Settings, site: SiteDouble, followed: list[str]) -> None:
    """The bot's database as a reader left it: the site's sections, CHAT following `followed`."""
    conn = await db.connect(settings.database)
    await stored_sections.sync(conn, sections.builtin(site.url))
    await chats.ensure(conn, CHAT, "private")
    await subscriptions.add(conn, CHAT, followed)
    await conn.close()


async def test_new_post_reaches_a_subscriber_once_and_restart_sends_nothing(
    botapi: BotApiDouble, site: SiteDouble, tmp_path: Path
) -> None:
    settings = settings_for(botapi, site, tmp_path)
    await subscriber(settings, site, ["news", "energy"])

    title = "Azerbaijan and Georgia sign the Black Sea cable agreement"
    async with run_bot(settings):
        await passes_done(site, 1)  # the backlog is recorded, then everything answers 304
        assert not [c for c in botapi.calls if c.method in ("sendMessage", "sendPhoto")]
        site.add_post(title, ["energy"], image="/wp-content/uploads/2025/05/cable.jpg")
        await botapi.wait_for(None, mentions(title), timeout=30)
        await passes_done(site, 2)
    sent = [c for c in botapi.calls if mentions(title)(c)]
    # In news AND energy, subscribed to both: still one message.
    assert len(sent) == 1 and sent[0].chat_id == CHAT

    before = len(botapi.calls)
    async with run_bot(settings):
        await passes_done(site, 2)
    assert not [c for c in botapi.calls[before:] if c.method in ("sendMessage", "sendPhoto")]


async def test_a_poke_starts_a_pass_at_once_and_a_flood_of_pokes_coalesces(
    botapi: BotApiDouble, site: SiteDouble, tmp_path: Path
) -> None:
    settings = settings_for(botapi, site, tmp_path, NEWSBOT_POLL_INTERVAL=600)
    await subscriber(settings, site, ["science"])

    title = "Poked: the Academy of Sciences elects a new president"
    async with run_bot(settings) as application:
        rt = application.bot_data.runtime
        async with asyncio.timeout(30):
            rt.poke_poller()  # the second pass begins only once the first (the backlog) is over
            while site.hits("/feed/") < 2:  # noqa: ASYNC110 - the double logs, it does not signal
                await asyncio.sleep(0.05)
        site.add_post(title, ["science"])
        poked = time.monotonic()
        rt.poke_poller()
        (call,) = await botapi.wait_for(None, mentions(title), timeout=30)
        assert call.at - poked < 5  # a 10-minute interval, yet a pass (and a push) at once

        before = site.hits("/feed/")
        flood_started = time.monotonic()
        for _ in range(1000):
            rt.poke_poller()
        await asyncio.sleep(2.0)
        passes = site.hits("/feed/") - before
        assert 1 <= passes <= 1 + (time.monotonic() - flood_started) / ingest.MIN_PASS_GAP


async def test_two_posts_in_one_second_reach_telegram_once_each(
    botapi: BotApiDouble, site: SiteDouble, tmp_path: Path
) -> None:
    settings = settings_for(botapi, site, tmp_path)
    await subscriber(settings, site, ["culture", "diaspora"])

    first, second = "Same second, first: Novruz in Bakı", "Same second, second: Novruz abroad"
    async with run_bot(settings):
        await passes_done(site, 1)
        moment = site.clock()
        site.add_post(first, ["culture"], published=moment)
        await botapi.wait_for(None, mentions(first), timeout=30)
        # The bot has seen the site-wide Last-Modified of that second; the second post carries
        # the very same second (WP-Cron publishing two scheduled posts in one request).
        site.add_post(second, ["diaspora"], published=moment)
        await botapi.wait_for(None, mentions(second), timeout=30)
        await passes_done(site, 3)
    assert len([c for c in botapi.calls if mentions(first)(c)]) == 1
    assert len([c for c in botapi.calls if mentions(second)(c)]) == 1

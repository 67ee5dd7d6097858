"""Delivery end to end: the real PTB stack over HTTP against the Bot API double."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiosqlite
import pytest

from bot import app as bot_app
from bot import fanout, sections, send
from bot.domain import Article, ChatKind, ChatSettings
from bot.runtime import Runtime
from storage import articles, chats, db, deliveries, subscriptions
from storage import sections as stored_sections
from tests.doubles.botapi import BotApiDouble, Call
from tests.harness import env_for, run_bot, settings_for

_keys = itertools.count(1)
# Generous: a wait ends as soon as its condition holds, and CI runs on 2 busy cores.
WAIT = 15.0


async def subscribe(
    rt: Runtime, chat_id: int, kind: ChatKind, sections: Sequence[str], thread_id: int = 0
) -> None:
    await chats.ensure(db_of(rt), chat_id, kind, f"chat {chat_id}")
    await subscriptions.add(db_of(rt), chat_id, sections, thread_id)


async def publish(rt: Runtime, title: str, sections: Sequence[str], **kw: Any) -> Article:
    """Store a new article and hand it over exactly as the ingest loop does."""
    n = next(_keys)
    article = Article(
        key=f"post-{n}",
        url=f"https://aze.media/story-{n}/",
        title=title,
        summary=kw.pop("summary", f"Summary of story {n}."),
        author="Aysel",
        published=dt.datetime.now(dt.UTC),
        sections=tuple(sections),
        word_count=460,
        **kw,
    )
    stored = await articles.upsert(db_of(rt), article, announced=True, now=int(_now(rt)))
    await bot_app.hand_over(rt, [stored])
    return stored


def _now(rt: Runtime) -> float:
    dispatcher = dispatcher_of(rt)
    return dispatcher.clock() if dispatcher else dt.datetime.now().timestamp()


_apps: dict[int, Any] = {}
_conns: dict[int, aiosqlite.Connection] = {}


def db_of(rt: Runtime) -> aiosqlite.Connection:
    """The test's own connection: seeding must not share the bot's (ingest uses it too)."""
    return _conns[id(rt)]


def dispatcher_of(rt: Runtime) -> send.Dispatcher | None:
    return _apps[id(rt)].bot_data.dispatcher if id(rt) in _apps else None


@pytest.fixture
async def rt(botapi: BotApiDouble, tmp_path: Path) -> AsyncIterator[Runtime]:
    async with run_bot(settings_for(botapi, None, tmp_path)) as application:
        live = application.bot_data.runtime
        _apps[id(live)] = application
        assert dispatcher_of(live) is not None  # registered by startup, before the bot runs
        _conns[id(live)] = await db.connect(live.settings.database)
        try:
            yield live
        finally:
            await _conns.pop(id(live)).close()
            _apps.pop(id(live), None)


async def until(condition: Callable[[], bool], within: float = WAIT) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"condition still false after {within}s")
        await asyncio.sleep(0.01)


def pushes(botapi: BotApiDouble, chat_id: int | None = None) -> list[Call]:
    return [c for c in botapi.sent("sendMessage", chat_id) if is_push(c)]


def is_push(call: Call) -> bool:
    """An article push: its keyboard is the 'Read more' link (command replies have callbacks)."""
    return any("url" in b for b in call.buttons)


async def settled(rt: Runtime, within: float = WAIT) -> dict[str, int]:
    """Wait until no row is pending (held rows count as pending); return the status counts."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        counts = await deliveries.counts_since(db_of(rt), 0)
        dispatcher = dispatcher_of(rt)
        if counts["pending"] == 0 and dispatcher is not None and not dispatcher._tasks:
            return counts
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"outbox not drained: {counts}")
        await asyncio.sleep(0.02)


async def test_one_push_per_subscribed_destination_with_the_right_content(
    rt: Runtime, botapi: BotApiDouble
) -> None:
    botapi.chat(-1001234, "supergroup", is_forum=True)
    await subscribe(rt, 101, "private", ["news"])
    await subscribe(rt, 102, "private", ["news", "energy"])  # the article is in both
    await subscribe(rt, 103, "private", ["culture"])  # not subscribed to the article
    await subscribe(rt, -1001234, "supergroup", ["energy"], thread_id=7)
    article = await publish(rt, 'Baku <script>&"Aze"', ["news", "energy"])

    await botapi.wait_for("sendMessage", is_push, count=3)
    await settled(rt)
    assert sorted(int(c.chat_id or 0) for c in pushes(botapi)) == [-1001234, 101, 102], [
        (c.params, c.at) for c in pushes(botapi)
    ]
    assert pushes(botapi, 103) == []
    topic = pushes(botapi, -1001234)[0]
    assert topic.thread_id == 7
    call = pushes(botapi, 101)[0]
    assert call.ok and call.params["parse_mode"] == "HTML"
    assert call.result["text"].startswith('Baku <script>&"Aze"\nNews, Energy · Aysel · ')
    assert "2 min read" in call.result["text"]
    assert call.result["text"].endswith(article.summary)
    assert call.buttons == [{"text": "Read more", "url": article.url}]
    assert call.params["link_preview_options"]["url"] == article.url
    assert call.params["link_preview_options"]["prefer_large_media"] is True

    # The same article handed over again (it gained a section) is not sent twice.
    await bot_app.hand_over(rt, [article])
    await settled(rt)
    assert len(pushes(botapi)) == 3


async def test_subscribers_after_publication_are_skipped(rt: Runtime, botapi: BotApiDouble) -> None:
    article = await publish(rt, "Old news", ["news"])
    await db_of(rt).execute("UPDATE articles SET first_seen_at = first_seen_at - 60")
    await subscribe(rt, 201, "private", ["news"])
    await bot_app.hand_over(rt, [article])
    await settled(rt)
    assert pushes(botapi, 201) == []


async def test_429_waits_retry_after_then_delivers_once(rt: Runtime, botapi: BotApiDouble) -> None:
    await subscribe(rt, 301, "private", ["news"])
    await subscribe(rt, 302, "private", ["news"])
    botapi.fail("sendMessage", 429, retry_after=1, chat_id=301)
    await publish(rt, "Flood", ["news"])
    await botapi.wait_for("sendMessage", lambda c: c.chat_id == 301 and c.ok, timeout=WAIT)
    await settled(rt)
    tries = [c for c in botapi.of("sendMessage") if c.chat_id == 301]
    assert [c.ok for c in tries] == [False, True]
    assert tries[1].at - tries[0].at >= 1.0
    assert len(pushes(botapi, 302)) == 1  # the other chat was not frozen


async def test_403_stops_sends_and_start_reactivates(rt: Runtime, botapi: BotApiDouble) -> None:
    await subscribe(rt, 401, "private", ["news"])
    botapi.block(401)
    await publish(rt, "First", ["news"])
    await settled(rt)
    chat = await chats.get(db_of(rt), 401)
    assert chat is not None and not chat.active
    attempts = len([c for c in botapi.of("sendMessage") if c.chat_id == 401])
    assert attempts == 1
    await publish(rt, "Second", ["news"])
    await settled(rt)
    assert len([c for c in botapi.of("sendMessage") if c.chat_id == 401]) == attempts

    botapi.unblock(401)
    botapi.inject_message(401, "/start", user_id=401)
    await botapi.wait_for("sendMessage", lambda c: c.chat_id == 401 and c.ok)
    deadline = asyncio.get_running_loop().time() + WAIT
    while (chat := await chats.get(db_of(rt), 401)) is None or not chat.active:
        assert asyncio.get_running_loop().time() < deadline, "/start did not reactivate 401"
        await asyncio.sleep(0.02)
    since = len(botapi.calls)
    await publish(rt, "Third", ["news"])
    await botapi.wait_for("sendMessage", lambda c: c.chat_id == 401 and is_push(c), since=since)
    assert "Third" in pushes(botapi, 401)[0].params["text"], botapi.of("sendMessage")


async def test_migrated_group_is_followed_to_its_new_id(rt: Runtime, botapi: BotApiDouble) -> None:
    await subscribe(rt, -501, "group", ["news"])
    botapi.chat(-501, "group")
    botapi.chat(-100501, "supergroup")
    botapi.migrated[-501] = -100501
    await publish(rt, "Moved", ["news"])
    await botapi.wait_for("sendMessage", lambda c: c.chat_id == -100501 and c.ok)
    await settled(rt)
    assert await subscriptions.sections_of(db_of(rt), -100501) == {"news"}
    assert await chats.get(db_of(rt), -501) is None
    assert len(pushes(botapi, -100501)) == 1


async def test_topic_closed_drops_only_that_topic(rt: Runtime, botapi: BotApiDouble) -> None:
    botapi.chat(-100601, "supergroup", is_forum=True)
    await subscribe(rt, -100601, "supergroup", ["news"], thread_id=3)
    await subscribe(rt, -100601, "supergroup", ["news"], thread_id=4)
    botapi.fail("sendMessage", 400, "Bad Request: TOPIC_CLOSED", chat_id=-100601)
    await publish(rt, "Closed topic", ["news"])
    counts = await settled(rt)
    assert counts.get("sent") == 1
    chat = await chats.get(db_of(rt), -100601)
    assert chat is not None and chat.active


async def test_unparsable_html_is_resent_as_plain_text(rt: Runtime, botapi: BotApiDouble) -> None:
    await subscribe(rt, 701, "private", ["news"])
    botapi.fail("sendMessage", 400, "Bad Request: can't parse entities: bad tag", chat_id=701)
    await publish(rt, "A <b> & C", ["news"])
    await botapi.wait_for("sendMessage", lambda c: c.chat_id == 701 and c.ok)
    ok = [c for c in botapi.of("sendMessage") if c.chat_id == 701 and c.ok]
    assert len(ok) == 1 and "parse_mode" not in ok[0].params
    assert ok[0].params["text"].startswith("A <b> & C\n")


async def test_server_errors_retry_with_backoff(rt: Runtime, botapi: BotApiDouble) -> None:
    await subscribe(rt, 801, "private", ["news"])
    botapi.fail("sendMessage", 502, "Bad Gateway", chat_id=801)
    await publish(rt, "Flaky", ["news"])
    await botapi.wait_for("sendMessage", lambda c: c.chat_id == 801 and c.ok, timeout=WAIT)
    await settled(rt)
    tries = [c for c in botapi.of("sendMessage") if c.chat_id == 801]
    assert [c.ok for c in tries] == [False, True]
    assert tries[1].at - tries[0].at >= 0.9  # first back-off is 1-2 s


class FakeClock:
    """Wall time that only moves when the test says so."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


def hhmm(moment: float) -> str:
    return dt.datetime.fromtimestamp(moment, BAKU).strftime("%H:%M")


BAKU = ZoneInfo("Asia/Baku")


async def with_clock(rt: Runtime) -> FakeClock:
    dispatcher = dispatcher_of(rt)
    assert dispatcher is not None
    clock = FakeClock(time.time())
    dispatcher.clock = clock
    return clock


async def test_quiet_hours_hold_pushes_until_the_end_then_send_in_order(
    rt: Runtime, botapi: BotApiDouble
) -> None:
    clock = await with_clock(rt)
    await subscribe(rt, 901, "private", ["news"])
    await subscribe(rt, 902, "private", ["news"])
    start, end = hhmm(clock.now - 3600), hhmm(clock.now + 3600)
    await chats.update_settings(db_of(rt), 901, ChatSettings(quiet_start=start, quiet_end=end))
    await chats.update_settings(
        db_of(rt), 902, ChatSettings(quiet_start=start, quiet_end=end, quiet_silent=True)
    )
    await publish(rt, "Night one", ["news"])
    await publish(rt, "Night two", ["news"])
    await botapi.wait_for("sendMessage", lambda c: c.chat_id == 902 and c.ok, count=2, timeout=WAIT)
    assert all(c.params.get("disable_notification") is True for c in pushes(botapi, 902))
    assert pushes(botapi, 901) == []
    assert (await deliveries.counts_since(db_of(rt), 0))["pending"] == 2

    clock.now += 3600 + 61  # the quiet period is over
    rt.outbox_ready.set()
    await botapi.wait_for("sendMessage", lambda c: c.chat_id == 901 and c.ok, count=2, timeout=WAIT)
    titles = [c.params["text"].split("</b>")[0] for c in pushes(botapi, 901)]
    assert titles == ["<b>Night one", "<b>Night two"]
    assert all("disable_notification" not in c.params for c in pushes(botapi, 901))


async def test_digest_sends_one_message_at_the_chosen_local_time(
    rt: Runtime, botapi: BotApiDouble
) -> None:
    clock = await with_clock(rt)
    await subscribe(rt, 951, "private", ["news", "culture"])
    due = clock.now + 2 * 3600
    digest = ChatSettings(digest_time=hhmm(due))
    await chats.update_settings(db_of(rt), 951, digest)
    for title, section in (("Alpha <&>", "news"), ("Beta", "culture"), ("Gamma", "news")):
        await publish(rt, title, [section])
    await asyncio.sleep(0.3)
    assert botapi.sent("sendMessage", 951) == []

    clock.now = due + 30
    rt.outbox_ready.set()
    [call] = await botapi.wait_for("sendMessage", lambda c: c.chat_id == 951 and c.ok, timeout=WAIT)
    await settled(rt)
    text = call.params["text"]
    assert text.index("<b>News</b>") < text.index("Alpha &lt;&amp;&gt;") < text.index("Gamma")
    assert text.index("Gamma") < text.index("<b>Culture</b>") < text.index("Beta")
    assert len(botapi.sent("sendMessage", 951)) == 1
    assert (await deliveries.counts_since(db_of(rt), 0)).get("sent") == 3


async def test_kill_9_mid_fan_out_loses_nothing(botapi: BotApiDouble, tmp_path: Path) -> None:
    total = 500
    env = {**os.environ, **env_for(botapi, None, tmp_path), "NEWSBOT_RATE_LIMIT": "1000"}
    env["NEWSBOT_PAID_BROADCAST"] = "true"
    conn = await db.connect(env["NEWSBOT_DATABASE"])
    await stored_sections.sync(conn, sections.builtin(env["NEWSBOT_SITE_URL"]))
    for chat_id in range(10_001, 10_001 + total):
        await chats.ensure(conn, chat_id, "private")
        await subscriptions.add(conn, chat_id, ["news"])
    article = await articles.upsert(
        conn,
        Article(key="k", url="https://aze.media/k/", title="Big news", sections=("news",)),
        announced=True,
        now=int(time.time()) + 1,
    )
    assert await fanout.fan_out(conn, [article]) == total
    await conn.close()

    def served() -> list[Call]:
        return [c for c in botapi.sent("sendMessage") if is_push(c)]

    command = [sys.executable, "-m", "bot", "run"]
    first = await asyncio.create_subprocess_exec(
        *command, env=env, cwd=Path(__file__).parent.parent
    )
    try:
        await botapi.wait_for("sendMessage", is_push, count=150, timeout=60)
    finally:
        first.kill()  # SIGKILL: no cleanup, rows in flight stay pending
        await first.wait()
    before = len(served())
    assert before < total, "the kill must land mid fan-out"

    second = await asyncio.create_subprocess_exec(
        *command, env=env, cwd=Path(__file__).parent.parent
    )
    try:
        deadline = time.monotonic() + 60
        while {c.chat_id for c in served()} != set(range(10_001, 10_001 + total)):
            assert time.monotonic() < deadline, f"{len(served())} pushes after restart"
            await asyncio.sleep(0.05)
    finally:
        second.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(second.wait(), 30)
        except TimeoutError:
            second.kill()
            await second.wait()
            pytest.fail("newsbot did not exit within 30 s of SIGTERM")
    duplicates = len(served()) - total
    assert 0 <= duplicates <= send.MAX_IN_FLIGHT

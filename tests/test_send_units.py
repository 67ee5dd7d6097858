"""The sending units on their own, each with an injected clock: windows, pauses, outage,
budget, exactly-once confirmations, render cache, the PTB limiter hook, the rate ceiling."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from pathlib import Path
from typing import Any

import pytest
from telegram.error import RetryAfter, TimedOut

from bot import check, config, sections
from bot.budget import Budget
from bot.confirmations import Confirmations
from bot.domain import Article, ChatSettings, Pending
from bot.limiter import SharedLimiter, chat_of, counts
from bot.outage import Outage
from bot.pauses import FLOOD_WINDOW, Pauses
from bot.rendercache import RenderCache
from bot.throttle import Throttle
from storage import articles, broadcasts, chats, db, deliveries, subscriptions
from storage import sections as stored_sections
from tests.doubles.botapi_rules import busiest_second
from tests.test_cli_run import _run


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("rate", [25.0, 30.0, 7.0, 500.0, 1000.0])
def test_no_second_ever_holds_more_than_the_configured_rate(rate: float) -> None:
    clock = Clock()
    throttle = Throttle(rate, clock=clock)
    booked: list[float] = []
    chat = 0
    while clock.now < 1004.0:
        wait = throttle.global_delay()
        if wait > 0:
            clock.now += wait + 0.0007  # timers fire a little late
            continue
        chat += 1
        flight = throttle.record(chat, private=True)
        clock.now += 0.001  # Telegram answers a millisecond later
        throttle.landed(flight)
        booked.append(clock.now)
    assert busiest_second(booked) <= rate
    assert len(booked) / 4.0 >= rate * 0.95  # and the margin costs little


def test_a_send_still_in_flight_holds_the_window_until_its_answer() -> None:
    clock = Clock()
    throttle = Throttle(30, clock=clock, margin=0)
    slow = throttle.record(0, private=True)  # its request is stuck somewhere on the way
    for chat in range(1, 30):
        clock.now += 0.1 if chat % 3 == 0 else 0.0
        throttle.landed(throttle.record(chat, private=True))
    clock.now = 1002.0
    assert throttle.global_delay() > 0, "it may reach Telegram now, with 29 others in the window"
    throttle.landed(slow)
    assert throttle.global_delay() == pytest.approx(1.0)
    lost = throttle.record(99, private=True)  # granted, and its end is never reported
    clock.now += 5.0
    assert throttle.global_delay() == 0.0
    for chat in range(100, 129):
        throttle.landed(throttle.record(chat, private=True))
        clock.now += 0.11
    assert throttle.global_delay() > 0
    assert lost is not None
    clock.now = lost.start + 31.0
    assert throttle.global_delay() == 0.0, "a lost report frees the window after 30 s"


def test_a_429_pauses_one_chat_and_a_flood_pauses_everyone() -> None:
    clock = Clock()
    pauses = Pauses(clock)
    assert pauses.refused(1, 3.0) == "pause_chat"
    assert pauses.chat_delay(1) == 3.0 and pauses.chat_delay(2) == 0.0
    assert pauses.all_delay() == 0.0
    clock.now += 1
    assert pauses.refused(1, 3.0) == "pause_chat"  # the same chat again is no flood
    assert pauses.refused(2, 3.0) == "pause_chat"
    assert pauses.refused(3, 4.0) == "pause_all"  # three chats within the flood window
    assert pauses.all_delay() == 4.0
    clock.now += 4.0
    assert pauses.all_delay() == 0.0 and pauses.chat_delay(1) == 0.0
    clock.now += FLOOD_WINDOW + 1
    assert pauses.refused(4, 1.0) == "pause_chat"  # older refusals no longer count
    pauses.pause_chat(4, 0.5)  # a shorter pause never cuts a longer one
    assert pauses.chat_delay(4) == 1.0


def test_an_outage_is_several_chats_without_an_answer_and_probes_back_off_to_a_cap() -> None:
    clock = Clock()
    outage = Outage(clock, chats=3, failures=4, first=1.0, cap=8.0, probe_timeout=30.0)
    outage.unreachable(1)
    outage.unreachable(2)
    outage.answered()  # Telegram answered someone: those two were about their chats
    outage.unreachable(3)
    outage.unreachable(4)
    assert not outage.active and outage.gate() == 0.0
    outage.unreachable(5)
    assert outage.active
    probes = []
    for _ in range(6):
        wait = outage.gate()
        clock.now += wait
        assert outage.gate() == 0.0
        probes.append(wait)
        outage.granted()
        assert outage.gate() > 0, "one probe at a time"
        outage.unreachable(9)
    assert probes == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    clock.now += outage.gate()
    outage.granted()
    outage.answered()
    assert not outage.active and outage.gate() == 0.0


def test_one_chat_failing_again_and_again_is_an_outage_and_a_lost_probe_frees_the_gate() -> None:
    clock = Clock()
    outage = Outage(clock, chats=3, failures=4, first=1.0, cap=60.0, probe_timeout=30.0)
    for _ in range(4):
        outage.unreachable(1)
    assert outage.active
    clock.now += 1.0
    outage.granted()  # the probe never reports back (its task was cancelled)
    assert outage.gate() == 30.0
    clock.now += 30.0
    assert outage.gate() == 0.0


async def test_replies_go_before_pushes_but_never_beat_a_window() -> None:
    clock = Clock()
    budget = Budget(Throttle(10, clock=clock, margin=0))  # one send per 0.1 s
    await budget.acquire(1, True, urgent=False)  # the window is full now
    order: list[str] = []

    async def take(name: str, chat: int, urgent: bool) -> None:
        await budget.acquire(chat, True, urgent=urgent)
        order.append(name)

    tasks = [
        asyncio.create_task(take("push 2", 2, False)),
        asyncio.create_task(take("push 3", 3, False)),
        asyncio.create_task(take("reply 1", 1, True)),  # its chat had a send 0 s ago
        asyncio.create_task(take("reply 4", 4, True)),
    ]
    await asyncio.sleep(0.05)
    assert order == [] and budget.waiting() == 4
    for step in range(1, 4):
        clock.now += 0.1
        await _until(lambda n=step: len(order) == n)
    # reply 1 waits for its chat's 1 s window; the pushes go meanwhile, in order.
    assert order == ["reply 4", "push 2", "push 3"]
    clock.now += 1.0
    await asyncio.gather(*tasks)
    assert order == ["reply 4", "push 2", "push 3", "reply 1"]


async def test_a_cancelled_wait_leaves_the_queue_and_an_outage_lets_one_probe_through() -> None:
    clock = Clock()
    budget = Budget(Throttle(None, clock=clock), outage=Outage(clock, chats=2, first=1.0))
    budget.unreachable(1)
    budget.unreachable(2)
    assert budget.outage.active
    waiting = asyncio.create_task(budget.acquire(3, True, urgent=True))
    await asyncio.sleep(0.02)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert budget.waiting() == 0
    granted: list[int] = []

    async def take(chat: int) -> None:
        await budget.acquire(chat, True, urgent=False)
        granted.append(chat)

    tasks = [asyncio.create_task(take(c)) for c in (10, 11, 12)]
    clock.now += 1.0
    await _until(lambda: granted == [10])
    await asyncio.sleep(0.05)
    assert granted == [10], "one probe until it reports"
    budget.report(10, None, None)  # the probe got an answer: Telegram is back
    await asyncio.gather(*tasks)
    assert granted == [10, 11, 12]


async def _until(condition: Any, within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "condition never held"
        await asyncio.sleep(0.005)


async def test_a_confirmed_send_stays_done_while_the_database_write_fails() -> None:
    written: list[list[tuple[int, int]]] = []
    broken = True

    async def write(rows: list[tuple[int, int]]) -> None:
        await asyncio.sleep(0.01)
        if broken:
            raise OSError("disk I/O error")
        written.append(rows)

    log = Confirmations(write)
    log.confirm([7], 70)
    log.confirm([8, 9], 80)  # a digest: several rows, one message
    assert not await log.flush()
    assert 7 in log and 8 in log and 9 in log, "never sent again while unwritten"
    broken = False
    results = await asyncio.gather(log.flush(), log.flush(), log.flush())
    assert all(results)
    assert written == [[(7, 70), (8, 80), (9, 80)]]  # one group commit for every caller
    assert len(log) == 0 and 7 not in log


async def test_the_render_cache_reads_and_renders_each_article_once(tmp_path: Path) -> None:
    conn = await db.connect(tmp_path / "c.db")
    stored = await articles.upsert(
        conn,
        Article(key="a", url="https://aze.media/a/", title="Cached", sections=("news",)),
        announced=True,
        now=int(time.time()),
    )
    assert stored.id is not None
    cache = RenderCache(conn, {"news": "News"}, None, size=2)
    row = Pending(1, 5, 0, stored.id, None, 0, 0, "private", ChatSettings())
    first = await cache.message(row, dt_utc())
    await conn.execute("DELETE FROM article_sections")
    await conn.execute("DELETE FROM articles")
    assert await cache.message(row, dt_utc()) is first  # no second read, no second render
    russian = Pending(2, 6, 0, stored.id, None, 0, 0, "private", ChatSettings(language="ru"))
    assert (await cache.message(russian, dt_utc())) is not None  # the article was cached
    assert await cache.article(stored.id + 1) is None
    assert await cache.article(stored.id + 2) is None  # full: cleared, bounded
    assert await cache.article(stored.id) is None  # read again, and gone now
    await conn.close()


def dt_utc() -> dt.tzinfo:
    return dt.UTC


def test_what_counts_against_the_limits() -> None:
    for name in ("sendMessage", "editMessageText", "editMessageReplyMarkup", "copyMessage"):
        assert counts(name)
    for name in ("answerCallbackQuery", "answerInlineQuery", "getUpdates", "sendChatAction"):
        assert not counts(name)
    assert chat_of({"chat_id": 5}) == 5 and chat_of({"chat_id": "-100"}) == -100
    assert chat_of({"chat_id": "@channel"}) is None and chat_of({}) is None


async def test_the_limiter_resends_a_refused_reply_after_retry_after() -> None:
    budget = Budget(Throttle(30))
    limiter = SharedLimiter(budget, patience=10)
    calls: list[float] = []

    async def send() -> dict[str, Any]:
        calls.append(time.monotonic())
        if len(calls) == 1:
            raise RetryAfter(1)
        return {"ok": True}

    result = await limiter.process_request(send, (), {}, "sendMessage", {"chat_id": 42}, None)
    assert result == {"ok": True}
    assert len(calls) == 2 and calls[1] - calls[0] >= 1.0

    async def refused() -> dict[str, Any]:
        raise RetryAfter(5)

    impatient = SharedLimiter(budget, patience=1)
    with pytest.raises(RetryAfter):
        await impatient.process_request(refused, (), {}, "sendMessage", {"chat_id": 43}, None)

    async def down() -> dict[str, Any]:
        raise TimedOut()

    with pytest.raises(TimedOut):
        await limiter.process_request(down, (), {}, "sendMessage", {"chat_id": 44}, None)
    assert budget.outage._failures == 1


@pytest.mark.parametrize(
    ("env", "error"),
    [
        ({"NEWSBOT_RATE_LIMIT": "31"}, "NEWSBOT_RATE_LIMIT must be at most 30"),
        ({"NEWSBOT_RATE_LIMIT": "500"}, "NEWSBOT_PAID_BROADCAST"),
        (
            {"NEWSBOT_RATE_LIMIT": "1001", "NEWSBOT_PAID_BROADCAST": "true"},
            "NEWSBOT_RATE_LIMIT must be at most 1000",
        ),
    ],
)
def test_a_rate_above_telegrams_is_a_config_error(env: dict[str, str], error: str) -> None:
    with pytest.raises(config.ConfigError, match=error):
        config.load(env)


def test_paid_broadcasts_allow_up_to_1000() -> None:
    settings = config.load({"NEWSBOT_RATE_LIMIT": "500", "NEWSBOT_PAID_BROADCAST": "1"})
    assert settings.rate_limit == 500 and settings.paid_broadcast


async def test_check_and_run_refuse_a_rate_above_30_without_paid_broadcasts(
    tmp_path: Path,
) -> None:
    env = {"NEWSBOT_RATE_LIMIT": "500", "NEWSBOT_DATABASE": str(tmp_path / "x.db")}
    checks = await check.run_checks(env)
    assert not checks[0].ok and "NEWSBOT_RATE_LIMIT" in checks[0].detail
    code, err = await _run({**env, "TELEGRAM_BOT_TOKEN": "1:abc"}, tmp_path)
    assert code != 0
    assert "NEWSBOT_RATE_LIMIT must be at most 30" in err and "Traceback" not in err


async def test_a_broadcast_goes_to_the_topics_a_forum_reads_us_in(tmp_path: Path) -> None:
    conn = await db.connect(tmp_path / "b.db")
    await stored_sections.sync(conn, sections.builtin("https://aze.media"))
    await chats.ensure(conn, 1, "private")
    await subscriptions.add(conn, 1, ["news"])
    await chats.ensure(conn, 2, "private")  # no sections: still told, in the chat itself
    await chats.ensure(conn, -100, "supergroup")
    await subscriptions.add(conn, -100, ["news"], 7)
    await subscriptions.add(conn, -100, ["culture"], 7)
    await subscriptions.add(conn, -100, ["news"], 9)
    await chats.ensure(conn, -200, "supergroup")
    await subscriptions.add(conn, -200, ["news"], 0)  # subscribed from General
    broadcast = await broadcasts.create(conn, "Hello", 1)
    assert await deliveries.enqueue_broadcast(conn, broadcast) == 4  # chats, not rows
    async with conn.execute(
        "SELECT chat_id, thread_id FROM deliveries WHERE broadcast_id = ? ORDER BY 1, 2",
        (broadcast,),
    ) as cur:
        rows = [tuple(r) for r in await cur.fetchall()]
    assert rows == [(-200, 0), (-100, 7), (-100, 9), (1, 0), (2, 0)]
    await conn.close()


async def test_closing_the_budget_ends_its_pump_and_cancels_whoever_waits() -> None:
    budget = Budget(Throttle(30))
    await budget.acquire(7, True, urgent=True)  # the chat's window is now taken for a second
    waiting = asyncio.create_task(budget.acquire(7, True, urgent=True))
    await asyncio.sleep(0.05)
    assert budget.waiting() == 1 and budget._pump is not None and not budget._pump.done()
    await budget.close()
    assert budget._pump.done() and budget.waiting() == 0
    with pytest.raises(asyncio.CancelledError):
        await waiting

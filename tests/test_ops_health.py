"""/healthz and /metrics: the pure verdict, and the real bot serving them against the doubles."""

from __future__ import annotations

import asyncio
import socket
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from bot import app, health, metrics, sections
from bot.decide import Decider
from bot.domain import Article
from bot.fetch import Fetcher
from bot.health import Facts
from bot.ingest import Pipeline
from bot.lock import InstanceLock
from storage import articles, db, subscriptions
from storage import chats as stored_chats
from storage import sections as stored_sections
from tests.doubles.botapi import BotApiDouble
from tests.doubles.site import SiteDouble
from tests.harness import run_bot, settings_for

NOW = 1_750_000_000


def facts(**changes: object) -> Facts:
    base: dict[str, object] = {
        "now": NOW,
        "started_at": NOW - 3600,
        "poll_interval": 120.0,
        "database_error": None,
        "last_success": {"news": NOW - 100, "opinion": NOW - 200},
        "tasks": {"dispatcher": None},
        "receiving": True,
    }
    base.update(changes)
    return Facts(**base)  # type: ignore[arg-type]


def test_all_fresh_is_healthy() -> None:
    healthy, body = health.assess(facts())
    assert healthy
    assert body["status"] == "ok" and body["problems"] == []
    assert body["sections"]["news"] == {"last_success_at": NOW - 100, "fresh": True}
    assert body["tasks"] == {"dispatcher": "running"}


def test_section_stale_after_n_intervals() -> None:
    limit = health.STALE_INTERVALS * 120
    ok, _ = health.assess(facts(last_success={"news": NOW - limit}))
    assert ok
    healthy, body = health.assess(facts(last_success={"news": NOW - limit - 1}))
    assert not healthy
    assert body["sections"]["news"]["fresh"] is False
    assert body["problems"] == [f"section news: no successful poll for {limit + 1} s"]


def test_short_intervals_get_a_floor() -> None:
    assert health.stale_after(1.0) == health.STALE_FLOOR
    assert health.stale_after(600.0) == 3000


def test_never_polled_section_gets_grace_from_start_up_only() -> None:
    assert health.assess(facts(started_at=NOW - 10, last_success={"news": None}))[0]
    healthy, body = health.assess(facts(started_at=NOW - 3600, last_success={"news": None}))
    assert not healthy
    assert "section news" in body["problems"][0]


def test_database_and_dead_task_and_no_updates_are_problems() -> None:
    healthy, body = health.assess(
        facts(
            database_error="OperationalError: database is locked",
            tasks={"dispatcher": "RuntimeError: boom", "health": None},
            receiving=False,
        )
    )
    assert not healthy
    assert body["database"] == "OperationalError: database is locked"
    assert body["tasks"] == {"dispatcher": "RuntimeError: boom", "health": "running"}
    assert len(body["problems"]) == 3


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def seed(database: Path) -> None:
    """Readers and an outbox, written by another connection as the running bot would."""
    # The running bot writes too (feed results every second): wait for its lock like it would.
    with sqlite3.connect(database, timeout=30) as conn:
        conn.execute("PRAGMA foreign_keys = ON")
        for chat in (101, 102, 103):
            conn.execute(
                "INSERT INTO chats (id, kind, active, created_at, updated_at) "
                "VALUES (?, 'private', ?, 0, 0)",
                (chat, 0 if chat == 103 else 1),
            )
            conn.execute(
                "INSERT INTO subscriptions (chat_id, section, created_at) VALUES (?, 'news', 0)",
                (chat,),
            )
        conn.execute(
            "INSERT INTO subscriptions (chat_id, section, created_at) VALUES (101, 'opinion', 0)"
        )
        conn.execute(
            "INSERT INTO feeds (url, section, last_success_at) "
            "VALUES ('http://x/category/news/feed/', 'news', 1700000000)"
        )
    conn.close()


async def test_healthz_and_metrics_served_by_the_running_bot(
    botapi: BotApiDouble, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()
    settings = settings_for(botapi, None, tmp_path, NEWSBOT_METRICS_PORT=port, listen="127.0.0.1")
    monkeypatch.setattr(health, "WRITE_PROBE_SECONDS", 0.2)
    async with run_bot(settings) as application, httpx.AsyncClient() as client:
        base = f"http://127.0.0.1:{port}"
        # In a thread: a blocking wait here would stall the loop that must COMMIT the bot's writes.
        await asyncio.to_thread(seed, settings.database)

        reply = await client.get(f"{base}/healthz")
        body = reply.json()
        assert reply.status_code == 200, body
        assert reply.headers["content-type"] == "application/json"
        assert body["database"] == "ok"
        assert body["tasks"]["dispatcher"] == "running"
        assert body["tasks"]["poller"] == "running"
        assert body["tasks"]["retention"] == "running"  # a named task, as the other two
        # The stored poll is ancient, but this process started just now: grace, not alarm.
        assert body["sections"]["news"] == {"last_success_at": 1700000000, "fresh": True}

        metrics.delivery_sent(0.03)
        metrics.rate_limited()
        metrics.poll("news", ok=False)
        metrics.inline_query(0.002)
        text = (await client.get(f"{base}/metrics")).text
        assert "newsbot_active_chats 2.0" in text
        assert 'newsbot_subscriptions{section="news"} 2.0' in text
        assert 'newsbot_subscriptions{section="opinion"} 1.0' in text
        assert 'newsbot_outbox_rows{status="pending"} 0.0' in text
        assert 'newsbot_last_successful_poll_timestamp_seconds{section="news"} 1.7e+09' in text
        assert 'newsbot_send_latency_seconds_bucket{le="0.05"}' in text
        assert 'newsbot_deliveries_total{outcome="sent"}' in text
        assert "newsbot_telegram_429_total" in text
        assert 'newsbot_poll_failures_total{section="news"}' in text
        assert "newsbot_inline_query_latency_seconds_count" in text
        assert "process_resident_memory_bytes" in text

        # Another process holding the write lock: the probe must say the database is stuck.
        locker = sqlite3.connect(
            settings.database, isolation_level=None, check_same_thread=False, timeout=30
        )
        await asyncio.to_thread(locker.execute, "BEGIN EXCLUSIVE")
        try:
            reply = await client.get(f"{base}/healthz")
        finally:
            locker.execute("ROLLBACK")
            locker.close()
        assert reply.status_code == 503
        assert "database is locked" in reply.json()["database"]

        # The dispatcher dying is the silent failure an operator most needs to see.
        rt = application.bot_data.runtime
        dispatcher = next(t for t in rt.tasks if t.get_name() == "dispatcher")
        dispatcher.cancel()
        reply = await client.get(f"{base}/healthz")
        assert reply.status_code == 503
        assert reply.json()["tasks"]["dispatcher"] == "cancelled"
    # Shut down with the bot: nothing listens any more.
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient() as client:
            await client.get(f"http://127.0.0.1:{port}/healthz")


async def test_probe_reads_healthz_or_the_lock(
    botapi: BotApiDouble, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()
    settings = settings_for(botapi, None, tmp_path, NEWSBOT_METRICS_PORT=port)
    async with run_bot(settings):
        ok, detail = await asyncio.to_thread(health.probe, settings)
        assert ok, detail
        assert '"status": "ok"' in detail
    ok, detail = await asyncio.to_thread(health.probe, settings)
    assert not ok and "Connection refused" in detail

    no_port = settings_for(botapi, None, tmp_path)
    ok, detail = health.probe(no_port)
    assert not ok and "no running newsbot" in detail
    with InstanceLock(no_port.database):
        ok, detail = health.probe(no_port)
    assert ok and "is running" in detail


def sample(name: str, **labels: str) -> float:
    return metrics.REGISTRY.get_sample_value(name, labels) or 0.0


async def test_ingest_counts_polls_failures_and_new_articles(
    site: SiteDouble, tmp_path: Path
) -> None:
    conn = await db.connect(tmp_path / "newsbot.db")
    catalogue = sections.builtin(site.url)
    await stored_sections.sync(conn, catalogue)
    fetcher = Fetcher(site.url, connect_timeout=0.5, read_timeout=0.5, max_bytes=1024 * 1024)
    clock = [1_800_000_000.0]
    pipeline = Pipeline(conn, catalogue, fetcher, Decider(60.0), lambda: clock[0])
    before = {
        "polls": sample("newsbot_polls_total", section="culture"),
        "failures": sample("newsbot_poll_failures_total", section="culture"),
        "news_failures": sample("newsbot_poll_failures_total", section="news"),
        "ingested": sample("newsbot_articles_ingested_total"),
    }
    try:
        await pipeline.poll_once()  # backlog: polled, nothing new
        site.add_post("A brand new culture story", "culture")
        site.fault("culture", "500")
        clock[0] += 3600
        await pipeline.poll_once()
        site.clear_faults()
        clock[0] += 7200
        report = await pipeline.poll_once()
    finally:
        await fetcher.aclose()
        await conn.close()
    culture_feeds = sum(1 for f in report.feeds if f.section == "culture")
    assert sample("newsbot_polls_total", section="culture") - before["polls"] == 3 * culture_feeds
    assert sample("newsbot_poll_failures_total", section="culture") - before["failures"] == (
        culture_feeds
    )
    assert sample("newsbot_poll_failures_total", section="news") == before["news_failures"]
    assert sample("newsbot_articles_ingested_total") - before["ingested"] == len(report.new) == 1


async def test_dispatcher_counts_sent_failed_and_429s(botapi: BotApiDouble, tmp_path: Path) -> None:
    settings = settings_for(botapi, None, tmp_path)
    before = {
        "sent": sample("newsbot_deliveries_total", outcome="sent"),
        "failed": sample("newsbot_deliveries_total", outcome="failed"),
        "latency": sample("newsbot_send_latency_seconds_count"),
        "429": sample("newsbot_telegram_429_total"),
    }
    async with run_bot(settings) as application:
        rt = application.bot_data.runtime
        seeding = await db.connect(settings.database)  # our own connection, as a reader's /start
        try:
            for chat in (801, 802, 803):
                await stored_chats.ensure(seeding, chat, "private", f"chat {chat}")
                await subscriptions.add(seeding, chat, ["news"])
            article = Article(
                key="ops-1",
                url="https://aze.media/ops-1/",
                title="Metrics story",
                summary="Counted once.",
                author="Aysel",
                published=datetime.now(UTC),
                sections=("news",),
            )
            stored = await articles.upsert(seeding, article, announced=True, now=int(time.time()))
        finally:
            await seeding.close()
        botapi.fail("sendMessage", 429, retry_after=1, chat_id=801)
        botapi.fail(
            "sendMessage", 400, "Bad Request: wrong parameter action in request", chat_id=803
        )
        await app.hand_over(rt, [stored])
        await botapi.wait_for("sendMessage", lambda c: c.chat_id == 801 and c.ok)
        await botapi.wait_for("sendMessage", lambda c: c.chat_id == 802 and c.ok)
        # The sent row is marked right after Telegram's answer.
        await botapi.wait_until(
            lambda: sample("newsbot_deliveries_total", outcome="sent") - before["sent"] == 2
        )
    assert sample("newsbot_deliveries_total", outcome="sent") - before["sent"] == 2
    assert sample("newsbot_send_latency_seconds_count") - before["latency"] == 2
    assert sample("newsbot_telegram_429_total") - before["429"] == 1
    assert sample("newsbot_deliveries_total", outcome="failed") - before["failed"] == 1


async def test_inline_queries_are_counted_and_timed(botapi: BotApiDouble, tmp_path: Path) -> None:
    before = sample("newsbot_inline_queries_total")
    timed = sample("newsbot_inline_query_latency_seconds_count")
    async with run_bot(settings_for(botapi, None, tmp_path)):
        botapi.inject_inline_query(901, "climate")
        botapi.inject_inline_query(901, "")
        await botapi.wait_for("answerInlineQuery", count=2)
        # Counted right after the answer returns.
        await botapi.wait_until(lambda: sample("newsbot_inline_queries_total") - before == 2)
    assert sample("newsbot_inline_queries_total") - before == 2
    assert sample("newsbot_inline_query_latency_seconds_count") - timed == 2

"""The bot as its site's WebSub hub: pings from the WordPress plugin start a pass at once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiosqlite
import httpx
import pytest

from bot import ingest, pings, sections, websub
from bot.config import Settings
from storage import chats, db, subscriptions
from storage import sections as stored_sections
from storage import websub as stored_websub
from tests.doubles.botapi import BotApiDouble
from tests.doubles.site import SiteDouble
from tests.harness import run_bot, settings_for
from tests.test_ingest_app import mentions
from tests.test_ops_health import free_port

CHAT = 5001
HOSTS = frozenset({"aze.media"})
PLUGIN_FORM = (
    b"hub.mode=publish&hub.url=https%3A%2F%2Faze.media%2Ffeed%2F"
    b"&hub.url=https%3A%2F%2Faze.media%2Fcategory%2Fnews%2Fenergy%2Ffeed%2F"
)


# --- the decision, pure ---------------------------------------------------------------------


def test_the_plugins_publish_ping_is_accepted_with_204() -> None:
    ping = pings.read(PLUGIN_FORM, "", HOSTS)
    assert ping == pings.Ping(True, 204, "2 topic(s)")


@pytest.mark.parametrize(
    ("body", "query", "reason"),
    [
        (b"", "", "hub.mode is missing"),
        (b"hub.url=https%3A%2F%2Faze.media%2Ffeed%2F", "", "hub.mode is missing"),
        (b"hub.mode=subscribe&hub.topic=https://aze.media/feed/", "", "only publish"),
        (b"hub.mode=bogus&hub.url=https://aze.media/feed/", "", "only publish"),
        (b"hub.mode=publish", "", "hub.url is missing"),
        (b"hub.mode=publish&hub.url=", "", "hub.url is missing"),
        (b"hub.mode=publish&hub.url=https://evil.example/feed/", "", "no hub.url on aze.media"),
        (b"hub.mode=publish&hub.url=https://aze.media.evil.example/", "", "no hub.url on"),
        (b"hub.mode=publish&hub.url=http://[::1", "", "no hub.url on"),
        (b"a=1&" * 300, "", "more than 200 form fields"),
    ],
)
def test_malformed_or_foreign_pings_get_a_400_that_says_why(
    body: bytes, query: str, reason: str
) -> None:
    ping = pings.read(body, query, HOSTS)
    assert not ping.accepted and ping.status == 400
    assert reason in ping.reason


def test_websub_topic_name_query_string_www_and_default_port_are_understood() -> None:
    ping = pings.read(b"", "hub.mode=PUBLISH&hub.topic=https://www.aze.media:443/feed/", HOSTS)
    assert ping.accepted
    # A ping naming our feed among others is about our site; the others are never fetched.
    mixed = b"hub.mode=publish&hub.url=https://evil.example/&hub.url=http://aze.media/feed/"
    assert pings.read(mixed, "", HOSTS).accepted


def test_site_hosts_are_the_site_and_its_feeds_hosts_with_explicit_ports() -> None:
    catalogue = sections.builtin("http://127.0.0.1:8081")
    assert pings.site_hosts("https://www.aze.media", catalogue) == {"aze.media", "127.0.0.1:8081"}
    ping = pings.read(b"hub.mode=publish&hub.url=http://127.0.0.1:9999/feed/", "", HOSTS)
    assert not ping.accepted


async def test_the_hub_pokes_per_accepted_ping_but_writes_a_burst_once(tmp_path: Path) -> None:
    conn = await db.connect(tmp_path / "hub.db")
    pokes: list[int] = []
    hub = websub.Hub(conn, lambda: pokes.append(1))
    accepted = pings.Ping(True, 204, "2 topic(s)")
    try:
        hub.receive(accepted)
        async with asyncio.timeout(5):
            while True:  # the first ping is written at once
                if await stored_websub.summary(conn):
                    break
                await asyncio.sleep(0.01)
        for _ in range(99):
            hub.receive(accepted)
        hub.receive(pings.Ping(False, 400, "hub.mode is missing"))
        await asyncio.sleep(0.2)  # well inside FLUSH_SECONDS: the burst is still only tallied
        assert (await stored_websub.summary(conn))["accepted"].count == 1
        await hub.close()  # at shutdown, what is tallied is written
        recorded = await stored_websub.summary(conn)
    finally:
        await conn.close()
    assert len(pokes) == 100
    assert recorded["accepted"].count == 100
    assert recorded["rejected"].count == 1 and recorded["rejected"].detail == "hub.mode is missing"


# --- end to end: the running bot, the site double pinging like the plugin --------------------


async def first_pass_done(database: Path, feeds: int = 15, timeout: float = 30.0) -> None:  # noqa: ASYNC109
    """Wait until the poller recorded every section feed's backlog (its first pass)."""
    async with asyncio.timeout(timeout), aiosqlite.connect(database) as conn:
        while True:
            async with conn.execute("SELECT count(*) FROM feeds WHERE initialized = 1") as cur:
                row = await cur.fetchone()
            if row and row[0] >= feeds:
                return
            await asyncio.sleep(0.05)


async def subscribed(settings: Settings, site: SiteDouble, *slugs: str) -> None:
    conn = await db.connect(settings.database)
    await stored_sections.sync(conn, sections.builtin(site.url))
    await chats.ensure(conn, CHAT, "private")
    await subscriptions.add(conn, CHAT, list(slugs))
    await conn.close()


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
async def hub_settings(
    botapi: BotApiDouble, site: SiteDouble, tmp_path: Path, port: int
) -> AsyncIterator[Settings]:
    # Ten minutes between polls: anything sooner is the ping's doing.
    settings = settings_for(
        botapi,
        site,
        tmp_path,
        NEWSBOT_POLL_INTERVAL=600,
        NEWSBOT_METRICS_PORT=port,
        listen="127.0.0.1",
    )
    site.hubs.append(f"http://127.0.0.1:{port}{websub.PATH}")
    await subscribed(settings, site, "energy")
    yield settings


async def test_a_ping_leads_to_a_push_within_a_second_at_a_ten_minute_interval(
    botapi: BotApiDouble, site: SiteDouble, hub_settings: Settings
) -> None:
    title = "SOCAR and Masdar open a solar plant in Bilasuvar"
    async with run_bot(hub_settings):
        await first_pass_done(hub_settings.database)
        # The poller's pass-to-pass minimum has passed, so the ping's pass may start at once.
        await asyncio.sleep(ingest.MIN_PASS_GAP)
        started = time.monotonic()
        await site.publish(title, ["energy"])
        await botapi.wait_for(None, mentions(title), timeout=10)
        took = time.monotonic() - started
    assert site.hub_answers == [204]
    print(f"ping to push: {took:.3f} s")
    assert took <= 1.0, f"ping to push took {took:.2f} s"
    assert len([c for c in botapi.calls if mentions(title)(c)]) == 1


async def test_a_flood_of_1000_pings_costs_a_handful_of_passes(
    botapi: BotApiDouble, site: SiteDouble, hub_settings: Settings, port: int
) -> None:
    hub = f"http://127.0.0.1:{port}{websub.PATH}"
    form = {"hub.mode": "publish", "hub.url": site.feed_url("energy")}
    async with run_bot(hub_settings), httpx.AsyncClient() as client:
        await first_pass_done(hub_settings.database)
        await asyncio.sleep(ingest.MIN_PASS_GAP)
        # What one ping's pass asks of the site, nothing having changed.
        before = len(site.requests)
        assert (await client.post(hub, data=form)).status_code == 204
        await asyncio.sleep(ingest.MIN_PASS_GAP)
        await wait_quiet(site)
        per_pass = len(site.requests) - before
        gate = asyncio.Semaphore(20)

        async def forge() -> int:
            async with gate:
                return (await client.post(hub, data=form)).status_code

        before = len(site.requests)
        started = time.monotonic()
        answers = await asyncio.gather(*(forge() for _ in range(1000)))
        flood = time.monotonic() - started
        # The pass the last pings asked for: wait for it, so every request they caused counts.
        await asyncio.sleep(ingest.MIN_PASS_GAP)
        await wait_quiet(site)
        fetches = len(site.requests) - before
    print(f"1000 pings in {flood:.2f} s: {fetches} requests to the site, {per_pass} a pass")
    assert answers == [204] * 1000
    assert per_pass >= 1
    # Pass starts are MIN_PASS_GAP apart at least, from the first ping until the pass the last
    # one left pending: one a second while the flood lasted, plus that one.
    assert per_pass <= fetches <= (flood / ingest.MIN_PASS_GAP + 2) * per_pass, (fetches, flood)
    conn = await db.connect(hub_settings.database)
    try:
        recorded = await stored_websub.summary(conn)
    finally:
        await conn.close()
    assert recorded["accepted"].count == 1001 and "rejected" not in recorded


async def wait_quiet(site: SiteDouble, quiet: float = 0.5, timeout: float = 30.0) -> None:  # noqa: ASYNC109
    """Wait until the site got no request for `quiet` seconds: the poller is idle again."""
    async with asyncio.timeout(timeout):
        seen = -1
        while seen != len(site.requests):
            seen = len(site.requests)
            await asyncio.sleep(quiet)


async def test_a_ping_naming_another_host_fetches_nothing_from_it(
    botapi: BotApiDouble, site: SiteDouble, hub_settings: Settings
) -> None:
    title = "Baku–Tbilisi–Kars: a second daily freight train"
    async with SiteDouble() as other, run_bot(hub_settings):
        await first_pass_done(hub_settings.database)
        await asyncio.sleep(ingest.MIN_PASS_GAP)
        before = len(site.requests)
        post = site.add_post(title, ["energy"])
        # Only the other host: refused, and our own site is not polled for it either (a poke
        # would start a pass at once: the last one began more than MIN_PASS_GAP ago).
        assert await site.ping_hubs(post, topics=[other.feed_url(), other.link(post)]) == [400]
        await wait_quiet(site, quiet=ingest.MIN_PASS_GAP)
        assert len(site.requests) == before
        # Another host beside ours (as a forger might try): our feeds are polled, theirs never.
        assert await site.ping_hubs(post, topics=[other.feed_url("energy"), site.feed_url()]) == [
            204
        ]
        await botapi.wait_for(None, mentions(title), timeout=10)
        await wait_quiet(site)
        assert other.requests == []
    conn = await db.connect(hub_settings.database)
    try:
        recorded = await stored_websub.summary(conn)
    finally:
        await conn.close()
    assert recorded["accepted"].count == 1 and recorded["rejected"].count == 1
    assert "no hub.url on" in recorded["rejected"].detail


async def test_the_hub_endpoint_answers_get_and_oversized_bodies_like_a_web_server(
    botapi: BotApiDouble, site: SiteDouble, hub_settings: Settings, port: int
) -> None:
    hub = f"http://127.0.0.1:{port}{websub.PATH}"
    async with run_bot(hub_settings), httpx.AsyncClient() as client:
        assert (await client.get(hub)).status_code == 405
        # A valid ping padded past the limit: refused before any handler reads it.
        huge = f"hub.mode=publish&hub.url={site.feed_url()}&pad=".encode()
        huge += b"x" * websub.MAX_BODY
        try:
            status = (await client.post(hub, content=huge)).status_code
        except httpx.TransportError:
            status = 0  # tornado answered 400 and closed while the body was still being sent
        assert status in (400, 0)
    conn = await db.connect(hub_settings.database)
    try:
        assert await stored_websub.summary(conn) == {}
    finally:
        await conn.close()


async def backed_off(database: Path, timeout: float = 10.0) -> None:  # noqa: ASYNC109
    """Wait until the poller recorded a failure (and so a back-off) of some feed."""
    async with asyncio.timeout(timeout), aiosqlite.connect(database) as conn:
        while True:
            async with conn.execute("SELECT max(failures) FROM feeds") as cur:
                row = await cur.fetchone()
            if row and row[0]:
                return
            await asyncio.sleep(0.05)


async def test_a_ping_ends_the_back_off_after_an_outage_at_once(
    botapi: BotApiDouble, site: SiteDouble, hub_settings: Settings
) -> None:
    title = "The first offshore wind farm in the Caspian gets its turbines"
    async with run_bot(hub_settings):
        await first_pass_done(hub_settings.database)
        # The site goes down: its main feed and every category feed answer 500.
        site.fault("/feed/", "500")
        for category in site.categories:
            site.fault(category.slug, "500")
        await site.publish("Energy ministry reshuffle", ["energy"])
        await backed_off(hub_settings.database)
        # The bot now waits at least 2 × 600 s before asking again; the site is back.
        site.clear_faults()
        await asyncio.sleep(ingest.MIN_PASS_GAP)
        started = time.monotonic()
        await site.publish(title, ["energy"])
        await botapi.wait_for(None, mentions(title), timeout=10)
        took = time.monotonic() - started
    assert took <= 1.0, f"ping to push took {took:.2f} s"

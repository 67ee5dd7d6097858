"""`newsbot check`: can this configuration run? Config, database, Bot API, every section's feed.

Also what the site offers (a site-wide feed, the REST API) and whether WebSub pings arrive.

Each check ends as one OK/ERROR line; the token never appears in any of them.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import TextIO

import httpx

from bot import config, logs, sections
from bot.config import ConfigError, Settings
from bot.decide import site_feed_url
from bot.domain import FeedState, FetchResult, Pings, Section
from bot.fetch import Fetcher
from bot.parse import FeedError, is_json, parse_rest_posts
from storage import db, feeds, websub

_FEED_ROOT = re.compile(rb"<(?:rss|feed|rdf:RDF)[\s>]")


@dataclass(frozen=True, slots=True)
class Check:
    """The outcome of one check."""

    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        """The report line, e.g. `OK    database: schema version 3 (newsbot.db)`."""
        return f"{'OK' if self.ok else 'ERROR':<5} {self.name}: {self.detail}"


def bot_api_verdict(base_url: str, status: int, payload: object) -> Check:
    """What a getMe answer says about the token and the base URL."""
    name = "bot api"
    body = payload if isinstance(payload, dict) else {}
    if status in (401, 404) or body.get("error_code") in (401, 404):
        return Check(
            name,
            False,
            f"the token was rejected ({status} {body.get('description', 'Unauthorized')}); "
            "check TELEGRAM_BOT_TOKEN (@BotFather's /token shows it again)",
        )
    if not body:
        return Check(
            name,
            False,
            f"{base_url} answered HTTP {status} without a Bot API reply; check TELEGRAM_BASE_URL",
        )
    result = body.get("result")
    if body.get("ok") is True and isinstance(result, dict):
        return Check(
            name, True, f"@{result.get('username', '?')} (id {result.get('id')}) via {base_url}"
        )
    return Check(
        name, False, f"{base_url} answered {status}: {body.get('description', 'no description')}"
    )


def feed_verdict(section: Section, result: FetchResult) -> Check:
    """Whether a section's first feed answered with something that looks like a feed."""
    name = f"feed {section.slug}"
    if result.error:
        return Check(name, False, f"{result.url}: {result.error}")
    if is_json(result.body, result.content_type):
        try:
            posts = len(parse_rest_posts(result.body, section.slug))
        except FeedError as exc:
            return Check(name, False, f"{result.url}: HTTP {result.status} but {exc}")
        return Check(name, True, f"{result.url} (HTTP {result.status}, REST, {posts} posts)")
    if not _FEED_ROOT.search(result.body[:4096]):
        kind = result.content_type or "unknown type"
        return Check(name, False, f"{result.url}: HTTP {result.status} but not RSS/Atom ({kind})")
    return Check(name, True, f"{result.url} (HTTP {result.status}, {len(result.body)} bytes)")


async def check_database(settings: Settings) -> Check:
    """Read the database the bot would use, read-only: a check never creates or migrates it."""
    path = settings.database
    if not path.exists():
        return Check(
            "database",
            True,
            f"{path} does not exist yet; `newsbot run` or `newsbot poll --once` creates it",
        )
    try:
        conn = await db.connect_read_only(path)
    except db.SchemaTooNew as exc:
        return Check("database", False, str(exc))
    except (sqlite3.Error, OSError) as exc:
        return Check("database", False, f"cannot open {path}: {exc}")
    try:
        version = await db.schema_version(conn)
    finally:
        await conn.close()
    if version < db.latest_version():
        return Check(
            "database",
            True,
            f"schema version {version} ({path}); `newsbot run` will migrate it to "
            f"{db.latest_version()}",
        )
    return Check("database", True, f"schema version {version} ({path})")


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{int(seconds)} s"
    if seconds < 7200:
        return f"{int(seconds // 60)} min"
    return f"{seconds / 3600:.1f} h"


def health_detail(state: FeedState, now: float) -> str:
    """One line on how the poll loop last fared with a feed."""
    return f"{state.url}: {_history(state, now)}"


def _history(state: FeedState, now: float) -> str:
    if state.last_fetch_at is None:
        return "not polled yet"
    success = (
        f"last success {_duration(now - state.last_success_at)} ago"
        if state.last_success_at
        else "never fetched successfully"
    )
    if not state.failures:
        return success
    retry = max(0.0, state.next_fetch_at - now)
    return (
        f"{state.failures} failure(s) in a row, last error: {state.last_error}; "
        f"{success}; next try in {_duration(retry)}"
    )


def with_poll_history(live: Check, state: FeedState | None, now: float) -> Check:
    """A feed's live check and what the poll loop last saw of it, as one line per feed."""
    if state is None or state.last_fetch_at is None:
        return live
    return Check(
        live.name,
        live.ok and state.failures == 0,
        f"{live.detail}; poll loop: {_history(state, now)}",
    )


async def poll_states(settings: Settings) -> list[FeedState]:
    """What the poll loop last saw of each feed, failing feeds first (read-only)."""
    if not settings.database.exists():
        return []
    try:
        conn = await db.connect_read_only(settings.database)
    except (db.SchemaTooNew, sqlite3.Error, OSError):
        return []  # check_database has reported it already
    try:
        if await db.schema_version(conn) < 1:
            return []
        return await feeds.health(conn)
    finally:
        await conn.close()


def poll_health(states: Sequence[FeedState], skip: Collection[str], now: float) -> list[Check]:
    """A line for each polled feed whose URL is not in `skip` (those get a feed line)."""
    return [
        Check(f"poll {s.section}", s.failures == 0, health_detail(s, now))
        for s in states
        if s.url not in skip
    ]


async def check_bot_api(settings: Settings) -> Check:
    """getMe with the configured token and base URL."""
    try:
        token = settings.require_token()
    except ConfigError as exc:
        return Check("bot api", False, str(exc))
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.post(f"{settings.base_url}{token}/getMe")
    except httpx.HTTPError as exc:
        detail = f"cannot reach {settings.base_url}: {type(exc).__name__}: {exc}"
        return Check("bot api", False, logs.redact(detail, token))
    try:
        payload: object = response.json()
    except ValueError:
        payload = None
    verdict = bot_api_verdict(settings.base_url, response.status_code, payload)
    return Check(verdict.name, verdict.ok, logs.redact(verdict.detail, token))


async def check_feeds(settings: Settings, catalogue: Sequence[Section]) -> list[Check]:
    """GET each section's first feed URL, a few at a time."""
    with_feeds = [s for s in catalogue if s.feeds]
    async with Fetcher(settings.site_url, connect_timeout=5, read_timeout=10) as fetcher:
        results = await asyncio.gather(*(fetcher.get(s.feeds[0]) for s in with_feeds))
    return [feed_verdict(s, r) for s, r in zip(with_feeds, results, strict=True)]


def site_feed_verdict(result: FetchResult) -> Check:
    """Whether the site offers a site-wide feed (WordPress's /feed/)."""
    name = "site feed"
    if result.status == 0 or result.status >= 500:
        return Check(name, False, f"{result.url}: {result.error}")
    if result.ok and _FEED_ROOT.search(result.body[:4096]):
        return Check(name, True, f"{result.url}: offered (HTTP {result.status})")
    why = result.error or f"HTTP {result.status}, not RSS/Atom"
    return Check(name, True, f"{result.url}: not offered ({why}); the section feeds serve alone")


def rest_verdict(result: FetchResult) -> Check:
    """Whether the site answers WordPress's REST posts route."""
    name = "site rest api"
    if result.status == 0 or result.status >= 500:
        return Check(name, False, f"{result.url}: {result.error}")
    if result.ok and is_json(result.body, result.content_type):
        try:
            parse_rest_posts(result.body, "check")
        except FeedError:
            pass
        else:
            return Check(
                name, True, f"{result.url}: offered; new articles' gaps are filled from it"
            )
    why = result.error or f"HTTP {result.status}, not a list of posts"
    return Check(
        name,
        True,
        f"{result.url}: not offered ({why}); gaps are filled from article pages' Open Graph tags",
    )


def websub_verdict(settings: Settings, pings: Mapping[str, Pings], now: float) -> Check:
    """Whether WebSub publish pings have been received, and where they are taken."""
    name = "websub"
    if settings.metrics_port is None:
        where = "off: set NEWSBOT_METRICS_PORT to take publish pings at /websub"
    else:
        where = f"pings taken at :{settings.metrics_port}/websub"
    accepted = pings.get("accepted")
    if accepted is None:
        detail = f"{where}; none received yet (README: WebSub)"
    else:
        detail = (
            f"{where}; last ping {_duration(max(0.0, now - accepted.last_at))} ago "
            f"({accepted.count} in all)"
        )
    refused = pings.get("rejected")
    if refused is not None:
        detail += (
            f"; last refused {_duration(max(0.0, now - refused.last_at))} ago: {refused.detail}"
        )
    return Check(name, True, detail)


async def check_site(settings: Settings) -> list[Check]:
    """Ask for the site-wide feed and one REST post."""
    base = settings.site_url.rstrip("/")
    async with Fetcher(settings.site_url, connect_timeout=5, read_timeout=10) as fetcher:
        feed, rest = await asyncio.gather(
            fetcher.get(site_feed_url(settings.site_url)),
            fetcher.get(f"{base}/wp-json/wp/v2/posts?per_page=1", accept="application/json"),
        )
    return [site_feed_verdict(feed), rest_verdict(rest)]


async def check_websub(settings: Settings) -> list[Check]:
    """What the database remembers of WebSub pings (read-only; none before the first run)."""
    if not settings.database.exists():
        return [websub_verdict(settings, {}, time.time())]
    try:
        conn = await db.connect_read_only(settings.database)
    except (db.SchemaTooNew, sqlite3.Error, OSError):
        return []  # check_database has reported it already
    try:
        pings = await websub.summary(conn)
    except sqlite3.OperationalError:
        pings = {}  # a database from before pings were recorded: `run` migrates it
    finally:
        await conn.close()
    return [websub_verdict(settings, pings, time.time())]


async def run_checks(env: Mapping[str, str] | None = None) -> list[Check]:
    """Every check, in report order; a bad configuration stops the rest."""
    try:
        settings = config.load(env)
        catalogue = sections.load(settings.site_url, settings.sections_file)
    except ConfigError as exc:
        return [Check("config", False, str(exc))]
    # Each section's first feed is fetched live, and what the poll loop saw of it joins that
    # line: a failing feed is listed once, not once as polled and once as fetched.
    with_feeds = [s for s in catalogue if s.feeds]
    database = await check_database(settings)
    states = await poll_states(settings) if database.ok else []
    by_url = {s.url: s for s in states}
    site_feed = site_feed_url(settings.site_url)
    now = time.time()
    checks = [
        Check(
            "config",
            True,
            f"site {settings.site_url}, {len(catalogue)} sections, "
            f"poll every {settings.poll_interval:g} s",
        ),
        database,
        *poll_health(states, {s.feeds[0] for s in with_feeds} | {site_feed}, now),
        *await check_websub(settings),
        await check_bot_api(settings),
    ]
    feed, rest = await check_site(settings)
    checks += [with_poll_history(feed, by_url.get(site_feed), now), rest]
    fetched = await check_feeds(settings, catalogue)
    return checks + [
        with_poll_history(c, by_url.get(s.feeds[0]), now)
        for s, c in zip(with_feeds, fetched, strict=True)
    ]


def report(checks: Sequence[Check], out: TextIO) -> int:
    """Print the lines and a summary; the exit code (0 only when everything passed)."""
    for check in checks:
        print(check.line(), file=out)
    failed = sum(not c.ok for c in checks)
    if failed:
        print(f"{failed} of {len(checks)} checks failed", file=out)
        return 1
    print(f"all {len(checks)} checks passed", file=out)
    return 0

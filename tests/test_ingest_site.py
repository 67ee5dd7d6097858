"""The site-wide question end to end: WordPress's one-second validators, outages, section-only
sites. Real HTTP against the news-site double; the site and the bot share one injected clock, and
`Loop` stands in for poll_forever's timing (a pass per interval) so minutes pass in milliseconds.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path

import aiosqlite
import pytest

from bot import sections
from bot.config import load
from bot.decide import Decider, PollReport, site_feed_url
from bot.domain import Article, Section
from bot.fetch import Fetcher
from bot.ingest import Pipeline, pipeline_for
from storage import db, feeds
from storage import sections as stored_sections
from tests.doubles.site import SiteDouble
from tests.test_ingest_e2e import Clock

SETTINGS = load({"NEWSBOT_SITE_URL": "http://127.0.0.1:9"})
INTERVAL = SETTINGS.poll_interval  # the default settings: what a publisher would run


@dataclass
class Loop:
    """A bot polling the site at the default settings, one pass per interval of the clock."""

    site: SiteDouble
    conn: aiosqlite.Connection
    pipeline: Pipeline
    clock: Clock
    pushed: list[Article] = field(default_factory=list)

    async def step(self, seconds: float = INTERVAL, *, woken: bool = False) -> PollReport:
        """Let `seconds` pass, then run one pass; handed-over articles count as pushed."""
        self.clock.now += seconds
        report = await self.pipeline.poll_once(woken=woken)
        self.pushed.extend(report.handed_over)
        return report

    async def until_pushed(self, title: str, limit: float) -> float:
        """Seconds of clock time until an article with `title` is pushed (fails after `limit`)."""
        started = self.clock.now
        while not any(a.title == title for a in self.pushed):
            assert self.clock.now - started <= limit, f"{title!r} not pushed within {limit} s"
            await self.step()
        return self.clock.now - started

    def times_pushed(self, title: str) -> int:
        return sum(a.title == title for a in self.pushed)


async def make_loop(
    site: SiteDouble, tmp_path: Path, decider: Decider, catalogue: tuple[Section, ...]
) -> Loop:
    conn = await db.connect(tmp_path / "newsbot.db")
    await stored_sections.sync(conn, catalogue)
    fetcher = Fetcher(site.url, connect_timeout=0.5, read_timeout=0.5)
    clock = Clock()
    site.clock = clock.utc
    settings = replace(SETTINGS, site_url=site.url)
    pipeline = replace(
        pipeline_for(conn, catalogue, fetcher, decider, settings), clock=clock, unplaced=set()
    )
    loop = Loop(site, conn, pipeline, clock)
    await loop.step(0)  # the backlog is recorded
    await loop.step(60)  # and the validators settle
    return loop


@asynccontextmanager
async def running_loop(site: SiteDouble, tmp_path: Path) -> AsyncIterator[Loop]:
    """The Aze.Media catalogue polled against the site double, closed afterwards."""
    built = await make_loop(
        site, tmp_path, Decider.from_settings(SETTINGS), sections.builtin(site.url)
    )
    try:
        yield built
    finally:
        await built.pipeline.fetcher.aclose()
        await built.conn.close()


@pytest.fixture
async def loop(site: SiteDouble, tmp_path: Path) -> AsyncIterator[Loop]:
    async with running_loop(site, tmp_path) as built:
        yield built


@pytest.fixture
async def section_only(site: SiteDouble, tmp_path: Path) -> AsyncIterator[Loop]:
    """A site without a site-wide feed (/feed/ answers 404): its section feeds serve alone."""
    site.fault("/feed/", "404")
    async with running_loop(site, tmp_path) as built:
        yield built


async def test_default_interval_asks_one_cheap_question_a_pass(loop: Loop) -> None:
    site = loop.site
    before, before_304 = len(site.requests), site.not_modified_count
    for _ in range(12):
        report = await loop.step()
        assert report.new == () and {f.status for f in report.feeds} == {"skipped"}
        assert report.updated == 0  # a full answer of the same entries rewrites nothing
    asked = site.requests[before:]
    assert {r.path for r in asked} == {"/feed/"}
    # The site-wide answer vouches for the section feeds: /healthz sees them current.
    states = (await feeds.all_states(loop.conn)).values()
    assert {s.last_success_at for s in states} == {int(loop.clock.now)}
    per_minute = len(asked) / (12 * INTERVAL / 60)
    assert per_minute <= 8
    # Every other ask is unconditional (see Decider.refresh): half of them are 304s.
    assert site.not_modified_count - before_304 >= len(asked) // 2 - 1


@pytest.mark.parametrize("refresh", [0.0, 3600.0], ids=["default", "settle-rule-alone"])
async def test_two_posts_in_the_same_second_are_both_pushed_once(
    loop: Loop, refresh: float
) -> None:
    decider = replace(loop.pipeline.decider, refresh=refresh)
    loop.pipeline = replace(loop.pipeline, decider=decider)
    site = loop.site
    site.add_post("Bakı: first of two in one second", ["energy"])
    await loop.step(0.4)  # the bot asks within that very second: validators say "second S"
    site.add_post("Bakı: second of two in one second", ["economy"])
    assert site.post(max(site.posts)).published == site.post(max(site.posts) - 2).published
    await loop.until_pushed("Bakı: second of two in one second", limit=2 * INTERVAL)
    for _ in range(10):
        await loop.step()
    assert loop.times_pushed("Bakı: first of two in one second") == 1
    assert loop.times_pushed("Bakı: second of two in one second") == 1
    (second,) = [a for a in loop.pushed if a.title.startswith("Bakı: second")]
    assert set(second.sections) == {"news", "economy"}  # placed by category, parent included


async def test_backdated_post_moving_no_validator_is_pushed_once(loop: Loop) -> None:
    site = loop.site
    site.add_post("Today: culture news", ["culture"])
    await loop.until_pushed("Today: culture news", limit=2 * INTERVAL)
    await loop.step(60)  # validators settle on "today's news"
    # An import (or a REST client setting `date`): post_date and post_modified an hour ago.
    moment = site.clock() - timedelta(hours=1)
    site.add_post("Backdated: the 1918 republic parliament", ["history"], published=moment)
    waited = await loop.until_pushed("Backdated: the 1918 republic parliament", 2 * INTERVAL)
    assert waited <= 2 * INTERVAL
    for _ in range(10):
        await loop.step()
    assert loop.times_pushed("Backdated: the 1918 republic parliament") == 1


async def test_post_made_visible_late_by_a_scheduled_publish_is_pushed_once(loop: Loop) -> None:
    site = loop.site
    site.add_post("Live blog opens", ["news"])
    await loop.until_pushed("Live blog opens", limit=2 * INTERVAL)
    await loop.step(60)
    # Scheduled for five minutes ago and last edited an hour ago; WP-Cron publishes it only
    # now, changing neither date: the site-wide Last-Modified stays "live blog opens".
    post = site.add_post("Scheduled: COP29 follow-up", ["cop29"])
    site.posts[post.id] = replace(
        post,
        published=post.published - timedelta(minutes=5),
        modified=post.published - timedelta(hours=1),
    )
    await loop.until_pushed("Scheduled: COP29 follow-up", limit=2 * INTERVAL)
    for _ in range(10):
        await loop.step()
    assert loop.times_pushed("Scheduled: COP29 follow-up") == 1


async def test_site_outage_backs_off_as_a_whole_and_news_flows_soon_after(loop: Loop) -> None:
    site = loop.site
    site.fault("*", "500")
    before = len(site.requests)
    for _ in range(int(5 * 60 / INTERVAL)):  # five minutes down
        await loop.step()
    asked = site.requests[before:]
    assert {r.path for r in asked} == {"/feed/"}  # one probe, never fifteen feeds
    assert len(asked) <= 5 * 60 / 15  # polite: at most one ask per 15 s while down
    states = await feeds.all_states(loop.conn)
    assert all(s.failures == 0 for s in states.values() if s.section)  # no feed is to blame

    site.clear_faults()
    site.add_post("Back online: the news resumes", ["defense"])
    assert await loop.until_pushed("Back online: the news resumes", limit=30) <= 30


async def test_a_poke_ends_the_site_back_off_at_once(loop: Loop) -> None:
    site = loop.site
    site.fault("*", "timeout")
    for _ in range(6):
        await loop.step()
    site.clear_faults()
    site.add_post("Pinged: published and announced", ["science"])
    report = await loop.step(0.5, woken=True)
    assert [a.title for a in report.handed_over] == ["Pinged: published and announced"]


async def test_post_outside_the_catalogue_costs_one_look_not_one_a_pass(loop: Loop) -> None:
    site = loop.site
    site.add_post("Uncategorized: site maintenance tonight", ["uncategorized"])
    before = len(site.requests)
    for _ in range(12):
        await loop.step()
    looks = [r for r in site.requests[before:] if r.path != "/feed/"]
    assert len(looks) == 15  # every section feed once, to be sure the post is in none
    assert loop.pushed == []


async def test_site_without_a_site_wide_feed_works_through_its_section_feeds(
    section_only: Loop,
) -> None:
    loop, site = section_only, section_only.site
    before, started = len(site.requests), loop.clock.now
    site.add_post("Section feeds only: Shusha festival", ["culture"])
    waited = await loop.until_pushed("Section feeds only: Shusha festival", limit=130)
    assert waited <= 130  # the section feeds keep their two-minute pace
    for _ in range(30):
        await loop.step()
    asked = site.requests[before:]
    assert sum(r.path == "/feed/" for r in asked) == 0  # asked again only after an hour
    assert loop.times_pushed("Section feeds only: Shusha festival") == 1
    assert len(asked) / ((loop.clock.now - started) / 60) <= 8  # 15 feeds every 2 minutes
    site_state = (await feeds.all_states(loop.conn))[site_feed_url(site.url)]
    assert site_state.failures == 0 and site_state.last_error == "HTTP 404"


async def test_section_only_site_outage_is_one_fact_and_news_flows_soon_after(
    section_only: Loop,
) -> None:
    loop, site = section_only, section_only.site
    for _ in range(12):
        await loop.step()  # settled into section feeds every two minutes
    site.fault("*", "500")
    before = len(site.requests)
    for _ in range(int(6 * 60 / INTERVAL)):  # six minutes down
        await loop.step()
    asked = len(site.requests) - before
    assert asked <= 15 + 6 * 60 / 15  # one pass of feeds found it, then one ask per 20 s
    states = await feeds.all_states(loop.conn)
    assert all(s.failures == 0 for s in states.values() if s.section)

    site.clear_faults()
    site.fault("/feed/", "404")
    site.add_post("Section feeds only: back after the outage", ["gender"])
    waited = await loop.until_pushed("Section feeds only: back after the outage", limit=30)
    assert waited <= 30


async def test_a_site_that_gains_its_site_wide_feed_is_asked_it_within_the_hour(
    section_only: Loop,
) -> None:
    loop, site = section_only, section_only.site
    site.clear_faults()  # the publisher turns feeds on
    await loop.step(3600)
    site.add_post("Site-wide at last: Baku Energy Week", ["energy"])
    before = len(site.requests)
    await loop.until_pushed("Site-wide at last: Baku Energy Week", limit=2 * INTERVAL)
    for _ in range(6):
        await loop.step()
    assert not any(r.path.startswith("/category/") for r in site.requests[before:])
    assert loop.times_pushed("Site-wide at last: Baku Energy Week") == 1
    assert [a for a in loop.pushed if "Site-wide" not in a.title] == []  # no backlog

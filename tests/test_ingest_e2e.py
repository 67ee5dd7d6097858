"""The ingest pipeline end to end: real HTTP against the news-site double, real SQLite."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import aiosqlite
import pytest

from bot import ingest, sections
from bot.decide import Decider, FeedOutcome, PollReport
from bot.domain import Section
from bot.fetch import Fetcher
from bot.ingest import Pipeline
from bot.report import poll_lines
from storage import articles, db, feeds
from storage import sections as stored_sections
from tests.doubles.site import SiteDouble

INTERVAL = 60.0
SEED = Path("/work/shared/seed/aze-media-article-page.txt")


@dataclass
class Clock:
    """An injectable wall clock: tests move time instead of sleeping."""

    now: float = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now

    def utc(self) -> datetime:
        """The same moment as the site's clock sees it (whole seconds, as WordPress stores)."""
        return datetime.fromtimestamp(int(self.now), UTC)


@dataclass
class Rig:
    site: SiteDouble
    conn: aiosqlite.Connection
    fetcher: Fetcher
    clock: Clock
    catalogue: tuple[Section, ...]

    def pipeline(self, catalogue: tuple[Section, ...] | None = None) -> Pipeline:
        return Pipeline(
            self.conn,
            catalogue or self.catalogue,
            self.fetcher,
            Decider(INTERVAL),
            self.clock,
            site_url=self.site.url,
        )

    async def poll(self, catalogue: tuple[Section, ...] | None = None) -> PollReport:
        return await self.pipeline(catalogue).poll_once()

    async def announced(self) -> int:
        async with self.conn.execute("SELECT count(*) FROM articles WHERE announced = 1") as cur:
            row = await cur.fetchone()
        assert row is not None
        return int(row[0])


@pytest.fixture
async def rig(site: SiteDouble, tmp_path: Path) -> AsyncIterator[Rig]:
    conn = await db.connect(tmp_path / "newsbot.db")
    catalogue = sections.builtin(site.url)
    await stored_sections.sync(conn, catalogue)
    fetcher = Fetcher(site.url, connect_timeout=0.5, read_timeout=0.5, max_bytes=1024 * 1024)
    clock = Clock()
    site.clock = clock.utc  # one clock for the site and the bot: tests move time, never sleep
    try:
        yield Rig(site, conn, fetcher, clock, catalogue)
    finally:
        await fetcher.aclose()
        await conn.close()


async def test_fresh_database_records_backlog_and_announces_nothing(rig: Rig) -> None:
    report = await rig.poll()
    assert report.ok
    assert {f.status for f in report.feeds} == {"fetched"}
    assert report.new == () and report.handed_over == ()
    assert report.backlog == len(rig.site.posts) == await articles.count(rig.conn)
    assert await rig.announced() == 0
    # A post in a sub-section and its parent is one article with both sections.
    stored = await articles.get(rig.conn, 1)
    assert stored is not None
    assert all(s.initialized for s in (await feeds.all_states(rig.conn)).values())


async def test_new_post_appears_once_with_sections_clean_summary_and_image(rig: Rig) -> None:
    await rig.poll()
    post = rig.site.add_post(
        "Şuşa hosts “Xarıbülbül” festival &amp; more",
        ["energy"],
        image="/wp-content/uploads/2025/05/xaribulbul.jpg",
        caption="Photo: AZERTAC",
        caption_first=True,
    )
    report = await rig.poll()
    (article,) = report.new
    assert report.handed_over == report.new
    assert article.key == f"wp:{post.id}"
    # energy is a sub-section of news: the parent's feed repeats the post, no duplicate.
    assert article.sections == ("news", "energy")
    assert article.title == "Şuşa hosts “Xarıbülbül” festival & more"
    assert article.summary.startswith("Şuşa hosts “Xarıbülbül” festival & more.")
    assert "Photo" not in article.summary and "appeared first" not in article.summary
    assert not article.summary.endswith(("[…]", "[...]"))
    assert 200 <= len(article.summary) <= 400
    assert article.image_url == f"{rig.site.url}/wp-content/uploads/2025/05/xaribulbul.jpg"
    assert article.author == "AzeMedia"
    assert await articles.count(rig.conn) == len(rig.site.posts)

    # Validators from the second the post was saved prove nothing: the next ask is
    # unconditional, nothing repeats, and the settled validators then earn 304s.
    rig.clock.now += INTERVAL
    again = await rig.poll()
    assert again.new == () and again.handed_over == ()
    assert {f.status for f in again.feeds} == {"fetched"}
    rig.clock.now += INTERVAL
    assert {f.status for f in (await rig.poll()).feeds} == {"not_modified"}


async def test_post_in_two_categories_is_one_article_with_two_sections(rig: Rig) -> None:
    await rig.poll()
    rig.site.add_post("Diaspora youth camp opens in Xankəndi", ["culture", "diaspora"])
    report = await rig.poll()
    (article,) = report.new
    assert set(article.sections) == {"culture", "diaspora"}
    latest = await articles.latest(rig.conn, 1, sections=["diaspora"])
    assert latest[0].id == article.id


async def test_unchanged_feeds_answer_304_and_cost_no_parsing(rig: Rig) -> None:
    await rig.poll()
    before = rig.site.not_modified_count
    report = await rig.poll()
    assert rig.site.not_modified_count - before == len(rig.catalogue)
    assert report.backlog == 0 and report.updated == 0
    last = rig.site.requests_to("opinion")[-1]
    assert last.headers.get("If-None-Match")
    assert last.headers.get("User-Agent", "").startswith("newsbot/")


@pytest.mark.parametrize(
    "kind", ["500", "404", "timeout", "malformed", "huge", "redirect-loop", "html", "retry-after"]
)
async def test_every_fault_is_isolated_reported_and_healed(
    rig: Rig, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    await rig.poll()
    rig.site.fault("opinion", kind)
    opinion = rig.site.add_post("Opinion: the Middle Corridor needs a timetable", ["opinion"])
    energy = rig.site.add_post("Energy: SOCAR signs a solar deal", ["energy"])
    with caplog.at_level(logging.WARNING, logger="bot.ingest"):
        report = await rig.poll()
    assert not report.ok
    (failed,) = report.failed
    assert failed.section == "opinion" and failed.error
    assert [a.key for a in report.new] == [f"wp:{energy.id}"]
    state = (await feeds.all_states(rig.conn))[failed.url]
    assert state.failures == 1 and state.last_error == failed.error
    assert state.next_fetch_at >= rig.clock.now + INTERVAL
    warnings = [r for r in caplog.records if r.getMessage() == "feed failed"]
    assert len(warnings) == 1 and warnings[0].fields["section"] == "opinion"  # type: ignore[attr-defined]
    if kind == "retry-after":
        assert state.next_fetch_at >= rig.clock.now + rig.site.retry_after

    rig.site.clear_faults()
    rig.clock.now = state.next_fetch_at
    healed = await rig.poll()
    assert healed.ok
    assert [a.key for a in healed.new] == [f"wp:{opinion.id}"]
    state = (await feeds.all_states(rig.conn))[failed.url]
    assert state.failures == 0 and state.last_error is None


async def test_backoff_doubles_skips_the_feed_and_logs_once_per_step(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    await rig.poll()
    rig.site.fault("history", "500")
    url = rig.site.feed_url("history")
    waits = []
    with caplog.at_level(logging.WARNING, logger="bot.ingest"):
        for _ in range(3):
            await rig.poll()
            state = (await feeds.all_states(rig.conn))[url]
            waits.append(state.next_fetch_at - rig.clock.now)
            hits = rig.site.hits("history")
            rig.clock.now += INTERVAL  # one interval later the feed is still backing off
            skipped = await rig.poll()
            assert rig.site.hits("history") == hits
            assert any(f.url == url and f.status == "skipped" for f in skipped.feeds)
            rig.clock.now = state.next_fetch_at
    assert waits == [2 * INTERVAL, 4 * INTERVAL, 8 * INTERVAL]
    assert sum(r.getMessage() == "feed failed" for r in caplog.records) == 3


async def test_restart_reannounces_nothing(rig: Rig, tmp_path: Path) -> None:
    await rig.poll()
    rig.site.add_post("Karabakh: new village rebuilt in Ağdam", ["karabakh"])
    assert len((await rig.poll()).new) == 1
    rig.clock.now += INTERVAL
    await rig.poll()  # the validators settle
    await rig.conn.close()
    rig.conn = await db.connect(tmp_path / "newsbot.db")
    rig.clock.now += INTERVAL
    report = await rig.poll()
    assert report.new == () and report.handed_over == ()
    assert {f.status for f in report.feeds} == {"not_modified"}
    # Even without validators (a cache wiped, or the site changed its ETags) nothing repeats.
    await rig.conn.execute("UPDATE feeds SET etag = NULL, last_modified = NULL")
    report = await rig.poll()
    assert {f.status for f in report.feeds} == {"fetched"}
    assert report.new == () and report.handed_over == ()


async def test_edited_article_updates_store_and_search_but_is_not_pushed_again(rig: Rig) -> None:
    await rig.poll()
    post = rig.site.add_post("Baku hosts a forum", ["science"])
    (article,) = (await rig.poll()).new
    rig.site.edit_post(post.id, title="Bakı hosts the Global Media Forum")
    report = await rig.poll()
    assert report.new == () and report.handed_over == () and report.updated == 1
    stored = await articles.get(rig.conn, article.id or 0)
    assert stored is not None and stored.title == "Bakı hosts the Global Media Forum"
    async with rig.conn.execute(
        "SELECT rowid FROM articles_fts WHERE articles_fts MATCH 'baki global'"
    ) as cur:
        assert [r[0] for r in await cur.fetchall()] == [article.id]


async def test_announced_article_gaining_a_section_is_handed_over_again(rig: Rig) -> None:
    await rig.poll()
    post = rig.site.add_post("Gas exports to Europe grow", ["energy"])
    (article,) = (await rig.poll()).new
    rig.site.edit_post(post.id, categories=["energy", "economy"])
    report = await rig.poll()
    assert report.new == ()
    (again,) = report.handed_over
    assert again.id == article.id and set(again.sections) == {"news", "energy", "economy"}


async def test_section_added_later_records_its_backlog_silently(rig: Rig) -> None:
    without_history = tuple(s for s in rig.catalogue if s.slug != "history")
    await rig.poll(without_history)
    history_only = [p for p in rig.site.posts.values() if p.categories == ("history",)]
    assert history_only  # the fixture has a post only the history feed carries
    report = await rig.poll(rig.catalogue)
    assert report.new == () and report.handed_over == ()
    assert report.backlog == len(history_only)
    rig.site.add_post("History: the 1918 republic's parliament", ["history"])
    assert len((await rig.poll(rig.catalogue)).new) == 1


async def test_thin_feed_entry_is_completed_from_the_rest_post(rig: Rig) -> None:
    await rig.poll()
    post = rig.site.add_post(
        "Culture: Azerbaijani mugham at UNESCO",
        ["culture"],
        excerpt="Mugham, again.",
        feed_content=False,
        media=False,
        author="Ayşən Qasımova",
        image="/wp-content/uploads/2025/05/mugham.jpg",
        content=[
            "Azerbaijani mugham returned to the UNESCO stage in Paris on Friday, with three "
            "young performers from the Bakı Music Academy playing tar, kamancha and daf.",
            "The concert marked twenty years since mugham was inscribed on the list of the "
            "intangible cultural heritage of humanity, the organisers said.",
        ],
    )
    (article,) = (await rig.poll()).new
    assert article.summary.startswith("Azerbaijani mugham returned to the UNESCO stage")
    assert article.image_url and article.image_url.endswith("mugham.jpg")
    # One JSON answer had it all: the article page was not needed.
    assert rig.site.hits(f"/wp-json/wp/v2/posts/{post.id}") == 1
    assert rig.site.hits(rig.site.link(post).removeprefix(rig.site.url)) == 0


def seed_paragraphs() -> list[str]:
    """The saved article's paragraphs (its text rendering separates them by blank lines)."""
    text = SEED.read_text(encoding="utf-8")
    body = text[text.index("In order to protect") : text.index("Nikola Mikovic\nByline")]
    return [p.strip() for p in body.split("\n\n") if p.strip()][:6]


@pytest.mark.skipif(not SEED.exists(), reason="seed page not available")
async def test_real_article_text_through_the_rest_post_gives_a_clean_lead(rig: Rig) -> None:
    # The saved Aze.Media article as its REST post would carry it: caption above the text.
    paragraphs = seed_paragraphs()
    await rig.poll()
    rig.site.add_post(
        "Armenia is turning its back on Russia",
        ["opinion"],
        content=paragraphs,
        excerpt="Yerevan aims…",
        feed_content=False,
        image="/wp-content/uploads/2022/09/Pelosi-armenia.jpg",
        caption="US House Speaker Nancy Pelosi visits Yerevan. Photo: Nancy Pelosi / Twitter",
        caption_first=True,
        media=False,
    )
    (article,) = (await rig.poll()).new
    assert article.summary.startswith("In order to protect its own territorial integrity")
    assert article.summary.endswith("three million people.")
    assert article.image_url and article.image_url.endswith("Pelosi-armenia.jpg")


async def test_without_the_rest_api_the_page_meta_fills_image_and_description(rig: Rig) -> None:
    await rig.poll()
    post = rig.site.add_post(
        "Economy: a new free zone in Ələt",
        ["economy"],
        excerpt="The Alat Free Economic Zone opened its first plant, officials said on Monday.",
        feed_content=False,
        media=False,
        image="/wp-content/uploads/2025/05/alat.jpg",
    )
    rig.site.fault(f"/wp-json/wp/v2/posts/{post.id}", "404")
    (article,) = (await rig.poll()).new
    assert article.image_url == f"{rig.site.url}/wp-content/uploads/2025/05/alat.jpg"
    assert article.summary.startswith("The Alat Free Economic Zone opened its first plant")
    assert rig.site.hits(rig.site.link(post).removeprefix(rig.site.url)) == 1


def test_report_lines_for_poll_once() -> None:
    from bot.domain import Article

    report = PollReport(
        feeds=(FeedOutcome("opinion", "http://x/f/", "failed", "HTTP 500"),),
        new=(Article("wp:1", "http://x/a/", "Şuşa", sections=("news", "energy")),),
        backlog=1,
    )
    assert poll_lines(report) == [
        "news,energy\tŞuşa\thttp://x/a/",
        "recorded 1 existing article as already published (not pushed)",
        "FAILED\topinion\thttp://x/f/\tHTTP 500",
    ]
    assert poll_lines(PollReport()) == []
    down = FeedOutcome(ingest.SITE, "http://x/feed/", "failed", "HTTP 503")
    assert poll_lines(PollReport(site=down)) == ["FAILED\tsite\thttp://x/feed/\tHTTP 503"]

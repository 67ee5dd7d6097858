"""The ingest pipeline: ask the site, read what it cannot answer, store, hand over what is new.

One pass, as shell pseudocode (the decisions are the pure `Decider`, in bot/decide.py; the rest
are thin shells)::

    site down and backing off (no poke)      -> nothing is asked this pass
    fetch /feed/ $(decider.validators)       # one cheap question; unconditional when the
                                             # validators are too fresh or a refresh is due
    304            -> nothing changed
    no answer, 5xx -> decider.site_down: one wait for the whole site, capped; end of pass
    404 | html     -> decider.site_absent: section feeds it is, ask /feed/ again in an hour
    200            -> sightings += parse /feed/ | place by category names (Placement)
    for feed in decider.feeds_to_fetch(...):  # backlog, retry, unplaceable post or gap, sweep
        fetch feed -H "If-None-Match: $etag" -H "If-Modified-Since: $lm" &   # few in flight
    wait
    for result in results:
        304            -> state = decider.not_modified(state, result)      # no parsing at all
        error | html   -> state = decider.failed(state, reason); log once per back-off step
        200            -> sightings += parse feed | state = decider.fetched(state, result)
    stored = articles.by_keys(sightings)
    plans  = decider.plan(sightings, stored)    # new | backlog (first poll) | edited | gained
    for plan in plans | new | thin summary or no image:
        fetch REST post wp:<id> || fetch plan.url | og: tags   # the site fills the gaps
    articles.upsert_many(plans)                 # articles + sections + FTS, one transaction
    feeds.save(states)                          # validators only after the articles are safe
    hand_over(new + announced-that-gained-a-section)           # once, at the END of the pass
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import aiosqlite

from bot import extract, logs, metrics, summary
from bot.config import Settings
from bot.decide import (
    Decider,
    FeedOutcome,
    Placement,
    Plan,
    PollReport,
    Sighting,
    SiteAnswer,
    enrich,
    site_feed_url,
)
from bot.domain import Article, FeedState, FetchResult, Section, Write
from bot.fetch import Fetcher
from bot.parse import FeedError, label_key, parse_feed, parse_site_feed
from storage import articles, feeds

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger(__name__)

HandOver = Callable[[Sequence[Article]], Awaitable[None]]
FanOut = Callable[[aiosqlite.Connection, Sequence[Article]], Awaitable[int]]

UNPLACED_MEMORY = 5000
SITE = ""  # the `section` of the site-wide feed's state row: it belongs to no one section
MIN_PASS_GAP = 1.0  # seconds between the starts of two passes, however often the poller is poked
PAGE_ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1"


def _skipped(
    states: Mapping[str, FeedState], urls: Mapping[str, str], site: FeedOutcome
) -> PollReport:
    """A pass that asked nothing of the section feeds (the site is down or backing off)."""
    skipped = tuple(FeedOutcome(states[u].section, u, "skipped") for u in urls)
    return PollReport(feeds=skipped, site=site)


@dataclass(frozen=True, slots=True)
class SiteRead:
    """What one ask of the site-wide feed gave: the site's new state and the placed entries."""

    state: FeedState
    answer: SiteAnswer
    outcome: FeedOutcome
    sightings: tuple[Sighting, ...] = ()
    look: bool = False


@dataclass(frozen=True, slots=True)
class Pipeline:
    """ask the site -> fetch what it cannot answer -> parse -> store -> collect new."""

    conn: aiosqlite.Connection
    sections: tuple[Section, ...]
    fetcher: Fetcher
    decider: Decider
    clock: Callable[[], float] = time.time
    # The site-wide feed (None: section feeds only) and the site it speaks for.
    site_feed: str | None = None
    site_url: str = ""
    # Keys of site-wide entries that no section feed carried either (a category outside the
    # catalogue): remembered so such a post costs one look at the section feeds, not one a pass.
    unplaced: set[str] = field(default_factory=set)

    def feed_urls(self) -> dict[str, str]:
        """Feed URL -> section slug (a URL listed twice is polled once, for its first section)."""
        urls: dict[str, str] = {}
        for section in self.sections:
            for url in section.feeds:
                urls.setdefault(url, section.slug)
        return urls

    def category_keys(self) -> frozenset[str]:
        """Every section's name and slug as parse.label_key: a feed's <category> elements
        naming one are sections, the others are tags."""
        return frozenset(label_key(t) for s in self.sections for t in (s.name, s.slug, *s.aliases))

    async def poll_once(self, *, force: bool = False, woken: bool = False) -> PollReport:
        """One pass: the site-wide question first, then the section feeds it cannot answer for.

        `force` reads every feed; `woken` (a poke) ends the site's back-off.
        """
        now = self.clock()
        d = self.decider
        urls = self.feed_urls()
        probe = self.site_feed if self.site_feed not in urls else None
        rows = [*urls.items(), *([(probe, SITE)] if probe else [])]
        await feeds.ensure(self.conn, rows)
        states = await feeds.all_states(self.conn)
        placement = Placement.of(self.sections, self.site_url or probe or "")
        site = states[probe] if probe else None
        read: SiteRead | None = None
        if probe and site is not None:
            if not force and d.site_blocked(site, now, woken):
                return _skipped(states, urls, FeedOutcome(SITE, probe, "skipped"))
            if force or d.ask_site(site, now, woken):
                read = await self._ask_site(site, states, placement, now)
                site = read.state
                if read.answer == "down":
                    await feeds.save(self.conn, [site])
                    return _skipped(states, urls, read.outcome)
        spoken = d.speaks_for_sections(site) and read is not None
        section_states = [states[u] for u in urls]
        chosen = d.feeds_to_fetch(
            section_states,
            placement.site_feeds,
            spoken=spoken,
            look=read is not None and read.look,
            now=now,
            force=force,
        )
        if site is not None and not spoken and not force:
            site, fetched = await self._sections_as_probe(site, chosen, now)
            if fetched is None:
                await feeds.save(self.conn, [site])
                return _skipped(
                    states, urls, FeedOutcome(SITE, site.url, "failed", site.last_error)
                )
            due, results = chosen, fetched
        else:
            due, results = chosen, await self._fetch_all(chosen, now)
        outcomes: list[FeedOutcome] = []
        new_states: list[FeedState] = (
            [site] if site is not None and probe and site != states[probe] else []
        )
        sightings: list[Sighting] = list(read.sightings) if read is not None else []
        for state, result in zip(due, results, strict=True):
            outcome, new_state, seen = self._read(state, result, now)
            outcomes.append(outcome)
            new_states.append(new_state)
            sightings.extend(Sighting(a, state.initialized) for a in seen)
        for state in section_states:
            if state not in due:
                outcomes.append(FeedOutcome(state.section, state.url, "skipped"))
                if spoken and state.url in placement.site_feeds and not state.failures:
                    new_states.append(d.confirmed(state, now))
        if read is not None and read.look and due and all(o.status != "failed" for o in outcomes):
            carried = {s.article.key for s in sightings if s.article.sections}
            self._remember_unplaced(
                s.article.key for s in read.sightings if s.article.key not in carried
            )
        # Entries of the site-wide feed that no section carries are not ours to store.
        sightings = [s for s in sightings if s.article.sections]
        stored = await articles.by_keys(self.conn, (s.article.key for s in sightings))
        plans = d.plan(sightings, stored)
        plans = await self._complete(plans)
        written = await articles.upsert_many(
            self.conn,
            [Write(p.article, p.announced) for p in plans if p.write],
            int(now),
        )
        await feeds.save(self.conn, new_states)
        by_key = {a.key: a for a in written}
        new = tuple(by_key[p.article.key] for p in plans if p.kind == "new")
        for article in new:
            logs.event(log, "new article", article=article.id, sections=",".join(article.sections))
        for outcome in outcomes:
            if outcome.status != "skipped":
                metrics.poll(outcome.section, ok=outcome.status != "failed")
        metrics.articles_ingested(len(new))
        return PollReport(
            feeds=tuple(outcomes),
            new=new,
            handed_over=tuple(by_key[p.article.key] for p in plans if p.hand_over),
            backlog=sum(p.kind == "backlog" for p in plans),
            updated=sum(p.kind in ("edited", "gained") for p in plans),
            site=read.outcome if read is not None else None,
        )

    async def _ask_site(
        self,
        site: FeedState,
        states: Mapping[str, FeedState],
        placement: Placement,
        now: float,
    ) -> SiteRead:
        """The cheap question: has anything changed on the site? Its entries, placed."""
        d = self.decider
        result = await self._get(site, d.validators(site, now, d.refresh_period))
        answer = d.answer(result)
        if answer == "unchanged":
            state = self._site_back(site, d.not_modified(site, result, now))
            return SiteRead(state, answer, FeedOutcome(SITE, site.url, "not_modified"))
        if answer == "down":
            state = self._site_down(site, result, now)
            return SiteRead(state, answer, FeedOutcome(SITE, site.url, "failed", state.last_error))
        entries: tuple[tuple[Article, tuple[str, ...]], ...] = ()
        reason = d.problem(result)
        if reason is None:
            try:
                entries = parse_site_feed(
                    result.body,
                    d.summary_min,
                    d.summary_max,
                    result.content_type,
                    self.category_keys(),
                )
            except FeedError as exc:
                reason = str(exc)
        if reason is not None:
            if site.last_error is None or site.failures:
                logs.event(
                    log, "no site-wide feed; polling section feeds", feed=site.url, reason=reason
                )
            state = self._site_back(site, d.site_absent(site, reason, now))
            return SiteRead(state, "absent", FeedOutcome(SITE, site.url, "skipped", reason))
        state = self._site_back(site, d.fetched(site, result, now))
        placed = []
        for article, names in entries:
            ready = tuple(
                slug
                for slug in placement.sections(names)
                if all(states[u].initialized for u in self._feeds_of(slug))
            )
            # Fresh: its sections' backlogs are recorded, and the site-wide feed's newest
            # entries are each among the newest of their category feeds, so an entry we have
            # not stored is one published since (a site that gains /feed/ pushes no backlog).
            placed.append(Sighting(replace(article, sections=ready), fresh=True))
        look = await self._look(placed)
        outcome = FeedOutcome(SITE, site.url, "fetched", entries=len(entries))
        return SiteRead(state, "changed", outcome, tuple(placed), look)

    async def _sections_as_probe(
        self, site: FeedState, chosen: Sequence[FeedState], now: float
    ) -> tuple[FeedState, list[FetchResult] | None]:
        """Section feeds when no site-wide feed speaks for them: while the site is down one of
        them asks first; every one unanswered is the site down (None), not broken feeds."""
        d = self.decider
        first = chosen[:1] if site.failures else chosen
        results = await self._fetch_all(first, now)
        if d.all_down(results):
            return self._site_down(site, results[0], now), None
        if site.failures and first:
            site = self._site_back(site, d.site_up(site))
            results += await self._fetch_all(chosen[1:], now)
        return site, results

    def _site_down(self, site: FeedState, result: FetchResult, now: float) -> FeedState:
        reason = result.error or f"HTTP {result.status}"
        state = self.decider.site_down(site, reason, now, result.retry_after)
        logs.event(
            log,
            "site unreachable",
            logging.WARNING,
            url=result.url,
            reason=reason,
            failures=state.failures,
            retry_in=int(state.next_fetch_at - now),
        )
        return state

    async def _fetch_all(self, due: Sequence[FeedState], now: float) -> list[FetchResult]:
        sweep = self.decider.sweep
        return list(
            await asyncio.gather(
                *(self._get(s, self.decider.validators(s, now, sweep)) for s in due)
            )
        )

    async def _get(
        self, state: FeedState, validators: tuple[str | None, str | None]
    ) -> FetchResult:
        etag, last_modified = validators
        return await self.fetcher.get(state.url, etag=etag, last_modified=last_modified)

    def _feeds_of(self, slug: str) -> tuple[str, ...]:
        return next((s.feeds for s in self.sections if s.slug == slug), ())

    async def _look(self, placed: Sequence[Sighting]) -> bool:
        """Whether the section feeds must be read: an entry we cannot place, or a possible gap
        behind the oldest entry (more posts since the last ask than the feed shows)."""
        if not placed:
            return False
        keys = [s.article.key for s in placed]
        known = set(await articles.by_keys(self.conn, keys)) | self.unplaced
        unknown_unplaced = any(
            not s.article.sections and s.article.key not in known for s in placed
        )
        return unknown_unplaced or keys[-1] not in known

    def _remember_unplaced(self, keys: Iterable[str]) -> None:
        if len(self.unplaced) > UNPLACED_MEMORY:
            self.unplaced.clear()  # a rare extra look is cheaper than unbounded memory
        self.unplaced.update(keys)

    def _site_back(self, before: FeedState, after: FeedState) -> FeedState:
        if before.failures:
            logs.event(log, "site recovered", feed=before.url, after_failures=before.failures)
        return after

    def _read(
        self, state: FeedState, result: FetchResult, now: float
    ) -> tuple[FeedOutcome, FeedState, tuple[Article, ...]]:
        if result.not_modified:
            return (
                FeedOutcome(state.section, state.url, "not_modified"),
                self._recovered(state, self.decider.not_modified(state, result, now)),
                (),
            )
        reason = self.decider.problem(result)
        found: tuple[Article, ...] = ()
        if reason is None:
            try:
                found = parse_feed(
                    result.body,
                    state.section,
                    self.decider.summary_min,
                    self.decider.summary_max,
                    result.content_type,
                    self.category_keys(),
                )
            except FeedError as exc:
                reason = str(exc)
        if reason is not None:
            failed = self.decider.failed(state, reason, now, result.retry_after)
            logs.event(
                log,
                "feed failed",
                logging.WARNING,
                section=state.section,
                feed=state.url,
                reason=reason,
                failures=failed.failures,
                retry_in=int(failed.next_fetch_at - now),
            )
            return FeedOutcome(state.section, state.url, "failed", reason), failed, ()
        fetched = self._recovered(state, self.decider.fetched(state, result, now))
        return FeedOutcome(state.section, state.url, "fetched", entries=len(found)), fetched, found

    def _recovered(self, before: FeedState, after: FeedState) -> FeedState:
        if before.failures:
            logs.event(log, "feed recovered", section=before.section, feed=before.url)
        return after

    async def _complete(self, plans: list[Plan]) -> list[Plan]:
        """Ask the site about each new article whose feed entry left the lead thin or no image."""
        low, high = self.decider.summary_min, self.decider.summary_max
        gaps = [
            i
            for i, p in enumerate(plans)
            if p.kind == "new"
            and (summary.is_thin(p.article.summary, low) or not p.article.image_url)
        ]
        found = await asyncio.gather(*(self._about(plans[i].article) for i in gaps))
        for i, info in zip(gaps, found, strict=True):
            if info is not None:
                plans[i] = replace(plans[i], article=enrich(plans[i].article, info, low, high))
        return plans

    async def _about(self, article: Article) -> extract.PageInfo | None:
        """The REST post first (content, image, author in one JSON); the page's meta after."""
        info = extract.PageInfo()
        rest = extract.rest_post_url(self.site_url, article.key, article.url)
        if rest is not None:
            result = await self.fetcher.get(rest, accept="application/json")
            post = extract.from_rest(result.body) if result.ok else None
            if post is None:
                logs.event(log, "REST post unavailable", url=rest, reason=result.error)
            else:
                info = post
        if info.text and (info.image_url or article.image_url):
            return info
        result = await self.fetcher.get(article.url, accept=PAGE_ACCEPT)
        if not result.ok:
            logs.event(log, "article page unavailable", url=article.url, reason=result.error)
            return info if info != extract.PageInfo() else None
        return info.filled_from(extract.from_page(result.body.decode("utf-8", errors="replace")))


def fetcher_for(settings: Settings) -> Fetcher:
    """The site client, with a read timeout no longer than a poll interval (2–15 s)."""
    timeout = min(15.0, max(2.0, settings.poll_interval))
    return Fetcher(settings.site_url, connect_timeout=min(5.0, timeout), read_timeout=timeout)


def pipeline_for(
    conn: aiosqlite.Connection,
    catalogue: tuple[Section, ...],
    fetcher: Fetcher,
    decider: Decider,
    settings: Settings,
) -> Pipeline:
    """The pipeline of a running bot: the site's own feed asked first, then section feeds."""
    site_feed = site_feed_url(settings.site_url)
    return Pipeline(
        conn, catalogue, fetcher, decider, site_feed=site_feed, site_url=settings.site_url
    )


async def wait_for_poke(poke: asyncio.Event, seconds: float) -> bool:
    """Wait up to `seconds`; True when poked (the event is cleared for the next one)."""
    try:
        await asyncio.wait_for(poke.wait(), max(0.0, seconds))
    except TimeoutError:
        return False
    poke.clear()
    return True


async def poll_forever(rt: Runtime, hand_over: HandOver) -> None:
    """Poll every `poll_interval` seconds, or at once when poked, until cancelled.

    `rt.poke_poller()` (a WebSub ping, say) starts a pass now and ends any site back-off. Pokes
    coalesce: any number during a pass or within MIN_PASS_GAP of its start make one more pass.
    """
    decider = Decider.from_settings(rt.settings)
    async with fetcher_for(rt.settings) as fetcher:
        pipeline = pipeline_for(rt.db, rt.sections, fetcher, decider, rt.settings)
        woken = False
        while True:
            started = time.monotonic()
            rt.poll_now.clear()  # a poke from now on asks for the pass AFTER this one
            try:
                report = await pipeline.poll_once(woken=woken)
                if report.handed_over:
                    await hand_over(report.handed_over)
            except Exception:
                # One bad pass (a locked database, a bug on odd input) must not end polling.
                log.exception("poll pass failed")
            elapsed = time.monotonic() - started
            woken = await wait_for_poke(rt.poll_now, rt.settings.poll_interval - elapsed)
            if woken:
                await asyncio.sleep(max(0.0, started + MIN_PASS_GAP - time.monotonic()))


async def poll_once(settings: Settings, fan_out: FanOut | None = None) -> PollReport:
    """`newsbot poll --once`: one forced pass on its own connection, new articles fanned out."""
    from bot import sections as catalogue
    from storage import db
    from storage import sections as stored_sections

    configured = catalogue.load(settings.site_url, settings.sections_file)
    conn = await db.connect(settings.database)
    try:
        await stored_sections.sync(conn, configured)
        async with fetcher_for(settings) as fetcher:
            decider = Decider.from_settings(settings)
            pipeline = pipeline_for(conn, configured, fetcher, decider, settings)
            report = await pipeline.poll_once(force=True)
        if fan_out is not None and report.handed_over:
            await fan_out(conn, report.handed_over)
    finally:
        await conn.close()
    return report

"""The ingest pipeline: poll the site's sections, store what they carry, hand over what is new.

One pass, as shell pseudocode (the decisions are the pure `Decider`; the rest are thin shells)::

    for feed in sections.feeds | decider.due(state, now):          # back-off, Retry-After
        fetch feed -H "If-None-Match: $etag" -H "If-Modified-Since: $lm" &   # few in flight
    wait
    for result in results:
        304            -> state = decider.not_modified(state, result)      # no parsing at all
        error | html   -> state = decider.failed(state, reason); log once per back-off step
        200            -> sightings += parse feed | state = decider.fetched(state, result)
    stored = articles.by_keys(sightings)
    plans  = decider.plan(sightings, stored)    # new | backlog (first poll) | edited | gained
    for plan in plans | new | thin summary or no image:
        fetch plan.url | extract | summary.lead                # the article page fills the gaps
    articles.upsert_many(plans)                 # articles + sections + FTS, one transaction
    feeds.save(states)                          # validators only after the articles are safe
    hand_over(new + announced-that-gained-a-section)           # once, at the END of the pass
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal

import aiosqlite

from bot import extract, logs, metrics, summary
from bot.config import Settings
from bot.domain import Article, Section
from bot.fetch import Fetcher, FetchResult
from bot.parse import FeedError, label_key, parse_feed
from storage import articles, feeds
from storage.articles import Stored, Write
from storage.feeds import FeedState

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger(__name__)

HandOver = Callable[[Sequence[Article]], Awaitable[None]]
FanOut = Callable[[aiosqlite.Connection, Sequence[Article]], Awaitable[int]]

BACKOFF_CAP = 3600.0
PAGE_ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1"
PlanKind = Literal["new", "backlog", "edited", "gained", "same"]
FeedStatus = Literal["fetched", "not_modified", "failed", "skipped"]


@dataclass(frozen=True, slots=True)
class Sighting:
    """An article as one feed showed it; `fresh` when that feed's backlog was already recorded."""

    article: Article
    fresh: bool


@dataclass(frozen=True, slots=True)
class Plan:
    """What to do with one article key after a pass."""

    kind: PlanKind
    article: Article
    announced: bool = False
    hand_over: bool = False

    @property
    def write(self) -> bool:
        """Whether the store needs touching at all."""
        return self.kind != "same"


@dataclass(frozen=True, slots=True)
class FeedOutcome:
    """How one feed fared in a pass."""

    section: str
    url: str
    status: FeedStatus
    error: str | None = None
    entries: int = 0


@dataclass(frozen=True, slots=True)
class PollReport:
    """The result of one pass over the due feeds."""

    feeds: tuple[FeedOutcome, ...] = ()
    new: tuple[Article, ...] = ()
    handed_over: tuple[Article, ...] = ()
    backlog: int = 0
    updated: int = 0

    @property
    def failed(self) -> tuple[FeedOutcome, ...]:
        """Feeds that could not be read this pass."""
        return tuple(f for f in self.feeds if f.status == "failed")

    @property
    def ok(self) -> bool:
        """Every feed polled was fetched or confirmed unchanged."""
        return not self.failed


def _merge(first: Article, other: Article) -> Article:
    """One article seen in two feeds: sections united, gaps filled from the other sighting."""
    return replace(
        first,
        sections=tuple(dict.fromkeys((*first.sections, *other.sections))),
        summary=first.summary if len(first.summary) >= len(other.summary) else other.summary,
        author=first.author or other.author,
        image_url=first.image_url or other.image_url,
        word_count=first.word_count or other.word_count,
        published=first.published or other.published,
        body=first.body if len(first.body) >= len(other.body) else other.body,
        tags=tuple(dict.fromkeys((*first.tags, *other.tags))),
    )


@dataclass(frozen=True, slots=True)
class Decider:
    """Every ingest decision, pure: when to fetch, how to back off, what is new."""

    interval: float
    summary_min: int = 200
    summary_max: int = 400
    backoff_cap: float = BACKOFF_CAP

    @classmethod
    def from_settings(cls, settings: Settings) -> Decider:
        """The decider for these settings."""
        return cls(settings.poll_interval, settings.summary_min, settings.summary_max)

    def due(self, state: FeedState, now: float) -> bool:
        """Whether the feed's back-off or the server's requested pause is over."""
        return state.next_fetch_at <= now

    def backoff(self, failures: int) -> float:
        """Seconds to wait after `failures` failures in a row: doubling, capped."""
        cap = max(self.backoff_cap, self.interval)
        return min(cap, self.interval * 2.0 ** min(failures, 30))

    def _next(self, now: float, *waits: float | None) -> int:
        # Only a wait longer than the poll interval is worth remembering; otherwise the feed
        # is simply due on the next pass.
        wait = max((w for w in waits if w), default=0.0)
        return int(now + wait) if wait > self.interval else 0

    def not_modified(self, state: FeedState, result: FetchResult, now: float) -> FeedState:
        """A 304: the feed is healthy and unchanged."""
        return replace(
            state,
            last_fetch_at=int(now),
            last_success_at=int(now),
            failures=0,
            last_error=None,
            next_fetch_at=self._next(now, result.retry_after, result.max_age),
        )

    def fetched(self, state: FeedState, result: FetchResult, now: float) -> FeedState:
        """A feed read and stored: new validators, error cleared, backlog now recorded."""
        return replace(
            state,
            etag=result.etag,
            last_modified=result.last_modified,
            initialized=True,
            last_fetch_at=int(now),
            last_success_at=int(now),
            failures=0,
            last_error=None,
            next_fetch_at=self._next(now, result.retry_after, result.max_age),
        )

    def failed(
        self, state: FeedState, reason: str, now: float, retry_after: float | None = None
    ) -> FeedState:
        """One more failure in a row: back off exponentially (longer if the server asked)."""
        failures = state.failures + 1
        wait = max(self.backoff(failures), retry_after or 0.0)
        return replace(
            state,
            last_fetch_at=int(now),
            failures=failures,
            last_error=reason,
            next_fetch_at=int(now + wait),
        )

    def problem(self, result: FetchResult) -> str | None:
        """Why a fetched answer cannot be a feed, or None when it may be parsed."""
        if result.error is not None:
            return result.error
        kind = result.content_type.split(";")[0].strip().lower()
        if kind in ("text/html", "application/xhtml+xml"):
            return f"wrong content type {kind} (an HTML page, not a feed)"
        return None

    def plan(self, sightings: Iterable[Sighting], stored: Mapping[str, Stored]) -> list[Plan]:
        """Decide, per article key, whether it is new, backlog, edited, gained a section or same.

        New means: never stored before AND carried by a feed whose backlog was already recorded.
        An article first seen only in a feed's first successful poll is backlog: stored, never
        pushed. A stored article is never new again; if it was announced and now appears in a
        further (already initialised) section, it is handed over again for that section.
        """
        merged: dict[str, Article] = {}
        fresh: dict[str, set[str]] = {}
        for sighting in sightings:
            a = sighting.article
            merged[a.key] = _merge(merged[a.key], a) if a.key in merged else a
            seen = fresh.setdefault(a.key, set())
            if sighting.fresh:
                seen.update(a.sections)
        plans = []
        for key, article in merged.items():
            before = stored.get(key)
            if before is None:
                is_new = bool(fresh[key])
                plans.append(Plan("new" if is_new else "backlog", article, is_new, is_new))
                continue
            keep_summary = summary.is_thin(article.summary, self.summary_min) and len(
                before.summary
            ) > len(article.summary)
            if keep_summary:
                article = replace(article, summary=before.summary)
            gained = set(article.sections) - before.sections
            edited = (article.title, article.summary, article.url) != (
                before.title,
                before.summary,
                before.url,
            )
            kind: PlanKind = "gained" if gained else "edited" if edited else "same"
            again = before.announced and bool(gained & fresh[key])
            plans.append(Plan(kind, article, before.announced, again))
        return plans


def enrich(article: Article, page: extract.PageInfo, low: int, high: int) -> Article:
    """The article with its lead, image and author completed from its page."""
    lead = summary.lead(
        (article.summary, "\n\n".join(page.paragraphs), page.description), low, high
    )
    return replace(
        article,
        summary=lead,
        image_url=article.image_url or page.image_url,
        author=article.author or page.author,
    )


@dataclass(frozen=True, slots=True)
class Pipeline:
    """fetch -> parse -> store -> collect new, over every configured section feed."""

    conn: aiosqlite.Connection
    sections: tuple[Section, ...]
    fetcher: Fetcher
    decider: Decider
    clock: Callable[[], float] = time.time

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

    async def poll_once(self, *, force: bool = False) -> PollReport:
        """One pass over the due feeds (all of them when `force`)."""
        now = self.clock()
        urls = self.feed_urls()
        await feeds.ensure(self.conn, urls.items())
        states = await feeds.all_states(self.conn)
        due = [states[u] for u in urls if force or self.decider.due(states[u], now)]
        results = await asyncio.gather(
            *(self.fetcher.get(s.url, etag=s.etag, last_modified=s.last_modified) for s in due)
        )
        outcomes: list[FeedOutcome] = [
            FeedOutcome(states[u].section, u, "skipped") for u in urls if states[u] not in due
        ]
        new_states: list[FeedState] = []
        sightings: list[Sighting] = []
        for state, result in zip(due, results, strict=True):
            outcome, new_state, seen = self._read(state, result, now)
            outcomes.append(outcome)
            new_states.append(new_state)
            sightings.extend(Sighting(a, state.initialized) for a in seen)
        stored = await articles.by_keys(self.conn, (s.article.key for s in sightings))
        plans = self.decider.plan(sightings, stored)
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
        )

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
        """Read the page of each new article whose feed entry left the lead thin or no image."""
        low, high = self.decider.summary_min, self.decider.summary_max
        gaps = [
            i
            for i, p in enumerate(plans)
            if p.kind == "new"
            and (summary.is_thin(p.article.summary, low) or not p.article.image_url)
        ]
        pages = await asyncio.gather(*(self._page(plans[i].article.url) for i in gaps))
        for i, page in zip(gaps, pages, strict=True):
            if page is not None:
                plans[i] = replace(plans[i], article=enrich(plans[i].article, page, low, high))
        return plans

    async def _page(self, url: str) -> extract.PageInfo | None:
        result = await self.fetcher.get(url, accept=PAGE_ACCEPT)
        if not result.ok:
            logs.event(log, "article page unavailable", url=url, reason=result.error)
            return None
        text = result.body.decode("utf-8", errors="replace")
        # trafilatura is CPU-bound; keep the event loop (and Telegram updates) responsive.
        return await asyncio.to_thread(extract.extract, text)


def fetcher_for(settings: Settings) -> Fetcher:
    """The site client, with a read timeout no longer than a poll interval (2–15 s)."""
    timeout = min(15.0, max(2.0, settings.poll_interval))
    return Fetcher(settings.site_url, connect_timeout=min(5.0, timeout), read_timeout=timeout)


async def poll_forever(rt: Runtime, hand_over: HandOver) -> None:
    """Poll every `poll_interval` seconds until cancelled, handing over after each pass."""
    decider = Decider.from_settings(rt.settings)
    async with fetcher_for(rt.settings) as fetcher:
        pipeline = Pipeline(rt.db, rt.sections, fetcher, decider)
        while True:
            started = time.monotonic()
            try:
                report = await pipeline.poll_once()
                if report.handed_over:
                    await hand_over(report.handed_over)
            except Exception:
                # One bad pass (a locked database, a bug on odd input) must not end polling.
                log.exception("poll pass failed")
            elapsed = time.monotonic() - started
            await asyncio.sleep(max(0.0, rt.settings.poll_interval - elapsed))


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
            pipeline = Pipeline(conn, configured, fetcher, Decider.from_settings(settings))
            report = await pipeline.poll_once(force=True)
        if fan_out is not None and report.handed_over:
            await fan_out(conn, report.handed_over)
    finally:
        await conn.close()
    return report

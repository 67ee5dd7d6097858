"""The ingest pipeline: ask the site, read what it cannot answer, store, hand over what is new.

One pass, as shell pseudocode (the decisions are the pure `Decider`; the rest are thin shells)::

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
import re
import time
import unicodedata
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

import aiosqlite

from bot import extract, logs, metrics, summary
from bot.config import Settings
from bot.domain import Article, FeedState, FetchResult, Section, Stored, Write
from bot.fetch import Fetcher
from bot.parse import FeedError, label_key, parse_feed, parse_site_feed
from storage import articles, feeds

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger(__name__)

HandOver = Callable[[Sequence[Article]], Awaitable[None]]
FanOut = Callable[[aiosqlite.Connection, Sequence[Article]], Awaitable[int]]

BACKOFF_CAP = 3600.0
FEED_EVERY = 120.0  # seconds between polls of section feeds no site-wide feed speaks for
UNPLACED_MEMORY = 5000
SITE = ""  # the `section` of the site-wide feed's state row: it belongs to no one section
MIN_PASS_GAP = 1.0  # seconds between the starts of two passes, however often the poller is poked
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
    site: FeedOutcome | None = None  # the site-wide feed, when it was asked

    @property
    def failed(self) -> tuple[FeedOutcome, ...]:
        """Feeds (the site-wide one first) that could not be read this pass."""
        every = (self.site, *self.feeds) if self.site is not None else self.feeds
        return tuple(f for f in every if f.status == "failed")

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


SiteAnswer = Literal["unchanged", "changed", "absent", "down"]


@dataclass(frozen=True, slots=True)
class Decider:
    """Every ingest decision, pure: what to ask, whether to trust a 304, how to back off, what
    is new.

    The site is asked one cheap question per pass (its site-wide feed, conditionally); section
    feeds are read only when that answer cannot be placed, when they are new, or on a slow sweep.
    """

    interval: float
    summary_min: int = 200
    summary_max: int = 400
    backoff_cap: float = BACKOFF_CAP
    # Validators within `settle` seconds of the answer's Date are not kept: WordPress's
    # Last-Modified has one-second resolution, and a post saved in that second (or committed a
    # moment later with the same stamp) would be hidden behind a 304 forever.
    settle: float = 10.0
    # The site-wide feed is asked without validators once per `refresh` seconds (default two
    # intervals): a post with a past date (an import, a late WP-Cron publish) moves no validator.
    refresh: float = 0.0
    # The site as a whole backs off up to `site_cap` seconds, so news flows again that soon
    # after it recovers; one conditional request per wait is polite while it is down.
    site_cap: float = 20.0
    # Section feeds the site-wide feed speaks for are still read once per `sweep` seconds
    # (unconditionally): a backstop for what the site-wide feed's newest items cannot show.
    sweep: float = 1800.0
    # Without a site-wide feed (or for feeds on other hosts) section feeds are polled every
    # `feed_every` seconds (default: every pass), as before there was a site-wide question.
    feed_every: float = 0.0
    # How long to wait before asking again for a site-wide feed the site does not offer.
    recheck: float = 3600.0

    @classmethod
    def from_settings(cls, settings: Settings) -> Decider:
        """The decider for these settings: section-only sites keep their two-minute pace."""
        return cls(
            settings.poll_interval,
            settings.summary_min,
            settings.summary_max,
            feed_every=max(settings.poll_interval, FEED_EVERY),
        )

    @property
    def refresh_period(self) -> float:
        """Seconds between unconditional asks of the site-wide feed."""
        return self.refresh or 2 * self.interval

    def due(self, state: FeedState, now: float) -> bool:
        """Whether the feed's back-off or the server's requested pause is over."""
        return state.next_fetch_at <= now

    def backoff(self, failures: int) -> float:
        """Seconds to wait after `failures` failures in a row: doubling, capped."""
        cap = max(self.backoff_cap, self.interval)
        return min(cap, self.interval * 2.0 ** min(failures, 30))

    def validators(
        self, state: FeedState, now: float, period: float
    ) -> tuple[str | None, str | None]:
        """(etag, last_modified) to send, or (None, None) when this ask must be unconditional.

        The first ask in each `period`-long window of the clock goes without validators, so a
        change no validator shows is seen within one period, at the cost of one full answer.
        """
        last = state.last_fetch_at
        if last is None or int(now // period) != int(last // period):
            return None, None
        return state.etag, state.last_modified

    def settled(self, result: FetchResult, now: float) -> bool:
        """Whether the answer's validators can prove anything later (see `settle`)."""
        modified = result.modified_at
        if modified is None:
            return True  # an ETag alone (a content hash) has no resolution to worry about
        served = result.date if result.date is not None else now
        return served - modified >= self.settle

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
        """A feed read and stored: validators kept if settled, error cleared, backlog recorded."""
        settled = self.settled(result, now)
        return replace(
            state,
            etag=result.etag if settled else None,
            last_modified=result.last_modified if settled else None,
            initialized=True,
            last_fetch_at=int(now),
            last_success_at=int(now),
            failures=0,
            last_error=None,
            next_fetch_at=self._next(now, result.retry_after, result.max_age),
        )

    def confirmed(self, state: FeedState, now: float) -> FeedState:
        """A feed the site-wide answer vouched for: current as of now, though not fetched."""
        return replace(state, last_success_at=int(now))

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

    # --- the site as a whole --------------------------------------------------------------

    def answer(self, result: FetchResult) -> SiteAnswer:
        """What the site-wide feed's answer says about the site (before parsing it)."""
        if result.not_modified:
            return "unchanged"
        if result.status == 0 or result.status >= 500 or result.status in (408, 429):
            return "down"  # no answer, or the server says it cannot answer now
        if self.problem(result) is not None:
            return "absent"  # it answered, but with no feed: a 404, an HTML page, too big
        return "changed"

    def all_down(self, results: Sequence[FetchResult]) -> bool:
        """Whether a pass's answers, every one of them, say the site is down."""
        return bool(results) and all(self.answer(r) == "down" for r in results)

    def site_blocked(self, site: FeedState, now: float, woken: bool) -> bool:
        """Whether the site is down and its back-off not yet over (a poke ends it)."""
        return site.failures > 0 and site.next_fetch_at > now and not woken

    def ask_site(self, site: FeedState, now: float, woken: bool) -> bool:
        """Whether to ask the site-wide feed: every pass while it works (or before it was
        tried); once per `recheck` on a site without one, whose section feeds probe instead."""
        if woken or site.last_fetch_at is None or site.initialized:
            return True
        return site.failures == 0 and site.next_fetch_at <= now

    def site_up(self, site: FeedState) -> FeedState:
        """A section feed answered for a site that was down: ask its site-wide feed next pass."""
        return replace(site, failures=0, next_fetch_at=0)

    def site_down(
        self, site: FeedState, reason: str, now: float, retry_after: float | None = None
    ) -> FeedState:
        """The site did not answer: one wait for all its feeds, doubling up to `site_cap`."""
        failures = site.failures + 1
        wait = min(self.site_cap, self.interval * 2.0 ** (failures - 1))
        return replace(
            site,
            last_fetch_at=int(now),
            failures=failures,
            last_error=reason,
            next_fetch_at=int(now + max(wait, retry_after or 0.0)),
        )

    def site_absent(self, site: FeedState, reason: str, now: float) -> FeedState:
        """The site answered without a site-wide feed: poll section feeds, ask again later."""
        return replace(
            site,
            etag=None,
            last_modified=None,
            initialized=False,
            last_fetch_at=int(now),
            failures=0,
            last_error=reason,
            next_fetch_at=int(now + self.recheck),
        )

    def speaks_for_sections(self, site: FeedState | None) -> bool:
        """Whether the site-wide feed is working, so section feeds of the site may rest."""
        return site is not None and site.initialized and site.last_error is None

    def feeds_to_fetch(
        self,
        states: Iterable[FeedState],
        site_feeds: frozenset[str],
        *,
        spoken: bool,
        look: bool,
        now: float,
        force: bool = False,
    ) -> list[FeedState]:
        """The section feeds to read this pass.

        `spoken`: the site-wide feed answered for the site's feeds; `look`: it showed something
        it cannot place (a post in no known section, or a gap behind its newest items).
        """
        chosen = []
        for state in states:
            if force:
                chosen.append(state)
            elif not self.due(state, now):
                continue  # this feed's own back-off or Retry-After
            elif not state.initialized or state.failures:
                chosen.append(state)  # a backlog to record, or a retry after its back-off
            elif spoken and state.url in site_feeds:
                if look or self._stale(state, now, self.sweep):
                    chosen.append(state)
            elif self._stale(state, now, self.feed_every):
                chosen.append(state)
        return chosen

    def _stale(self, state: FeedState, now: float, every: float) -> bool:
        if every <= self.interval or state.last_fetch_at is None:
            return True
        return now - state.last_fetch_at >= every - self.interval / 2

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


def _skipped(
    states: Mapping[str, FeedState], urls: Mapping[str, str], site: FeedOutcome
) -> PollReport:
    """A pass that asked nothing of the section feeds (the site is down or backing off)."""
    skipped = tuple(FeedOutcome(states[u].section, u, "skipped") for u in urls)
    return PollReport(feeds=skipped, site=site)


def enrich(article: Article, page: extract.PageInfo, low: int, high: int) -> Article:
    """The article with its lead, image and author completed from its REST post or page."""
    lead = summary.lead((article.summary, page.text, page.description), low, high)
    return replace(
        article,
        summary=lead,
        image_url=article.image_url or page.image_url,
        author=article.author or page.author,
    )


_CATEGORY_FEED = re.compile(r"/category/(?:[^?#]+/)?([^/?#]+)/feed/(?:atom/|rss2/)?$")
# Letters NFKD does not reduce to ASCII, as WordPress's remove_accents() spells them.
_LETTERS = str.maketrans({"ə": "e", "Ə": "E", "ı": "i", "ß": "ss", "ø": "o", "đ": "d"})


def slugify(name: str) -> str:
    """Roughly WordPress's sanitize_title(): accents dropped, lower case, words joined by '-'."""
    ascii_text = unicodedata.normalize("NFKD", name.translate(_LETTERS))
    ascii_text = ascii_text.encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def site_feed_url(site_url: str) -> str:
    """WordPress's site-wide feed: every post, newest first, with its category names."""
    return f"{site_url.rstrip('/')}/feed/"


def _host(url: str) -> str:
    return urlsplit(url).netloc.lower()


def category_of(feed_url: str, site_url: str) -> str | None:
    """The WordPress category slug of a category feed on this site, None for any other feed."""
    parts = urlsplit(feed_url)
    if parts.netloc.lower() != _host(site_url) or parts.query:
        return None
    match = _CATEGORY_FEED.search(parts.path)
    return match.group(1).lower() if match else None


@dataclass(frozen=True, slots=True)
class Placement:
    """Which sections an entry of the site-wide feed belongs to, from its category names."""

    by_category: Mapping[str, tuple[str, ...]]  # slugified name -> sections, parents included
    site_feeds: frozenset[str]  # section feeds on the site: the site-wide feed speaks for them

    @classmethod
    def of(cls, catalogue: Sequence[Section], site_url: str) -> Placement:
        """Category feeds map their category (by slug, or by the section's name) to sections;
        a category archive includes its sub-categories, so a parent section gets their posts."""
        by_slug = {s.slug: s for s in catalogue}
        direct: dict[str, list[str]] = {}
        for section in catalogue:
            categories = {c for c in (category_of(u, site_url) for u in section.feeds) if c}
            if categories:
                for key in {*categories, slugify(section.name)}:
                    direct.setdefault(key, []).append(section.slug)
        mapped = {slug for slugs in direct.values() for slug in slugs}

        def lineage(slug: str) -> list[str]:
            chain = [slug]
            parent = by_slug[slug].parent
            while parent in mapped and parent not in chain:
                chain.append(parent)
                parent = by_slug[parent].parent
            return chain

        by_category = {
            key: tuple(dict.fromkeys(s for slug in slugs for s in lineage(slug)))
            for key, slugs in direct.items()
        }
        host = _host(site_url)
        site_feeds = frozenset(u for s in catalogue for u in s.feeds if _host(u) == host)
        return cls(by_category, site_feeds)

    def sections(self, names: Iterable[str]) -> tuple[str, ...]:
        """The sections these category names (and tags, which match nothing) place a post in."""
        found = (s for name in names for s in self.by_category.get(slugify(name), ()))
        return tuple(dict.fromkeys(found))


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

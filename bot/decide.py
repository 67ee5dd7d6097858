"""Every ingest decision, pure: what to ask the site, whether to trust its answer, what is new.

The `Decider` and the values it reads and returns, beside the I/O `Pipeline` in `bot/ingest.py`
(lemon24/reader's `_update.py` keeps the same split). No I/O here, and no import of a module
that does I/O: `lint-imports` checks it (pyproject.toml, [tool.importlinter]).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal
from urllib.parse import urlsplit

from bot import extract, summary
from bot.config import Settings
from bot.domain import Article, FeedState, FetchResult, Section, Stored

BACKOFF_CAP = 3600.0
FEED_EVERY = 120.0  # seconds between polls of section feeds no site-wide feed speaks for
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
            ) or _text_changed(article, before)
            kind: PlanKind = "gained" if gained else "edited" if edited else "same"
            again = before.announced and bool(gained & fresh[key])
            plans.append(Plan(kind, article, before.announced, again))
        return plans


def _text_changed(article: Article, before: Stored) -> bool:
    """A sighting that carries a text or tags unlike the stored ones (search must see the edit).
    One without them (an Atom feed without content) changes nothing: the store keeps what it
    has."""
    if article.body and article.body != before.body:
        return True
    return bool(article.tags) and tuple(article.tags) != before.tags


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

"""Domain values shared by every stage: what a section, an article, a chat, a feed's state
and a pending delivery are.

Like lemon24/reader's `_types.py`: the pure decisions (bot) and the store (storage) both import
these, neither imports the other for them; this module imports only the standard library.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Literal

WORDS_PER_MINUTE = 230

ChatKind = Literal["private", "group", "supergroup", "channel"]
MessageStyle = Literal["full", "headline"]


@dataclass(frozen=True, slots=True)
class Section:
    """One section of the site (a WordPress category) and the feeds that carry it."""

    slug: str
    name: str
    feeds: tuple[str, ...]
    emoji: str = ""
    parent: str | None = None
    order: int = 0
    hidden: bool = False
    aliases: tuple[str, ...] = ()  # other names readers search it by ("Qarabağ", "Карабах")


@dataclass(frozen=True, slots=True)
class Article:
    """One article as the bot knows it; `key` is stable across edits and feeds."""

    key: str
    url: str
    title: str
    summary: str = ""
    author: str = ""
    published: datetime | None = None
    image_url: str | None = None
    sections: tuple[str, ...] = ()
    word_count: int | None = None
    id: int | None = None
    body: str = ""  # the whole text, cleaned as the summary is; "" when no feed carried it
    tags: tuple[str, ...] = ()  # WordPress tags (not its categories, which are sections)

    @property
    def reading_minutes(self) -> int | None:
        """Minutes to read, rounded up, when the full text was seen."""
        if not self.word_count:
            return None
        return max(1, -(-self.word_count // WORDS_PER_MINUTE))


@dataclass(frozen=True, slots=True)
class ChatSettings:
    """A chat's preferences; `None` means 'use the default'."""

    language: str | None = None
    style: MessageStyle = "full"
    link_preview: bool = True
    digest_time: str | None = None  # "HH:MM" local time; None = push each article
    quiet_start: str | None = None  # "HH:MM"
    quiet_end: str | None = None
    quiet_silent: bool = False  # during quiet hours send silently instead of holding
    timezone: str | None = None
    digest_time2: str | None = None  # "HH:MM" of a second daily digest; only with digest_time


@dataclass(frozen=True, slots=True)
class Chat:
    """A chat the bot talks to: a private chat, group, supergroup or channel."""

    id: int
    kind: ChatKind
    title: str = ""
    settings: ChatSettings = field(default_factory=ChatSettings)
    active: bool = True


@dataclass(frozen=True, slots=True)
class Follow:
    """A chat (or forum topic) following a topic: folded words that must all appear."""

    chat_id: int
    query: str  # folded words separated by single spaces (see bot.search)
    thread_id: int = 0

    @property
    def words(self) -> tuple[str, ...]:
        """The words every matching article contains."""
        return tuple(self.query.split())


# --- what a fetch, a feed and the store say (shared by the pure decisions and storage) --------


@dataclass(frozen=True, slots=True)
class FetchResult:
    """The outcome of one GET; `error` is set (and `status` may be 0) when it failed."""

    url: str
    status: int
    body: bytes = b""
    content_type: str = ""
    etag: str | None = None
    last_modified: str | None = None
    retry_after: float | None = None  # seconds the server asked us to wait
    max_age: float | None = None  # seconds the answer stays fresh
    error: str | None = None
    date: float | None = None  # the server's clock (Date header), unix seconds

    @property
    def modified_at(self) -> float | None:
        """Last-Modified as unix seconds, None when absent or unreadable."""
        return http_date(self.last_modified)

    @property
    def not_modified(self) -> bool:
        """The server confirmed our copy is current (304)."""
        return self.status == 304 and self.error is None

    @property
    def ok(self) -> bool:
        """A full 2xx body arrived."""
        return self.error is None and 200 <= self.status < 300


def http_date(value: str | None) -> float | None:
    """An HTTP date header as unix seconds, None when absent or unreadable."""
    if not value:
        return None
    try:
        moment = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    # "-0000" (no zone stated) parses as naive; HTTP dates are always UTC.
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


@dataclass(frozen=True, slots=True)
class FeedState:
    """What we remember about one feed URL between polls."""

    url: str
    section: str
    etag: str | None = None
    last_modified: str | None = None
    initialized: bool = False
    last_fetch_at: int | None = None
    last_success_at: int | None = None
    failures: int = 0
    next_fetch_at: int = 0
    last_error: str | None = None


@dataclass(frozen=True, slots=True)
class Stored:
    """What the store already knows about an article key, for deciding what is new."""

    id: int
    announced: bool
    sections: frozenset[str]
    title: str
    summary: str
    url: str
    first_seen_at: int
    # What search indexes besides the headline: None when the text was never read (stored
    # before migration 0003), () when the article has no tags.
    body: str | None = None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Write:
    """One article to insert or update; `announced` applies to inserts and only ever rises."""

    article: Article
    announced: bool


@dataclass(frozen=True, slots=True)
class Text:
    """An article's text and tags, read again for an article stored before they were kept."""

    id: int
    body: str
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Pending:
    """A pending delivery with what the dispatcher needs to decide about it."""

    id: int
    chat_id: int
    thread_id: int
    article_id: int | None
    broadcast_id: int | None
    attempts: int
    created_at: int
    kind: ChatKind
    settings: ChatSettings


PingOutcome = Literal["accepted", "rejected"]


@dataclass(frozen=True, slots=True)
class Pings:
    """What the database remembers about WebSub pings of one outcome."""

    outcome: PingOutcome
    last_at: int
    count: int
    detail: str


@dataclass(frozen=True, slots=True)
class SectionFigures:
    """One section: its readers, its articles and its feeds' health."""

    slug: str
    name: str
    subscriptions: int
    articles: int
    last_success_at: int | None
    failing_feeds: int
    last_error: str | None


@dataclass(frozen=True, slots=True)
class Figures:
    """The whole database at one moment."""

    active_chats: int
    inactive_chats: int
    articles: int
    articles_last_day: int
    deliveries: dict[str, int]
    sent_last_day: int
    sections: tuple[SectionFigures, ...]


# --- text folding: the search index and every query against it must agree ------------------

# Letters unicode61's remove_diacritics cannot fold because they are not a base letter plus
# a combining mark; Azerbaijani and Turkish readers type the Latin look-alike.
_SPECIAL = {"ı": "i", "İ": "i", "ə": "e", "Ə": "e", "ß": "ss", "ø": "o", "Ø": "o"}
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")


def _without_marks(run: re.Match[str]) -> str:
    return "".join(c for c in run.group() if not unicodedata.combining(c))


def fold(text: str) -> str:
    """Lower-case, diacritic-free text: 'Şuşa' -> 'susa', 'Bakı' -> 'baki'.

    Article bodies make this hot (ingest, the search migration): ASCII text and ASCII runs skip
    the per-character work, with the same result as folding every character.
    """
    if text.isascii():
        return text.lower()
    for letter, plain in _SPECIAL.items():
        text = text.replace(letter, plain)
    decomposed = unicodedata.normalize("NFKD", text)
    if not decomposed.isascii():
        decomposed = _NON_ASCII.sub(_without_marks, decomposed)
    return decomposed.casefold()

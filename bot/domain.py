"""Domain values shared by every stage: what a section, an article, a chat and a delivery are."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
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
class Subscription:
    """A chat (or one forum topic of it, `thread_id` > 0) following a section."""

    chat_id: int
    section: str
    thread_id: int = 0


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

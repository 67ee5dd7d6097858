"""What every handler and task needs, kept in `application.bot_data.runtime` (bot/botdata.py)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import aiosqlite

from bot.config import Settings
from bot.domain import Section


@dataclass
class Runtime:
    """The live parts of one running bot: settings, catalogue, database, wake-up signals."""

    settings: Settings
    sections: tuple[Section, ...]
    db: aiosqlite.Connection
    # The reader handlers' own connection: their writes must not join (or BEGIN inside) another
    # stage's open transaction on `db`. None until startup opens it.
    reader_db: aiosqlite.Connection | None = None
    outbox_ready: asyncio.Event = field(default_factory=asyncio.Event)
    # Set by poke_poller(); the poller waits on it between passes instead of sleeping.
    poll_now: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    # Background work that ends by itself (the search backfill): cancelled at shutdown, not
    # watched by /healthz as `tasks` are.
    chores: list[asyncio.Task[None]] = field(default_factory=list)

    def poke_poller(self) -> None:
        """Start an ingest pass at once (ending any site back-off); pokes coalesce, 1 pass/s max."""
        self.poll_now.set()

    def section(self, slug: str) -> Section | None:
        """The section with this slug, if configured."""
        return next((s for s in self.sections if s.slug == slug), None)

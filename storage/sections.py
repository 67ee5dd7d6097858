"""The catalogue mirrored into the database, so subscriptions can reference it."""

from __future__ import annotations

from collections.abc import Sequence

import aiosqlite

from bot.domain import Section
from storage.db import transaction


async def sync(conn: aiosqlite.Connection, sections: Sequence[Section]) -> None:
    """Make the sections table match the configured catalogue.

    A section dropped from the configuration is kept (hidden) so subscriptions survive a typo
    in the sections file; it simply stops being polled and offered.
    """
    async with transaction(conn):
        await conn.execute("UPDATE sections SET hidden = 1")
        await conn.executemany(
            "INSERT INTO sections (slug, name, parent, emoji, position, hidden) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (slug) DO UPDATE SET name = excluded.name, "
            "parent = excluded.parent, emoji = excluded.emoji, position = excluded.position, "
            "hidden = excluded.hidden",
            [(s.slug, s.name, s.parent, s.emoji, s.order, int(s.hidden)) for s in sections],
        )

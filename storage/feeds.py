"""Per-feed polling state: validators for conditional GET, health, back-off."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import aiosqlite

from bot.domain import FeedState
from storage.db import rows, transaction

_COLUMNS = (
    "url, section, etag, last_modified, initialized, last_fetch_at, last_success_at, "
    "failures, next_fetch_at, last_error"
)


def _state(row: aiosqlite.Row) -> FeedState:
    return FeedState(
        url=row[0],
        section=row[1],
        etag=row[2],
        last_modified=row[3],
        initialized=bool(row[4]),
        last_fetch_at=row[5],
        last_success_at=row[6],
        failures=row[7],
        next_fetch_at=row[8],
        last_error=row[9],
    )


async def ensure(conn: aiosqlite.Connection, feeds: Iterable[tuple[str, str]]) -> None:
    """Create state rows for (url, section) pairs not yet known; known rows keep their state."""
    async with transaction(conn):
        await conn.executemany(
            "INSERT INTO feeds (url, section) VALUES (?, ?) "
            "ON CONFLICT (url) DO UPDATE SET section = excluded.section",
            list(feeds),
        )


async def all_states(conn: aiosqlite.Connection) -> dict[str, FeedState]:
    """Every feed's state by URL."""
    return {r[0]: _state(r) for r in await rows(conn, f"SELECT {_COLUMNS} FROM feeds")}


async def save(conn: aiosqlite.Connection, states: Sequence[FeedState]) -> None:
    """Write these states back in one transaction."""
    async with transaction(conn):
        await conn.executemany(
            "UPDATE feeds SET section = ?, etag = ?, last_modified = ?, initialized = ?, "
            "last_fetch_at = ?, last_success_at = ?, failures = ?, next_fetch_at = ?, "
            "last_error = ? WHERE url = ?",
            [
                (
                    s.section,
                    s.etag,
                    s.last_modified,
                    int(s.initialized),
                    s.last_fetch_at,
                    s.last_success_at,
                    s.failures,
                    s.next_fetch_at,
                    s.last_error,
                    s.url,
                )
                for s in states
            ],
        )


async def health(conn: aiosqlite.Connection, urls: Iterable[str] | None = None) -> list[FeedState]:
    """Feed states for an operator (`newsbot check`), failing ones first."""
    states = list((await all_states(conn)).values())
    if urls is not None:
        wanted = set(urls)
        states = [s for s in states if s.url in wanted]
    return sorted(states, key=lambda s: (s.failures == 0, s.section, s.url))

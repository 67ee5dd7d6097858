"""The bot as its site's WebSub hub: a publish ping starts an ingest pass at once.

WordPress's "WebSub (FKA PubSubHubbub)" plugin, on every publish, POSTs to each hub URL in
Settings → WebSub a form `hub.mode=publish&hub.url=<feed>&hub.url=<feed>…` (the site's main
feeds and the post's category, tag and author feeds). Served at POST /websub on
NEWSBOT_METRICS_PORT.

A ping proves nothing (anyone can send one), so it is only a hint: it pokes the poller, which
fetches the configured site's own feeds as it always does. Nothing in the ping is fetched or
stored; a topic URL only decides whether the ping is about our site at all. The poller
coalesces pokes (one extra pass a second at most), so a flood costs the site a pass a second at
worst, and the database a write every few seconds.

What a request means is decided in bot/pings.py (pure); this module is its I/O edge.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import aiosqlite
import tornado.web

from bot import logs
from bot.domain import PingOutcome
from bot.pings import Ping, read
from storage import websub

log = logging.getLogger(__name__)

PATH = "/websub"
MAX_BODY = 64 * 1024  # the plugin's form with a few dozen feed URLs is a few KiB
FLUSH_SECONDS = 5.0  # at most one database write (and one log line) per outcome this often


@dataclass(frozen=True, slots=True)
class _Tally:
    last_at: int
    count: int
    detail: str


class Hub:
    """Pings in; a poke of the poller per accepted ping, and a few writes and log lines out."""

    def __init__(
        self,
        conn: aiosqlite.Connection,
        poke: Callable[[], None],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._conn = conn
        self._poke = poke
        self._clock = clock
        self._pending: dict[PingOutcome, _Tally] = {}
        self._flushed_at = float("-inf")
        self._flush: asyncio.Task[None] | None = None

    def receive(self, ping: Ping) -> None:
        """Act on one ping: poke the poller if accepted; tally it for the next write."""
        if ping.accepted:
            self._poke()
        outcome: PingOutcome = "accepted" if ping.accepted else "rejected"
        now = int(self._clock())
        before = self._pending.get(outcome)
        self._pending[outcome] = (
            replace(before, last_at=now, count=before.count + 1, detail=ping.reason)
            if before
            else _Tally(now, 1, ping.reason)
        )
        if self._flush is None:
            wait = max(0.0, self._flushed_at + FLUSH_SECONDS - self._clock())
            self._flush = asyncio.create_task(self._write_after(wait), name="websub-tally")

    async def _write_after(self, wait: float) -> None:
        await asyncio.sleep(wait)
        self._flush = None
        await self.write()

    async def write(self) -> None:
        """Store and log what was tallied since the last write."""
        pending, self._pending = self._pending, {}
        self._flushed_at = self._clock()
        for outcome, tally in pending.items():
            try:
                await websub.record(self._conn, outcome, tally.last_at, tally.count, tally.detail)
            except aiosqlite.Error as exc:
                logs.event(log, "websub tally not stored", logging.WARNING, error=str(exc))
            level = logging.INFO if outcome == "accepted" else logging.WARNING
            logs.event(log, f"websub ping {outcome}", level, pings=tally.count, detail=tally.detail)

    async def close(self) -> None:
        """Write what is pending now instead of after the wait."""
        if self._flush is not None:
            self._flush.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flush
            self._flush = None
        if self._pending:
            await self.write()


class HubHandler(tornado.web.RequestHandler):
    """POST /websub: answer as a hub would, poke the poller when the ping is about our site."""

    def initialize(self, hub: Hub, hosts: frozenset[str]) -> None:
        self.hub = hub
        self.hosts = hosts

    def post(self) -> None:
        ping = read(self.request.body, self.request.query, self.hosts)
        self.hub.receive(ping)
        self.set_status(ping.status)
        if ping.accepted:
            self.finish()
            return
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.finish(ping.reason + "\n")

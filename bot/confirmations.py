"""The exactly-once promise: a send Telegram confirmed is never sent again."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable

log = logging.getLogger(__name__)

Writer = Callable[[list[tuple[int, int]]], Awaitable[None]]


class Confirmations:
    """Confirmed sends (row -> message id) on their way to the outbox. Whoever flushes first
    writes for everyone waiting (a group commit). A row stays here, and so counts as done, until
    its write succeeds: when the database fails, the send is not repeated, the write is."""

    def __init__(self, write: Writer) -> None:
        self._write = write
        self._pending: dict[int, int] = {}
        self._lock = asyncio.Lock()

    def confirm(self, row_ids: Iterable[int], message_id: int) -> None:
        """Telegram confirmed these rows' message."""
        for row_id in row_ids:
            self._pending[row_id] = message_id

    def __contains__(self, row_id: object) -> bool:
        return row_id in self._pending

    def __len__(self) -> int:
        return len(self._pending)

    async def flush(self) -> bool:
        """Write every confirmed send in one statement; False (rows kept) if the write failed."""
        async with self._lock:
            if not self._pending:
                return True
            done = list(self._pending.items())
            try:
                await self._write(done)
            except Exception:
                log.exception("could not record %d confirmed sends; will retry", len(done))
                return False
            for row_id, message_id in done:
                if self._pending.get(row_id) == message_id:
                    del self._pending[row_id]
            return True

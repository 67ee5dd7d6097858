"""Pauses Telegram imposed: per chat (429 with retry_after), for everyone (a flood of 429s)."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Literal

from bot.outcome import FLOOD_CHATS

# 429s for FLOOD_CHATS different chats within this many seconds mean the whole bot is flooding.
FLOOD_WINDOW = 5.0

Scope = Literal["pause_chat", "pause_all"]


class Pauses:
    """Until when each chat, and every chat, must stay quiet; decides a 429's scope."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._chats: dict[int, float] = {}
        self._all = 0.0
        self._recent: deque[tuple[float, int | None]] = deque()

    def pause_chat(self, chat_id: int, seconds: float) -> None:
        """Nothing to `chat_id` for `seconds` (a later pause never shortens an earlier one)."""
        until = self.clock() + seconds
        if until > self._chats.get(chat_id, 0.0):
            self._chats[chat_id] = until

    def pause_all(self, seconds: float) -> None:
        """Nothing to anyone for `seconds`."""
        self._all = max(self._all, self.clock() + seconds)

    def all_delay(self) -> float:
        """Seconds until every chat may be sent to again (0 = now)."""
        return max(0.0, self._all - self.clock())

    def chat_delay(self, chat_id: int | None) -> float:
        """Seconds until `chat_id`'s own pause ends (the pause for everyone not included)."""
        if chat_id is None or (until := self._chats.get(chat_id)) is None:
            return 0.0
        now = self.clock()
        if until <= now:
            del self._chats[chat_id]
            return 0.0
        return until - now

    def others_refused(self, chat_id: int | None) -> int:
        """Different chats other than `chat_id` refused with 429 within FLOOD_WINDOW."""
        now = self.clock()
        while self._recent and self._recent[0][0] < now - FLOOD_WINDOW:
            self._recent.popleft()
        return len({c for _, c in self._recent if c != chat_id})

    def refused(self, chat_id: int | None, seconds: float) -> Scope:
        """Telegram answered 429 with `retry_after` = `seconds`: pause that chat, or everyone
        once FLOOD_CHATS different chats were refused close together. Returns the scope."""
        flooding = self.others_refused(chat_id) + 1 >= FLOOD_CHATS
        scope: Scope = "pause_all" if flooding else "pause_chat"
        self._recent.append((self.clock(), chat_id))
        if scope == "pause_all" or chat_id is None:
            self.pause_all(seconds)
        else:
            self.pause_chat(chat_id, seconds)
        return scope

"""Telegram (or the network to it) down for everyone: one fact, paused and probed as a whole."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from bot import logs

log = logging.getLogger(__name__)

OUTAGE_CHATS = 3  # transport failures for this many different chats, no answer in between
OUTAGE_FAILURES = 4  # or this many in a row, whatever the chats (a bot with one reader)
FIRST_PROBE = 1.0  # seconds from the outage's start to the first probe
PROBE_CAP = 60.0  # the back-off between probes never grows beyond this
PROBE_TIMEOUT = 30.0  # a probe that never reports back frees the gate after this long


class Outage:
    """Counts sends that got no answer from Telegram (5xx, timeouts, refused connections).
    When they span several chats with no answer in between, the outage is on: one send at a
    time goes through as a probe, with a doubling pause (capped) after each failed probe, until
    any answer from Telegram ends it."""

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        *,
        chats: int = OUTAGE_CHATS,
        failures: int = OUTAGE_FAILURES,
        first: float = FIRST_PROBE,
        cap: float = PROBE_CAP,
        probe_timeout: float = PROBE_TIMEOUT,
    ) -> None:
        self.clock = clock
        self._chats_needed = chats
        self._failures_needed = failures
        self._first = first
        self._cap = cap
        self._probe_timeout = probe_timeout
        self._failing: set[int | None] = set()
        self._failures = 0
        self.active = False
        self._backoff = first
        self._next_probe = 0.0
        self._probe_until = 0.0  # a probe is in flight until then (or until it reports)
        self.started = 0.0
        self.answers = 0  # sends Telegram answered so far: "did it answer anyone since?"

    def answered(self) -> None:
        """Telegram answered a send (success, or a refusal about that send): it is up."""
        self.answers += 1
        self._failing.clear()
        self._failures = 0
        if self.active:
            self.active = False
            logs.event(log, "Telegram answers again", seconds=round(self.clock() - self.started))

    def unreachable(self, chat_id: int | None) -> None:
        """A send to `chat_id` got no answer (5xx, timeout, connection refused)."""
        now = self.clock()
        if self.active:
            if self._probe_until > now:  # the probe failed: wait longer before the next
                self._backoff = min(self._cap, self._backoff * 2)
                self._next_probe = now + self._backoff
                self._probe_until = 0.0
            return
        self._failing.add(chat_id)
        self._failures += 1
        if len(self._failing) >= self._chats_needed or self._failures >= self._failures_needed:
            self.active = True
            self.started = now
            self._backoff = self._first
            self._next_probe = now + self._first
            self._probe_until = 0.0
            logs.event(
                log,
                "Telegram unreachable; all sends paused, probing",
                logging.WARNING,
                chats=len(self._failing),
            )

    def gate(self) -> float:
        """Seconds until the next send may go (0 = now; always 0 outside an outage)."""
        if not self.active:
            return 0.0
        now = self.clock()
        if self._probe_until > now:
            return self._probe_until - now
        return max(0.0, self._next_probe - now)

    def granted(self) -> None:
        """A send goes now; during an outage it is the probe, and the gate closes behind it."""
        if self.active:
            self._probe_until = self.clock() + self._probe_timeout

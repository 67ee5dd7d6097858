"""Exact sliding-window send limits: global, per private chat, per group or channel."""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

PRIVATE_LIMIT = (1, 1.0)  # Telegram: about one message per second in one chat
GROUP_LIMIT = (20, 60.0)  # Telegram: at most 20 messages per minute in one group or channel
# Telegram counts a send when it arrives, we when we start it; requests reach it a few ms apart
# from how they left, so windows of exactly Telegram's length are sometimes seen as broken (429).
MARGIN = 0.025  # every per-chat window this fraction longer
# The global window counts a send until its answer is back (see _Airborne), so arrival jitter
# cannot break it; its margin only covers Telegram measuring a second a little differently.
GLOBAL_MARGIN = 0.005
BURSTS = 10  # the global budget is spent in tenths of a second: small bursts, little jitter
# A timer fires a little after the instant asked for.  A send booked at most this late counts
# from the instant the global window freed, so wake-up lateness does not pile up into lost rate;
# it is far below the margin, so every window still holds at Telegram.
LATE = 0.005
# A granted send whose end was never reported counts as answered this long after its start,
# beyond any request's timeouts, so one lost report cannot stall the budget for good.
FLIGHT_CAP = 30.0


@dataclass(frozen=True, slots=True)
class Window:
    """At most `count` events in any `seconds`-long interval."""

    count: int
    seconds: float

    @classmethod
    def per_second(cls, rate: float) -> Window:
        """A window for `rate` events per second, also for rates below one."""
        count = max(1, math.floor(rate))
        return cls(count, count / rate)

    def padded(self, margin: float) -> Window:
        """The same window, longer by the fraction `margin`."""
        return Window(self.count, self.seconds * (1 + margin))

    def split(self, parts: int) -> Window:
        """The same rate in bursts `parts` times smaller (never below one event).  It paces,
        but does not by itself bound, the original window (25/s in bursts of 2 per 0.08 s lets
        13 bursts, 26 events, into one second), so the Throttle keeps both."""
        count = max(1, self.count // parts)
        return Window(count, self.seconds * count / self.count)


class _Log:
    """Times of the last `window.count` events; the oldest says when the next is allowed."""

    __slots__ = ("times", "window")

    def __init__(self, window: Window) -> None:
        self.window = window
        self.times: deque[float] = deque(maxlen=window.count)

    def free_at(self) -> float:
        """The instant the window has room (-inf while it is not full)."""
        if len(self.times) < self.window.count:
            return -math.inf
        return self.times[0] + self.window.seconds

    def delay(self, now: float) -> float:
        return max(0.0, self.free_at() - now)

    def idle(self, now: float) -> bool:
        return not self.times or self.times[-1] + self.window.seconds <= now


class Flight:
    """One send, from the instant it was granted until Telegram's answer came back: it reached
    Telegram somewhere in between, and the whole-second window counts it there at the latest."""

    __slots__ = ("end", "start")

    def __init__(self, start: float) -> None:
        self.start = start
        self.end = math.inf  # in flight: it may still arrive at any moment

    def landed(self, now: float) -> None:
        if self.end == math.inf:
            self.end = now


class _Airborne:
    """The whole-second window by latest arrival: a send leaves the window `seconds` after its
    answer came back, so no delay between us and Telegram (a busy CPU, a slow socket) can make
    more than `count` sends arrive within one window. Flights leave in grant order; one slow
    answer holds those behind it a little longer, which errs on the safe side."""

    __slots__ = ("flights", "window")

    def __init__(self, window: Window) -> None:
        self.window = window
        self.flights: deque[Flight] = deque()

    def delay(self, now: float) -> float:
        flights, seconds = self.flights, self.window.seconds
        while flights and flights[0].end + seconds <= now:
            flights.popleft()
        if len(flights) < self.window.count:
            return 0.0
        head = flights[0]
        if head.end == math.inf and now - head.start > FLIGHT_CAP:
            head.landed(head.start + FLIGHT_CAP)  # never reported: no request lives this long
            return self.delay(now)
        # Still in flight: its answer (which wakes the budget) frees the window `seconds` later.
        return seconds if head.end == math.inf else head.end + seconds - now


class Throttle:
    """Decides how long a send to a chat must wait; `record` books a send that happens now."""

    def __init__(
        self,
        rate: float | None,
        *,
        clock: Callable[[], float] = time.monotonic,
        private: Window = Window(*PRIVATE_LIMIT),
        group: Window = Window(*GROUP_LIMIT),
        margin: float = MARGIN,
        late: float = LATE,
    ) -> None:
        self.clock = clock
        pad = min(margin, GLOBAL_MARGIN)
        whole = Window.per_second(rate).padded(pad) if rate else None
        self._global = _Log(Window.per_second(rate).split(BURSTS).padded(pad)) if rate else None
        self._second = _Airborne(whole) if whole else None  # the rate over any whole second
        self._private = private.padded(margin)
        self._group = group.padded(margin)
        self._late = late
        self._chats: dict[int, _Log] = {}
        self._last_sweep = clock()

    def global_delay(self) -> float:
        """Seconds until the global window has room."""
        if not self._global or not self._second:
            return 0.0
        now = self.clock()
        return max(self._global.delay(now), self._second.delay(now))

    def chat_delay(self, chat_id: int) -> float:
        """Seconds until this chat's window has room."""
        log = self._chats.get(chat_id)
        return log.delay(self.clock()) if log else 0.0

    def next_allowed(self, chat_id: int) -> float:
        """Seconds until a send to this chat respects every limit (0 = now)."""
        return max(self.global_delay(), self.chat_delay(chat_id))

    def record(self, chat_id: int | None, private: bool) -> Flight | None:
        """Book one send to `chat_id` (None: no chat window, e.g. an inline message edit) now;
        the caller reports the returned flight `landed` when Telegram's answer is back."""
        now = self.clock()
        if self._global:
            freed = self._global.free_at()
            late = 0.0 <= now - freed <= self._late
            self._global.times.append(max(freed, self._global.times[-1]) if late else now)
        flight = None
        if self._second:
            flight = Flight(now)
            self._second.flights.append(flight)
        if chat_id is not None:
            log = self._chats.get(chat_id)
            if log is None:
                log = self._chats[chat_id] = _Log(self._private if private else self._group)
            log.times.append(now)
        if now - self._last_sweep > 60.0:
            self._sweep(now)
        return flight

    def landed(self, flight: Flight | None) -> None:
        """Telegram's answer to this send is back (or the send never went out)."""
        if flight is not None:
            flight.landed(self.clock())

    def _sweep(self, now: float) -> None:
        # Chats whose windows are empty need no memory; 100,000 chats would otherwise stay.
        self._chats = {c: log for c, log in self._chats.items() if not log.idle(now)}
        self._last_sweep = now

    def forget(self, chat_id: int) -> None:
        """Drop a chat's history (it moved to a new id)."""
        self._chats.pop(chat_id, None)

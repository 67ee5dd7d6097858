"""One send budget for everything the bot says: replies before pushes, never beyond a window.

The Application's handlers (through `bot.limiter`) and the dispatcher (bot/send.py) take every
message and edit from the same `Budget`, so Telegram's windows hold whoever is talking.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections import deque
from dataclasses import dataclass, field

from telegram.error import BadRequest, NetworkError, TelegramError

from bot.outage import Outage
from bot.pauses import Pauses, Scope
from bot.throttle import Flight, Throttle

URGENT, BULK = 0, 1  # a reader waiting for an answer; pushes, digests, broadcasts


@dataclass(eq=False, slots=True)
class _Ticket:
    chat_id: int | None
    private: bool
    granted: asyncio.Future[Flight | None] = field(repr=False)


def unreachable(error: BaseException) -> bool:
    """True when a send got no answer from Telegram (5xx, timeout, network), as opposed to an
    answer about that send (400, 403, 429 ...)."""
    if isinstance(error, BadRequest):
        return False
    return isinstance(error, NetworkError | OSError | TimeoutError)


class Budget:
    """Grants sends in priority order (URGENT first, then BULK, each first come first served)
    when the global window, the chat's window, Telegram's pauses and an outage all allow."""

    def __init__(
        self, throttle: Throttle, *, pauses: Pauses | None = None, outage: Outage | None = None
    ) -> None:
        self.throttle = throttle
        self.pauses = pauses or Pauses(throttle.clock)
        self.outage = outage or Outage(throttle.clock)
        self._queues: tuple[deque[_Ticket], deque[_Ticket]] = (deque(), deque())
        self._wake = asyncio.Event()
        self._pump: asyncio.Task[None] | None = None

    @classmethod
    def for_rate(cls, rate: float | None) -> Budget:
        """A budget of `rate` sends per second overall (None: only the per-chat windows)."""
        return cls(Throttle(rate))

    # --- asking ---------------------------------------------------------------------------

    def chat_delay(self, chat_id: int | None) -> float:
        """Seconds until `chat_id`'s own window and Telegram's pauses allow a send (0 = now)."""
        window = self.throttle.chat_delay(chat_id) if chat_id is not None else 0.0
        return max(window, self.pauses.chat_delay(chat_id))

    def waiting(self) -> int:
        """Sends queued for a grant."""
        return sum(len(q) for q in self._queues)

    async def acquire(self, chat_id: int | None, private: bool, *, urgent: bool) -> Flight | None:
        """Wait until a send to `chat_id` may start, and book it: the caller sends right away,
        then passes the flight to `report` (or `landed` if it never sent)."""
        ahead = self._queues[URGENT] if urgent else (self._queues[URGENT] or self._queues[BULK])
        if not ahead and self._gate() <= 0 and self.chat_delay(chat_id) <= 0:
            return self._grant(chat_id, private)
        ticket = _Ticket(chat_id, private, asyncio.get_running_loop().create_future())
        self._queues[URGENT if urgent else BULK].append(ticket)
        self._kick()
        try:
            return await ticket.granted
        except asyncio.CancelledError:
            if ticket.granted.done() and not ticket.granted.cancelled():
                self.landed(ticket.granted.result())  # granted as we were cancelled: unused
            for queue in self._queues:
                with contextlib.suppress(ValueError):
                    queue.remove(ticket)
            raise

    async def close(self) -> None:
        """Stop granting (at shutdown): the pump ends instead of outliving the event loop, and
        whoever still waits is cancelled."""
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump
        for queue in self._queues:
            while queue:
                queue.popleft().granted.cancel()

    # --- what Telegram said ---------------------------------------------------------------

    def answered(self) -> None:
        """Telegram answered a send (whatever it said): no outage."""
        if self.outage.active:
            self.outage.answered()
            self._wake.set()
        else:
            self.outage.answered()

    def unreachable(self, chat_id: int | None) -> None:
        """A send to `chat_id` got no answer."""
        self.outage.unreachable(chat_id)
        self._wake.set()

    def landed(self, flight: Flight | None) -> None:
        """A granted send is over (answered, failed, or never sent)."""
        self.throttle.landed(flight)
        if any(self._queues):
            self._wake.set()

    def report(
        self, chat_id: int | None, error: BaseException | None, flight: Flight | None
    ) -> None:
        """Tell the budget how a granted send ended (None: it succeeded)."""
        self.landed(flight)
        if error is None or (isinstance(error, TelegramError) and not unreachable(error)):
            self.answered()
        elif unreachable(error):
            self.unreachable(chat_id)

    def refused(self, chat_id: int | None, seconds: float) -> Scope:
        """Telegram answered 429: pause that chat, or everyone when many chats were refused."""
        self.answered()
        return self.pauses.refused(chat_id, seconds)

    # --- granting -------------------------------------------------------------------------

    def _gate(self) -> float:
        """Seconds until any send at all may go."""
        return max(self.outage.gate(), self.throttle.global_delay(), self.pauses.all_delay())

    def _grant(self, chat_id: int | None, private: bool) -> Flight | None:
        self.outage.granted()
        return self.throttle.record(chat_id, private=private)

    def _kick(self) -> None:
        self._wake.set()
        if self._pump is None or self._pump.done():
            self._pump = asyncio.create_task(self._run(), name="send budget")

    async def _run(self) -> None:
        while any(self._queues):
            self._wake.clear()
            wait = self._grant_next()
            if wait > 0:
                # The windows free at computed instants that no event announces; a new ticket,
                # or Telegram answering again during an outage, wakes us earlier.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), min(wait, 60.0))

    def _grant_next(self) -> float:
        """Grant the first ticket that may go now (0 returned), else seconds until one might."""
        gate = self._gate()
        if gate > 0:
            return gate
        best = math.inf
        for queue in self._queues:
            for index, ticket in enumerate(queue):
                if ticket.granted.done():  # cancelled while waiting
                    del queue[index]
                    return 0.0
                wait = self.chat_delay(ticket.chat_id)
                if wait <= 0:
                    del queue[index]
                    ticket.granted.set_result(self._grant(ticket.chat_id, ticket.private))
                    return 0.0
                best = min(best, wait)
        return best

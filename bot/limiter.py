"""PTB's rate-limiter hook, backed by the shared send budget: replies wait their turn (ahead of
pushes), and a reply Telegram refuses with 429 is sent again after `retry_after`."""

from __future__ import annotations

import asyncio
import logging
import time
import warnings
from collections.abc import Callable, Coroutine
from typing import Any

from telegram.error import RetryAfter, TimedOut
from telegram.ext import BaseRateLimiter

from bot.budget import Budget

JSONResult = bool | dict[str, Any] | list[dict[str, Any]]
# A reply still not sent this long after it was asked for is given up (logged once by the error
# handler). Longer than a burst of thousands of replies needs at 25/s, shorter than a reader's
# patience with a bot that answers nothing.
REPLY_PATIENCE = 180.0
_NOT_MESSAGES = frozenset({"sendchataction"})


class _NoPageDumps(logging.Filter):
    """PTB logs an HTML error page (a 502 from Telegram's proxy) as an ERROR with a traceback
    before it raises NetworkError; whoever sent the request logs that error in one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Can not load invalid JSON data")


def quiet_error_pages() -> None:
    """Install the filter above on PTB's request logger (idempotent)."""
    logger = logging.getLogger("telegram.request.BaseRequest")
    if not any(isinstance(f, _NoPageDumps) for f in logger.filters):
        logger.addFilter(_NoPageDumps())


def counts(endpoint: str) -> bool:
    """True for the methods Telegram counts against its limits: every message and edit."""
    name = endpoint.lower()
    if name in _NOT_MESSAGES:
        return False
    return name.startswith(("send", "editmessage", "copymessage", "forwardmessage"))


def chat_of(data: dict[str, Any]) -> int | None:
    """The numeric chat a request goes to (None: an @username or an inline message)."""
    raw = data.get("chat_id")
    if isinstance(raw, int):
        return raw
    if isinstance(raw, str) and raw.lstrip("-").isdigit():
        return int(raw)
    return None


def retry_seconds(error: RetryAfter) -> float:
    """`retry_after` in seconds (PTB 22 warns that it will become a timedelta)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        delay = error.retry_after
    return float(delay) if isinstance(delay, int | float) else delay.total_seconds()


class SharedLimiter(BaseRateLimiter[int]):
    """Every message and edit the Application sends takes its turn from `budget` (URGENT:
    readers are waiting); callback answers, inline answers and the rest go at once."""

    __slots__ = ("budget", "patience")

    def __init__(self, budget: Budget, patience: float = REPLY_PATIENCE) -> None:
        self.budget = budget
        self.patience = patience

    async def initialize(self) -> None:
        """Nothing to open: the budget lives as long as the process."""

    async def shutdown(self) -> None:
        """Close the budget with the Application's bot: no grant outlives the event loop."""
        await self.budget.close()

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, JSONResult]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> JSONResult:
        """Send when the budget allows; wait out a 429 and send the same request again."""
        if not counts(endpoint):
            return await callback(*args, **kwargs)
        chat = chat_of(data)
        private = chat is not None and chat > 0
        deadline = time.monotonic() + self.patience
        while True:
            left = deadline - time.monotonic()
            try:
                flight = await asyncio.wait_for(
                    self.budget.acquire(chat, private, urgent=True), left
                )
            except TimeoutError:
                raise TimedOut(f"no room to send within {self.patience:g} s") from None
            try:
                result = await callback(*args, **kwargs)
            except RetryAfter as exc:
                seconds = retry_seconds(exc)
                self.budget.report(chat, exc, flight)
                self.budget.refused(chat, seconds)
                if time.monotonic() + seconds > deadline:
                    raise
                continue  # the budget holds this chat (or everyone) for `seconds`
            except BaseException as exc:  # cancelled too: the flight must land
                self.budget.report(chat, exc, flight)
                raise
            self.budget.report(chat, None, flight)
            return result

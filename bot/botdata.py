"""What the PTB application carries between updates, typed (PTB's `ContextTypes`).

PTB builds `BotData()` and each `ChatData()` itself, with no arguments: what only startup can
provide (the Runtime, the dispatcher) starts empty and is set once, before any update arrives.
"""

from __future__ import annotations

from typing import Any

from telegram.ext import Application, CallbackContext, ContextTypes, ExtBot

from bot.runtime import Runtime
from bot.send import Dispatcher


class NotStarted(RuntimeError):
    """Something asked for a part that app.startup has not set yet."""


class BotData:
    """`application.bot_data`: the parts every handler and task shares."""

    def __init__(self) -> None:
        self._runtime: Runtime | None = None
        self.dispatcher: Dispatcher | None = None  # None until startup starts it
        # (chat, user) -> until when (time.monotonic) an administrator's grant is trusted.
        self.admin_grants: dict[tuple[int, int], float] = {}

    @property
    def runtime(self) -> Runtime:
        """The running bot's Runtime (settings, catalogue, database)."""
        if self._runtime is None:
            raise NotStarted("app.startup has not stored the runtime yet")
        return self._runtime

    @runtime.setter
    def runtime(self, value: Runtime) -> None:
        self._runtime = value


class ChatData:
    """`context.chat_data`: what one chat's pending conversation needs."""

    def __init__(self) -> None:
        # Broadcast token -> announcement awaiting the admin's Confirm tap.
        self.broadcasts: dict[str, str] = {}


# ExtBot[int]: the bot's rate limiter is a SharedLimiter, a BaseRateLimiter[int] (bot/limiter.py).
# user_data is unused: PTB's plain dict stays.
Context = CallbackContext[ExtBot[int], dict[Any, Any], ChatData, BotData]
CONTEXT_TYPES = ContextTypes(chat_data=ChatData, bot_data=BotData)
# No JobQueue: background work runs as named tasks (bot/app.py), which /healthz watches.
App = Application[ExtBot[int], Context, dict[Any, Any], ChatData, BotData, None]

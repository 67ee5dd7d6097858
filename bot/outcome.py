"""What to do when Telegram refuses a send: one pure decision per error, nothing executed here."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Literal

from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
)

Action = Literal[
    "pause_chat",  # wait `delay` for this chat only, then retry the same row
    "pause_all",  # the bot is flooding: wait `delay` for every chat, then retry the same row
    "deactivate",  # the chat is gone for us: mark inactive, drop its pending rows
    "drop_topic",  # the forum topic is gone or closed: drop that topic's pending rows
    "migrate",  # the group became a supergroup: move the chat to `new_chat_id`, retry
    "plain",  # the HTML did not parse: resend once as plain text
    "retry",  # transient: retry after `delay` (exponential back-off with jitter)
    "fail",  # give up on this row, keep `reason`
]

MAX_ATTEMPTS = 6
BACKOFF_BASE = 2.0  # seconds before the first retry
BACKOFF_CAP = 300.0
# 429s for this many different chats within one retry window mean the whole bot is flooding:
# Telegram's description carries no scope, and per-chat limits cannot explain that many.
FLOOD_CHATS = 3

_GONE = ("chat not found", "user not found", "group chat was deactivated", "peer_id_invalid")
_TOPIC_GONE = ("topic closed", "topic_closed", "message thread not found", "topic_deleted")
_ENTITIES = ("can't parse entities", "can't find end of the entity", "unsupported start tag")


@dataclass(frozen=True, slots=True)
class Decision:
    """The dispatcher's next step for a row whose send raised."""

    action: Action
    delay: float = 0.0
    reason: str = ""
    new_chat_id: int | None = None


def backoff(attempts: int, jitter: float) -> float:
    """Seconds before retry number `attempts` (1-based); `jitter` in [0, 1) spreads retries."""
    base: float = min(BACKOFF_CAP, BACKOFF_BASE * 2.0 ** max(0, attempts - 1))
    return base * (0.5 + jitter / 2)


def decide(
    error: Exception,
    attempts: int,
    *,
    thread_id: int = 0,
    plain_tried: bool = False,
    recent_429_chats: int = 0,
    jitter: float = 0.0,
    max_attempts: int = MAX_ATTEMPTS,
) -> Decision:
    """The decision for `error` raised by the `attempts`-th try (1-based) of one row."""
    reason = f"{type(error).__name__}: {error}"[:500]
    if isinstance(error, RetryAfter):
        with warnings.catch_warnings():
            # PTB 22 warns that the type will become timedelta; both are handled below.
            warnings.simplefilter("ignore")
            delay = error.retry_after
        seconds = delay if isinstance(delay, int) else delay.total_seconds()
        action: Action = "pause_all" if recent_429_chats + 1 >= FLOOD_CHATS else "pause_chat"
        return Decision(action, float(seconds), reason)
    if isinstance(error, ChatMigrated):
        return Decision("migrate", 0.0, reason, new_chat_id=error.new_chat_id)
    if isinstance(error, Forbidden):
        return Decision("deactivate", reason=reason)
    if isinstance(error, BadRequest):
        message = error.message.lower()
        if any(s in message for s in _TOPIC_GONE):
            return Decision("drop_topic" if thread_id else "deactivate", reason=reason)
        if any(s in message for s in _GONE):
            return Decision("deactivate", reason=reason)
        if any(s in message for s in _ENTITIES):
            return Decision("fail" if plain_tried else "plain", reason=reason)
        return Decision("fail", reason=reason)
    # TimedOut is a NetworkError; PTB raises NetworkError for 5xx answers too.
    if isinstance(error, NetworkError | OSError | TimeoutError):
        if attempts >= max_attempts:
            return Decision("fail", reason=f"gave up after {attempts} attempts: {reason}")
        return Decision("retry", backoff(attempts, jitter), reason)
    return Decision("fail", reason=reason)

"""A Bot API double: a real HTTP server that answers PTB the way api.telegram.org does.

Point the bot at it with TELEGRAM_BASE_URL = double.base_url. It speaks the Bot API envelope,
long-polls getUpdates for real, validates what Telegram validates (HTML parse mode, text
length, callback_data, inline results) and records every call so tests can assert on them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import re
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import ClientSession, ClientTimeout, web

from tests.doubles.botapi_rules import (
    MAX_CAPTION,
    MAX_INLINE_RESULTS,
    MAX_TEXT,
    NOT_MODIFIED,
    ApiError,
    bad_request,
    check_reply_markup,
    command_entities,
    render_text,
)

DEFAULT_TOKEN = "7012345678:AAFakeTokenForTests-doNotLeakMe_0123456789"
DEFAULT_USERNAME = "azemedia_news_test_bot"

# Default patience of every wait: it ends as soon as its condition holds, so a long one costs a
# passing test nothing, and CI runs the whole suite on two busy cores.
WAIT = 15.0
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"

# Parameters that PTB sends as plain strings; everything else arrives JSON-encoded.
_STRING_PARAMS = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "callback_query_id",
        "inline_query_id",
        "inline_message_id",
        "next_offset",
        "url",
        "secret_token",
        "language_code",
        "description",
        "short_description",
        "name",
        "title",
        "photo",
        "document",
        "switch_pm_text",
        "switch_pm_parameter",
        "ip_address",
        "business_connection_id",
        "message_effect_id",
    }
)

SEND_METHODS = frozenset(
    {
        "sendmessage",
        "sendphoto",
        "senddocument",
        "sendvideo",
        "sendanimation",
        "sendaudio",
        "sendvoice",
        "sendsticker",
        "sendmediagroup",
        "sendlocation",
        "sendpoll",
        "senddice",
        "copymessage",
        "forwardmessage",
    }
)
EDIT_METHODS = frozenset(
    {"editmessagetext", "editmessagereplymarkup", "editmessagecaption", "editmessagemedia"}
)
# Methods that address a chat and so fail when the bot was blocked/kicked there.
CHAT_METHODS = SEND_METHODS | EDIT_METHODS | {"deletemessage", "sendchataction", "pinchatmessage"}


# --------------------------------------------------------------------------- recording


@dataclass
class Call:
    """One request the bot made, with its decoded parameters and what the double answered."""

    method: str
    params: dict[str, Any]
    ok: bool = True
    result: Any = None
    error_code: int | None = None
    description: str | None = None
    at: float = field(default_factory=time.monotonic)

    @property
    def chat_id(self) -> int | str | None:
        value = self.params.get("chat_id")
        if isinstance(value, str) and re.fullmatch(r"-?\d+", value):
            return int(value)
        return value  # type: ignore[no-any-return]

    @property
    def text(self) -> str | None:
        value = self.params.get("text", self.params.get("caption"))
        return None if value is None else str(value)

    @property
    def thread_id(self) -> int | None:
        value = self.params.get("message_thread_id")
        return None if value is None else int(value)

    @property
    def reply_markup(self) -> dict[str, Any] | None:
        value = self.params.get("reply_markup")
        return value if isinstance(value, dict) else None

    @property
    def buttons(self) -> list[dict[str, Any]]:
        """Every inline button of the call's keyboard, row after row."""
        markup = self.reply_markup or {}
        return [b for row in markup.get("inline_keyboard", []) for b in row]

    def __repr__(self) -> str:
        outcome = "ok" if self.ok else f"{self.error_code} {self.description}"
        shown = {k: v for k, v in self.params.items() if k not in ("results",)}
        return f"Call({self.method}, {shown!r}, {outcome})"


@dataclass
class _Fault:
    method: str
    code: int
    description: str
    parameters: dict[str, Any] | None
    times: int | None
    chat_id: int | str | None
    html: bool = False


def _same_chat(a: Any, b: Any) -> bool:
    return a is not None and b is not None and str(a) == str(b)


def _default_description(code: int, retry_after: int | None, migrate_to: int | None) -> str:
    if code == 429:
        return f"Too Many Requests: retry after {retry_after or 1}"
    if code == 403:
        return "Forbidden: bot was blocked by the user"
    if code == 401:
        return "Unauthorized"
    if code == 409:
        return "Conflict: terminated by other getUpdates request"
    if migrate_to is not None:
        return "Bad Request: group chat was upgraded to a supergroup chat"
    if code == 400:
        return "Bad Request: chat not found"
    return "Internal Server Error"


_RESTRICTED_FLAGS = (
    "can_change_info",
    "can_invite_users",
    "can_pin_messages",
    "can_send_messages",
    "can_send_polls",
    "can_send_other_messages",
    "can_add_web_page_previews",
    "can_manage_topics",
    "can_send_audios",
    "can_send_documents",
    "can_send_photos",
    "can_send_videos",
    "can_send_video_notes",
    "can_send_voice_notes",
    "can_edit_tag",
)


def _chat_member(status: str, user: dict[str, Any]) -> dict[str, Any]:
    member: dict[str, Any] = {"status": status, "user": user}
    if status == "creator":
        member["is_anonymous"] = False
    elif status == "administrator":
        member.update(
            can_be_edited=False,
            is_anonymous=False,
            can_manage_chat=True,
            can_delete_messages=True,
            can_manage_video_chats=True,
            can_restrict_members=True,
            can_promote_members=False,
            can_change_info=True,
            can_invite_users=True,
            can_post_stories=False,
            can_edit_stories=False,
            can_delete_stories=False,
            can_post_messages=True,
            can_edit_messages=True,
            can_pin_messages=True,
        )
    elif status == "kicked":
        member["until_date"] = 0
    elif status == "restricted":
        member.update(
            {name: False for name in _RESTRICTED_FLAGS},
            is_member=True,
            until_date=0,
        )
    return member


class BotApiDouble:
    """The Bot API on 127.0.0.1, a random port: `async with BotApiDouble() as api: ...`."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        username: str = DEFAULT_USERNAME,
        first_name: str = "Aze.Media News",
    ) -> None:
        self.token = token
        self.username = username
        self.bot_id = int(token.split(":", 1)[0])
        self.bot_user: dict[str, Any] = {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": first_name,
            "username": username,
        }
        self.calls: list[Call] = []
        self.chats: dict[int, dict[str, Any]] = {}
        self.messages: dict[tuple[int, int], dict[str, Any]] = {}
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.member_status: dict[tuple[int, int], str] = {}
        self.blocked: set[int] = set()
        self.migrated: dict[int, int] = {}
        self.webhook: dict[str, Any] | None = None
        self.too_many_requests = 0  # 429 answers given, by limits or by fail()
        self.port = 0
        self._faults: list[_Fault] = []
        self._updates: list[dict[str, Any]] = []
        self._next_update_id = 100_000
        self._next_message_id: dict[int, int] = defaultdict(int)
        self._next_query_id = 5_000_000
        self._open_queries: set[str] = set()
        self._allowed_updates: list[str] | None = None
        self._update_waiters: set[asyncio.Event] = set()
        self._call_waiters: set[asyncio.Event] = set()
        self._poller: asyncio.Event | None = None
        self._closing = False
        self._limits: tuple[float, float, float] | None = None
        self._global_window: deque[float] = deque()
        self._chat_windows: dict[str, deque[float]] = defaultdict(deque)
        self._group_windows: dict[str, deque[float]] = defaultdict(deque)
        self._runner: web.AppRunner | None = None
        self._pump: asyncio.Task[None] | None = None

    # ---------------------------------------------------------------- lifecycle

    @property
    def url(self) -> str:
        """The server root, e.g. http://127.0.0.1:40123."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """Use as TELEGRAM_BASE_URL; PTB requests {base_url}{token}/{method}."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.url}/file/bot"

    async def start(self) -> BotApiDouble:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        # Cancel a long poll whose client went away, and don't wait long for them at stop.
        self._runner = web.AppRunner(
            app, handler_cancellation=True, shutdown_timeout=0.5, access_log=None
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        self._closing = True
        self._wake(self._update_waiters)
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> BotApiDouble:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ---------------------------------------------------------------- test controls

    def fail(
        self,
        method: str,
        code: int = 400,
        description: str | None = None,
        *,
        times: int | None = 1,
        retry_after: int | None = None,
        migrate_to_chat_id: int | None = None,
        chat_id: int | str | None = None,
        html: bool = False,
    ) -> None:
        """Answer the next `times` calls of `method` (to `chat_id`, if given) with an error.

        times=None fails every matching call. The description defaults to Telegram's text
        for the code (429 retry after N, 403 blocked, 400 chat not found / upgraded).
        html=True answers as Telegram's front proxy does when the Bot API server behind it is
        down: an HTML error page, not a JSON envelope.
        """
        if code == 429 and retry_after is None:
            retry_after = 1
        parameters: dict[str, Any] = {}
        if retry_after is not None:
            parameters["retry_after"] = retry_after
        if migrate_to_chat_id is not None:
            parameters["migrate_to_chat_id"] = migrate_to_chat_id
        self._faults.append(
            _Fault(
                method.lower(),
                code,
                description or _default_description(code, retry_after, migrate_to_chat_id),
                parameters or None,
                times,
                chat_id,
                html,
            )
        )

    def clear_faults(self) -> None:
        self._faults.clear()

    def block(self, chat_id: int) -> None:
        """The user blocked the bot (or the group kicked it): every send answers 403."""
        self.blocked.add(int(chat_id))

    def unblock(self, chat_id: int) -> None:
        self.blocked.discard(int(chat_id))

    def set_member_status(self, chat_id: int, user_id: int, status: str) -> None:
        """getChatMember answers this status ("member" unless set; "administrator", "creator"…)."""
        self.member_status[(int(chat_id), int(user_id))] = status

    def change_member_status(
        self, chat_id: int, user_id: int, new_status: str, *, by: int = 424242
    ) -> dict[str, Any] | None:
        """Someone (`by`, say the owner) promotes, demotes, restricts or removes a member.

        getChatMember answers the new status at once. As Telegram does, a `chat_member` update
        goes out only when the bot is an administrator of the chat (and is delivered only if the
        bot listed "chat_member" in allowed_updates); returns it, or None when none is sent.
        """
        chat_id, user_id = int(chat_id), int(user_id)
        old_status = self.member_status.get((chat_id, user_id), "member")
        self.member_status[(chat_id, user_id)] = new_status
        if self.member_status.get((chat_id, self.bot_id)) not in ("administrator", "creator"):
            return None
        chat = self.chat(chat_id)
        member = self.user(user_id)
        return self.inject_update(
            {
                "chat_member": {
                    "chat": chat,
                    "from": self.user(by),
                    "date": int(time.time()),
                    "old_chat_member": _chat_member(old_status, member),
                    "new_chat_member": _chat_member(new_status, member),
                }
            }
        )

    def enforce_limits(
        self, global_per_s: float = 30, per_chat_per_s: float = 1, group_per_min: float = 20
    ) -> None:
        """Answer 429 like Telegram when sends exceed these rates over sliding windows."""
        self._limits = (global_per_s, per_chat_per_s, group_per_min)

    def sent(self, method: str | None = None, chat_id: int | str | None = None) -> list[Call]:
        """Successful calls of `method` (default: every send*/copy/forward) to `chat_id`."""

        def wanted(call: Call) -> bool:
            name = call.method.lower()
            if method is None:
                if name not in SEND_METHODS:
                    return False
            elif name != method.lower():
                return False
            return call.ok and (chat_id is None or _same_chat(call.chat_id, chat_id))

        return [c for c in self.calls if wanted(c)]

    def of(self, method: str) -> list[Call]:
        """Every call of `method`, answered with success or not."""
        return [c for c in self.calls if c.method.lower() == method.lower()]

    async def wait_for(
        self,
        method: str | None,
        predicate: Callable[[Call], bool] | None = None,
        timeout: float = WAIT,  # noqa: ASYNC109 - the tests' vocabulary
        count: int = 1,
        *,
        since: int = 0,
    ) -> list[Call]:
        """Wait until `count` calls (from index `since` of `calls`) match; return the matches.

        Counts calls already made, so a reply that came before the wait started still counts.
        Failed calls count too (check `.ok`). Raises TimeoutError listing what was called.
        """
        deadline = asyncio.get_running_loop().time() + timeout

        def matches() -> list[Call]:
            return [
                c
                for c in self.calls[since:]
                if (method is None or c.method.lower() == method.lower())
                and (predicate is None or predicate(c))
            ]

        while True:
            found = matches()
            if len(found) >= count:
                return found
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                seen = ", ".join(
                    repr(c) for c in self.calls[since:][-15:] if c.method != "getUpdates"
                )
                raise TimeoutError(
                    f"waited {timeout}s for {count} {method} call(s), got {len(found)}; "
                    f"recent calls: {seen or 'none'}"
                )
            event = asyncio.Event()
            self._call_waiters.add(event)
            try:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), remaining)
            finally:
                self._call_waiters.discard(event)

    @property
    def polling(self) -> bool:
        """A getUpdates long poll is waiting right now (the bot is up and listening)."""
        return self._poller is not None

    async def wait_until(
        self,
        condition: Callable[[], bool],
        timeout: float = WAIT,  # noqa: ASYNC109
    ) -> None:
        """Wait until `condition()` holds; it is re-checked whenever a call arrives or ends, and
        every 50 ms for effects that follow a call (a database write, a metric)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while not condition():
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise TimeoutError(f"condition still false after {timeout}s")
            event = asyncio.Event()
            self._call_waiters.add(event)
            try:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), min(remaining, 0.05))
            finally:
                self._call_waiters.discard(event)

    async def wait_polling(self, timeout: float = WAIT) -> None:  # noqa: ASYNC109
        """Wait until the bot is long-polling getUpdates."""
        await self.wait_until(lambda: self.polling, timeout)

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        """Injected updates the bot has not confirmed yet."""
        return list(self._updates)

    async def wait_confirmed(self, timeout: float = WAIT) -> None:  # noqa: ASYNC109
        """Wait until the bot confirmed (polled past) every injected update."""
        await self.wait_for("getUpdates", lambda _: not self._updates, timeout=timeout)

    # ---------------------------------------------------------------- injecting updates

    def inject_update(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue a raw update (update_id assigned if missing) and wake the long poll."""
        if "update_id" not in update:
            update = {"update_id": self._next_update_id, **update}
        self._next_update_id = max(self._next_update_id, int(update["update_id"])) + 1
        self._updates.append(update)
        self._wake(self._update_waiters)
        return update

    def user(
        self,
        user_id: int,
        *,
        first_name: str = "Reader",
        username: str | None = None,
        language_code: str | None = "en",
    ) -> dict[str, Any]:
        data: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
        if username:
            data["username"] = username
        if language_code:
            data["language_code"] = language_code
        return data

    def chat(
        self,
        chat_id: int,
        chat_type: str | None = None,
        *,
        title: str | None = None,
        username: str | None = None,
        first_name: str | None = None,
        is_forum: bool | None = None,
    ) -> dict[str, Any]:
        """The chat object for `chat_id`, created (or updated) with these details."""
        known = self.chats.get(chat_id)
        if (
            known is not None
            and chat_type in (None, known["type"])
            and not (title or username or first_name or is_forum)
        ):
            return known
        kind = chat_type or (known or {}).get("type") or self._guess_type(chat_id)
        data: dict[str, Any] = {"id": chat_id, "type": kind}
        if kind == "private":
            data["first_name"] = first_name or (known or {}).get("first_name") or "Reader"
            if username or (known or {}).get("username"):
                data["username"] = username or (known or {})["username"]
        else:
            data["title"] = title or (known or {}).get("title") or f"Test {kind} {chat_id}"
            if username:
                data["username"] = username
        if kind == "supergroup" and (is_forum or (known or {}).get("is_forum")):
            data["is_forum"] = True
        self.chats[chat_id] = data
        return data

    @staticmethod
    def _guess_type(chat_id: int) -> str:
        if chat_id > 0:
            return "private"
        return "supergroup" if str(chat_id).startswith("-100") else "group"

    def _new_message_id(self, chat_id: int) -> int:
        self._next_message_id[chat_id] += 1
        return self._next_message_id[chat_id]

    def _user_message(
        self,
        chat_id: int,
        text: str,
        *,
        user_id: int | None,
        chat_type: str,
        language_code: str | None,
        thread_id: int | None,
        is_topic_message: bool | None,
        username: str | None,
        first_name: str,
        title: str | None,
        message_id: int | None = None,
        reply_to: int | None = None,
    ) -> dict[str, Any]:
        if user_id is None:
            user_id = chat_id if chat_type == "private" else 424242
        chat = self.chat(
            chat_id,
            chat_type,
            title=title,
            first_name=first_name if chat_type == "private" else None,
            username=username if chat_type == "private" else None,
            is_forum=True if thread_id and chat_type == "supergroup" else None,
        )
        message: dict[str, Any] = {
            "message_id": message_id or self._new_message_id(chat_id),
            "date": int(time.time()),
            "chat": chat,
            "from": self.user(
                user_id, first_name=first_name, username=username, language_code=language_code
            ),
            "text": text,
        }
        entities = command_entities(text)
        if entities:
            message["entities"] = entities
        if reply_to is not None and (chat_id, reply_to) in self.messages:
            message["reply_to_message"] = self.messages[(chat_id, reply_to)]
        if thread_id is not None:
            message["message_thread_id"] = thread_id
            if is_topic_message if is_topic_message is not None else chat_type == "supergroup":
                message["is_topic_message"] = True
        self.messages[(chat_id, message["message_id"])] = message
        return message

    def inject_message(
        self,
        chat_id: int,
        text: str,
        *,
        user_id: int | None = None,
        chat_type: str = "private",
        language_code: str | None = "en",
        thread_id: int | None = None,
        is_topic_message: bool | None = None,
        username: str | None = "reader",
        first_name: str = "Reader",
        title: str | None = None,
        reply_to: int | None = None,
    ) -> dict[str, Any]:
        """A user's message (a leading /command gets its bot_command entity); the update.

        `reply_to`: the id of a message in the chat this one replies to (as a ForceReply does).
        """
        message = self._user_message(
            chat_id,
            text,
            user_id=user_id,
            chat_type=chat_type,
            language_code=language_code,
            thread_id=thread_id,
            is_topic_message=is_topic_message,
            username=username,
            first_name=first_name,
            title=title,
            reply_to=reply_to,
        )
        return self.inject_update({"message": message})

    def inject_edited_message(
        self,
        chat_id: int,
        message_id: int,
        text: str,
        *,
        user_id: int | None = None,
        chat_type: str = "private",
        language_code: str | None = "en",
        thread_id: int | None = None,
        username: str | None = "reader",
        first_name: str = "Reader",
    ) -> dict[str, Any]:
        """The user edited their message `message_id`; the update."""
        message = self._user_message(
            chat_id,
            text,
            user_id=user_id,
            chat_type=chat_type,
            language_code=language_code,
            thread_id=thread_id,
            is_topic_message=None,
            username=username,
            first_name=first_name,
            title=None,
            message_id=message_id,
        )
        message["edit_date"] = int(time.time())
        return self.inject_update({"edited_message": message})

    def inject_callback(
        self,
        chat_id: int,
        message_id: int,
        data: str,
        *,
        user_id: int | None = None,
        chat_type: str = "private",
        language_code: str | None = "en",
        username: str | None = "reader",
        first_name: str = "Reader",
    ) -> dict[str, Any]:
        """A button press on message `message_id` (the bot's own, with its keyboard, if known)."""
        if user_id is None:
            user_id = chat_id if chat_type == "private" else 424242
        message = self.messages.get((chat_id, message_id))
        if message is None:
            message = {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": self.chat(chat_id, chat_type),
                "from": self.bot_user,
                "text": "…",
            }
        query_id = self._new_query_id()
        return self.inject_update(
            {
                "callback_query": {
                    "id": query_id,
                    "from": self.user(
                        user_id,
                        first_name=first_name,
                        username=username,
                        language_code=language_code,
                    ),
                    "message": message,
                    "chat_instance": str(abs(chat_id) * 7 + 1),
                    "data": data,
                }
            }
        )

    def inject_inline_query(
        self,
        user_id: int,
        query: str,
        *,
        offset: str = "",
        language_code: str | None = "en",
        chat_type: str | None = "sender",
        username: str | None = "reader",
        first_name: str = "Reader",
    ) -> dict[str, Any]:
        """The user typed `@bot query` somewhere; the update (its inline_query.id is answerable)."""
        inline: dict[str, Any] = {
            "id": self._new_query_id(),
            "from": self.user(
                user_id, first_name=first_name, username=username, language_code=language_code
            ),
            "query": query,
            "offset": offset,
        }
        if chat_type:
            inline["chat_type"] = chat_type
        return self.inject_update({"inline_query": inline})

    def inject_chosen_inline_result(
        self,
        user_id: int,
        result_id: str,
        query: str,
        *,
        inline_message_id: str | None = None,
        language_code: str | None = "en",
    ) -> dict[str, Any]:
        chosen: dict[str, Any] = {
            "result_id": result_id,
            "from": self.user(user_id, language_code=language_code),
            "query": query,
        }
        if inline_message_id:
            chosen["inline_message_id"] = inline_message_id
        return self.inject_update({"chosen_inline_result": chosen})

    def inject_channel_post(
        self,
        chat_id: int,
        text: str,
        *,
        title: str = "News Channel",
        username: str | None = None,
        reply_to: int | None = None,
    ) -> dict[str, Any]:
        """A post in a channel (commands included), sent as the channel itself; `reply_to`: the
        id of the channel message it replies to."""
        chat = self.chat(chat_id, "channel", title=title, username=username)
        message: dict[str, Any] = {
            "message_id": self._new_message_id(chat_id),
            "date": int(time.time()),
            "chat": chat,
            "sender_chat": chat,
            "text": text,
        }
        entities = command_entities(text)
        if entities:
            message["entities"] = entities
        if reply_to is not None and (chat_id, reply_to) in self.messages:
            message["reply_to_message"] = self.messages[(chat_id, reply_to)]
        self.messages[(chat_id, message["message_id"])] = message
        return self.inject_update({"channel_post": message})

    def inject_my_chat_member(
        self,
        chat_id: int,
        *,
        chat_type: str = "group",
        old_status: str = "left",
        new_status: str = "member",
        user_id: int = 424242,
        title: str | None = None,
    ) -> dict[str, Any]:
        """The bot's own membership changed (added, promoted, kicked, blocked)."""
        chat = self.chat(chat_id, chat_type, title=title)
        actor = self.user(user_id) if chat_type != "private" else self.user(chat_id)
        if new_status in ("kicked", "left"):
            self.blocked.add(chat_id)
        else:
            self.blocked.discard(chat_id)
        self.member_status[(chat_id, self.bot_id)] = new_status
        return self.inject_update(
            {
                "my_chat_member": {
                    "chat": chat,
                    "from": actor,
                    "date": int(time.time()),
                    "old_chat_member": _chat_member(old_status, self.bot_user),
                    "new_chat_member": _chat_member(new_status, self.bot_user),
                }
            }
        )

    def inject_migration(self, old_chat_id: int, new_chat_id: int) -> list[dict[str, Any]]:
        """A group became a supergroup: Telegram's two service messages; old id then answers 400."""
        old_chat = self.chat(old_chat_id, "group")
        new_chat = self.chat(new_chat_id, "supergroup", title=old_chat.get("title"))
        actor = self.user(424242)
        self.migrated[old_chat_id] = new_chat_id
        first = self.inject_update(
            {
                "message": {
                    "message_id": self._new_message_id(old_chat_id),
                    "date": int(time.time()),
                    "chat": old_chat,
                    "from": actor,
                    "migrate_to_chat_id": new_chat_id,
                }
            }
        )
        second = self.inject_update(
            {
                "message": {
                    "message_id": self._new_message_id(new_chat_id),
                    "date": int(time.time()),
                    "chat": new_chat,
                    "from": actor,
                    "migrate_from_chat_id": old_chat_id,
                }
            }
        )
        return [first, second]

    def _new_query_id(self) -> str:
        self._next_query_id += 1
        query_id = str(self._next_query_id)
        self._open_queries.add(query_id)
        return query_id

    # ---------------------------------------------------------------- HTTP plumbing

    @staticmethod
    def _wake(waiters: Iterable[asyncio.Event]) -> None:
        for event in list(waiters):
            event.set()

    def _record(self, call: Call) -> None:
        self.calls.append(call)
        self._wake(self._call_waiters)

    async def _params(self, request: web.Request) -> dict[str, Any]:
        raw: dict[str, Any] = dict(request.query)
        if request.method == "POST":
            if request.content_type == "application/json":
                body = await request.json()
                return {**raw, **body}
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    raw[key] = {"filename": value.filename, "content": value.file.read()}
                else:
                    raw[key] = value
        params: dict[str, Any] = {}
        for key, value in raw.items():
            if isinstance(value, str) and key not in _STRING_PARAMS:
                with contextlib.suppress(ValueError):
                    value = json.loads(value)
            params[key] = value
        return params

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        try:
            params = await self._params(request)
        except ValueError:
            params = {}
        call = Call(method, params)
        try:
            if request.match_info["token"] != self.token:
                raise ApiError(401, "Unauthorized")
            result = await self._dispatch(method, params)
        except ApiError as exc:
            call.ok, call.error_code, call.description = False, exc.code, exc.description
            if exc.code == 429:
                self.too_many_requests += 1
            self._record(call)
            if exc.html:
                page = (
                    f"<html>\r\n<head><title>{exc.code} {exc.description}</title></head>\r\n"
                    f"<body>\r\n<center><h1>{exc.code} {exc.description}</h1></center>\r\n"
                    "<hr><center>nginx/1.18.0</center>\r\n</body>\r\n</html>\r\n"
                )
                return web.Response(text=page, status=exc.code, content_type="text/html")
            body: dict[str, Any] = {
                "ok": False,
                "error_code": exc.code,
                "description": exc.description,
            }
            if exc.parameters:
                body["parameters"] = exc.parameters
            return web.json_response(body, status=exc.code)
        call.result = result
        self._record(call)
        return web.json_response({"ok": True, "result": result})

    def _check_faults(self, name: str, params: dict[str, Any]) -> None:
        for fault in self._faults:
            if fault.method != name:
                continue
            if fault.chat_id is not None and not _same_chat(fault.chat_id, params.get("chat_id")):
                continue
            if fault.times is not None:
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
            error = ApiError(fault.code, fault.description, fault.parameters)
            error.html = fault.html
            raise error

    def _check_chat(self, name: str, params: dict[str, Any]) -> int | None:
        if name not in CHAT_METHODS or "chat_id" not in params:
            return None
        raw = params["chat_id"]
        if isinstance(raw, str) and raw.startswith("@"):
            chat_id = -(10**12 + sum(raw.encode()))  # a stable stand-in for a channel username
            self.chat(chat_id, "channel", username=raw[1:])
        else:
            try:
                chat_id = int(raw)
            except (TypeError, ValueError):
                raise bad_request("chat not found") from None
        if chat_id in self.migrated:
            raise ApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": self.migrated[chat_id]},
            )
        if chat_id in self.blocked:
            kind = self.chat(chat_id)["type"]
            raise ApiError(
                403,
                {
                    "private": "Forbidden: bot was blocked by the user",
                    "group": "Forbidden: bot was kicked from the group chat",
                    "supergroup": "Forbidden: bot was kicked from the supergroup chat",
                }.get(kind, "Forbidden: bot is not a member of the channel chat"),
            )
        return chat_id

    def _check_rate(self, name: str, chat_id: int | None, params: dict[str, Any]) -> None:
        # Telegram counts every message and every edit against the same limits.
        if self._limits is None or name not in SEND_METHODS | EDIT_METHODS:
            return
        global_per_s, per_chat_per_s, group_per_min = self._limits
        if params.get("allow_paid_broadcast") is True:
            global_per_s = max(global_per_s, 1000)
        now = time.monotonic()
        key = str(chat_id)
        checks = [(self._global_window, global_per_s, 1.0)]
        if chat_id is not None:  # an inline message's edit counts only globally
            checks.append((self._chat_windows[key], per_chat_per_s, 1.0))
        if chat_id is not None and chat_id < 0:
            checks.append((self._group_windows[key], group_per_min, 60.0))
        wait = 0.0
        for window, limit, span in checks:
            while window and window[0] <= now - span:
                window.popleft()
            if len(window) >= limit:
                wait = max(wait, window[-int(limit)] + span - now if limit >= 1 else span)
        if wait > 0:
            retry_after = max(1, math.ceil(wait))
            raise ApiError(
                429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
            )
        for window, _, _ in checks:
            window.append(now)

    async def _dispatch(self, method: str, params: dict[str, Any]) -> Any:
        name = method.lower()
        handler = getattr(self, f"_api_{name}", None)
        if handler is None:
            raise ApiError(404, "Not Found")
        self._check_faults(name, params)
        chat_id = self._check_chat(name, params)
        self._check_rate(name, chat_id, params)
        if name == "getupdates":
            return await self._api_getupdates(params)
        return handler(params, chat_id) if name in CHAT_METHODS else handler(params)

    # ---------------------------------------------------------------- methods

    def _api_getme(self, params: dict[str, Any]) -> Any:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": True,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _api_logout(self, params: dict[str, Any]) -> Any:
        return True

    def _api_close(self, params: dict[str, Any]) -> Any:
        return True

    async def _api_getupdates(self, params: dict[str, Any]) -> Any:
        if self.webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = int(params.get("offset") or 0)
        limit = max(1, min(100, int(params.get("limit") or 100)))
        timeout = max(0.0, float(params.get("timeout") or 0))
        if "allowed_updates" in params and isinstance(params["allowed_updates"], list):
            self._allowed_updates = params["allowed_updates"] or None
        if offset < 0:
            self._updates = self._updates[offset:]
        elif offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        # A second poller terminates the first, as Telegram does for two bots on one token.
        if self._poller is not None:
            self._poller.set()
        mine = asyncio.Event()
        self._poller = mine
        self._wake(self._call_waiters)  # wait_until(lambda: api.polling) may be watching
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            while True:
                ready = [u for u in self._updates if self._allowed(u)][:limit]
                if ready or self._closing:
                    return ready
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return []
                wake = asyncio.Event()
                self._update_waiters.add(wake)
                try:
                    waiter = asyncio.ensure_future(wake.wait())
                    rival = asyncio.ensure_future(mine.wait())
                    _, pending = await asyncio.wait(
                        {waiter, rival}, timeout=remaining, return_when=asyncio.FIRST_COMPLETED
                    )
                    for task in pending:
                        task.cancel()
                finally:
                    self._update_waiters.discard(wake)
                if mine.is_set():
                    raise ApiError(
                        409,
                        "Conflict: terminated by other getUpdates request; make sure that only "
                        "one bot instance is running",
                    )
        finally:
            if self._poller is mine:
                self._poller = None

    def _allowed(self, update: dict[str, Any]) -> bool:
        kind = next(k for k in update if k != "update_id")
        if self._allowed_updates is None:
            return kind not in ("chat_member", "message_reaction", "message_reaction_count")
        return kind in self._allowed_updates

    def _api_deletewebhook(self, params: dict[str, Any]) -> Any:
        self.webhook = None
        if self._pump is not None:
            self._pump.cancel()
            self._pump = None
        if params.get("drop_pending_updates") is True:
            self._updates.clear()
        return True

    def _api_setwebhook(self, params: dict[str, Any]) -> Any:
        url = str(params.get("url") or "")
        if not url:
            return self._api_deletewebhook(params)
        if not re.match(r"^https?://", url):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        if params.get("drop_pending_updates") is True:
            self._updates.clear()
        self.webhook = {
            "url": url,
            "secret_token": params.get("secret_token"),
            "allowed_updates": params.get("allowed_updates"),
        }
        if isinstance(params.get("allowed_updates"), list):
            self._allowed_updates = params["allowed_updates"] or None
        if self._pump is None or self._pump.done():
            self._pump = asyncio.ensure_future(self._push_webhook())
        return True

    def _api_getwebhookinfo(self, params: dict[str, Any]) -> Any:
        info: dict[str, Any] = {
            "url": (self.webhook or {}).get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        return info

    async def _push_webhook(self) -> None:
        """Deliver queued updates to the webhook one by one, retrying until it answers 2xx."""
        async with ClientSession(timeout=ClientTimeout(total=10)) as session:
            while self.webhook is not None and not self._closing:
                ready = [u for u in self._updates if self._allowed(u)]
                if not ready:
                    wake = asyncio.Event()
                    self._update_waiters.add(wake)
                    try:
                        await wake.wait()
                    finally:
                        self._update_waiters.discard(wake)
                    continue
                update = ready[0]
                status = await post_update_to(
                    self.webhook["url"], update, self.webhook.get("secret_token"), session=session
                )
                if 200 <= status < 300:
                    self._updates.remove(update)
                else:
                    await asyncio.sleep(0.05)

    def _api_setmycommands(self, params: dict[str, Any]) -> Any:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise bad_request(
                "BOT_COMMANDS_TOO_MUCH"
                if isinstance(commands, list)
                else 'field "commands" must be an Array'
            )
        for command in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", str(command.get("command", ""))):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", "")).strip()) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        self.commands[self._command_key(params)] = commands
        return True

    def _api_getmycommands(self, params: dict[str, Any]) -> Any:
        return self.commands.get(self._command_key(params), [])

    def _api_deletemycommands(self, params: dict[str, Any]) -> Any:
        self.commands.pop(self._command_key(params), None)
        return True

    @staticmethod
    def _command_key(params: dict[str, Any]) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(params.get("language_code") or "")

    def _bot_message(self, chat_id: int, params: dict[str, Any]) -> dict[str, Any]:
        chat = self.chat(chat_id)
        message: dict[str, Any] = {
            "message_id": self._new_message_id(chat_id),
            "date": int(time.time()),
            "chat": chat,
        }
        if chat["type"] == "channel":
            message["sender_chat"] = chat
        else:
            message["from"] = self.bot_user
        thread = params.get("message_thread_id")
        if thread:
            message["message_thread_id"] = int(thread)
            if chat["type"] == "supergroup":
                message["is_topic_message"] = True
        reply = params.get("reply_parameters") or {}
        reply_id = reply.get("message_id") if isinstance(reply, dict) else None
        reply_id = reply_id or params.get("reply_to_message_id")
        if reply_id and (chat_id, int(reply_id)) in self.messages:
            message["reply_to_message"] = self.messages[(chat_id, int(reply_id))]
        return message

    def _api_sendmessage(self, params: dict[str, Any], chat_id: int) -> Any:
        text, entities = render_text(
            str(params.get("text", "")), params.get("parse_mode"), MAX_TEXT, "text"
        )
        markup = check_reply_markup(params.get("reply_markup"))
        message = self._bot_message(chat_id, params)
        message["text"] = text
        if entities or params.get("entities"):
            message["entities"] = entities or params["entities"]
        if markup is not None and "inline_keyboard" in markup:
            # Telegram's Message carries inline keyboards only, never a ForceReply or keyboard.
            message["reply_markup"] = markup
        if isinstance(params.get("link_preview_options"), dict):
            message["link_preview_options"] = params["link_preview_options"]
        self.messages[(chat_id, message["message_id"])] = message
        return message

    def _api_sendphoto(self, params: dict[str, Any], chat_id: int) -> Any:
        photo = params.get("photo")
        if not photo:
            raise bad_request("there is no photo in the request")
        caption, entities = render_text(
            str(params.get("caption", "")), params.get("parse_mode"), MAX_CAPTION, "caption"
        )
        markup = check_reply_markup(params.get("reply_markup"))
        message = self._bot_message(chat_id, params)
        unique = f"{chat_id}_{message['message_id']}"
        message["photo"] = [
            {
                "file_id": f"photo-{unique}-s",
                "file_unique_id": f"s{unique}",
                "width": 320,
                "height": 180,
                "file_size": 12000,
            },
            {
                "file_id": f"photo-{unique}-m",
                "file_unique_id": f"m{unique}",
                "width": 1280,
                "height": 720,
                "file_size": 120000,
            },
        ]
        if caption:
            message["caption"] = caption
        if entities:
            message["caption_entities"] = entities
        if markup is not None:
            message["reply_markup"] = markup
        self.messages[(chat_id, message["message_id"])] = message
        return message

    def _edited(self, params: dict[str, Any], chat_id: int | None) -> dict[str, Any] | None:
        if params.get("inline_message_id"):
            return None
        if chat_id is None:
            raise bad_request("chat_id is empty")
        key = (chat_id, int(params.get("message_id") or 0))
        if key not in self.messages:
            raise bad_request("message to edit not found")
        return self.messages[key]

    def _api_editmessagetext(self, params: dict[str, Any], chat_id: int | None) -> Any:
        text, entities = render_text(
            str(params.get("text", "")), params.get("parse_mode"), MAX_TEXT, "text"
        )
        markup = check_reply_markup(params.get("reply_markup"))
        message = self._edited(params, chat_id)
        if message is None:
            return True
        if "text" not in message:
            raise bad_request("there is no text in the message to edit")
        entities = entities or params.get("entities") or []
        if (
            message["text"] == text
            and message.get("entities", []) == entities
            and message.get("reply_markup") == markup
        ):
            raise bad_request(NOT_MODIFIED[len("Bad Request: ") :])
        message.update(text=text, edit_date=int(time.time()))
        message.pop("entities", None)
        message.pop("reply_markup", None)
        if entities:
            message["entities"] = entities
        if markup is not None:
            message["reply_markup"] = markup
        return message

    def _api_editmessagereplymarkup(self, params: dict[str, Any], chat_id: int | None) -> Any:
        markup = check_reply_markup(params.get("reply_markup"))
        message = self._edited(params, chat_id)
        if message is None:
            return True
        if message.get("reply_markup") == markup:
            raise bad_request(NOT_MODIFIED[len("Bad Request: ") :])
        message.pop("reply_markup", None)
        if markup is not None:
            message["reply_markup"] = markup
        message["edit_date"] = int(time.time())
        return message

    def _api_deletemessage(self, params: dict[str, Any], chat_id: int | None) -> Any:
        key = (chat_id or 0, int(params.get("message_id") or 0))
        if self.messages.pop(key, None) is None:
            raise bad_request("message to delete not found")
        return True

    def _api_sendchataction(self, params: dict[str, Any], chat_id: int | None) -> Any:
        return True

    def _api_answercallbackquery(self, params: dict[str, Any]) -> Any:
        query_id = str(params.get("callback_query_id", ""))
        if query_id not in self._open_queries:
            raise ApiError(400, QUERY_TOO_OLD)
        if len(str(params.get("text") or "")) > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        self._open_queries.discard(query_id)
        return True

    def _api_answerinlinequery(self, params: dict[str, Any]) -> Any:
        query_id = str(params.get("inline_query_id", ""))
        if query_id not in self._open_queries:
            raise ApiError(400, QUERY_TOO_OLD)
        results = params.get("results")
        if not isinstance(results, list):
            raise bad_request('field "results" must be an Array')
        if len(results) > MAX_INLINE_RESULTS:
            raise bad_request("RESULTS_TOO_MUCH")
        seen: set[str] = set()
        for result in results:
            result_id = str(result.get("id", ""))
            if not 1 <= len(result_id.encode()) <= 64:
                raise bad_request("RESULT_ID_INVALID")
            if result_id in seen:
                raise bad_request("RESULT_ID_DUPLICATE")
            seen.add(result_id)
            content = result.get("input_message_content") or {}
            if "message_text" in content:
                render_text(
                    str(content["message_text"]), content.get("parse_mode"), MAX_TEXT, "text"
                )
            check_reply_markup(result.get("reply_markup"))
        if len(str(params.get("next_offset") or "").encode()) > 64:
            raise bad_request("NEXT_OFFSET_INVALID")
        self._open_queries.discard(query_id)
        return True

    def _api_getchatmember(self, params: dict[str, Any]) -> Any:
        chat_id, user_id = int(params["chat_id"]), int(params["user_id"])
        if chat_id in self.migrated:
            raise ApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": self.migrated[chat_id]},
            )
        status = self.member_status.get((chat_id, user_id), "member")
        user = self.bot_user if user_id == self.bot_id else self.user(user_id)
        return _chat_member(status, user)

    def _api_getchat(self, params: dict[str, Any]) -> Any:
        chat = self.chat(int(params["chat_id"]))
        return {
            **chat,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    def _api_leavechat(self, params: dict[str, Any]) -> Any:
        self.blocked.add(int(params["chat_id"]))
        return True


async def post_update_to(
    url: str,
    update: dict[str, Any],
    secret_token: str | None = None,
    *,
    session: ClientSession | None = None,
) -> int:
    """POST one update to a webhook as Telegram does; the HTTP status (0 if unreachable)."""
    headers = {"Content-Type": "application/json"}
    if secret_token:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret_token
    own = session is None
    client = session or ClientSession(timeout=ClientTimeout(total=10))
    try:
        async with client.post(url, data=json.dumps(update), headers=headers) as response:
            await response.read()
            return response.status
    except (TimeoutError, OSError):
        return 0
    finally:
        if own:
            await client.close()

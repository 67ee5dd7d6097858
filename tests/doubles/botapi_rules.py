"""What Telegram validates, as pure functions: HTML parse mode, lengths, keyboards, commands.

Used by the Bot API double; error texts are Telegram's own.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64
MAX_INLINE_RESULTS = 50

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)


class ApiError(Exception):
    """An error envelope to answer with."""

    def __init__(self, code: int, description: str, parameters: dict[str, Any] | None = None):
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters
        self.html = False  # answer with an HTML error page (a proxy in front of a dead server)


def bad_request(detail: str) -> ApiError:
    return ApiError(400, f"Bad Request: {detail}")


# --------------------------------------------------------------------------- HTML parse mode

_TAG_ENTITY = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_ENTITY_RE = re.compile(r"&(lt|gt|amp|quot|#[0-9]{1,7}|#x[0-9a-fA-F]{1,6});")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_TAG_NAME = re.compile(r"[a-zA-Z0-9-]*")
_ATTR = re.compile(
    r"""\s*([a-zA-Z0-9_-]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']+)))?""", re.DOTALL
)


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram's entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def _decode_entities(text: str) -> str:
    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.startswith("#x"):
            return chr(int(name[2:], 16))
        if name.startswith("#"):
            return chr(int(name[1:]))
        return _NAMED[name]

    return _ENTITY_RE.sub(one, text)


class EntityError(ValueError):
    """Telegram's "can't parse entities" with its detail."""


def parse_html(source: str) -> tuple[str, list[dict[str, Any]]]:
    """Plain text and entities of an HTML parse-mode text, or EntityError like Telegram's."""
    out: list[str] = []
    pos16 = 0
    stack: list[tuple[str, dict[str, str], int]] = []
    entities: list[dict[str, Any]] = []
    i, n = 0, len(source)

    def byte_offset(index: int) -> int:
        return len(source[:index].encode())

    def emit(text: str) -> None:
        nonlocal pos16
        out.append(text)
        pos16 += utf16_len(text)

    while i < n:
        char = source[i]
        if char == "&":
            match = _ENTITY_RE.match(source, i)
            if match:
                emit(_decode_entities(match.group(0)))
                i = match.end()
            else:
                emit("&")  # Telegram keeps an unknown entity as literal text
                i += 1
            continue
        if char != "<":
            j = i
            while j < n and source[j] not in "<&":
                j += 1
            emit(source[i:j])
            i = j
            continue
        start = i
        if source.startswith("</", i):
            name_match = _TAG_NAME.match(source, i + 2)
            assert name_match is not None
            name = name_match.group(0).lower()
            j = name_match.end()
            while j < n and source[j].isspace():
                j += 1
            if j >= n or source[j] != ">":
                raise EntityError(f"Unclosed end tag at byte offset {byte_offset(start)}")
            if not stack:
                raise EntityError(f"Unexpected end tag at byte offset {byte_offset(start)}")
            open_name, attrs, begin = stack.pop()
            if name != open_name:
                raise EntityError(
                    f"Unmatched end tag at byte offset {byte_offset(start)}, "
                    f'expected "</{open_name}>", found "</{name}>"'
                )
            _close(open_name, attrs, begin, pos16, stack, entities)
            i = j + 1
            continue
        name_match = _TAG_NAME.match(source, i + 1)
        assert name_match is not None
        name = name_match.group(0).lower()
        if not name:
            raise EntityError(f"Empty tag name at byte offset {byte_offset(start)}")
        if name not in _TAG_ENTITY:
            raise EntityError(f'Unsupported start tag "{name}" at byte offset {byte_offset(start)}')
        j = name_match.end()
        attrs: dict[str, str] = {}
        while True:
            while j < n and source[j].isspace():
                j += 1
            if j >= n:
                raise EntityError(f"Unclosed start tag at byte offset {byte_offset(start)}")
            if source[j] == ">":
                break
            attr = _ATTR.match(source, j)
            if attr is None or attr.end() == j:
                raise EntityError(
                    f'Expected equal sign in declaration of an attribute of the tag "{name}" '
                    f"at byte offset {byte_offset(start)}"
                )
            value = next((g for g in attr.groups()[1:] if g is not None), "")
            attrs[attr.group(1).lower()] = _decode_entities(value)
            j = attr.end()
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise EntityError(
                f'Tag "span" must have class "tg-spoiler" at byte offset {byte_offset(start)}'
            )
        stack.append((name, attrs, pos16))
        i = j + 1
    if stack:
        raise EntityError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    return "".join(out), sorted(entities, key=lambda e: (e["offset"], -e["length"]))


def _close(
    name: str,
    attrs: dict[str, str],
    begin: int,
    end: int,
    stack: list[tuple[str, dict[str, str], int]],
    entities: list[dict[str, Any]],
) -> None:
    kind = _TAG_ENTITY[name]
    entity: dict[str, Any] = {"type": kind, "offset": begin, "length": end - begin}
    if kind == "text_link":
        href = attrs.get("href", "")
        if not href:
            return  # <a> without href is plain text in Telegram
        if href.startswith("tg://user?id="):
            entity = {
                **entity,
                "type": "text_mention",
                "user": {
                    "id": int(href.split("=", 1)[1] or 0),
                    "is_bot": False,
                    "first_name": "User",
                },
            }
        else:
            entity["url"] = href
    elif kind == "custom_emoji":
        entity["custom_emoji_id"] = attrs.get("emoji-id", "")
        if not entity["custom_emoji_id"]:
            raise EntityError("Custom emoji entity must contain a tg://emoji URL")
    elif kind == "blockquote" and "expandable" in attrs:
        entity["type"] = "expandable_blockquote"
    elif kind == "code" and stack and stack[-1][0] == "pre":
        language = attrs.get("class", "")
        if language.startswith("language-"):
            stack[-1][1]["language"] = language[len("language-") :]
    elif kind == "pre" and attrs.get("language"):
        entity["language"] = attrs["language"]
    if entity["length"] > 0:
        entities.append(entity)


def render_text(text: str, parse_mode: str | None, limit: int, what: str) -> tuple[str, list[Any]]:
    """Validate a message text or caption as Telegram does; return plain text and entities."""
    entities: list[Any] = []
    if parse_mode and parse_mode.lower() == "html":
        try:
            text, entities = parse_html(text)
        except EntityError as exc:
            raise bad_request(f"can't parse entities: {exc}") from None
    elif parse_mode and parse_mode.lower() not in ("markdown", "markdownv2"):
        raise bad_request(f"unsupported parse_mode {parse_mode!r}")
    stripped = text.strip()
    if not stripped and what == "text":
        raise bad_request("message text is empty")
    if len(stripped) > limit:
        raise bad_request(
            "message is too long" if what == "text" else "message caption is too long"
        )
    lead = utf16_len(text) - utf16_len(text.lstrip())
    size = utf16_len(stripped)
    shifted = []
    for entity in entities:
        offset = max(0, entity["offset"] - lead)
        end = min(size, entity["offset"] - lead + entity["length"])
        if end > offset:
            shifted.append({**entity, "offset": offset, "length": end - offset})
    return stripped, shifted


def check_reply_markup(markup: Any) -> dict[str, Any] | None:
    """Validate an inline keyboard; None when there is none."""
    if markup is None or markup == "":
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    rows = markup.get("inline_keyboard")
    if rows is None:
        return markup  # reply keyboards, ForceReply, ReplyKeyboardRemove: accepted as is
    if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        raise bad_request(
            'field "inline_keyboard" of the InlineKeyboardMarkup should be an Array of Arrays'
        )
    for row in rows:
        for button in row:
            if not isinstance(button, dict) or not button.get("text"):
                raise bad_request("BUTTON_TEXT_INVALID")
            if "callback_data" in button:
                data = str(button["callback_data"]).encode()
                if not 1 <= len(data) <= MAX_CALLBACK_DATA:
                    raise bad_request("BUTTON_DATA_INVALID")
            if "url" in button:
                url = str(button["url"])
                if not re.match(r"^(https?|tg)://\S+$", url):
                    raise bad_request("BUTTON_URL_INVALID")
    return markup if any(rows) else None


def command_entities(text: str) -> list[dict[str, Any]]:
    """The bot_command entity Telegram adds for a leading /command (with optional @bot)."""
    match = re.match(r"/[a-zA-Z0-9_]{1,32}(@[a-zA-Z0-9_]{3,64})?", text)
    if not match:
        return []
    return [{"type": "bot_command", "offset": 0, "length": utf16_len(match.group(0))}]


def busiest_second(times: Sequence[float]) -> int:
    """The most sends that arrived within any one-second window (`times` sorted): what
    Telegram's global limit is measured against."""
    best, start = 0, 0
    for end, at in enumerate(times):
        while times[start] <= at - 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best

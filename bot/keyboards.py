"""Inline keyboards and their callback data; pure: state in, markup out, data parsed back."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from telegram import BotCommand, InlineKeyboardButton, InlineKeyboardMarkup

from bot import preferences
from bot.domain import ChatSettings, Section
from bot.i18n import LANGUAGES, command_descriptions, t

ON = "✅ "
SUB = "· "
PER_ROW = 2

# Callback data: "s:…" the section picker, "c:…" settings, "x:…" /stop; all far below 64 bytes
# because slugs are at most 40 bytes (bot/sections.py).
PICK_ADD = "s:+:"  # a tap sets the state its button showed, so a double tap cannot undo itself
PICK_REMOVE = "s:-:"
PICK_ALL = "s:all"
PICK_NONE = "s:none"
PICK_DONE = "s:done"
PICK_OPEN = "s:open"
SETTINGS_PREFIX = "c:"
SETTINGS_OPEN = "c:open"
SETTINGS_DONE = "c:done"
STOP_YES = "x:yes"
STOP_NO = "x:no"


def _rows(
    buttons: Sequence[InlineKeyboardButton], per_row: int
) -> list[list[InlineKeyboardButton]]:
    return [list(buttons[i : i + per_row]) for i in range(0, len(buttons), per_row)]


def visible(sections: Sequence[Section]) -> list[Section]:
    """The sections a reader is offered, in catalogue order (sub-sections after their parent)."""
    return [s for s in sections if not s.hidden]


def section_label(section: Section, on: bool) -> str:
    """A picker button's text: a check mark when followed, a dot before a sub-section."""
    return f"{ON if on else ''}{SUB if section.parent else ''}{section.name}"


def picker(
    sections: Sequence[Section], followed: Collection[str], lang: str
) -> InlineKeyboardMarkup:
    """One toggle per visible section, two per row, then All / None / Done."""
    toggles = [
        InlineKeyboardButton(
            section_label(s, s.slug in followed),
            callback_data=(PICK_REMOVE if s.slug in followed else PICK_ADD) + s.slug,
        )
        for s in visible(sections)
    ]
    controls = [
        InlineKeyboardButton(t(lang, "btn_all"), callback_data=PICK_ALL),
        InlineKeyboardButton(t(lang, "btn_none"), callback_data=PICK_NONE),
        InlineKeyboardButton(t(lang, "btn_done"), callback_data=PICK_DONE),
    ]
    return InlineKeyboardMarkup([*_rows(toggles, PER_ROW), controls])


def parse_pick(data: str) -> tuple[bool, str] | None:
    """(True, slug) for "follow slug", (False, slug) for "unfollow slug", else None."""
    for prefix, follow in ((PICK_ADD, True), (PICK_REMOVE, False)):
        if data.startswith(prefix) and len(data) > len(prefix):
            return follow, data[len(prefix) :]
    return None


def mysubs(lang: str) -> InlineKeyboardMarkup:
    """The buttons under /mysubs: to the picker and to the settings."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(t(lang, "btn_edit_sections"), callback_data=PICK_OPEN),
                InlineKeyboardButton(t(lang, "btn_settings"), callback_data=SETTINGS_OPEN),
            ]
        ]
    )


def stop(lang: str) -> InlineKeyboardMarkup:
    """Confirm or cancel /stop."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(t(lang, "btn_stop_yes"), callback_data=STOP_YES),
                InlineKeyboardButton(t(lang, "btn_stop_no"), callback_data=STOP_NO),
            ]
        ]
    )


def _choice(label: str, chosen: bool, name: str, value: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(
        f"{ON if chosen else ''}{label}", callback_data=f"{SETTINGS_PREFIX}{name}:{value}"
    )


def settings(current: ChatSettings, lang: str, timezone: str) -> InlineKeyboardMarkup:
    """Every option with the chosen one checked; a tap sets that value (never toggles blindly)."""
    quiet_on = current.quiet_start is not None
    rows = [
        [
            _choice(t(lang, "btn_style_full"), current.style == "full", "style", "full"),
            _choice(
                t(lang, "btn_style_headline"), current.style == "headline", "style", "headline"
            ),
        ],
        [
            _choice(t(lang, "btn_preview_on"), current.link_preview, "prev", "1"),
            _choice(t(lang, "btn_preview_off"), not current.link_preview, "prev", "0"),
        ],
        [_choice(t(lang, f"language.{code}"), lang == code, "lang", code) for code in LANGUAGES],
        [
            _choice(t(lang, "btn_digest_off"), current.digest_time is None, "dig", preferences.OFF),
            *(
                _choice(t(lang, "btn_digest_at", time=at), current.digest_time == at, "dig", at)
                for at in preferences.DIGEST_TIMES
            ),
        ],
        [
            _choice(t(lang, "btn_quiet_off"), not quiet_on, "quiet", preferences.OFF),
            *(
                _choice(
                    t(lang, "btn_quiet_range", start=start, end=end),
                    (current.quiet_start, current.quiet_end) == (start, end),
                    "quiet",
                    preferences.quiet_value(start, end),
                )
                for start, end in preferences.QUIET_RANGES
            ),
        ],
        [
            _choice(t(lang, "btn_quiet_silent"), current.quiet_silent, "qm", "silent"),
            _choice(t(lang, "btn_quiet_hold"), not current.quiet_silent, "qm", "hold"),
        ],
        [
            InlineKeyboardButton(
                t(lang, "btn_timezone", zone=timezone),
                callback_data=f"{SETTINGS_PREFIX}tz:{preferences.next_timezone(timezone)}",
            )
        ],
        [InlineKeyboardButton(t(lang, "btn_done"), callback_data=SETTINGS_DONE)],
    ]
    return InlineKeyboardMarkup(rows)


def parse_settings(data: str) -> tuple[str, str] | None:
    """("style", "headline") from "c:style:headline"; None for data that is not a setting."""
    if not data.startswith(SETTINGS_PREFIX) or data in (SETTINGS_OPEN, SETTINGS_DONE):
        return None
    name, sep, value = data[len(SETTINGS_PREFIX) :].partition(":")
    return (name, value) if sep and name and value else None


def menu(lang: str, commands: Sequence[BotCommand]) -> list[BotCommand]:
    """The command menu in `lang`: catalogue descriptions where there are any, else as given."""
    texts = dict(command_descriptions(lang, [c.command for c in commands]))
    return [BotCommand(c.command, texts.get(c.command, c.description)) for c in commands]

"""Inline keyboards and their callback data; pure: state in, markup out, data parsed back."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence

from telegram import BotCommand, InlineKeyboardButton, InlineKeyboardMarkup

from bot import preferences, zones
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
SETTINGS_PAGE = "c:page:"
TZ_ASK = "c:tz:ask"  # "let me type a city": answered with a question the reader replies to
HOURS_PER_ROW = 4
ZONES_PER_ROW = 3
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


def _page(label: str, page: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(label, callback_data=f"{SETTINGS_PAGE}{page}")


def settings(current: ChatSettings, lang: str, timezone: str) -> InlineKeyboardMarkup:
    """Every option with the chosen one checked; a tap sets that value (never toggles blindly).

    Digest, quiet hours and time zone open a sub-page; the hold/silent choice only shows while
    quiet hours are on, since it means nothing otherwise.
    """
    off = t(lang, "value_off")
    quiet_on = current.quiet_start is not None and current.quiet_end is not None
    digest = [_page(t(lang, "btn_digest_pick", value=current.digest_time or off), "dig")]
    if current.digest_time:
        second = current.digest_time2 or off
        digest.append(_page(t(lang, "btn_digest2_pick", value=second), "dig2"))
    quiet = f"{current.quiet_start}–{current.quiet_end}" if quiet_on else off
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
        digest,
        [_page(t(lang, "btn_quiet_pick", value=quiet), preferences.PAGE_QUIET)],
    ]
    if quiet_on:
        rows.append(
            [
                _choice(t(lang, "btn_quiet_silent"), current.quiet_silent, "qm", "silent"),
                _choice(t(lang, "btn_quiet_hold"), not current.quiet_silent, "qm", "hold"),
            ]
        )
    rows.append(
        [_page(t(lang, "btn_timezone", zone=zones.label(timezone)), preferences.PAGE_TIMEZONE)]
    )
    rows.append([InlineKeyboardButton(t(lang, "btn_done"), callback_data=SETTINGS_DONE)])
    return InlineKeyboardMarkup(rows)


def _hours(
    chosen: str | None, name: str, value_of: Callable[[str], str], skip: str | None = None
) -> list[list[InlineKeyboardButton]]:
    buttons = [
        _choice(at, at == chosen, name, value_of(at)) for at in preferences.HOURS if at != skip
    ]
    return _rows(buttons, HOURS_PER_ROW)


def _back(lang: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(t(lang, "btn_back"), callback_data=SETTINGS_OPEN)


def settings_page(
    page: str, current: ChatSettings, lang: str, timezone: str
) -> InlineKeyboardMarkup | None:
    """A /settings sub-page: a 24-hour picker (local time) or the time zones; None if unknown."""
    same = str
    if page == preferences.PAGE_DIGEST:
        off = _choice(t(lang, "btn_digest_off"), current.digest_time is None, "dig", "off")
        rows = [*_hours(current.digest_time, "dig", same), [off, _back(lang)]]
    elif page == preferences.PAGE_DIGEST2 and current.digest_time:
        off = _choice(t(lang, "btn_digest2_off"), current.digest_time2 is None, "dig2", "off")
        hours = _hours(current.digest_time2, "dig2", same, skip=current.digest_time)
        rows = [*hours, [off, _back(lang)]]
    elif page == preferences.PAGE_QUIET:
        # The start is carried to the end page in the button, so no state waits between taps.
        rows = [
            *_rows(
                [
                    _page(
                        f"{ON if at == current.quiet_start else ''}{at}",
                        f"{preferences.PAGE_QUIET_END}{at[:2]}",
                    )
                    for at in preferences.HOURS
                ],
                HOURS_PER_ROW,
            ),
            [
                _choice(t(lang, "btn_quiet_off"), current.quiet_start is None, "quiet", "off"),
                _back(lang),
            ],
        ]
    elif page.startswith(preferences.PAGE_QUIET_END):
        start = f"{page[len(preferences.PAGE_QUIET_END) :]}:00"
        if start not in preferences.HOURS:
            return None
        end = current.quiet_end if current.quiet_start == start else None
        hours = _hours(end, "quiet", lambda at: preferences.quiet_value(start, at), skip=start)
        rows = [*hours, [_back(lang)]]
    elif page == preferences.PAGE_TIMEZONE:
        common = [_choice(zones.short(z), z == timezone, "tz", z) for z in zones.COMMON]
        typed = InlineKeyboardButton(t(lang, "btn_tz_type"), callback_data=TZ_ASK)
        rows = [*_rows(common, ZONES_PER_ROW), [typed], [_back(lang)]]
    else:
        return None
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

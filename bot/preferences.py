"""The choices /settings offers, applying a chosen one, and describing a chat's settings."""

from __future__ import annotations

import dataclasses

from bot.domain import ChatSettings
from bot.i18n import LANGUAGES, language_for, t

DIGEST_TIMES = ("08:00", "18:00")
QUIET_RANGES = (("22:00", "07:00"), ("23:00", "08:00"))
TIMEZONES = (
    "Asia/Baku",
    "Europe/Istanbul",
    "Europe/Moscow",
    "Europe/Berlin",
    "Europe/London",
    "America/New_York",
    "UTC",
)
OFF = "off"


def quiet_value(start: str, end: str) -> str:
    """The callback value of a quiet-hours range."""
    return f"{start}-{end}"


def apply(settings: ChatSettings, name: str, value: str) -> ChatSettings | None:
    """`settings` with one option changed, or None if the option or value is not on offer."""
    change: dict[str, object]
    if name == "style" and value in ("full", "headline"):
        change = {"style": value}
    elif name == "prev" and value in ("1", "0"):
        change = {"link_preview": value == "1"}
    elif name == "lang" and value in LANGUAGES:
        change = {"language": value}
    elif name == "dig" and (value == OFF or value in DIGEST_TIMES):
        change = {"digest_time": None if value == OFF else value}
    elif name == "quiet" and value == OFF:
        change = {"quiet_start": None, "quiet_end": None}
    elif name == "quiet" and value in {quiet_value(*r) for r in QUIET_RANGES}:
        start, end = value.split("-")
        change = {"quiet_start": start, "quiet_end": end}
    elif name == "qm" and value in ("silent", "hold"):
        change = {"quiet_silent": value == "silent"}
    elif name == "tz" and value in TIMEZONES:
        change = {"timezone": value}
    else:
        return None
    return dataclasses.replace(settings, **change)  # type: ignore[arg-type]


def next_timezone(current: str) -> str:
    """The zone after `current` in the offered list (the first one for a zone not offered)."""
    if current not in TIMEZONES:
        return TIMEZONES[0]
    return TIMEZONES[(TIMEZONES.index(current) + 1) % len(TIMEZONES)]


def describe(
    settings: ChatSettings, lang: str, client_language: str | None, default_timezone: str
) -> list[str]:
    """One line per setting, in `lang`, as /mysubs and /settings show them."""
    onoff = t(lang, "value_on" if settings.link_preview else "value_off")
    if settings.language:
        language = t(lang, f"language.{settings.language}")
    else:
        auto = t(lang, f"language.{language_for(None, client_language)}")
        language = t(lang, "language_auto", language=auto)
    if settings.digest_time:
        digest = t(lang, "digest_daily", time=settings.digest_time)
    else:
        digest = t(lang, "digest_off")
    if settings.quiet_start and settings.quiet_end:
        mode = "quiet_range_silent" if settings.quiet_silent else "quiet_range_hold"
        quiet = t(lang, mode, start=settings.quiet_start, end=settings.quiet_end)
    else:
        quiet = t(lang, "value_off")
    return [
        t(lang, "setting_style", value=t(lang, f"style_{settings.style}")),
        t(lang, "setting_preview", value=onoff),
        t(lang, "setting_language", value=language),
        t(lang, "setting_digest", value=digest),
        t(lang, "setting_quiet", value=quiet),
        t(lang, "setting_timezone", value=settings.timezone or default_timezone),
    ]

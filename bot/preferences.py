"""The choices /settings offers, applying a chosen one, and describing a chat's settings."""

from __future__ import annotations

import dataclasses

from bot import zones
from bot.domain import ChatSettings
from bot.i18n import LANGUAGES, language_for, t

HOURS = tuple(f"{hour:02d}:00" for hour in range(24))  # digest and quiet-hour choices, local
OFF = "off"
# Sub-pages of /settings ("c:page:<name>"): hour pickers and the time-zone choice.
PAGE_DIGEST = "dig"
PAGE_DIGEST2 = "dig2"
PAGE_QUIET = "quiet"
PAGE_QUIET_END = "qend:"  # + the chosen start hour ("qend:01"), carried in the button itself
PAGE_TIMEZONE = "tz"


def quiet_value(start: str, end: str) -> str:
    """The callback value of a quiet-hours range."""
    return f"{start}-{end}"


def _quiet_range(value: str) -> tuple[str, str] | None:
    start, sep, end = value.partition("-")
    if sep and start in HOURS and end in HOURS and start != end:
        return start, end
    return None


def apply(settings: ChatSettings, name: str, value: str) -> ChatSettings | None:
    """`settings` with one option changed, or None if the option or value is not on offer."""
    change: dict[str, object]
    if name == "style" and value in ("full", "headline"):
        change = {"style": value}
    elif name == "prev" and value in ("1", "0"):
        change = {"link_preview": value == "1"}
    elif name == "lang" and value in LANGUAGES:
        change = {"language": value}
    elif name == "dig" and value == OFF:
        change = {"digest_time": None, "digest_time2": None}  # no second without a first
    elif name == "dig" and value in HOURS:
        second = None if settings.digest_time2 == value else settings.digest_time2
        change = {"digest_time": value, "digest_time2": second}
    elif name == "dig2" and value == OFF:
        change = {"digest_time2": None}
    elif name == "dig2" and value in HOURS and settings.digest_time not in (None, value):
        change = {"digest_time2": value}
    elif name == "quiet" and value == OFF:
        change = {"quiet_start": None, "quiet_end": None}
    elif name == "quiet" and (chosen := _quiet_range(value)) is not None:
        change = {"quiet_start": chosen[0], "quiet_end": chosen[1]}
    elif name == "qm" and value in ("silent", "hold"):
        change = {"quiet_silent": value == "silent"}
    elif name == "tz" and zones.is_zone(value):
        change = {"timezone": value}
    else:
        return None
    return dataclasses.replace(settings, **change)  # type: ignore[arg-type]


def page_prompt(page: str, settings: ChatSettings, lang: str, zone: str) -> str | None:
    """The text above a /settings sub-page, or None for a page that does not exist."""
    shown = zones.label(zone)
    if page == PAGE_DIGEST:
        return t(lang, "pick_digest", zone=shown)
    if page == PAGE_DIGEST2 and settings.digest_time:
        return t(lang, "pick_digest2", zone=shown, first=settings.digest_time)
    if page == PAGE_QUIET:
        return t(lang, "pick_quiet_start", zone=shown)
    if page.startswith(PAGE_QUIET_END) and f"{page[len(PAGE_QUIET_END) :]}:00" in HOURS:
        return t(lang, "pick_quiet_end", start=f"{page[len(PAGE_QUIET_END) :]}:00", zone=shown)
    if page == PAGE_TIMEZONE:
        return t(lang, "pick_timezone", zone=shown)
    return None


def asks_for_zone(text: str | None) -> bool:
    """Whether a message of the bot's is its question "which time zone?" (in any language)."""
    return bool(text) and any(
        (text or "").rstrip().endswith(t(lang, "tz_ask")) for lang in LANGUAGES
    )


def zone_not_found(text: str, lang: str) -> str:
    """The polite answer to a place no zone was found for: suggestions, examples, the question."""
    lines = [t(lang, "tz_unknown", text=text.strip()[:64])]
    close = zones.suggest(text)
    if close:
        lines.append(t(lang, "tz_did_you_mean", names=", ".join(close)))
    lines.append(t(lang, "tz_ask"))
    return "\n".join(lines)


def digest_value(settings: ChatSettings, lang: str) -> str:
    """The digest setting in words: off, once a day, or twice."""
    if not settings.digest_time:
        return t(lang, "digest_off")
    if settings.digest_time2 and settings.digest_time2 != settings.digest_time:
        first, second = sorted((settings.digest_time, settings.digest_time2))
        return t(lang, "digest_twice", first=first, second=second)
    return t(lang, "digest_daily", time=settings.digest_time)


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
    digest = digest_value(settings, lang)
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
        t(lang, "setting_timezone", value=zones.label(settings.timezone or default_timezone)),
    ]

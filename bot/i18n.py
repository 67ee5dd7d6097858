"""The one translation layer: English, Azerbaijani and Russian catalogues in bot/locales/*.toml."""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any

from bot.domain import ChatSettings

LANGUAGES = ("en", "az", "ru")
DEFAULT = "en"


def _flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = str(value)
    return flat


@cache
def catalogue(lang: str) -> Mapping[str, str]:
    """Every key of one language (tables flattened to dotted keys: `command.start`)."""
    text = resources.files("bot").joinpath("locales", f"{lang}.toml").read_text(encoding="utf-8")
    return _flatten(tomllib.loads(text))


def supported(lang: str | None) -> str | None:
    """`lang` if the bot speaks it ('ru-RU' counts as 'ru'), else None."""
    if not lang:
        return None
    base = lang.strip().lower().replace("_", "-").split("-", 1)[0]
    return base if base in LANGUAGES else None


def t(lang: str, key: str, **values: object) -> str:
    """The text of `key` in `lang` (English for a language the bot does not speak)."""
    text = catalogue(supported(lang) or DEFAULT)[key]
    return text.format(**values) if values else text


def language_for(settings: ChatSettings | None, user_language_code: str | None) -> str:
    """The chat's chosen language, else the reader's Telegram language, else English."""
    chosen = supported(settings.language) if settings else None
    return chosen or supported(user_language_code) or DEFAULT


def section_name(lang: str, slug: str) -> str | None:
    """A built-in section's name in `lang` ([section_name] in the locale file), if it has one."""
    return catalogue(supported(lang) or DEFAULT).get(f"section_name.{slug}")


def format_date(moment: datetime, lang: str) -> str:
    """A date as a reader of `lang` writes it: 'March 5, 2025', '5 mart 2025', '5 марта 2025'."""
    month = t(lang, f"month.{moment.month}")
    return t(lang, "date_format", day=moment.day, month=month, year=moment.year)


def command_descriptions(lang: str, commands: Iterable[str]) -> list[tuple[str, str]]:
    """(command, description) pairs for the menu, for the commands that have a description."""
    texts = catalogue(supported(lang) or DEFAULT)
    return [(name, texts[f"command.{name}"]) for name in commands if f"command.{name}" in texts]

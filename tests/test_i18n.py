"""The translation layer: complete catalogues, matching placeholders, language choice, dates."""

from __future__ import annotations

import string
from datetime import datetime
from pathlib import Path

import pytest

from bot import i18n
from bot.domain import ChatSettings


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


@pytest.mark.parametrize("lang", [lang for lang in i18n.LANGUAGES if lang != i18n.DEFAULT])
def test_every_catalogue_has_exactly_the_english_keys(lang: str) -> None:
    english, other = i18n.catalogue("en"), i18n.catalogue(lang)
    assert sorted(set(english) - set(other)) == [], f"{lang} misses keys"
    assert sorted(set(other) - set(english)) == [], f"{lang} has keys English lacks"


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_placeholders_match_english(lang: str) -> None:
    english, other = i18n.catalogue("en"), i18n.catalogue(lang)
    mismatched = [k for k in english if _fields(english[k]) != _fields(other[k])]
    assert mismatched == []


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_no_empty_strings(lang: str) -> None:
    assert [k for k, v in i18n.catalogue(lang).items() if not v.strip()] == []


def test_locale_files_are_the_supported_languages() -> None:
    files = {p.stem for p in (Path(i18n.__file__).parent / "locales").glob("*.toml")}
    assert files == set(i18n.LANGUAGES)


def test_every_key_used_in_reader_code_exists() -> None:
    # Keys are literal first arguments of t(); a typo would otherwise surface only at run time.
    import re

    root = Path(i18n.__file__).parent
    sources = [
        root / "keyboards.py",
        root / "preferences.py",
        *sorted((root / "handlers").glob("*.py")),
    ]
    used = {
        m.group(1)
        for path in sources
        if path.exists()
        for m in re.finditer(r"\bt\(\s*\w+,\s*[\"']([a-z_.0-9]+)[\"']", path.read_text("utf-8"))
    }
    assert used, "no t() calls found: the pattern no longer matches the code"
    assert sorted(used - set(i18n.catalogue("en"))) == []


@pytest.mark.parametrize(
    ("chosen", "client", "expected"),
    [
        (None, "az", "az"),
        (None, "ru-RU", "ru"),
        (None, "en-GB", "en"),
        (None, "de", "en"),
        (None, None, "en"),
        (None, "", "en"),
        ("ru", "az", "ru"),
        ("az", None, "az"),
        ("xx", "ru", "ru"),
    ],
)
def test_language_for(chosen: str | None, client: str | None, expected: str) -> None:
    assert i18n.language_for(ChatSettings(language=chosen), client) == expected


def test_language_for_without_stored_settings() -> None:
    assert i18n.language_for(None, "az-AZ") == "az"


def test_t_formats_and_falls_back_to_english() -> None:
    assert i18n.t("en", "min_read", minutes=3) == "3 min read"
    assert i18n.t("ru", "min_read", minutes=3) == "3 мин чтения"
    assert i18n.t("az", "read_more") == "Ətraflı"
    assert i18n.t("fr", "read_more") == "Read more"


def test_format_date_per_language() -> None:
    moment = datetime(2024, 11, 11, 9, 30)
    assert i18n.format_date(moment, "en") == "November 11, 2024"
    assert i18n.format_date(moment, "az") == "11 noyabr 2024"
    assert i18n.format_date(moment, "ru") == "11 ноября 2024"


def test_command_descriptions_skip_unknown_commands_and_respect_limits() -> None:
    for lang in i18n.LANGUAGES:
        pairs = i18n.command_descriptions(lang, ["start", "no-such-command", "stop"])
        assert [name for name, _ in pairs] == ["start", "stop"]
        # Telegram: a command description is 1-256 characters.
        assert all(
            0 < len(text) <= 256
            for _, text in i18n.command_descriptions(
                lang, [k.split(".", 1)[1] for k in i18n.catalogue(lang) if k.startswith("command.")]
            )
        )

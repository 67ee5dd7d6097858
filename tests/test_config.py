"""Settings validation: every bad value names its variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import config
from bot.config import ConfigError


def test_defaults() -> None:
    settings = config.load({})
    assert settings.base_url == "https://api.telegram.org/bot"
    assert settings.site_url == "https://aze.media"
    assert settings.poll_interval == 10
    assert settings.rate_limit == 25
    assert settings.webhook_url is None
    assert settings.token is None


def test_missing_token_says_how_to_get_one() -> None:
    with pytest.raises(ConfigError, match=r"TELEGRAM_BOT_TOKEN.*@BotFather"):
        config.load({}).require_token()


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("NEWSBOT_POLL_INTERVAL", "soon", "NEWSBOT_POLL_INTERVAL must be a number, got 'soon'"),
        ("NEWSBOT_POLL_INTERVAL", "0.5", "NEWSBOT_POLL_INTERVAL must be at least 1"),
        ("NEWSBOT_POLL_INTERVAL", "nan", "NEWSBOT_POLL_INTERVAL must be at least 1"),
        (
            "NEWSBOT_SITE_URL",
            "aze.media",
            "NEWSBOT_SITE_URL must be an http(s) URL, got 'aze.media'",
        ),
        ("TELEGRAM_BASE_URL", "ftp://x", "TELEGRAM_BASE_URL must be an http(s) URL"),
        ("NEWSBOT_ADMIN_IDS", "1, bob", "NEWSBOT_ADMIN_IDS must list numeric Telegram user ids"),
        ("NEWSBOT_PORT", "99999", "NEWSBOT_PORT must be between 1 and 65535"),
        ("NEWSBOT_LOG_FORMAT", "xml", "NEWSBOT_LOG_FORMAT must be 'text' or 'json'"),
        ("NEWSBOT_SECTIONS_FILE", "/nonexistent.toml", "NEWSBOT_SECTIONS_FILE points at"),
    ],
)
def test_bad_values_name_the_variable(name: str, value: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        config.load({name: value})
    assert expected in str(caught.value)


def test_values_are_parsed() -> None:
    settings = config.load(
        {
            "TELEGRAM_BOT_TOKEN": " 123:abc ",
            "TELEGRAM_BASE_URL": "http://127.0.0.1:8081/bot/",
            "NEWSBOT_POLL_INTERVAL": "1",
            "NEWSBOT_ADMIN_IDS": "1, 2 3",
            "NEWSBOT_DATABASE": "/data/x.db",
        }
    )
    assert settings.require_token() == "123:abc"
    assert settings.base_url == "http://127.0.0.1:8081/bot"
    assert settings.base_file_url == "http://127.0.0.1:8081/file/bot"
    assert settings.poll_interval == 1
    assert settings.admin_ids == {1, 2, 3}
    assert settings.database == Path("/data/x.db")

"""Settings and a running bot for end-to-end tests against the doubles."""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from bot import app, config
from bot.botdata import App
from bot.config import Settings
from tests.doubles.botapi import BotApiDouble

# Port 9 (discard) on localhost: nothing listens, so every fetch fails fast and offline.
DEAD_SITE_URL = "http://127.0.0.1:9"


def env_for(botapi: BotApiDouble | None, site: Any, tmp_path: Path) -> dict[str, str]:
    """The environment a bot needs to run against the doubles (for in-process or subprocess)."""
    env = {
        "TELEGRAM_BASE_URL": botapi.base_url if botapi else "http://127.0.0.1:9/bot",
        "NEWSBOT_SITE_URL": site.url if site is not None else DEAD_SITE_URL,
        "NEWSBOT_DATABASE": str(tmp_path / "newsbot.db"),
        "NEWSBOT_POLL_INTERVAL": "1",
    }
    if botapi is not None:
        env["TELEGRAM_BOT_TOKEN"] = botapi.token
    return env


def settings_for(
    botapi: BotApiDouble | None, site: Any, tmp_path: Path | None = None, **overrides: Any
) -> Settings:
    """Settings built through config.load (so validation runs) for the doubles.

    UPPER_CASE overrides are environment variables (None removes one); lower_case overrides
    replace Settings fields after loading.
    """
    env = env_for(botapi, site, tmp_path or Path(tempfile.mkdtemp(prefix="newsbot-")))
    fields: dict[str, Any] = {}
    for key, value in overrides.items():
        if key.isupper():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = str(value)
        else:
            fields[key] = value
    settings = config.load(env)
    return dataclasses.replace(settings, **fields) if fields else settings


@asynccontextmanager
async def run_bot(settings: Settings) -> AsyncIterator[App]:
    """The whole bot, in this process and event loop, until the block exits."""
    async with app.running(settings) as application:
        yield application

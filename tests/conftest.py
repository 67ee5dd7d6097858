"""Shared fixtures: the Bot API double and the news-site double, one per test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.doubles.botapi import BotApiDouble


@pytest.fixture
async def botapi() -> AsyncIterator[BotApiDouble]:
    """A running Bot API double (fresh per test)."""
    async with BotApiDouble() as api:
        yield api


# --- site fixture (news-site double by helper SITE) -------------------------------------------
# `site` = a started tests.doubles.site.SiteDouble; stopped after the test.
# --- end site fixture --------------------------------------------------------------------------

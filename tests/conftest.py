"""Shared fixtures: the Bot API double and the news-site double, one per test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.doubles.botapi import BotApiDouble
from tests.doubles.site import SiteDouble


@pytest.fixture
async def botapi() -> AsyncIterator[BotApiDouble]:
    """A running Bot API double (fresh per test)."""
    async with BotApiDouble() as api:
        yield api


# --- site fixture (news-site double by helper SITE) -------------------------------------------
@pytest.fixture
async def site() -> AsyncIterator[SiteDouble]:
    """A running news-site double seeded from tests/fixtures/site/ (fresh per test)."""
    async with SiteDouble() as double:
        yield double


# --- end site fixture --------------------------------------------------------------------------

"""The reader's reply texts (bot/replies.py), pure."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot import sections
from bot.domain import Article
from bot.replies import latest

CATALOGUE = sections.builtin("https://aze.media")


def test_latest_dates_articles_in_the_chats_time_zone_like_pushes() -> None:
    late_evening_utc = datetime(2025, 3, 5, 22, 30, tzinfo=UTC)  # already March 6 in Baku
    article = Article(
        key="1",
        url="https://aze.media/?p=1",
        title="Opinion <b> & more",
        published=late_evening_utc,
        sections=("opinion",),
    )
    text = latest([article], CATALOGUE, "<b>Latest</b>", "en", ZoneInfo("Asia/Baku"))
    assert "March 6, 2025" in text
    assert "Opinion &lt;b&gt; &amp; more" in text

"""Rendering pushes, digests and broadcasts within Telegram's limits."""

from __future__ import annotations

import datetime as dt
import html
import re
from zoneinfo import ZoneInfo

from bot import render
from bot.domain import Article, ChatSettings

BAKU = ZoneInfo("Asia/Baku")
NAMES = {"news": "News", "energy": "Energy"}


def article(**kw: object) -> Article:
    base: dict[str, object] = {
        "key": "1",
        "url": "https://aze.media/a-story/",
        "title": 'Baku hosts <script>&"Aze"',
        "summary": "A clean summary of the story.",
        "author": "Ayla Məmmədova",
        "published": dt.datetime(2025, 3, 5, 10, 30, tzinfo=dt.UTC),
        "sections": ("news", "energy"),
        "word_count": 700,
        "id": 9,
    }
    base.update(kw)
    return Article(**base)  # type: ignore[arg-type]


def visible(text: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", text))


def test_full_message_has_headline_meta_summary_button_and_preview() -> None:
    msg = render.article_message(article(), ChatSettings(), "en", section_names=NAMES, tz=BAKU)
    assert msg.text.startswith("<b>Baku hosts &lt;script&gt;&amp;&quot;Aze&quot;</b>\n<i>")
    assert "News, Energy · Ayla Məmmədova · March 5, 2025, 14:30 · 4 min read" in msg.text
    assert msg.text.endswith("\n\nA clean summary of the story.")
    assert visible(msg.text) == msg.plain
    assert msg.reply_markup is not None
    button = msg.reply_markup.inline_keyboard[0][0]
    assert (button.text, button.url) == ("Read more", "https://aze.media/a-story/")
    assert msg.link_preview is not None
    assert msg.link_preview.url == "https://aze.media/a-story/"
    assert msg.link_preview.prefer_large_media


def test_headline_style_previews_off_language_and_utm() -> None:
    settings = ChatSettings(style="headline", link_preview=False)
    msg = render.article_message(
        article(), settings, "ru", section_names=NAMES, tz=BAKU, utm="newsbot"
    )
    assert "summary" not in msg.text
    assert "5 марта 2025, 14:30" in msg.text and "4 мин чтения" in msg.text
    assert msg.link_preview is not None and msg.link_preview.is_disabled
    assert msg.reply_markup is not None
    button = msg.reply_markup.inline_keyboard[0][0]
    assert button.text == "Читать далее"
    assert button.url == (
        "https://aze.media/a-story/?utm_source=newsbot&utm_medium=telegram&utm_campaign=news"
    )


def test_long_summary_is_trimmed_to_the_limit_after_entity_parsing() -> None:
    # '&' becomes 5 characters of markup but one of text; emoji are two UTF-16 units.
    long = ("Neft & qaz 🛢 " * 1000).strip()
    msg = render.article_message(
        article(summary=long), ChatSettings(), "az", section_names=NAMES, tz=BAKU
    )
    assert render.utf16_len(visible(msg.text)) <= render.MAX_TEXT
    assert render.utf16_len(visible(msg.text)) > render.MAX_TEXT - 30
    assert msg.text.startswith("<b>") and msg.text.count("</b>") == 1
    assert msg.plain.endswith("…")


def test_unsafe_url_gets_no_button() -> None:
    msg = render.article_message(
        article(url="javascript:alert(1)"), ChatSettings(), "en", section_names=NAMES, tz=BAKU
    )
    assert msg.reply_markup is None


def test_digest_groups_by_section_and_splits_when_long() -> None:
    items = [article(title=f"Story {i} <b>", url=f"https://aze.media/{i}/") for i in range(100)]
    messages = render.digest_messages([("News", items[:60]), ("Energy", items[60:])], "en")
    assert len(messages) >= 3
    joined = "\n".join(m.text for m in messages)
    assert joined.count('<a href="https://aze.media/') == 100
    assert "Story 5 &lt;b&gt;" in joined
    assert all(render.utf16_len(visible(m.text)) <= render.MAX_TEXT for m in messages)
    assert "<b>Energy</b>" in joined


def test_broadcast_is_escaped() -> None:
    assert render.broadcast_message("Maintenance <tonight> & more").text == (
        "Maintenance &lt;tonight&gt; &amp; more"
    )

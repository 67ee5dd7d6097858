"""A reader who chose no language gets pushes in their Telegram app's language, like replies."""

from __future__ import annotations

from pathlib import Path

from bot import i18n
from tests.doubles.botapi import BotApiDouble
from tests.doubles.site import SiteDouble
from tests.harness import run_bot, settings_for
from tests.test_ingest_app import mentions, passes_done


async def test_push_follows_the_readers_app_language_until_they_choose_one(
    botapi: BotApiDouble, site: SiteDouble, tmp_path: Path
) -> None:
    russian, english = 6001, 6002
    async with run_bot(settings_for(botapi, site, tmp_path)):
        await passes_done(site, 1)  # backlog recorded, nothing is pushed
        for chat, lang in ((russian, "ru-RU"), (english, "en")):
            botapi.inject_message(chat, "/subscribe karabakh", language_code=lang)
            await botapi.wait_for("sendMessage", lambda c, chat=chat: c.chat_id == chat)
        title = "Xankəndi hosts the first Karabakh book fair"
        site.add_post(title, ["karabakh"], author="AzeMedia")
        await botapi.wait_for(None, mentions(title), count=2, timeout=30)

    pushes = {c.chat_id: c for c in botapi.calls if mentions(title)(c)}
    assert [b["text"] for b in pushes[russian].buttons] == [i18n.t("ru", "read_more")]
    assert [b["text"] for b in pushes[english].buttons] == [i18n.t("en", "read_more")]
    assert i18n.t("ru", "read_more") != i18n.t("en", "read_more")

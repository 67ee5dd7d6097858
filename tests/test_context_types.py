"""Handlers get PTB's typed context: bot_data is a BotData, chat_data a ChatData."""

from __future__ import annotations

from pathlib import Path

import pytest
from telegram import Update
from telegram.ext import TypeHandler

from bot.botdata import BotData, ChatData, Context, NotStarted
from tests.doubles.botapi import BotApiDouble
from tests.harness import run_bot, settings_for
from tests.reader_helpers import ADMIN, GROUP_ID, say, tap

USER = 7001


def test_the_runtime_is_refused_before_startup_stores_it() -> None:
    with pytest.raises(NotStarted):
        _ = BotData().runtime
    assert BotData().dispatcher is None
    assert BotData().admin_grants == {}


async def test_a_running_handler_sees_the_typed_bot_and_chat_data(
    botapi: BotApiDouble, tmp_path: Path
) -> None:
    seen: list[Context] = []

    async def probe(update: Update, context: Context) -> None:
        """Record the context PTB built for this update, then let the real handlers run."""
        seen.append(context)

    botapi.set_member_status(GROUP_ID, ADMIN, "administrator")
    settings = settings_for(botapi, None, tmp_path)
    async with run_bot(settings) as application:
        # Group -1 runs before the bot's own handlers and does not stop them.
        application.add_handler(TypeHandler(Update, probe), group=-1)
        await botapi.wait_polling()
        reply = await say(botapi, USER, "/help", user_id=USER)
        assert "/sections" in (reply.text or "")

        picker = await say(botapi, GROUP_ID, "/sections", user_id=ADMIN, chat_type="group")
        answer = await tap(
            botapi, GROUP_ID, picker, "s:+:opinion", user_id=ADMIN, chat_type="group"
        )
        assert answer.params["text"] == "Following Opinion"

        context = seen[0]
        assert isinstance(context.bot_data, BotData)
        assert context.bot_data is application.bot_data
        assert context.bot_data.runtime.settings.database == settings.database
        assert context.bot_data.dispatcher is not None
        assert isinstance(context.chat_data, ChatData)
        assert context.chat_data.broadcasts == {}
        # The group admin's grant sits in the typed cache, keyed by (chat, user).
        assert (GROUP_ID, ADMIN) in application.bot_data.admin_grants

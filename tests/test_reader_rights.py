"""Group rights are current: a promotion or demotion counts at once, end to end via the double."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.botdata import App
from storage import subscriptions
from tests.doubles.botapi import BotApiDouble
from tests.harness import run_bot, settings_for
from tests.reader_helpers import (
    GROUP_ID,
    MEMBER,
    SUPERGROUP_ID,
    db,
    edited,
    quiet,
    say,
    tap,
)

ADMIN_ONLY = "Only the administrators of this chat can change that."
OWNER = 5000


@pytest.fixture
async def app(botapi: BotApiDouble, tmp_path: Path) -> AsyncIterator[App]:
    for chat in (GROUP_ID, SUPERGROUP_ID):
        botapi.set_member_status(chat, OWNER, "creator")
    # The bot is an administrator of the supergroup only: Telegram tells it of member changes
    # there and nowhere else.
    botapi.set_member_status(SUPERGROUP_ID, botapi.bot_id, "administrator")
    async with run_bot(settings_for(botapi, None, tmp_path)) as application:
        await botapi.wait_polling()
        yield application


async def followed(app: App, chat_id: int) -> set[str]:
    return await subscriptions.sections_of(db(app), chat_id, 0)


async def test_a_member_promoted_to_admin_can_change_sections_at_once(
    app: App, botapi: BotApiDouble
) -> None:
    kw = {"user_id": MEMBER, "chat_type": "group"}
    picker = await say(botapi, GROUP_ID, "/sections", **kw)
    answer = await tap(botapi, GROUP_ID, picker, "s:+:opinion", **kw)
    assert answer.params["text"] == ADMIN_ONLY
    # The bot is no admin in this group, so no chat_member update comes: only asking again helps.
    assert botapi.change_member_status(GROUP_ID, MEMBER, "administrator", by=OWNER) is None

    since = len(botapi.calls)
    answer = await tap(botapi, GROUP_ID, picker, "s:+:opinion", **kw)
    assert answer.params["text"] == "Following Opinion"
    await edited(botapi, "editMessageReplyMarkup", since)
    assert await followed(app, GROUP_ID) == {"opinion"}
    reply = await say(botapi, GROUP_ID, "/subscribe culture", **kw)
    assert reply.text == "Now following: Culture."


async def test_an_admin_demoted_loses_rights_at_once(app: App, botapi: BotApiDouble) -> None:
    botapi.set_member_status(SUPERGROUP_ID, MEMBER, "administrator")
    kw = {"user_id": MEMBER, "chat_type": "supergroup"}
    picker = await say(botapi, SUPERGROUP_ID, "/sections", **kw)
    assert (await tap(botapi, SUPERGROUP_ID, picker, "s:+:opinion", **kw)).params[
        "text"
    ] == "Following Opinion"
    before_culture = len(botapi.calls)
    await tap(botapi, SUPERGROUP_ID, picker, "s:+:culture", **kw)
    # The keyboard is redrawn after the answer, in its turn in the send budget: wait for it, so
    # it is not taken for an edit made after the demotion.
    await botapi.wait_for(
        "editMessageReplyMarkup",
        lambda c: c.ok and "✅ Culture" in str(c.params.get("reply_markup")),
        since=before_culture,
    )
    asked = len(botapi.of("getChatMember"))
    assert asked == 1  # the grant was reused for the second tap

    update = botapi.change_member_status(SUPERGROUP_ID, MEMBER, "member", by=OWNER)
    assert update is not None
    await botapi.wait_confirmed()  # the bot has taken the chat_member update

    since = len(botapi.calls)
    answer = await tap(botapi, SUPERGROUP_ID, picker, "s:-:opinion", **kw)
    assert answer.params["text"] == ADMIN_ONLY
    assert len(botapi.of("getChatMember")) == asked + 1  # asked afresh, not the cached grant
    await quiet(botapi, since, "editMessageReplyMarkup", "editMessageText")
    reply = await say(botapi, SUPERGROUP_ID, "/unsubscribe all", **kw)
    assert reply.text == ADMIN_ONLY
    assert await followed(app, SUPERGROUP_ID) == {"opinion", "culture"}


async def test_a_refusal_is_never_reused(app: App, botapi: BotApiDouble) -> None:
    kw = {"user_id": MEMBER, "chat_type": "group"}
    picker = await say(botapi, GROUP_ID, "/sections", **kw)
    for _ in range(2):
        answer = await tap(botapi, GROUP_ID, picker, "s:+:opinion", **kw)
        assert answer.params["text"] == ADMIN_ONLY
    assert len(botapi.of("getChatMember")) == 2

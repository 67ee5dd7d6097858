"""The reader in groups, forum topics and channels, end to end through the Bot API double."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.botdata import App
from storage import chats, follows, subscriptions
from tests.doubles.botapi import BotApiDouble
from tests.doubles.botapi_rules import command_entities
from tests.harness import run_bot, settings_for
from tests.reader_helpers import (
    ADMIN,
    CHANNEL_ID,
    GROUP_ID,
    MEMBER,
    SUPERGROUP_ID,
    db,
    edited,
    eventually,
    labels,
    post,
    quiet,
    say,
    tap,
)

BOT = "azemedia_news_test_bot"
ADMIN_ONLY = "Only the administrators of this chat can change that."


@pytest.fixture
async def app(botapi: BotApiDouble, tmp_path: Path) -> AsyncIterator[App]:
    botapi.set_member_status(GROUP_ID, ADMIN, "administrator")
    botapi.set_member_status(SUPERGROUP_ID, ADMIN, "creator")
    botapi.set_member_status(CHANNEL_ID, ADMIN, "administrator")
    async with run_bot(settings_for(botapi, None, tmp_path)) as application:
        await botapi.wait_polling()
        yield application


async def followed(app: App, chat_id: int, thread_id: int = 0) -> set[str]:
    return await subscriptions.sections_of(db(app), chat_id, thread_id)


async def test_group_admin_uses_addressed_commands_and_buttons(
    app: App, botapi: BotApiDouble
) -> None:
    picker = await say(botapi, GROUP_ID, f"/sections@{BOT}", user_id=ADMIN, chat_type="group")
    assert labels(picker)[-1] == "Done"
    since = len(botapi.calls)
    answer = await tap(botapi, GROUP_ID, picker, "s:+:opinion", user_id=ADMIN, chat_type="group")
    assert answer.params["text"] == "Following Opinion"
    await edited(botapi, "editMessageReplyMarkup", since)
    await tap(botapi, GROUP_ID, picker, "s:+:defense", user_id=ADMIN, chat_type="group")
    assert await followed(app, GROUP_ID) == {"opinion", "defense"}
    # getChatMember is asked once and its answer reused for the next tap.
    assert len(botapi.of("getChatMember")) == 1

    reply = await say(botapi, GROUP_ID, "/subscribe karabakh", user_id=ADMIN, chat_type="group")
    assert reply.text == "Now following: Karabakh."
    chat = await chats.get(db(app), GROUP_ID)
    assert chat is not None and chat.kind == "group" and chat.title.startswith("Test group")


async def test_group_member_is_refused_politely_and_nothing_changes(
    app: App, botapi: BotApiDouble
) -> None:
    picker = await say(botapi, GROUP_ID, "/sections", user_id=MEMBER, chat_type="group")
    since = len(botapi.calls)
    answer = await tap(botapi, GROUP_ID, picker, "s:+:opinion", user_id=MEMBER, chat_type="group")
    assert answer.params["text"] == ADMIN_ONLY
    assert answer.params["show_alert"] is True
    await quiet(botapi, since, "editMessageReplyMarkup", "editMessageText")

    for command in ("/subscribe opinion", "/unsubscribe all", "/stop", "/start opinion"):
        reply = await say(botapi, GROUP_ID, command, user_id=MEMBER, chat_type="group")
        assert ADMIN_ONLY in reply.text, command
    assert await followed(app, GROUP_ID) == set()

    view = await say(botapi, GROUP_ID, "/settings", user_id=MEMBER, chat_type="group")
    answer = await tap(botapi, GROUP_ID, view, "c:lang:ru", user_id=MEMBER, chat_type="group")
    assert answer.params["text"] == ADMIN_ONLY
    chat = await chats.get(db(app), GROUP_ID)
    assert chat is not None and chat.settings.language is None

    # Reading is for everyone.
    reply = await say(botapi, GROUP_ID, "/mysubs", user_id=MEMBER, chat_type="group")
    assert "No section yet." in reply.text


async def test_commands_for_another_bot_and_chatter_are_ignored(
    app: App, botapi: BotApiDouble
) -> None:
    since = len(botapi.calls)
    for text in ("/start@otherbot", "/subscribe@otherbot opinion", "hello everyone", "/frobnicate"):
        botapi.inject_message(GROUP_ID, text, user_id=ADMIN, chat_type="group")
    botapi.inject_message(ADMIN, "/start@otherbot", user_id=ADMIN)  # private, addressed elsewhere
    await botapi.wait_confirmed()
    await quiet(botapi, since, "sendMessage")
    assert await followed(app, GROUP_ID) == set()


async def test_group_language_is_the_readers_until_an_admin_chooses(
    app: App, botapi: BotApiDouble
) -> None:
    reply = await say(
        botapi, GROUP_ID, "/help", user_id=MEMBER, chat_type="group", language_code="ru"
    )
    assert reply.text.startswith("<b>Что я умею</b>")
    view = await say(botapi, GROUP_ID, "/settings", user_id=ADMIN, chat_type="group")
    await tap(botapi, GROUP_ID, view, "c:lang:az", user_id=ADMIN, chat_type="group")
    reply = await say(
        botapi, GROUP_ID, "/help", user_id=MEMBER, chat_type="group", language_code="ru"
    )
    assert reply.text.startswith("<b>Nə edə bilərəm</b>")


async def test_forum_topic_subscriptions_belong_to_the_topic(
    app: App, botapi: BotApiDouble
) -> None:
    topic = {"user_id": ADMIN, "chat_type": "supergroup", "thread_id": 7}
    reply = await say(botapi, SUPERGROUP_ID, "/subscribe opinion", **topic)
    assert reply.thread_id == 7
    assert await followed(app, SUPERGROUP_ID, 7) == {"opinion"}
    assert await followed(app, SUPERGROUP_ID, 0) == set()

    picker = await say(botapi, SUPERGROUP_ID, "/sections", **topic)
    assert picker.thread_id == 7 and "✅ Opinion" in labels(picker)
    await tap(botapi, SUPERGROUP_ID, picker, "s:+:karabakh", user_id=ADMIN, chat_type="supergroup")
    assert await followed(app, SUPERGROUP_ID, 7) == {"opinion", "karabakh"}

    general = await say(
        botapi, SUPERGROUP_ID, "/subscribe culture", user_id=ADMIN, chat_type="supergroup"
    )
    assert general.thread_id is None
    other = {**topic, "thread_id": 9}
    await say(botapi, SUPERGROUP_ID, "/subscribe science", **other)

    reply = await say(botapi, SUPERGROUP_ID, "/mysubs", **topic)
    assert "<b>Sections of this topic</b>\n💬 Opinion\n🏔 Karabakh" in reply.text

    await say(botapi, SUPERGROUP_ID, "/unsubscribe all", **topic)
    assert await followed(app, SUPERGROUP_ID, 7) == set()
    assert await followed(app, SUPERGROUP_ID, 0) == {"culture"}
    assert await followed(app, SUPERGROUP_ID, 9) == {"science"}


async def test_stop_in_a_forum_topic_forgets_only_that_topic(
    app: App, botapi: BotApiDouble
) -> None:
    topic = {"user_id": ADMIN, "chat_type": "supergroup", "thread_id": 7}
    await say(botapi, SUPERGROUP_ID, "/subscribe opinion", **topic)
    await say(botapi, SUPERGROUP_ID, "/follow pipeline", **topic)
    await say(botapi, SUPERGROUP_ID, "/subscribe science", **{**topic, "thread_id": 9})

    confirm = await say(botapi, SUPERGROUP_ID, "/stop", **topic)
    since = len(botapi.calls)
    await tap(botapi, SUPERGROUP_ID, confirm, "x:yes", user_id=ADMIN, chat_type="supergroup")
    done = await edited(botapi, "editMessageText", since)
    assert done.params["text"].startswith("Done: this topic follows nothing now.")
    assert await followed(app, SUPERGROUP_ID, 7) == set()
    assert await followed(app, SUPERGROUP_ID, 9) == {"science"}
    assert await follows.list_for_chat(db(app), SUPERGROUP_ID) == []
    assert await chats.get(db(app), SUPERGROUP_ID) is not None


async def test_channel_posts_manage_the_channel(app: App, botapi: BotApiDouble) -> None:
    reply = await post(botapi, CHANNEL_ID, "/subscribe opinion, defense")
    assert reply.text == "Now following: Opinion, Defense."
    assert await followed(app, CHANNEL_ID) == {"opinion", "defense"}
    chat = await chats.get(db(app), CHANNEL_ID)
    assert chat is not None and chat.kind == "channel" and chat.title == "News Channel"

    picker = await post(botapi, CHANNEL_ID, "/sections")
    answer = await tap(
        botapi, CHANNEL_ID, picker, "s:-:opinion", user_id=MEMBER, chat_type="channel"
    )
    assert answer.params["text"] == ADMIN_ONLY
    answer = await tap(
        botapi, CHANNEL_ID, picker, "s:-:opinion", user_id=ADMIN, chat_type="channel"
    )
    assert answer.params["text"] == "Unfollowed Opinion"
    assert await followed(app, CHANNEL_ID) == {"defense"}

    reply = await post(botapi, CHANNEL_ID, "/mysubs")
    assert "🛡 Defense" in reply.text

    since = len(botapi.calls)
    botapi.inject_update(
        {
            "edited_channel_post": {
                **botapi.messages[(CHANNEL_ID, picker.result["message_id"] - 1)],
                "text": "/unsubscribe all",
                "edit_date": 1,
            }
        }
    )
    await botapi.wait_confirmed()
    await quiet(botapi, since, "sendMessage")
    assert await followed(app, CHANNEL_ID) == {"defense"}


async def test_removed_bot_deactivates_and_readding_reactivates(
    app: App, botapi: BotApiDouble
) -> None:
    await say(botapi, GROUP_ID, "/subscribe opinion", user_id=ADMIN, chat_type="group")
    botapi.inject_my_chat_member(GROUP_ID, old_status="member", new_status="kicked")

    async def active() -> bool | None:
        chat = await chats.get(db(app), GROUP_ID)
        return None if chat is None else chat.active

    async def gone() -> bool:
        return await active() is False

    async def back() -> bool:
        return await active() is True

    await eventually(gone)
    botapi.inject_my_chat_member(GROUP_ID, old_status="left", new_status="member")
    await eventually(back)
    assert await followed(app, GROUP_ID) == {"opinion"}


async def test_group_upgraded_to_supergroup_keeps_its_subscriptions(
    app: App, botapi: BotApiDouble
) -> None:
    await say(botapi, GROUP_ID, "/subscribe opinion", user_id=ADMIN, chat_type="group")
    new_id = -1004001
    botapi.inject_migration(GROUP_ID, new_id)

    async def moved() -> bool:
        return await followed(app, new_id) == {"opinion"}

    await eventually(moved)
    assert await chats.get(db(app), GROUP_ID) is None
    moved = await chats.get(db(app), new_id)
    assert moved is not None and moved.kind == "supergroup"


async def test_anonymous_admin_posting_as_the_group_may_change_it(
    app: App, botapi: BotApiDouble
) -> None:
    chat = botapi.chat(GROUP_ID, "group")
    since = len(botapi.calls)
    botapi.inject_update(
        {
            "message": {
                "message_id": 900,
                "date": 1,
                "chat": chat,
                "from": {"id": 1087968824, "is_bot": True, "first_name": "Group"},
                "sender_chat": chat,
                "text": "/subscribe history",
                "entities": command_entities("/subscribe history"),
            }
        }
    )
    (reply,) = await botapi.wait_for("sendMessage", lambda c: c.chat_id == GROUP_ID, since=since)
    assert reply.text == "Now following: History."
    assert botapi.of("getChatMember") == []
    assert await followed(app, GROUP_ID) == {"history"}

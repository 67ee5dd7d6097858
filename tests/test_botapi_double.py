"""The Bot API double answers like Telegram: envelopes, validation, long polling."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, ChatMigrated, Forbidden, RetryAfter

from tests.doubles.botapi import BotApiDouble
from tests.doubles.botapi_rules import EntityError, command_entities, parse_html
from tests.harness import run_bot, settings_for


async def raw(api: BotApiDouble, method: str, token: str | None = None, **params: Any) -> Any:
    async with httpx.AsyncClient() as client:
        response = await client.post(f"{api.base_url}{token or api.token}/{method}", data=params)
    return response.status_code, response.json()


@pytest.fixture
async def bot(botapi: BotApiDouble) -> Any:
    async with Bot(botapi.token, base_url=botapi.base_url) as bot:
        yield bot


# ---------------------------------------------------------------- envelopes


async def test_unknown_token_gets_401_envelope(botapi: BotApiDouble) -> None:
    status, body = await raw(botapi, "getMe", token="1:wrong")
    assert status == 401
    assert body == {"ok": False, "error_code": 401, "description": "Unauthorized"}


async def test_retry_after_envelope_and_ptb_exception(botapi: BotApiDouble, bot: Bot) -> None:
    botapi.fail("sendMessage", 429, retry_after=7)
    status, body = await raw(botapi, "sendMessage", chat_id=1, text="x")
    assert status == 429
    assert body["description"] == "Too Many Requests: retry after 7"
    assert body["parameters"] == {"retry_after": 7}
    botapi.fail("sendMessage", 429, retry_after=3, times=1)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(1, "x")
    assert "Retry in 3 seconds" in str(caught.value)
    assert (await bot.send_message(1, "x")).text == "x"  # the fault was used up
    assert botapi.too_many_requests == 2


async def test_faults_can_target_one_chat(botapi: BotApiDouble, bot: Bot) -> None:
    botapi.fail("sendMessage", 400, chat_id=-5, migrate_to_chat_id=-1005, times=None)
    await bot.send_message(5, "fine")
    for _ in range(2):
        with pytest.raises(ChatMigrated) as caught:
            await bot.send_message(-5, "x")
        assert caught.value.new_chat_id == -1005
    assert "upgraded to a supergroup" in botapi.of("sendMessage")[-1].description


async def test_blocked_and_kicked_chats_answer_403(botapi: BotApiDouble, bot: Bot) -> None:
    botapi.block(7)
    botapi.inject_my_chat_member(-9, chat_type="group", old_status="member", new_status="kicked")
    with pytest.raises(Forbidden, match="blocked by the user"):
        await bot.send_message(7, "x")
    with pytest.raises(Forbidden, match="kicked from the group"):
        await bot.send_message(-9, "x")
    assert botapi.sent() == []


async def test_migrated_group_answers_with_new_id(botapi: BotApiDouble, bot: Bot) -> None:
    botapi.inject_migration(-42, -10042)
    updates = await bot.get_updates()
    assert updates[0].message.migrate_to_chat_id == -10042
    assert updates[1].message.migrate_from_chat_id == -42
    with pytest.raises(ChatMigrated):
        await bot.send_message(-42, "x")


# ---------------------------------------------------------------- validation


@pytest.mark.parametrize(
    "html",
    [
        "<b>bold",
        "<b><i>x</b></i>",
        "<div>x</div>",
        "a < b",
        '<span class="x">s</span>',
        "<b>x</b></b>",
        "<a href='x'",
    ],
)
async def test_malformed_html_is_refused(botapi: BotApiDouble, bot: Bot, html: str) -> None:
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await bot.send_message(1, html, parse_mode="HTML")


def test_html_parsing_gives_plain_text_and_utf16_entities() -> None:
    text, entities = parse_html(
        '🌍 <b>COP29</b> &amp; <a href="https://aze.media/?p=1">more</a> &#8230;'
        "<tg-spoiler>s</tg-spoiler><blockquote expandable>q</blockquote>"
    )
    assert text == "🌍 COP29 & more …sq"
    assert entities[0] == {"type": "bold", "offset": 3, "length": 5}
    assert entities[1] == {
        "type": "text_link",
        "offset": 11,
        "length": 4,
        "url": "https://aze.media/?p=1",
    }
    assert [e["type"] for e in entities[2:]] == ["spoiler", "expandable_blockquote"]
    with pytest.raises(EntityError, match='Unmatched end tag at byte offset 7, expected "</i>"'):
        parse_html("<b><i>x</b>")


async def test_length_counts_text_after_entity_parsing(botapi: BotApiDouble, bot: Bot) -> None:
    fits = "<b>" + "&amp;" * 4096 + "</b>"
    assert len((await bot.send_message(1, fits, parse_mode="HTML")).text) == 4096
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(1, "x" * 4097)
    with pytest.raises(BadRequest, match=r"(?i)text is empty"):
        await bot.send_message(1, "<b> </b>", parse_mode="HTML")


async def test_callback_data_over_64_bytes_is_refused(botapi: BotApiDouble, bot: Bot) -> None:
    ok = InlineKeyboardMarkup([[InlineKeyboardButton("ok", callback_data="é" * 32)]])
    await bot.send_message(1, "x", reply_markup=ok)
    too_long = InlineKeyboardMarkup([[InlineKeyboardButton("no", callback_data="é" * 33)]])
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        await bot.send_message(1, "x", reply_markup=too_long)


async def test_inline_results_over_50_are_refused(botapi: BotApiDouble, bot: Bot) -> None:
    from telegram import InlineQueryResultArticle, InputTextMessageContent

    query = botapi.inject_inline_query(5, "cop")["inline_query"]["id"]
    results = [
        InlineQueryResultArticle(str(i), f"t{i}", InputTextMessageContent("x")) for i in range(51)
    ]
    with pytest.raises(BadRequest, match=r"(?i)results_too_much"):
        await bot.answer_inline_query(query, results)
    assert await bot.answer_inline_query(query, results[:50])
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await bot.answer_inline_query(query, results[:1])  # answered already


async def test_identical_edit_is_not_modified(botapi: BotApiDouble, bot: Bot) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("a", callback_data="a")]])
    sent = await bot.send_message(3, "<b>x</b>", parse_mode="HTML", reply_markup=keyboard)
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text(
            "<b>x</b>",
            chat_id=3,
            message_id=sent.message_id,
            parse_mode="HTML",
            reply_markup=keyboard,
        )
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_reply_markup(3, sent.message_id, reply_markup=keyboard)
    edited = await bot.edit_message_text("x", chat_id=3, message_id=sent.message_id)
    assert edited.reply_markup is None and not edited.entities
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("y", chat_id=3, message_id=999)


# ---------------------------------------------------------------- updates


def test_command_entities_cover_bot_username() -> None:
    assert command_entities("/start@azemedia_bot x") == [
        {"type": "bot_command", "offset": 0, "length": 19}
    ]
    assert command_entities("hello /start") == []


async def test_long_poll_wakes_on_inject_and_honours_offset(botapi: BotApiDouble, bot: Bot) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    poll = asyncio.ensure_future(bot.get_updates(timeout=10))
    await asyncio.sleep(0.05)
    assert not poll.done()
    botapi.inject_message(42, "/start")
    updates = await asyncio.wait_for(poll, 2)
    assert loop.time() - started < 1
    assert updates[0].message.text == "/start"
    assert updates[0].message.entities[0].type == "bot_command"
    again = await bot.get_updates(timeout=0)
    assert [u.update_id for u in again] == [updates[0].update_id]  # not confirmed yet
    assert await bot.get_updates(offset=updates[0].update_id + 1, timeout=0) == ()
    assert botapi.pending_updates == []


async def test_long_poll_times_out_empty(botapi: BotApiDouble, bot: Bot) -> None:
    started = asyncio.get_running_loop().time()
    assert await bot.get_updates(timeout=1) == ()
    assert asyncio.get_running_loop().time() - started >= 0.9


async def test_callback_carries_the_bots_message(botapi: BotApiDouble, bot: Bot) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Culture", callback_data="t:culture")]])
    sent = await bot.send_message(8, "Pick", reply_markup=keyboard)
    update = botapi.inject_callback(8, sent.message_id, "t:culture")
    (received,) = await bot.get_updates()
    query = received.callback_query
    assert query.data == "t:culture"
    assert query.message.text == "Pick"
    assert query.message.reply_markup == keyboard
    assert await bot.answer_callback_query(update["callback_query"]["id"])


async def test_topic_messages_and_commands_recorded(botapi: BotApiDouble, bot: Bot) -> None:
    botapi.inject_message(-1001, "/start", chat_type="supergroup", thread_id=12)
    (update,) = await bot.get_updates()
    assert update.message.is_topic_message and update.message.message_thread_id == 12
    reply = await update.message.reply_text("hi")
    assert reply.message_thread_id == 12
    assert botapi.sent("sendMessage", -1001)[0].thread_id == 12
    from telegram import BotCommand

    await bot.set_my_commands([BotCommand("start", "Старт")], language_code="ru")
    assert (await bot.get_my_commands(language_code="ru"))[0].description == "Старт"
    assert await bot.get_my_commands() == ()


async def test_second_poller_gets_409_conflict(botapi: BotApiDouble) -> None:
    async with httpx.AsyncClient() as client:
        url = f"{botapi.base_url}{botapi.token}/getUpdates"
        first = asyncio.ensure_future(client.post(url, data={"timeout": "5"}))
        await asyncio.sleep(0.05)
        second = await client.post(url, data={"timeout": "0"})
        assert second.json()["ok"] is True
        response = await asyncio.wait_for(first, 2)
    assert response.status_code == 409
    assert "only one bot instance" in response.json()["description"]


async def test_rate_limits_answer_429(botapi: BotApiDouble, bot: Bot) -> None:
    botapi.enforce_limits(global_per_s=3, per_chat_per_s=1)
    await bot.send_message(1, "a")
    with pytest.raises(RetryAfter):
        await bot.send_message(1, "b")  # same chat within a second
    await bot.send_message(2, "c")
    await bot.send_message(3, "d")
    with pytest.raises(RetryAfter):
        await bot.send_message(4, "e")  # fourth message within a second
    assert botapi.too_many_requests == 2
    assert len(botapi.sent()) == 3


async def test_wait_for_counts_earlier_calls_and_times_out(botapi: BotApiDouble, bot: Bot) -> None:
    await bot.send_message(1, "early")
    later = asyncio.ensure_future(bot.send_message(1, "late"))
    calls = await botapi.wait_for("sendMessage", count=2, timeout=2)
    await later
    assert [c.text for c in calls] == ["early", "late"]
    with pytest.raises(TimeoutError, match="sendPhoto"):
        await botapi.wait_for("sendPhoto", timeout=0.05)


# ---------------------------------------------------------------- the real bot against it


async def test_bot_answers_start_in_process(botapi: BotApiDouble, tmp_path: Path) -> None:
    async with run_bot(settings_for(botapi, None, tmp_path)):
        assert botapi.of("setMyCommands")
        botapi.inject_message(42, "/start")
        (reply,) = await botapi.wait_for("sendMessage", lambda c: c.chat_id == 42)
    assert reply.ok
    assert reply.params["parse_mode"] == "HTML"


async def test_webhook_mode_pushes_injected_updates(botapi: BotApiDouble) -> None:
    from aiohttp import web

    received: list[tuple[dict[str, Any], str | None]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append(
            (await request.json(), request.headers.get("X-Telegram-Bot-Api-Secret-Token"))
        )
        return web.Response()

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        async with Bot(botapi.token, base_url=botapi.base_url) as bot:
            await bot.set_webhook(f"http://127.0.0.1:{port}/hook", secret_token="s3cret")
            botapi.inject_message(5, "hello")
            for _ in range(200):
                if received:
                    break
                await asyncio.sleep(0.01)
            assert received[0][0]["message"]["text"] == "hello"
            assert received[0][1] == "s3cret"
            assert (await bot.get_webhook_info()).pending_update_count == 0
    finally:
        await runner.cleanup()


async def test_member_status_changes_reach_only_an_admin_bot_that_asked(
    botapi: BotApiDouble, bot: Bot
) -> None:
    # Not an admin: getChatMember tells the new status, but no chat_member update comes.
    assert botapi.change_member_status(-7, 42, "administrator") is None
    assert (await bot.get_chat_member(-7, 42)).status == "administrator"

    botapi.set_member_status(-7, botapi.bot_id, "administrator")
    update = botapi.change_member_status(-7, 42, "member", by=41)
    assert update is not None
    assert (await bot.get_chat_member(-7, 42)).status == "member"
    # Telegram's default allowed_updates leaves chat_member out; a bot must ask for it.
    assert await bot.get_updates(timeout=0) == ()
    [got] = await bot.get_updates(timeout=0, allowed_updates=["chat_member"])
    assert got.chat_member is not None
    change = got.chat_member
    assert (change.old_chat_member.status, change.new_chat_member.status) == (
        "administrator",
        "member",
    )
    assert change.new_chat_member.user.id == 42 and change.from_user.id == 41


async def test_a_reply_carries_the_message_it_answers(botapi: BotApiDouble, bot: Bot) -> None:
    asked = await bot.send_message(9, "Which time zone?")
    botapi.inject_message(9, "Berlin", reply_to=asked.message_id)
    [got] = await bot.get_updates(timeout=0)
    assert got.message is not None and got.message.reply_to_message is not None
    assert got.message.reply_to_message.text == "Which time zone?"
    assert got.message.reply_to_message.from_user is not None
    assert got.message.reply_to_message.from_user.id == botapi.bot_id

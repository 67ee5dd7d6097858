"""The reader in a private chat, end to end: real PTB over HTTP against the Bot API double."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiosqlite
import pytest

from bot.botdata import App
from bot.domain import Article
from storage import articles, chats, subscriptions
from storage import db as storage_db
from tests.doubles.botapi import BotApiDouble
from tests.harness import run_bot, settings_for
from tests.reader_helpers import data_of, db, edited, labels, quiet, say, tap

USER = 777


@pytest.fixture
async def app(botapi: BotApiDouble, tmp_path: Path) -> AsyncIterator[App]:
    async with run_bot(settings_for(botapi, None, tmp_path)) as application:
        await botapi.wait_polling()
        yield application


async def followed(app: App, chat_id: int = USER, thread_id: int = 0) -> set[str]:
    return await subscriptions.sections_of(db(app), chat_id, thread_id)


async def test_start_welcomes_names_the_site_and_shows_the_picker(
    app: App, botapi: BotApiDouble
) -> None:
    reply = await say(botapi, USER, "/start")
    assert "Welcome!" in reply.text and "<b>127.0.0.1</b>" in reply.text
    assert reply.params["parse_mode"] == "HTML"
    texts = labels(reply)
    assert texts[:4] == ["COP29", "Opinion", "News", "· Economy"]
    assert texts[-3:] == ["All", "None", "Done"]
    assert all(len(str(b["callback_data"]).encode()) <= 64 for b in reply.buttons)
    assert await followed(app) == set()


async def test_command_menus_are_registered_in_three_languages(
    app: App, botapi: BotApiDouble
) -> None:
    menus = {
        str(c.params.get("language_code") or ""): {
            d["command"]: d["description"] for d in c.params["commands"]
        }
        for c in botapi.of("setMyCommands")
    }
    assert set(menus) >= {"", "az", "ru"}
    for menu in menus.values():
        assert {"start", "sections", "subscribe", "unsubscribe", "mysubs", "latest"} <= set(menu)
        assert {"settings", "stop", "help"} <= set(menu)
    assert menus[""]["sections"] == "Pick the sections you follow"
    assert menus["az"]["sections"] == "İzlədiyiniz bölmələri seçin"
    assert menus["ru"]["sections"] == "Выбрать разделы для подписки"


async def test_picker_taps_follow_and_edit_in_place_and_a_repeat_changes_nothing(
    app: App, botapi: BotApiDouble
) -> None:
    picker = await say(botapi, USER, "/sections")
    since = len(botapi.calls)
    answer = await tap(botapi, USER, picker, data_of(picker, "Opinion"))
    assert answer.params["text"] == "Following Opinion"
    edit = await edited(botapi, "editMessageReplyMarkup", since)
    assert "✅ Opinion" in labels(edit)
    assert await followed(app) == {"opinion"}

    # The same (now stale) button again: a short answer, no edit, no "message is not modified".
    since = len(botapi.calls)
    answer = await tap(botapi, USER, picker, data_of(picker, "Opinion"))
    assert answer.params["text"] == "Nothing to change"
    await quiet(botapi, since, "editMessageReplyMarkup", "editMessageText")

    since = len(botapi.calls)
    answer = await tap(botapi, USER, picker, data_of(edit, "✅ Opinion"))
    assert answer.params["text"] == "Unfollowed Opinion"
    assert "Opinion" in labels(await edited(botapi, "editMessageReplyMarkup", since))
    assert await followed(app) == set()


async def test_all_none_and_done(app: App, botapi: BotApiDouble) -> None:
    picker = await say(botapi, USER, "/sections")
    since = len(botapi.calls)
    assert (await tap(botapi, USER, picker, "s:all")).params["text"] == "Following every section"
    edit = await edited(botapi, "editMessageReplyMarkup", since)
    assert all(t.startswith("✅") for t in labels(edit)[:-3])
    assert len(await followed(app)) == 15

    since = len(botapi.calls)
    assert (await tap(botapi, USER, picker, "s:all")).params["text"] == "Nothing to change"
    await quiet(botapi, since, "editMessageReplyMarkup")

    since = len(botapi.calls)
    await tap(botapi, USER, picker, "s:none")
    await edited(botapi, "editMessageReplyMarkup", since)  # the handler edits after answering
    assert await followed(app) == set()
    since = len(botapi.calls)
    assert (await tap(botapi, USER, picker, "s:none")).params["text"] == "Nothing to change"
    await quiet(botapi, since, "editMessageReplyMarkup")

    await tap(botapi, USER, picker, "s:+:karabakh")
    since = len(botapi.calls)
    assert (await tap(botapi, USER, picker, "s:done")).params["text"] == "Saved"
    done = await edited(botapi, "editMessageText", since)
    assert done.text == "Saved. You follow: Karabakh."
    assert done.buttons == []


@pytest.mark.parametrize("data", ["s:+:no-such-section", "s:-:", "s:zzz", "s:+:" + "x" * 60])
async def test_forged_or_stale_button_gets_a_polite_answer_and_a_fresh_keyboard(
    app: App, botapi: BotApiDouble, data: str
) -> None:
    picker = await say(botapi, USER, "/sections")
    await tap(botapi, USER, picker, "s:+:opinion")
    since = len(botapi.calls)
    answer = await tap(botapi, USER, picker, data)
    assert answer.params["text"] == "That button is out of date; here is a fresh one."
    fresh = await edited(botapi, "editMessageReplyMarkup", since)
    assert "✅ Opinion" in labels(fresh)
    assert await followed(app) == {"opinion"}


async def test_deep_link_follows_at_once(app: App, botapi: BotApiDouble) -> None:
    reply = await say(botapi, USER, "/start opinion-climate-and-ecology")
    assert "You now follow Opinion, Climate and Ecology." in reply.text
    assert "✅ Opinion" in labels(reply)
    assert await followed(app) == {"opinion", "climate-and-ecology"}


@pytest.mark.parametrize("payload", ["opinion-nothing", "DROP_TABLE", "a" * 64])
async def test_deep_link_with_unknown_section_changes_nothing(
    app: App, botapi: BotApiDouble, payload: str
) -> None:
    reply = await say(botapi, USER, f"/start {payload}")
    assert "names no section I know" in reply.text
    assert await followed(app) == set()


async def test_search_deep_link_is_left_to_search(app: App, botapi: BotApiDouble) -> None:
    reply = await say(botapi, USER, "/start search-opinion")
    assert "Welcome!" not in reply.text  # the search handler answered, and it alone
    await quiet(botapi, len(botapi.calls), "sendMessage")
    assert await followed(app) == set()


async def test_subscribe_by_names_and_slugs_in_any_case(app: App, botapi: BotApiDouble) -> None:
    reply = await say(botapi, USER, "/subscribe karabakh, Climate and Ecology")
    assert reply.text == "Now following: Climate and Ecology, Karabakh."
    reply = await say(botapi, USER, "/subscribe KARABAKH logistics-transport")
    assert reply.text == "Now following: Logistics-Transport.\nAlready following: Karabakh."
    assert await followed(app) == {"karabakh", "climate-and-ecology", "logistics-transport"}


async def test_subscribe_unknown_name_suggests_and_changes_nothing(
    app: App, botapi: BotApiDouble
) -> None:
    reply = await say(botapi, USER, "/subscribe opinion, karabag")
    assert "I know no section called “karabag”; nothing changed." in reply.text
    assert "Did you mean: Karabakh?" in reply.text
    assert await followed(app) == set()


async def test_subscribe_and_unsubscribe_without_argument_open_the_picker(
    app: App, botapi: BotApiDouble
) -> None:
    for command in ("/subscribe", "/unsubscribe"):
        reply = await say(botapi, USER, command)
        assert reply.text.startswith("Tap a section")
        assert labels(reply)[-1] == "Done"


async def test_unsubscribe_names_and_all(app: App, botapi: BotApiDouble) -> None:
    await say(botapi, USER, "/subscribe opinion defense news")
    reply = await say(botapi, USER, "/unsubscribe Defense, culture")
    assert reply.text == "Unfollowed: Defense.\nNot following: Culture."
    assert await followed(app) == {"opinion", "news"}
    reply = await say(botapi, USER, "/unsubscribe all")
    assert reply.text.startswith("Unfollowed everything.")
    assert await followed(app) == set()


@pytest.mark.parametrize(
    ("argument", "expected"),
    [
        ("x" * 4000, "too long for a section name"),
        ("🔥🏔️🎉", "I know no section called “🔥🏔️🎉”"),
        ("مرحبا بالعالم", "I know no section called “مرحبا بالعالم”"),
        ("<b>opinion</b> &amp;", "I know no section called “&lt;b&gt;opinion&lt;/b&gt; &amp;amp;”"),
        ("\u202eeciffo\u202c", "I know no section called"),
        (", , -", "I know no section called “-”"),
    ],
)
async def test_bad_arguments_get_a_clear_answer_and_change_nothing(
    app: App, botapi: BotApiDouble, argument: str, expected: str
) -> None:
    reply = await say(botapi, USER, f"/subscribe {argument}")
    assert expected in reply.text
    assert "Sections:" in reply.text or "Did you mean" in reply.text or "too long" in reply.text
    assert len(reply.text) < 1000
    assert await followed(app) == set()


async def test_edited_commands_are_ignored(app: App, botapi: BotApiDouble) -> None:
    first = await say(botapi, USER, "/help")
    since = len(botapi.calls)
    botapi.inject_edited_message(USER, 1, "/subscribe opinion")
    await botapi.wait_confirmed()
    await quiet(botapi, since, "sendMessage")
    assert first.ok and await followed(app) == set()


async def test_other_text_and_unknown_commands_get_a_hint(app: App, botapi: BotApiDouble) -> None:
    for text in ("hello there", "/frobnicate", "🙂"):
        reply = await say(botapi, USER, text)
        assert reply.text.startswith("Search with /search, or type @azemedia_news_test_bot")


async def test_help_lists_every_command_and_inline_search(app: App, botapi: BotApiDouble) -> None:
    reply = await say(botapi, USER, "/help")
    for command in ("start", "sections", "subscribe", "unsubscribe", "mysubs", "latest"):
        assert f"\n/{command} — " in reply.text
    for command in ("search", "follow", "unfollow", "settings", "stop", "help"):
        assert f"\n/{command} — " in reply.text
    assert "<code>@azemedia_news_test_bot words</code>" in reply.text


async def test_mysubs_shows_sections_settings_and_buttons(app: App, botapi: BotApiDouble) -> None:
    await say(botapi, USER, "/subscribe opinion, energy")
    reply = await say(botapi, USER, "/mysubs")
    assert "💬 Opinion\n⚡ Energy" in reply.text
    assert "Message style: headline and summary" in reply.text
    assert "Language: English (from your Telegram app)" in reply.text
    assert labels(reply) == ["Choose sections", "Settings"]

    since = len(botapi.calls)
    await tap(botapi, USER, reply, "s:open")
    picker = await edited(botapi, "editMessageText", since)
    assert "✅ Opinion" in labels(picker)


async def test_mysubs_settings_button_opens_settings(app: App, botapi: BotApiDouble) -> None:
    reply = await say(botapi, USER, "/mysubs")
    since = len(botapi.calls)
    await tap(botapi, USER, reply, "c:open")
    view = await edited(botapi, "editMessageText", since)
    assert view.text.startswith("<b>Settings</b>")
    assert "✅ Headline + summary" in labels(view)


async def _publish(app: App, count: int, section: str, start: datetime) -> None:
    # Its own connection, as ingest has: the bot's stages share theirs with open transactions.
    conn = await storage_db.connect(app.bot_data.runtime.settings.database)
    try:
        await _insert(conn, count, section, start)
    finally:
        await conn.close()


async def _insert(conn: aiosqlite.Connection, count: int, section: str, start: datetime) -> None:
    for n in range(count):
        article = Article(
            key=f"{section}-{n}",
            url=f"https://aze.media/{section}/{n}/",
            title=f"{section.title()} story {n} <&>",
            published=start + timedelta(hours=n),
            sections=(section,),
        )
        await articles.upsert(conn, article, announced=False, now=int(start.timestamp()))


async def test_latest_of_followed_sections_or_of_one_section(
    app: App, botapi: BotApiDouble
) -> None:
    start = datetime(2025, 3, 1, 8, tzinfo=UTC)
    await _publish(app, 3, "opinion", start)
    await _publish(app, 4, "culture", start + timedelta(minutes=30))

    reply = await say(botapi, USER, "/latest")
    assert reply.text.startswith("You follow no section yet")
    assert reply.text.count("• <a href=") == 5
    assert reply.text.index("Culture story 3") < reply.text.index("Opinion story 2")

    await say(botapi, USER, "/subscribe opinion")
    reply = await say(botapi, USER, "/latest")
    assert reply.text.startswith("<b>Latest</b>")
    assert reply.text.count("• <a href=") == 3 and "Culture" not in reply.text
    assert '<a href="https://aze.media/opinion/2/">Opinion story 2 &lt;&amp;&gt;</a>' in reply.text
    assert "<i>Opinion · March 1, 2025</i>" in reply.text
    assert reply.params["link_preview_options"] == {"is_disabled": True}

    reply = await say(botapi, USER, "/latest culture")
    assert reply.text.startswith("<b>Latest in Culture</b>")
    assert reply.text.count("• <a href=") == 4

    reply = await say(botapi, USER, "/latest nowhere")
    assert "I know no section called “nowhere”" in reply.text
    reply = await say(botapi, USER, "/latest science")
    assert "No articles yet." in reply.text


async def test_settings_change_and_repeat(app: App, botapi: BotApiDouble) -> None:
    view = await say(botapi, USER, "/settings")
    assert "Message style: headline and summary" in view.text
    expected = {
        "c:style:headline": ("style", "headline"),
        "c:prev:0": ("link_preview", False),
        "c:dig:08:00": ("digest_time", "08:00"),
        "c:quiet:22:00-07:00": ("quiet_start", "22:00"),
        "c:qm:silent": ("quiet_silent", True),
        "c:tz:Europe/Istanbul": ("timezone", "Europe/Istanbul"),
    }
    for data, (field, value) in expected.items():
        since = len(botapi.calls)
        assert (await tap(botapi, USER, view, data)).params["text"] == "Saved"
        await edited(botapi, "editMessageText", since)
        chat = await chats.get(db(app), USER)
        assert chat is not None and getattr(chat.settings, field) == value, data

    last = botapi.sent("editMessageText")[-1]
    assert "Quiet hours: 22:00–07:00, sent silently" in last.text
    assert "Time zone: Europe/Istanbul" in last.text
    assert "Digest: 08:00" in labels(last)

    since = len(botapi.calls)
    answer = await tap(botapi, USER, view, "c:style:headline")
    assert answer.params["text"] == "Nothing to change"
    await quiet(botapi, since, "editMessageText", "editMessageReplyMarkup")

    since = len(botapi.calls)
    answer = await tap(botapi, USER, view, "c:lang:xx")
    assert answer.params["text"].startswith("That button is out of date")
    chat = await chats.get(db(app), USER)
    assert chat is not None and chat.settings.language is None

    since = len(botapi.calls)
    await tap(botapi, USER, view, "c:done")
    assert (await edited(botapi, "editMessageText", since)).text == "Settings saved."


async def test_stop_asks_then_forgets_and_start_begins_afresh(
    app: App, botapi: BotApiDouble
) -> None:
    await say(botapi, USER, "/subscribe opinion")
    confirm = await say(botapi, USER, "/stop")
    assert labels(confirm) == ["Yes, stop and forget", "Cancel"]
    since = len(botapi.calls)
    await tap(botapi, USER, confirm, "x:no")
    assert (await edited(botapi, "editMessageText", since)).text == "Nothing changed."
    assert await followed(app) == {"opinion"}

    confirm = await say(botapi, USER, "/stop")
    since = len(botapi.calls)
    await tap(botapi, USER, confirm, "x:yes")
    assert "I forgot this chat" in (await edited(botapi, "editMessageText", since)).text
    assert await chats.get(db(app), USER) is None
    assert await followed(app) == set()

    reply = await say(botapi, USER, "/start")
    assert "✅" not in "".join(labels(reply))
    assert await chats.get(db(app), USER) is not None


async def test_azerbaijani_reader(app: App, botapi: BotApiDouble) -> None:
    reply = await say(botapi, USER, "/start", language_code="az")
    assert reply.text.startswith("Xoş gəlmisiniz!")
    assert labels(reply)[-3:] == ["Hamısı", "Heç biri", "Hazır"]
    answer = await tap(botapi, USER, reply, "s:+:opinion", language_code="az")
    assert answer.params["text"] == "Opinion izlənilir"
    reply = await say(botapi, USER, "/unsubscribe hamısı", language_code="az")
    assert reply.text.startswith("Bütün bölmələrin izlənməsi dayandırıldı.")


async def test_russian_reader(app: App, botapi: BotApiDouble) -> None:
    reply = await say(botapi, USER, "/subscribe opinion, karabakh", language_code="ru-RU")
    assert reply.text == "Подписка оформлена: Opinion, Karabakh."
    reply = await say(botapi, USER, "/subscribe карабах", language_code="ru")
    assert reply.text.startswith("Раздела «карабах» я не знаю; ничего не изменилось.")
    reply = await say(botapi, USER, "/mysubs", language_code="ru")
    assert "Язык: Русский (из вашего приложения Telegram)" in reply.text


async def test_language_chosen_in_settings_overrides_the_app_language(
    app: App, botapi: BotApiDouble
) -> None:
    view = await say(botapi, USER, "/settings", language_code="en")
    since = len(botapi.calls)
    answer = await tap(botapi, USER, view, "c:lang:ru")
    assert answer.params["text"] == "Сохранено"
    redrawn = await edited(botapi, "editMessageText", since)
    assert redrawn.text.startswith("<b>Настройки</b>")
    assert "✅ Русский" in labels(redrawn)
    reply = await say(botapi, USER, "/help", language_code="en")
    assert reply.text.startswith("<b>Что я умею</b>")


async def test_a_failing_reply_is_logged_without_the_token_and_apologised_for(
    app: App, botapi: BotApiDouble, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    botapi.fail("sendMessage", 400, "Bad Request: chat not found", times=1)
    since = len(botapi.calls)
    botapi.inject_message(USER, "/help")
    (apology,) = await botapi.wait_for("sendMessage", lambda c: c.ok, since=since)
    assert apology.text == "Sorry, something went wrong on my side. Please try again in a moment."
    # httpx's own request lines are silenced by bot.logs.setup in production; these are ours.
    ours = [r for r in caplog.records if r.name == "bot.handlers.errors"]
    assert [r.getMessage() for r in ours] == ["update failed"]
    logged = "".join(f"{r.getMessage()} {getattr(r, 'fields', '')}" for r in ours)
    assert "Chat not found" in logged and "Traceback" in logged
    assert botapi.token not in logged
    assert botapi.token.split(":", 1)[1] not in logged

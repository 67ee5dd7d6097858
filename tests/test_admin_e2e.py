"""Admin commands end to end: /stats and /broadcast through the real PTB stack and the doubles."""

from __future__ import annotations

import asyncio
import html
import json
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiosqlite
import pytest

from bot import sections
from bot.botdata import App
from bot.domain import ChatKind
from storage import broadcasts, chats, db, deliveries, stats, subscriptions
from storage import sections as stored_sections
from tests.doubles.botapi import BotApiDouble, Call
from tests.doubles.site import SiteDouble
from tests.harness import run_bot, settings_for
from tests.reader_helpers import edited, eventually, quiet, say, tap

ADMIN = 900
OTHER_ADMIN = 901
READER = 555
ANNOUNCEMENT = 'Maintenance <b>tonight</b> & "tomorrow" at 02:00\nSorry for the noise.'


async def seed_chat(
    conn: aiosqlite.Connection, chat_id: int, kind: ChatKind, slugs: list[str], active: bool = True
) -> None:
    await chats.ensure(conn, chat_id, kind, f"chat {chat_id}")
    await subscriptions.add(conn, chat_id, slugs)
    if not active:
        await chats.deactivate(conn, chat_id)


@pytest.fixture
async def app(botapi: BotApiDouble, tmp_path: Path) -> AsyncIterator[App]:
    settings = settings_for(botapi, None, tmp_path, NEWSBOT_ADMIN_IDS=f"{ADMIN},{OTHER_ADMIN}")
    async with run_bot(settings) as application:
        await botapi.wait_polling()
        yield application


@pytest.fixture
async def conn(app: App) -> AsyncIterator[aiosqlite.Connection]:
    """The test's own connection to the running bot's database."""
    connection = await db.connect(app.bot_data.runtime.settings.database)
    try:
        yield connection
    finally:
        await connection.close()


def is_broadcast(call: Call) -> bool:
    return call.ok and call.params.get("text") == html.escape(ANNOUNCEMENT)


async def test_stats_shows_chats_deliveries_rate_and_sections(
    botapi: BotApiDouble, site: SiteDouble, tmp_path: Path
) -> None:
    settings = settings_for(botapi, site, tmp_path, NEWSBOT_ADMIN_IDS=str(ADMIN))
    # Seeded before the bot starts, so the dispatcher finds nothing of it due.
    conn = await db.connect(settings.database)
    await stored_sections.sync(conn, sections.load(settings.site_url, settings.sections_file))
    now = time.time()
    await seed_chat(conn, 104, "private", ["news"], active=False)
    await seed_chat(conn, 101, "private", ["news", "opinion"])
    await seed_chat(conn, 102, "private", ["news"])
    await seed_chat(conn, -1001, "supergroup", ["news", "culture"])
    first = await broadcasts.create(conn, "old news", ADMIN)
    await deliveries.enqueue_broadcast(conn, first)
    async with conn.execute(
        "SELECT chat_id, id FROM deliveries WHERE broadcast_id = ?", (first,)
    ) as cur:
        rows = {r[0]: r[1] for r in await cur.fetchall()}
    await deliveries.mark_sent(conn, [(rows[101], 1)], now=now - 60)
    await deliveries.mark_failed(conn, rows[102], "Forbidden")
    await deliveries.mark_sent(conn, [(rows[-1001], 2)], now=now - 2 * 86_400)  # outside 24 h
    held = await broadcasts.create(conn, "later", ADMIN)
    await deliveries.enqueue_broadcast(conn, held)
    async with conn.execute("SELECT id FROM deliveries WHERE broadcast_id = ?", (held,)) as cur:
        await deliveries.hold(conn, [r[0] for r in await cur.fetchall()], now + 86_400)
    await conn.close()

    async with run_bot(settings) as application:
        await botapi.wait_polling()
        rt = application.bot_data.runtime

        async def news_polled() -> bool:
            return (await stats.last_success(rt.db)).get("news") is not None

        await eventually(news_polled)
        reply = await say(botapi, ADMIN, "/stats", user_id=ADMIN)

    lines = (reply.text or "").split("\n")
    assert reply.params["parse_mode"] == "HTML"
    assert lines[0] == "<b>Bot statistics</b>"
    assert "Active chats: 3 (1 gone)" in lines
    assert "Last 24 h: 1 sent, 1 failed, 0 dropped. Pending now: 3" in lines
    assert "Send rate: 0 msg/s (limit 25/s)" in lines
    by_name = {line.split(":", 1)[0]: line for line in lines if " · " in line}
    assert by_name["News"].startswith("News: 3 · ")
    assert by_name["News"].endswith(" s ago")  # polled from the site double a moment ago
    assert by_name["Opinion"].startswith("Opinion: 1 · ")
    assert by_name["Culture"].startswith("Culture: 1 · ")
    assert by_name["Karabakh"].startswith("Karabakh: 0 · ")
    assert len(reply.result["text"]) <= 4096  # parsed by the double: valid HTML


async def test_non_admins_are_refused_and_see_no_admin_menu(
    app: App, botapi: BotApiDouble, conn: aiosqlite.Connection
) -> None:
    await seed_chat(conn, 301, "private", ["news"])
    for command in ("/stats", "/broadcast Hello everyone"):
        reply = await say(botapi, READER, command)
        assert reply.text == "Sorry, that command is only for the administrators of this bot."
    await asyncio.sleep(0.3)
    assert [c for c in botapi.sent("sendMessage", 301)] == []
    assert await broadcasts.audience(conn) == 1

    # A forged confirmation from a non-admin is answered (alert) and does nothing.
    since = len(botapi.calls)
    answer = await tap(botapi, READER, reply, "b:ok:0123456789ab")
    assert answer.params["show_alert"] is True
    assert "only for the administrators" in answer.params["text"]
    await quiet(botapi, since, "sendMessage", "editMessageText")

    menus = {
        json.dumps(c.params.get("scope") or {}, sort_keys=True): c.params
        for c in botapi.of("setMyCommands")
        if not c.params.get("language_code")
    }
    public = {d["command"] for d in menus["{}"]["commands"]}
    assert "stats" not in public and "broadcast" not in public
    for admin_id in (ADMIN, OTHER_ADMIN):
        scope = json.dumps({"chat_id": admin_id, "type": "chat"}, sort_keys=True)
        mine = {d["command"] for d in menus[scope]["commands"]}
        assert {"stats", "broadcast"} < mine and public < mine
    ru = [
        c
        for c in botapi.of("setMyCommands")
        if c.params.get("language_code") == "ru" and (c.params.get("scope") or {}).get("chat_id")
    ]
    assert {d["description"] for d in ru[0].params["commands"] if d["command"] == "stats"} == {
        "Показатели бота (администраторы)"
    }


async def test_broadcast_preview_confirm_reaches_every_active_chat_once_escaped(
    app: App, botapi: BotApiDouble, conn: aiosqlite.Connection
) -> None:
    await seed_chat(conn, 201, "private", ["news"])
    await seed_chat(conn, 202, "private", [])  # active without sections: still told
    await seed_chat(conn, -1002, "supergroup", ["culture"])
    await seed_chat(conn, 203, "private", ["news"], active=False)

    preview = await say(botapi, ADMIN, f"/broadcast {ANNOUNCEMENT}")
    assert preview.ok  # the double parsed it: the admin's markup arrived escaped
    assert preview.text == (
        "<b>Preview</b> — this goes to every active chat (3 now):\n\n" + html.escape(ANNOUNCEMENT)
    )
    data = [str(b["callback_data"]) for b in preview.buttons]
    assert [d[:5] for d in data] == ["b:ok:", "b:no:"]
    assert all(len(d.encode()) < 64 for d in data)
    assert [c for c in botapi.sent("sendMessage") if is_broadcast(c)] == []  # nothing yet

    since = len(botapi.calls)
    answer = await tap(botapi, ADMIN, preview, data[0])
    assert answer.params["text"].startswith("Queued for 3 chats.")
    done = await edited(botapi, "editMessageText", since)
    assert done.text == f"{html.escape(ANNOUNCEMENT)}\n\n<i>{answer.params['text']}</i>"
    assert done.buttons == []

    got = await botapi.wait_for("sendMessage", is_broadcast, count=3)
    assert sorted(c.chat_id for c in got) == [-1002, 201, 202]  # type: ignore[type-var]
    for call in got:
        assert call.params["parse_mode"] == "HTML"
        assert call.result["text"] == ANNOUNCEMENT  # what the reader sees, tags and all

    # A second tap on the same Confirm (or a replay) queues nothing more.
    answer = await tap(botapi, ADMIN, preview, data[0])
    assert answer.params["text"] == "That announcement is no longer waiting for confirmation."

    async def all_recorded() -> bool:
        counts = await deliveries.counts_since(conn, 0)
        return counts["pending"] == 0 and counts.get("sent") == 3

    await eventually(all_recorded)
    await asyncio.sleep(0.3)  # a second queueing would show by now: nothing more may go out
    assert len([c for c in botapi.sent("sendMessage") if is_broadcast(c)]) == 3
    assert botapi.sent("sendMessage", 203) == []
    assert await all_recorded()

    # The figures follow: three confirmed sends show in the send rate and the last 24 h.
    dispatcher = app.bot_data.dispatcher
    assert dispatcher is not None

    async def rate_seen() -> bool:
        return dispatcher.rate() == 0.3  # all three, once their second is over

    await eventually(rate_seen)
    report = await say(botapi, ADMIN, "/stats")
    after = dispatcher.rate()
    text = report.text or ""
    assert "Last 24 h: 3 sent, 0 failed, 0 dropped. Pending now: 0" in text
    # The rate is a sliding window over real time: had the sends slid out of it while /stats
    # was answered, the report shows the dispatcher's lower figure of that moment.
    shown = re.search(r"^Send rate: ([\d.]+) msg/s \(limit 25/s\)$", text, re.MULTILINE)
    assert shown is not None, text
    assert after <= float(shown[1]) <= 0.3


async def test_cancel_sends_nothing_and_forgets_the_announcement(
    app: App, botapi: BotApiDouble, conn: aiosqlite.Connection
) -> None:
    await seed_chat(conn, 401, "private", ["news"])
    preview = await say(botapi, ADMIN, f"/broadcast {ANNOUNCEMENT}")
    confirm, cancel = (str(b["callback_data"]) for b in preview.buttons)

    since = len(botapi.calls)
    answer = await tap(botapi, ADMIN, preview, cancel)
    assert answer.params["text"] == "Cancelled"
    done = await edited(botapi, "editMessageText", since)
    assert done.text is not None and done.text.endswith("<i>Cancelled; nothing was sent.</i>")

    since = len(botapi.calls)
    answer = await tap(botapi, ADMIN, preview, confirm)  # Confirm after Cancel
    assert answer.params["text"] == "That announcement is no longer waiting for confirmation."
    await quiet(botapi, since, "sendMessage")
    assert botapi.sent("sendMessage", 401) == []
    async with conn.execute("SELECT COUNT(*) FROM broadcasts") as cur:
        assert (await cur.fetchone())[0] == 0  # type: ignore[index]


async def test_one_admin_cannot_confirm_another_admins_preview(
    app: App, botapi: BotApiDouble, conn: aiosqlite.Connection
) -> None:
    await seed_chat(conn, 402, "private", ["news"])
    preview = await say(botapi, ADMIN, f"/broadcast {ANNOUNCEMENT}")
    confirm = str(preview.buttons[0]["callback_data"])
    other = await say(botapi, OTHER_ADMIN, "/stats")
    since = len(botapi.calls)
    answer = await tap(botapi, OTHER_ADMIN, other, confirm)  # kept per chat, not global
    assert answer.params["text"] == "That announcement is no longer waiting for confirmation."
    await quiet(botapi, since, "sendMessage")


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("/broadcast", "Write the announcement after the command"),
        ("/broadcast    ", "Write the announcement after the command"),
        (
            "/broadcast " + "x" * 4001,
            "That announcement is 4001 characters long; the most I send is 4000.",
        ),
        ("/broadcast " + "🎉" * 2001, "That announcement is 4002 characters long"),
    ],
)
async def test_empty_or_too_long_broadcast_is_explained_not_previewed(
    app: App, botapi: BotApiDouble, command: str, expected: str
) -> None:
    reply = await say(botapi, ADMIN, command)
    assert expected in (reply.text or "")
    assert reply.buttons == []


async def test_longest_broadcast_preview_fits_one_message(app: App, botapi: BotApiDouble) -> None:
    reply = await say(botapi, ADMIN, "/broadcast " + "&" * 4000)  # escapes to 20,000 chars
    assert reply.ok and reply.result["text"].endswith("&" * 4000)
    assert [str(b["callback_data"])[:5] for b in reply.buttons] == ["b:ok:", "b:no:"]


@pytest.mark.parametrize("data", ["b:ok:", "b:ok:nope", "b:zzz", "b:no:" + "f" * 59])
async def test_forged_admin_buttons_are_answered_politely(
    app: App, botapi: BotApiDouble, data: str
) -> None:
    stats_reply = await say(botapi, ADMIN, "/stats")
    since = len(botapi.calls)
    answer = await tap(botapi, ADMIN, stats_reply, data)
    assert answer.params["text"] == "That announcement is no longer waiting for confirmation."
    await quiet(botapi, since, "sendMessage", "editMessageText")


@pytest.mark.parametrize(("data", "lang"), [("old:button", "en"), ("q", "ru"), ("z:1:2", "az")])
async def test_a_button_nobody_handles_still_gets_an_answer(
    app: App, botapi: BotApiDouble, data: str, lang: str
) -> None:
    reply = await say(botapi, READER, "/help")
    answer = await tap(botapi, READER, reply, data, language_code=lang)
    expected = {
        "en": "That button no longer does anything. Send /help to see what I can do.",
        "ru": "Эта кнопка больше ничего не делает. Отправьте /help, чтобы узнать, что я умею.",
        "az": "Bu düymə artıq heç nə etmir. Nə edə bildiyimi görmək üçün /help göndərin.",
    }[lang]
    assert answer.params["text"] == expected

"""Inline search, /search and topic alerts end to end: real PTB over HTTP against the doubles."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiosqlite
import pytest

from bot.botdata import App
from storage import db, subscriptions
from tests.doubles.botapi import BotApiDouble, Call
from tests.doubles.site import SiteDouble
from tests.harness import run_bot, settings_for
from tests.reader_helpers import say
from tests.search_data import DAY, T0, add_article
from tests.test_search_query import HOSTILE

USER = 777
GROUP = -4001
ADMIN = 5001
MEMBER = 5002


@pytest.fixture
async def bot(botapi: BotApiDouble, tmp_path: Path) -> AsyncIterator[App]:
    async with run_bot(settings_for(botapi, None, tmp_path)) as application:
        await botapi.wait_polling()
        yield application


@pytest.fixture
async def conn(bot: App, tmp_path: Path) -> AsyncIterator[aiosqlite.Connection]:
    """The test's own connection to the bot's database, for seeding articles."""
    connection = await db.connect(tmp_path / "newsbot.db")
    yield connection
    await connection.close()


async def inline(
    botapi: BotApiDouble, query: str, offset: str = "", user: int = USER, language_code: str = "en"
) -> Call:
    update = botapi.inject_inline_query(user, query, offset=offset, language_code=language_code)
    query_id = update["inline_query"]["id"]
    (call,) = await botapi.wait_for(
        "answerInlineQuery", lambda c: c.params.get("inline_query_id") == query_id
    )
    assert call.ok, call
    return call


def results(call: Call) -> list[dict[str, Any]]:
    found = call.params["results"]
    assert isinstance(found, list)
    return found


def titles(call: Call) -> list[str]:
    return [r["title"] for r in results(call)]


async def test_inline_ranks_folds_and_renders_the_push(
    bot: App, botapi: BotApiDouble, conn: aiosqlite.Connection
) -> None:
    await add_article(
        conn,
        "Markets steady",
        "Karabakh reconstruction lifts demand for steel and cement in the region.",
        sections=("economy",),
        published=T0 + 3 * DAY,
    )
    await add_article(
        conn,
        "Karabakh: <script> & “peace” </b>",
        "Baku and Yerevan meet in Şuşa.",
        author="Nikola Mikovic",
        sections=("karabakh", "opinion"),
        published=T0,
        image_url="https://aze.media/img/karabakh.jpg",
    )
    await add_article(conn, "Opera in Bakı", "New season", sections=("culture",))

    call = await inline(botapi, "karab")
    assert titles(call) == ["Karabakh: <script> & “peace” </b>", "Markets steady"]
    assert call.params["cache_time"] == 30
    assert call.params.get("next_offset", "") == ""
    first = results(call)[0]
    assert first["type"] == "article"
    assert first["thumbnail_url"] == "https://aze.media/img/karabakh.jpg"
    assert first["description"].startswith("Opinion · January 1, 2025 · Baku and Yerevan")
    content = first["input_message_content"]
    assert content["parse_mode"] == "HTML"
    # The double parsed this HTML like Telegram does; the title arrives escaped and whole.
    assert content["message_text"].startswith(
        "<b>Karabakh: &lt;script&gt; &amp; “peace” &lt;/b&gt;</b>"
    )
    assert "Nikola Mikovic" in content["message_text"]
    button = first["reply_markup"]["inline_keyboard"][0][0]
    assert button["text"] == "Read more" and button["url"].startswith("https://aze.media/post-")

    assert titles(await inline(botapi, "SUSA")) == ["Karabakh: <script> & “peace” </b>"]
    assert titles(await inline(botapi, "baki")) == ["Opera in Bakı"]


async def test_inline_answers_are_cached_per_reader_since_they_speak_the_readers_language(
    bot: App, botapi: BotApiDouble, conn: aiosqlite.Connection
) -> None:
    await add_article(conn, "Karabakh talks", "Baku and Yerevan meet.", sections=("opinion",))
    english = await inline(botapi, "karabakh")
    russian = await inline(botapi, "karabakh", user=USER + 1, language_code="ru")
    buttons = [
        results(call)[0]["reply_markup"]["inline_keyboard"][0][0]["text"]
        for call in (english, russian)
    ]
    assert buttons == ["Read more", "Читать далее"]
    # Telegram would otherwise serve the first reader's rendering to everyone typing the same.
    assert english.params["is_personal"] is True
    assert russian.params["is_personal"] is True


async def test_inline_paginates_20_at_a_time(
    bot: App, botapi: BotApiDouble, conn: aiosqlite.Connection
) -> None:
    for i in range(45):
        await add_article(conn, f"Climate report {i}", published=T0 + i * 60)
    seen: list[str] = []
    offset, pages = "", []
    while True:
        call = await inline(botapi, "climate report", offset)
        pages.append(len(results(call)))
        seen += [r["id"] for r in results(call)]
        offset = call.params.get("next_offset", "")
        if not offset:
            break
    assert pages == [20, 20, 5]
    assert len(set(seen)) == 45
    # Equal relevance: newest first.
    first = await inline(botapi, "climate report")
    assert titles(first)[:2] == ["Climate report 44", "Climate report 43"]


async def test_inline_filters_by_section_and_author(
    bot: App, botapi: BotApiDouble, conn: aiosqlite.Connection
) -> None:
    await add_article(
        conn, "Russia and the Caucasus", sections=("opinion",), author="Nikola Mikovic"
    )
    await add_article(conn, "Russia raises gas exports", sections=("energy",))
    await add_article(conn, "Russia in Asia", sections=("opinion",), author="Someone Else")
    assert sorted(titles(await inline(botapi, "#opinion russia"))) == [
        "Russia and the Caucasus",
        "Russia in Asia",
    ]
    assert titles(await inline(botapi, "#Energy russia")) == ["Russia raises gas exports"]
    assert titles(await inline(botapi, "russia by:mikovic")) == ["Russia and the Caucasus"]


async def test_empty_query_shows_newest_of_the_readers_sections(
    bot: App, botapi: BotApiDouble, conn: aiosqlite.Connection
) -> None:
    await add_article(conn, "Old culture", sections=("culture",), published=T0)
    await add_article(conn, "New defense", sections=("defense",), published=T0 + DAY)
    everyone = await inline(botapi, "")
    assert titles(everyone) == ["New defense", "Old culture"]
    await say(botapi, USER, "/subscribe culture")
    assert await subscriptions.sections_of(conn, USER) == {"culture"}
    mine = await inline(botapi, "")
    assert titles(mine) == ["Old culture"]


async def test_nothing_found_offers_the_sections(
    bot: App, botapi: BotApiDouble, conn: aiosqlite.Connection
) -> None:
    await add_article(conn, "Something")
    call = await inline(botapi, "nosuchword")
    assert results(call) == []
    assert call.params["button"] == {
        "text": "No results — browse sections",
        "start_parameter": "search-",
    }
    picker = await say(botapi, USER, "/start search-")
    assert "Tap a section" in (picker.text or "")


async def test_every_hostile_query_is_answered(
    bot: App, botapi: BotApiDouble, conn: aiosqlite.Connection
) -> None:
    await add_article(conn, "Karabakh AND peace (NEAR) talks", "A - B: “quoted” * stars")
    since = len(botapi.calls)
    for text in HOSTILE:
        botapi.inject_inline_query(USER, text[:256])
    calls = await botapi.wait_for("answerInlineQuery", since=since, count=len(HOSTILE))
    assert all(c.ok for c in calls), [c for c in calls if not c.ok]
    assert titles(await inline(botapi, 'NEAR("karabakh" AND -peace*')) == [
        "Karabakh AND peace (NEAR) talks"
    ]


async def test_search_command_in_private_and_group(
    bot: App, botapi: BotApiDouble, conn: aiosqlite.Connection
) -> None:
    for i in range(7):
        await add_article(
            conn, f"Karabakh peace step {i}", sections=("karabakh",), published=T0 + i * DAY
        )
    reply = await say(botapi, USER, "/search karabakh peace")
    text = reply.text or ""
    assert text.startswith("<b>Found for “karabakh peace”</b>")
    assert text.count("<a href=") == 5
    assert "Karabakh peace step 6" in text and "Karabakh" in text
    (more,) = reply.buttons
    assert more["switch_inline_query_current_chat"] == "karabakh peace"

    group = await say(
        botapi, GROUP, f"/search@{botapi.username} karabakh", chat_type="group", user_id=MEMBER
    )
    assert (group.text or "").count("<a href=") == 5

    nothing = await say(botapi, USER, "/search zzzz")
    assert "Nothing found for “zzzz”" in (nothing.text or "") and nothing.buttons == []
    usage = await say(botapi, USER, "/search")
    assert "/search karabakh peace" in (usage.text or "")

    deep = await say(botapi, USER, "/start search-karabakh-peace")
    assert (deep.text or "").startswith("<b>Found for “karabakh peace”</b>")


async def test_follow_and_unfollow(
    bot: App, botapi: BotApiDouble, conn: aiosqlite.Connection
) -> None:
    added = await say(botapi, USER, "/follow Şuşa festival")
    assert "Following the topic “susa festival”" in (added.text or "")
    again = await say(botapi, USER, "/follow susa FESTIVAL")
    assert "Already following" in (again.text or "")
    listing = await say(botapi, USER, "/follow")
    assert "• susa festival" in (listing.text or "")
    overview = await say(botapi, USER, "/mysubs")
    assert "<b>Topics you follow</b>\n• susa festival" in (overview.text or "")
    for i in range(19):
        await say(botapi, USER, f"/follow topic{i}")
    full = await say(botapi, USER, "/follow one too many")
    assert "already follows 20 topics" in (full.text or "")
    gone = await say(botapi, USER, "/unfollow Susa Festival")
    assert "No longer following “susa festival”" in (gone.text or "")
    unknown = await say(botapi, USER, "/unfollow nothing")
    assert "Not following “nothing”" in (unknown.text or "")
    cleared = await say(botapi, USER, "/unfollow all")
    assert "No longer following any topic" in (cleared.text or "")
    empty = await say(botapi, USER, "/unfollow")
    assert "No topic yet" in (empty.text or "")

    refused = await say(
        botapi, GROUP, "/follow oil", chat_type="group", user_id=MEMBER, title="Group"
    )
    assert "Only the administrators" in (refused.text or "")
    botapi.set_member_status(GROUP, ADMIN, "administrator")
    ok = await say(botapi, GROUP, "/follow oil", chat_type="group", user_id=ADMIN, title="Group")
    assert "Following the topic “oil”" in (ok.text or "")


async def test_followed_topic_delivers_once_even_with_the_section(
    botapi: BotApiDouble, site: SiteDouble, tmp_path: Path
) -> None:
    async with run_bot(settings_for(botapi, site, tmp_path)):
        await botapi.wait_polling()
        conn = await db.connect(tmp_path / "newsbot.db")
        try:
            await _wait_initialized(conn)
            await say(botapi, USER, "/subscribe karabakh")
            await say(botapi, USER, "/follow ceasefire")
            botapi.set_member_status(GROUP, ADMIN, "administrator")
            await say(botapi, GROUP, "/follow ceasefire", chat_type="group", user_id=ADMIN)
            since = len(botapi.calls)
            site.add_post("Ceasefire holds along the line", ["karabakh"])
            site.add_post("Festival of the ceasefire", ["culture"])
            site.add_post("Opera season opens", ["culture"])
            await botapi.wait_for(
                "sendMessage",
                lambda c: c.chat_id in (USER, GROUP),
                since=since,
                count=4,
                timeout=15,
            )
            await asyncio.sleep(1.5)  # one more poll: nothing may arrive twice
            got = [
                (c.chat_id, (c.text or "").split("\n")[0])
                for c in botapi.calls[since:]
                if c.method == "sendMessage" and c.ok and c.chat_id in (USER, GROUP)
            ]
        finally:
            await conn.close()
    assert sorted(got) == sorted(
        [
            (USER, "<b>Ceasefire holds along the line</b>"),
            (USER, "<b>Festival of the ceasefire</b>"),
            (GROUP, "<b>Ceasefire holds along the line</b>"),
            (GROUP, "<b>Festival of the ceasefire</b>"),
        ]
    )


async def _wait_initialized(conn: aiosqlite.Connection) -> None:
    """Until the first poll has recorded the site's backlog (which is never pushed)."""
    for _ in range(600):  # 30 s: CI runs on two busy cores
        async with conn.execute("SELECT count(*), sum(initialized) FROM feeds") as cur:
            row = await cur.fetchone()
        if row and row[0] and row[0] == row[1]:
            return
        await asyncio.sleep(0.05)
    raise TimeoutError("the first poll never finished")

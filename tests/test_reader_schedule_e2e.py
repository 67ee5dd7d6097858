"""Digest hour, quiet hours and typed time zones, set through /settings and delivered on an
injected clock: the real PTB stack end to end against the Bot API double."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from typing import Any
from zoneinfo import ZoneInfo

from bot import keyboards
from bot.runtime import Runtime
from storage import chats, deliveries
from tests import test_delivery_e2e
from tests.doubles.botapi import BotApiDouble, Call
from tests.reader_helpers import (
    CHANNEL_ID,
    GROUP_ID,
    MEMBER,
    edited,
    eventually,
    labels,
    post,
    quiet,
    say,
    tap,
)
from tests.test_delivery_e2e import (
    WAIT,
    db_of,
    publish,
    pushes,
    settled,
    subscribe,
    with_clock,
)

rt = test_delivery_e2e.rt  # the running bot fixture, as the delivery tests use it

BERLIN = ZoneInfo("Europe/Berlin")
PLUS_FOUR = ZoneInfo("Etc/GMT-4")  # what a typed "UTC+4" resolves to


def next_local(zone: ZoneInfo, hour: int, after: float) -> float:
    """The first `hour`:00 in `zone` later than `after` by at least two minutes."""
    local = dt.datetime.fromtimestamp(after + 120, zone)
    moment = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    if moment <= local:
        moment = (local + dt.timedelta(days=1)).replace(hour=hour, minute=0, second=0)
    return moment.timestamp()


async def open_settings(botapi: BotApiDouble, chat_id: int, **kw: Any) -> Call:
    return await say(botapi, chat_id, "/settings", **kw)


async def press(botapi: BotApiDouble, chat_id: int, view: Call, data: str, **kw: Any) -> Call:
    """Tap a settings button and return the message as the bot redrew it."""
    since = len(botapi.calls)
    await tap(botapi, chat_id, view, data, **kw)
    return await edited(botapi, "editMessageText", since)


async def type_zone(
    botapi: BotApiDouble, chat_id: int, view: Call, typed: str, **kw: Any
) -> tuple[Call, Call]:
    """Time zone page, "type a city", then reply `typed` to the question: (question, answer)."""
    page = await press(botapi, chat_id, view, "c:page:tz", **kw)
    assert keyboards.TZ_ASK in [b.get("callback_data") for b in page.buttons]
    assert labels(page)[:3] == ["✅ Baku", "Istanbul", "Moscow"]
    since = len(botapi.calls)
    await tap(botapi, chat_id, view, keyboards.TZ_ASK, **kw)
    [question] = await botapi.wait_for(
        "sendMessage", lambda c: c.chat_id == chat_id and c.ok, since=since
    )
    assert (question.reply_markup or {}).get("force_reply") is True
    answer = await say(botapi, chat_id, typed, reply_to=question.result["message_id"], **kw)
    return question, answer


async def held_until(rt: Runtime, chat_id: int, count: int) -> set[int]:
    """Wait until the dispatcher has held the chat's `count` rows; their not_before values."""
    found: set[int] = set()

    async def held() -> bool:
        async with db_of(rt).execute(
            "SELECT not_before FROM deliveries WHERE chat_id = ? AND status = 'pending' "
            "AND not_before > ?",
            (chat_id, int(time.time()) + 60),
        ) as cur:
            rows = await cur.fetchall()
        found.clear()
        found.update(int(r[0]) for r in rows)
        return len(rows) == count

    await eventually(held, WAIT)
    return found


async def test_digest_set_for_13_in_typed_berlin_arrives_at_13_berlin_time(
    rt: Runtime, botapi: BotApiDouble
) -> None:
    reader = 8101
    clock = await with_clock(rt)
    view = await open_settings(botapi, reader)
    _, answer = await type_zone(botapi, reader, view, "Berlin")
    assert answer.text is not None and answer.text.startswith("Time zone set to Europe/Berlin.")
    assert "Tap yours, or type a city" in (await press(botapi, reader, view, "c:page:tz")).text
    assert "Time zone: Europe/Berlin" in answer.text

    page = await press(botapi, reader, view, "c:page:dig")
    assert page.text == "Pick the hour of your daily digest (Europe/Berlin time)."
    assert len([b for b in labels(page) if b.endswith(":00")]) == 24
    shown = await press(botapi, reader, view, "c:dig:13:00")
    assert "Digest: daily at 13:00" in (shown.text or "")
    stored = await chats.get(db_of(rt), reader)
    assert stored is not None
    assert (stored.settings.timezone, stored.settings.digest_time) == ("Europe/Berlin", "13:00")

    await subscribe(rt, reader, "private", ["news"])
    at_13 = next_local(BERLIN, 13, clock.now)
    # Never before the real time the subscription was made (the outbox owes a chat only what was
    # first seen after it subscribed), and the rows are queued at real time: 12:00 unless the
    # test runs between 12:00 and 13:00 Berlin time.
    clock.now = max(time.time(), at_13 - 3600)
    for title in ("Morning story", "Noon story"):
        await publish(rt, title, ["news"])
    rt.outbox_ready.set()
    assert await held_until(rt, reader, 2) == {int(at_13)}

    clock.now = at_13 - 1
    since = len(botapi.calls)
    rt.outbox_ready.set()
    await quiet(botapi, since, "sendMessage")

    clock.now = at_13
    rt.outbox_ready.set()
    [digest] = await botapi.wait_for(
        "sendMessage",
        lambda c: c.chat_id == reader and c.ok and "Your news digest" in (c.text or ""),
        since=since,
        timeout=WAIT,
    )
    assert dt.datetime.fromtimestamp(clock.now, BERLIN).strftime("%H:%M") == "13:00"
    text = digest.text or ""
    assert "Morning story" in text and "Noon story" in text

    async def both_sent() -> bool:
        # The digest's rows are written as sent just after Telegram confirmed the message.
        return (await deliveries.counts_since(db_of(rt), 0)).get("sent") == 2

    await eventually(both_sent, WAIT)
    await settled(rt)


async def test_quiet_hours_1_to_6_in_typed_utc_plus_4_hold_and_release_at_6(
    rt: Runtime, botapi: BotApiDouble
) -> None:
    reader = 8102
    clock = await with_clock(rt)
    view = await open_settings(botapi, reader)
    assert "Quiet: hold" not in labels(view)  # hold/silent means nothing while quiet is off
    _, answer = await type_zone(botapi, reader, view, "UTC+4")
    assert (answer.text or "").startswith("Time zone set to UTC+4.")

    start = await press(botapi, reader, view, "c:page:quiet")
    assert start.text == "Quiet hours: pick the hour they start (UTC+4 time)."
    end = await press(botapi, reader, view, "c:page:qend:01")
    assert "01:00" not in labels(end)
    shown = await press(botapi, reader, view, "c:quiet:01:00-06:00")
    assert "Quiet hours: 01:00–06:00, held until the end" in (shown.text or "")
    assert ["Quiet: silent", "✅ Quiet: hold"] in [
        [b["text"] for b in row] for row in (shown.reply_markup or {})["inline_keyboard"]
    ]

    await subscribe(rt, reader, "private", ["news"])
    at_6 = next_local(PLUS_FOUR, 6, clock.now)
    clock.now = max(time.time(), at_6 - 3 * 3600)  # 03:00 at UTC+4, or later (see the digest test)
    first = await publish(rt, "Night one", ["news"])
    await publish(rt, "Night two", ["news"])
    rt.outbox_ready.set()
    assert await held_until(rt, reader, 2) == {int(at_6)}

    clock.now = at_6 - 1
    since = len(botapi.calls)
    rt.outbox_ready.set()
    await quiet(botapi, since, "sendMessage")

    clock.now = at_6
    rt.outbox_ready.set()
    await botapi.wait_for(
        "sendMessage", lambda c: c.chat_id == reader and c.ok, count=2, since=since, timeout=WAIT
    )
    sent = pushes(botapi, reader)
    assert [(c.text or "").split("</b>")[0] for c in sent] == ["<b>Night one", "<b>Night two"]
    assert all("disable_notification" not in c.params for c in sent)
    # The push shows the article's time in the reader's zone.
    assert first.published is not None
    assert f"{first.published.astimezone(PLUS_FOUR):%H:%M}" in (sent[0].text or "")


async def test_a_typed_city_in_any_language_resolves(rt: Runtime, botapi: BotApiDouble) -> None:
    reader = 8103
    view = await open_settings(botapi, reader, language_code="ru")
    _, answer = await type_zone(botapi, reader, view, "Ташкент", language_code="ru")
    assert (answer.text or "").startswith("Часовой пояс: Asia/Tashkent.")
    stored = await chats.get(db_of(rt), reader)
    assert stored is not None and stored.settings.timezone == "Asia/Tashkent"
    # /latest, pushes and digests read the same stored zone; the view shows it too.
    again = await open_settings(botapi, reader, language_code="ru")
    assert "Часовой пояс: Asia/Tashkent" in (again.text or "")


async def test_an_unknown_city_gets_a_polite_answer_with_examples_and_can_retry(
    rt: Runtime, botapi: BotApiDouble
) -> None:
    reader = 8104
    view = await open_settings(botapi, reader)
    _, answer = await type_zone(botapi, reader, view, "Atlantis <b>")
    text = answer.text or ""
    assert text.startswith("Sorry, I could not find a place called “Atlantis <b>”.")
    assert "for example: Berlin, Toronto, Tashkent, UTC+4." in text
    assert answer.params.get("parse_mode") is None  # the reader's words, never markup
    assert (answer.reply_markup or {}).get("force_reply") is True
    stored = await chats.get(db_of(rt), reader)
    assert stored is not None and stored.settings.timezone is None

    typo = await say(botapi, reader, "Berln", reply_to=answer.result["message_id"])
    assert "Did you mean: Berlin?" in (typo.text or "")
    fixed = await say(botapi, reader, "Bakı", reply_to=typo.result["message_id"])
    assert (fixed.text or "").startswith("Time zone set to Asia/Baku.")
    # Nothing else answered the replies: the private-chat hint stayed silent.
    assert not any("/help" in (c.text or "") for c in botapi.sent("sendMessage", reader))


async def test_in_a_group_only_admins_set_the_zone_by_typing(
    rt: Runtime, botapi: BotApiDouble
) -> None:
    admin = 5001
    botapi.set_member_status(GROUP_ID, admin, "administrator")
    kw: dict[str, Any] = {"user_id": admin, "chat_type": "group"}
    view = await open_settings(botapi, GROUP_ID, **kw)
    question, _ = await type_zone(botapi, GROUP_ID, view, "Toronto", **kw)
    stored = await chats.get(db_of(rt), GROUP_ID)
    assert stored is not None and stored.settings.timezone == "America/Toronto"

    refused = await say(
        botapi,
        GROUP_ID,
        "UTC+4",
        reply_to=question.result["message_id"],
        user_id=MEMBER,
        chat_type="group",
    )
    assert refused.text == "Only the administrators of this chat can change that."
    await asyncio.sleep(0)
    stored = await chats.get(db_of(rt), GROUP_ID)
    assert stored is not None and stored.settings.timezone == "America/Toronto"


async def test_a_channel_admin_sets_the_zone_by_posting_a_reply(
    rt: Runtime, botapi: BotApiDouble
) -> None:
    botapi.set_member_status(CHANNEL_ID, 5001, "administrator")
    view = await post(botapi, CHANNEL_ID, "/settings")
    since = len(botapi.calls)
    await tap(botapi, CHANNEL_ID, view, keyboards.TZ_ASK, user_id=5001, chat_type="channel")
    [question] = await botapi.wait_for(
        "sendMessage", lambda c: c.chat_id == CHANNEL_ID and c.ok, since=since
    )
    assert question.reply_markup is None  # channels have no reply box to open
    since = len(botapi.calls)
    botapi.inject_channel_post(CHANNEL_ID, "Bakı", reply_to=question.result["message_id"])
    [answer] = await botapi.wait_for(
        "sendMessage", lambda c: c.chat_id == CHANNEL_ID and c.ok, since=since
    )
    assert (answer.text or "").startswith("Time zone set to Asia/Baku.")
    stored = await chats.get(db_of(rt), CHANNEL_ID)
    assert stored is not None and stored.settings.timezone == "Asia/Baku"

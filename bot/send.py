"""The dispatcher: drains the outbox in order, within the limits, marks rows sent once confirmed."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping, Sequence
from datetime import tzinfo
from typing import Any

import aiosqlite
from telegram import Bot, Message
from telegram.constants import ParseMode
from telegram.error import RetryAfter
from telegram.ext import Application

from bot import logs, metrics, outcome, render, schedule
from bot.aiohttp_request import AiohttpRequest
from bot.config import Settings
from bot.domain import Article, Section
from bot.outcome import Decision
from bot.render import Rendered
from bot.runtime import Runtime
from bot.throttle import PAID_MAX_RATE, Throttle
from storage import articles as stored_articles
from storage import broadcasts, db, deliveries
from storage import chats as stored_chats

log = logging.getLogger(__name__)

KEY = "dispatcher"  # where the running Dispatcher sits in application.bot_data
BATCH = 500
MAX_IN_FLIGHT = 16  # httpcore's pool gets slower per request with many connections
IDLE = 30.0  # seconds between sweeps when nothing wakes us (held rows come due by themselves)
STOP_GRACE = 10.0
FLOOD_WINDOW = 5.0
CACHE_SIZE = 2048


def dispatch_rate(settings: Settings) -> float:
    """Messages per second the outbox may use: the limit minus a reserve for command replies."""
    cap = PAID_MAX_RATE if settings.paid_broadcast else settings.rate_limit
    rate = min(settings.rate_limit, cap)
    reserve = 1.0 if rate >= 10 else 0.0
    return rate - reserve


class Dispatcher:
    """One long-lived task per bot; `run` never returns until cancelled."""

    def __init__(
        self,
        bot: Bot,
        conn: aiosqlite.Connection,
        settings: Settings,
        sections: Sequence[Section],
        ready: asyncio.Event,
        *,
        rate: float | None = None,
        clock: Callable[[], float] = time.time,
        max_in_flight: int = MAX_IN_FLIGHT,
    ) -> None:
        self.bot = bot
        self.conn = conn
        self.settings = settings
        self.ready = ready
        self.clock = clock  # wall clock for quiet hours and digests; tests inject their own
        self.throttle = Throttle(rate)
        self.names: Mapping[str, str] = {s.slug: s.name for s in sections}
        self.order: Mapping[str, int] = {s.slug: s.order for s in sections}
        self._slots = asyncio.Semaphore(max_in_flight)
        self._busy: set[int] = set()  # chats with a send in flight: one at a time keeps order
        self._finished: set[int] = set()  # rows finished since the current sweep began
        self._gone_chats: set[int] = set()  # chats deactivated or moved since then
        self._confirmed: dict[int, int] = {}  # row -> message_id, confirmed but not yet written
        self._recording = asyncio.Lock()
        self._paused: dict[int, float] = {}  # chat -> monotonic time it may be tried again
        self._pause_all = 0.0
        self._recent_429: deque[tuple[float, int]] = deque()
        self._tasks: set[asyncio.Task[None]] = set()
        self._articles: dict[int, Article | None] = {}
        self._rendered: dict[tuple[Any, ...], Rendered] = {}
        self._sent_per_second: Counter[int] = Counter()
        self.sent = 0
        self.failed = 0

    # --- the loop -------------------------------------------------------------------------

    async def run(self) -> None:
        """Sweep the outbox whenever woken; no error stops it; cancel lets in-flight sends end."""
        try:
            while True:
                try:
                    wait = await self.sweep()
                except Exception:
                    log.exception("dispatcher sweep failed; retrying")
                    wait = 1.0
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.ready.wait(), timeout=max(0.001, wait))
        finally:
            if self._tasks:
                await asyncio.wait(self._tasks, timeout=STOP_GRACE)
            await self._record_confirmed()

    async def sweep(self) -> float:
        """One pass over the due rows; returns how long to wait before the next pass."""
        self.ready.clear()
        skipped: set[int] = set()
        wake = IDLE
        # A row that finishes while a batch is being read is stale in it: remember those.
        self._finished.clear()
        self._gone_chats.clear()
        await self._record_confirmed()
        rows = await deliveries.due(self.conn, self.clock(), 0, BATCH)
        while rows:
            # Read the next batch while this one is sent, so the sends never wait for the disk.
            after = rows[-1].id
            following = asyncio.ensure_future(self._due_after(after, len(rows) == BATCH))
            for row in rows:
                delay = await self._consider(row, skipped)
                if delay is not None:
                    wake = min(wake, delay)
            rows = await following
        held = await deliveries.next_due(self.conn, self.clock())
        if held is not None:
            wake = min(wake, held - self.clock())
        return wake

    async def _due_after(self, after: int, more: bool) -> list[deliveries.Pending]:
        if not more:
            return []
        await self._record_confirmed()
        return await deliveries.due(self.conn, self.clock(), after, BATCH)

    async def drain(self) -> None:
        """Sweep until nothing is due and nothing is in flight (benchmarks, tools)."""
        while True:
            wait = await self.sweep()
            if self._tasks:
                await asyncio.wait(self._tasks, return_when=asyncio.FIRST_COMPLETED)
            elif not await deliveries.due(self.conn, self.clock(), 0, 1):
                return
            elif wait > 0:
                await asyncio.sleep(min(wait, 1.0))

    async def _consider(self, row: deliveries.Pending, skipped: set[int]) -> float | None:
        """Start the row's send if every rule allows; else return seconds until it might."""
        chat = row.chat_id
        if row.id in self._finished or row.id in self._confirmed or chat in self._gone_chats:
            return None
        if chat in self._busy or chat in skipped:
            skipped.add(chat)
            return None
        mono = time.monotonic()
        if self._pause_all > mono:
            await asyncio.sleep(self._pause_all - mono)
            mono = time.monotonic()
        paused = self._paused.get(chat, 0.0)
        if paused > mono:
            skipped.add(chat)
            return paused - mono
        self._paused.pop(chat, None)
        now = self.clock()
        tz = schedule.zone(row.settings.timezone, self.settings.timezone)
        digest = row.article_id is not None and row.settings.digest_time is not None
        silent = False
        if digest:
            later = schedule.digest_due(row.settings, row.created_at, now, tz)
            if later is not None:
                await deliveries.hold(self.conn, [row.id], later)
                return None
        else:
            timing = schedule.timing(row.settings, now, tz)
            if timing.hold_until is not None:
                await deliveries.hold_chat(self.conn, chat, timing.hold_until)
                skipped.add(chat)
                return None
            silent = timing.silent
        # The window frees at a computed instant, which no event could announce.
        while (wait := self.throttle.global_delay()) > 0:  # noqa: ASYNC110
            await asyncio.sleep(wait)
        if (wait := self.throttle.chat_delay(chat)) > 0:
            skipped.add(chat)
            return wait
        await self._slots.acquire()
        self._busy.add(chat)
        self.throttle.record(chat, private=row.kind == "private")
        task = asyncio.create_task(self._deliver(row, silent, digest, now, tz))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return None

    # --- one row ------------------------------------------------------------------------------

    async def _deliver(
        self, row: deliveries.Pending, silent: bool, digest: bool, now: float, tz: tzinfo
    ) -> None:
        try:
            if digest:
                await self._deliver_digest(row, now, tz)
            else:
                await self._deliver_one(row, silent, tz)
        except Exception:
            # A database hiccup must not kill the loop; the row stays pending and comes back.
            log.exception("delivery %s could not be completed", row.id)
            self._paused[row.chat_id] = time.monotonic() + 5.0
        finally:
            self._finished.add(row.id)
            self._busy.discard(row.chat_id)
            self._slots.release()
            self.ready.set()

    async def _deliver_one(self, row: deliveries.Pending, silent: bool, tz: tzinfo) -> None:
        rendered = await self._render(row, tz)
        if rendered is None:
            await deliveries.mark_failed(self.conn, row.id, "article or broadcast no longer exists")
            metrics.delivery_failed()
            self.failed += 1
            return
        plain = False
        while True:
            started = time.monotonic()
            try:
                message = await self._send(row, rendered, plain=plain, silent=silent)
            except Exception as exc:
                decision = self._decide(row, exc, plain_tried=plain)
                if decision.action == "plain":
                    plain = True
                    await self._wait_for_slot(row)
                    continue
                await self._apply(row, decision)
                return
            self._confirmed[row.id] = message.message_id
            metrics.delivery_sent(time.monotonic() - started)
            self._count_sent(1)
            await self._record_confirmed()
            return

    async def _deliver_digest(self, row: deliveries.Pending, now: float, tz: tzinfo) -> None:
        cutoff = schedule.last_digest(row.settings, now, tz)
        items = await deliveries.digest_rows(self.conn, row.chat_id, row.thread_id, cutoff)
        if not items:
            items = [(row.id, row.article_id or 0)]
        grouped: dict[str, list[Article]] = {}
        for _, article_id in items:
            article = await self._article(article_id)
            if article is not None:
                section = article.sections[0] if article.sections else ""
                grouped.setdefault(section, []).append(article)
        ordered = sorted(grouped.items(), key=lambda kv: self.order.get(kv[0], 1_000))
        groups = [(self.names.get(slug, slug), arts) for slug, arts in ordered]
        first_id: int | None = None
        started = time.monotonic()
        for index, rendered in enumerate(render.digest_messages(groups, row.settings.language)):
            if index:
                await self._wait_for_slot(row)
            try:
                message = await self._send(row, rendered, plain=False, silent=False)
            except Exception as exc:
                await self._apply(row, self._decide(row, exc, plain_tried=True))
                return
            first_id = first_id or message.message_id
        self._confirmed.update((i, first_id or 0) for i, _ in items)
        metrics.delivery_sent(time.monotonic() - started)
        self._finished.update(i for i, _ in items)
        self._count_sent(1)
        await self._record_confirmed()
        logs.event(log, "digest sent", chat=row.chat_id, articles=len(items))

    async def _record_confirmed(self) -> None:
        """Write every confirmed send in one statement (callers queue, and whoever comes first
        writes for all: a group commit).  A send keeps its slot until its row is written, so
        after a kill -9 only sends in flight can repeat.  On a database error the rows stay in
        memory (skipped meanwhile) so that a confirmed message is never sent again."""
        async with self._recording:
            if not self._confirmed:
                return
            done = list(self._confirmed.items())
            try:
                await deliveries.mark_sent(self.conn, done)
            except Exception:
                log.exception("could not record %d confirmed sends; will retry", len(done))
                return
            for row_id, _ in done:
                self._confirmed.pop(row_id, None)

    async def _wait_for_slot(self, row: deliveries.Pending) -> None:
        """A follow-up send of the same row (plain resend, next digest part) obeys the limits."""
        while (wait := self.throttle.next_allowed(row.chat_id)) > 0:  # noqa: ASYNC110
            await asyncio.sleep(wait)
        self.throttle.record(row.chat_id, private=row.kind == "private")

    async def _send(
        self, row: deliveries.Pending, rendered: Rendered, *, plain: bool, silent: bool
    ) -> Message:
        return await self.bot.send_message(
            chat_id=row.chat_id,
            text=rendered.plain if plain else rendered.text,
            parse_mode=None if plain else ParseMode.HTML,
            reply_markup=rendered.reply_markup,
            link_preview_options=rendered.link_preview,
            message_thread_id=row.thread_id or None,
            disable_notification=silent or None,
            allow_paid_broadcast=True if self.settings.paid_broadcast else None,
        )

    async def _render(self, row: deliveries.Pending, tz: tzinfo) -> Rendered | None:
        if row.broadcast_id is not None:
            text = await broadcasts.text(self.conn, row.broadcast_id)
            return None if text is None else render.broadcast_message(text)
        assert row.article_id is not None
        s = row.settings
        key = (row.article_id, s.language, s.style, s.link_preview, str(tz))
        cached = self._rendered.get(key)
        if cached is not None:
            return cached
        article = await self._article(row.article_id)
        if article is None:
            return None
        rendered = render.article_message(
            article,
            s,
            s.language,
            section_names=self.names,
            tz=tz,
            utm=self.settings.utm,
            iv_rhash=self.settings.iv_rhash,
        )
        if len(self._rendered) >= CACHE_SIZE:
            self._rendered.clear()
        self._rendered[key] = rendered
        return rendered

    async def _article(self, article_id: int) -> Article | None:
        if article_id not in self._articles:
            if len(self._articles) >= CACHE_SIZE:
                self._articles.clear()
            self._articles[article_id] = await stored_articles.get(self.conn, article_id)
        return self._articles[article_id]

    # --- Telegram's answers -------------------------------------------------------------------

    def _decide(self, row: deliveries.Pending, exc: Exception, *, plain_tried: bool) -> Decision:
        mono = time.monotonic()
        while self._recent_429 and self._recent_429[0][0] < mono - FLOOD_WINDOW:
            self._recent_429.popleft()
        others = len({c for _, c in self._recent_429 if c != row.chat_id})
        decision = outcome.decide(
            exc,
            row.attempts + 1,
            thread_id=row.thread_id,
            plain_tried=plain_tried,
            recent_429_chats=others,
            jitter=random.random(),
        )
        if decision.action in ("pause_chat", "pause_all"):
            self._recent_429.append((mono, row.chat_id))
        if isinstance(exc, RetryAfter):
            metrics.rate_limited()
        logs.event(
            log,
            "send refused",
            logging.WARNING,
            chat=row.chat_id,
            delivery=row.id,
            outcome=decision.action,
            reason=decision.reason,
        )
        return decision

    async def _apply(self, row: deliveries.Pending, decision: Decision) -> None:
        """Carry out a decision; the row stays pending unless the decision ends it."""
        mono = time.monotonic()
        action = decision.action
        if action in ("pause_chat", "pause_all", "retry"):
            self._paused[row.chat_id] = mono + decision.delay
            if action == "pause_all":
                self._pause_all = max(self._pause_all, mono + decision.delay)
            if action == "retry":
                await deliveries.retry_later(
                    self.conn, row.id, self.clock() + decision.delay, decision.reason
                )
        elif action == "deactivate":
            self._gone_chats.add(row.chat_id)
            await stored_chats.deactivate(self.conn, row.chat_id)
        elif action == "drop_topic":
            self._gone_chats.add(row.chat_id)
            metrics.delivery_dropped(
                await deliveries.drop_topic(self.conn, row.chat_id, row.thread_id, decision.reason)
            )
        elif action == "migrate" and decision.new_chat_id is not None:
            self._gone_chats.add(row.chat_id)
            await stored_chats.migrate(self.conn, row.chat_id, decision.new_chat_id)
            self.throttle.forget(row.chat_id)
        else:
            await deliveries.mark_failed(self.conn, row.id, decision.reason)
            metrics.delivery_failed()
            self.failed += 1

    # --- figures for /stats ---------------------------------------------------------------

    def _count_sent(self, n: int) -> None:
        self.sent += n
        second = int(time.monotonic())
        self._sent_per_second[second] += n
        if len(self._sent_per_second) > 120:
            for old in [s for s in self._sent_per_second if s < second - 60]:
                del self._sent_per_second[old]

    def rate(self, seconds: int = 10) -> float:
        """Messages confirmed per second over the last `seconds` whole seconds."""
        now = int(time.monotonic())
        total = sum(n for s, n in self._sent_per_second.items() if now - seconds <= s < now)
        return total / seconds


AnyApplication = Application[Any, Any, Any, Any, Any, Any]


def sending_bot(settings: Settings, connections: int = MAX_IN_FLIGHT) -> Bot:
    """The dispatcher's own Bot: one connection per in-flight send, on aiohttp (whose C parser
    costs far less CPU per request than httpx)."""
    return Bot(
        settings.require_token(),
        base_url=settings.base_url,
        base_file_url=settings.base_file_url,
        request=AiohttpRequest(connections),
    )


async def start(application: AnyApplication, rt: Runtime) -> asyncio.Task[None]:
    """Open the dispatcher's connection and Bot, register it, then start its task."""
    # Its own connection: other stages' transactions on rt.db must not swallow (or roll back)
    # a 'sent' mark, and a deactivation's BEGIN must not collide with theirs.
    conn = await db.connect(rt.settings.database)
    bot = sending_bot(rt.settings)
    try:
        await bot.initialize()
    except BaseException:
        await bot.shutdown()
        await conn.close()
        raise
    dispatcher = Dispatcher(
        bot, conn, rt.settings, rt.sections, rt.outbox_ready, rate=dispatch_rate(rt.settings)
    )
    # Registered before the task runs, so /stats and tests find it as soon as startup returns.
    application.bot_data[KEY] = dispatcher
    rt.outbox_ready.set()  # rows left pending by a previous run go out first
    return asyncio.create_task(_serve(dispatcher), name="dispatcher")


async def _serve(dispatcher: Dispatcher) -> None:
    try:
        await dispatcher.run()
    finally:
        await dispatcher.bot.shutdown()
        await dispatcher.conn.close()


def of(bot_data: Mapping[str, Any]) -> Dispatcher | None:
    """The running dispatcher, if any."""
    found = bot_data.get(KEY)
    return found if isinstance(found, Dispatcher) else None

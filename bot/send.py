"""The dispatcher: drains the outbox in order, within the limits, marks rows sent once confirmed."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import tzinfo

import aiosqlite
from telegram import Bot, Message
from telegram.constants import ParseMode
from telegram.error import RetryAfter

from bot import logs, metrics, outcome, render, schedule
from bot.aiohttp_request import AiohttpRequest
from bot.budget import Budget, unreachable
from bot.config import Settings
from bot.confirmations import Confirmations
from bot.domain import Article, Pending, Section
from bot.outcome import Decision
from bot.pauses import Pauses
from bot.render import Rendered
from bot.rendercache import RenderCache
from bot.runtime import Runtime
from bot.throttle import Flight
from storage import chats as stored_chats
from storage import db, deliveries

log = logging.getLogger(__name__)

BATCH = 500
MAX_IN_FLIGHT = 16
IDLE = 30.0  # seconds between sweeps when nothing wakes us (held rows come due by themselves)
STOP_GRACE = 10.0


class Dispatcher:
    """One long-lived task per bot; `run` never returns until cancelled.

    It keeps the outbox's order and walks it; the promises it relies on live in their own
    units: the send budget (windows, Telegram's pauses, outages: bot/budget.py), the
    exactly-once log (bot/confirmations.py) and the render cache (bot/rendercache.py)."""

    def __init__(
        self,
        bot: Bot,
        conn: aiosqlite.Connection,
        settings: Settings,
        sections: Sequence[Section],
        ready: asyncio.Event,
        *,
        rate: float | None = None,
        budget: Budget | None = None,
        clock: Callable[[], float] = time.time,
        max_in_flight: int = MAX_IN_FLIGHT,
    ) -> None:
        self.bot = bot
        self.conn = conn
        self.settings = settings
        self.ready = ready
        self.clock = clock  # wall clock for quiet hours and digests; tests inject their own
        self.budget = budget or Budget.for_rate(rate)
        self.names: Mapping[str, str] = {s.slug: s.name for s in sections}
        self.order: Mapping[str, int] = {s.slug: s.order for s in sections}
        self.confirmations = Confirmations(functools.partial(deliveries.mark_sent, conn))
        self.cache = RenderCache(conn, self.names, settings.utm, settings.iv_rhash)
        self._held = Pauses()  # our own back-offs per chat (transient errors), not Telegram's
        self._slots = asyncio.Semaphore(max_in_flight)
        self._busy: set[int] = set()  # chats with a send in flight: one at a time keeps order
        self._finished: set[int] = set()  # rows finished since the current sweep began
        self._gone_chats: set[int] = set()  # chats deactivated or moved since then
        self._tasks: set[asyncio.Task[None]] = set()
        # Rows whose last try got no answer and would have been given up: row -> the budget's
        # answer count then. They are given up only once Telegram answered others meanwhile.
        self._unanswered: dict[int, int] = {}
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
            await self.confirmations.flush()

    async def sweep(self) -> float:
        """One pass over the due rows; returns how long to wait before the next pass."""
        self.ready.clear()
        skipped: set[int] = set()
        wake = IDLE
        # A row that finishes while a batch is being read is stale in it: remember those.
        self._finished.clear()
        self._gone_chats.clear()
        await self.confirmations.flush()
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

    async def _due_after(self, after: int, more: bool) -> list[Pending]:
        if not more:
            return []
        await self.confirmations.flush()
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

    async def _consider(self, row: Pending, skipped: set[int]) -> float | None:
        """Start the row's send if every rule allows; else return seconds until it might."""
        chat = row.chat_id
        if row.id in self._finished or row.id in self.confirmations or chat in self._gone_chats:
            return None
        if chat in self._busy or chat in skipped:
            skipped.add(chat)
            return None
        if (wait := max(self._held.chat_delay(chat), self.budget.chat_delay(chat))) > 0:
            skipped.add(chat)
            return wait
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
        await self._slots.acquire()
        self._busy.add(chat)
        try:
            # Waits for the global window, Telegram's pauses and outages; replies go first.
            flight = await self.budget.acquire(chat, row.kind == "private", urgent=False)
        except BaseException:
            self._busy.discard(chat)
            self._slots.release()
            raise
        task = asyncio.create_task(self._deliver(row, flight, silent, digest, now, tz))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return None

    # --- one row ------------------------------------------------------------------------------

    async def _deliver(
        self,
        row: Pending,
        flight: Flight | None,
        silent: bool,
        digest: bool,
        now: float,
        tz: tzinfo,
    ) -> None:
        try:
            if digest:
                await self._deliver_digest(row, flight, now, tz)
            else:
                await self._deliver_one(row, flight, silent, tz)
        except Exception:
            # A database hiccup must not kill the loop; the row stays pending and comes back.
            log.exception("delivery %s could not be completed", row.id)
            self._held.pause_chat(row.chat_id, 5.0)
        finally:
            self.budget.landed(flight)  # also when nothing was sent after all
            self._finished.add(row.id)
            self._busy.discard(row.chat_id)
            self._slots.release()
            self.ready.set()

    async def _deliver_one(
        self, row: Pending, flight: Flight | None, silent: bool, tz: tzinfo
    ) -> None:
        rendered = await self.cache.message(row, tz)
        if rendered is None:
            await deliveries.mark_failed(self.conn, row.id, "article or broadcast no longer exists")
            metrics.delivery_failed()
            self.failed += 1
            return
        plain = False
        while True:
            started = time.monotonic()
            try:
                message = await self._send(row, rendered, flight, plain=plain, silent=silent)
            except Exception as exc:
                if self._outage(row, exc):
                    return
                decision = self._decide(row, exc, plain_tried=plain)
                if decision.action == "plain":
                    plain = True
                    flight = await self._wait_for_slot(row)
                    continue
                await self._apply(row, decision)
                return
            self._unanswered.pop(row.id, None)
            self.confirmations.confirm([row.id], message.message_id)
            metrics.delivery_sent(time.monotonic() - started)
            self._count_sent(1)
            await self.confirmations.flush()
            return

    async def _deliver_digest(
        self, row: Pending, flight: Flight | None, now: float, tz: tzinfo
    ) -> None:
        cutoff = schedule.last_digest(row.settings, now, tz)
        items = await deliveries.digest_rows(self.conn, row.chat_id, row.thread_id, cutoff)
        if not items:
            items = [(row.id, row.article_id or 0)]
        grouped: dict[str, list[Article]] = {}
        for _, article_id in items:
            article = await self.cache.article(article_id)
            if article is not None:
                section = article.sections[0] if article.sections else ""
                grouped.setdefault(section, []).append(article)
        ordered = sorted(grouped.items(), key=lambda kv: self.order.get(kv[0], 1_000))
        groups = [(self.names.get(slug, slug), arts) for slug, arts in ordered]
        first_id: int | None = None
        started = time.monotonic()
        for index, rendered in enumerate(render.digest_messages(groups, row.settings.language)):
            if index:
                flight = await self._wait_for_slot(row)
            try:
                message = await self._send(row, rendered, flight, plain=False, silent=False)
            except Exception as exc:
                if not self._outage(row, exc):
                    await self._apply(row, self._decide(row, exc, plain_tried=True))
                return
            first_id = first_id or message.message_id
        self.confirmations.confirm((i for i, _ in items), first_id or 0)
        metrics.delivery_sent(time.monotonic() - started)
        self._finished.update(i for i, _ in items)
        self._count_sent(1)
        await self.confirmations.flush()
        logs.event(log, "digest sent", chat=row.chat_id, articles=len(items))

    async def _wait_for_slot(self, row: Pending) -> Flight | None:
        """A follow-up send of the same row (plain resend, next digest part) obeys the limits."""
        return await self.budget.acquire(row.chat_id, row.kind == "private", urgent=False)

    async def _send(
        self,
        row: Pending,
        rendered: Rendered,
        flight: Flight | None,
        *,
        plain: bool,
        silent: bool,
    ) -> Message:
        try:
            message = await self.bot.send_message(
                chat_id=row.chat_id,
                text=rendered.plain if plain else rendered.text,
                parse_mode=None if plain else ParseMode.HTML,
                reply_markup=rendered.reply_markup,
                link_preview_options=rendered.link_preview,
                message_thread_id=row.thread_id or None,
                disable_notification=silent or None,
                allow_paid_broadcast=True if self.settings.paid_broadcast else None,
            )
        except BaseException as exc:
            self.budget.report(row.chat_id, exc, flight)
            raise
        self.budget.report(row.chat_id, None, flight)
        return message

    # --- Telegram's answers -------------------------------------------------------------------

    def _outage(self, row: Pending, exc: Exception) -> bool:
        """True when the send got no answer while Telegram is down for everyone: not the row's
        fault, so it stays pending as it was (no attempt counted) until a probe gets through."""
        return unreachable(exc) and self.budget.outage.active

    def _decide(self, row: Pending, exc: Exception, *, plain_tried: bool) -> Decision:
        decision = outcome.decide(
            exc,
            row.attempts + 1,
            thread_id=row.thread_id,
            plain_tried=plain_tried,
            recent_429_chats=self.budget.pauses.others_refused(row.chat_id),
            jitter=random.random(),
        )
        if decision.action == "fail" and unreachable(exc):
            decision = self._unproven(row, decision)
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

    def _unproven(self, row: Pending, decision: Decision) -> Decision:
        """No answer is evidence against the row only if Telegram answered others since the
        row's previous unanswered try; the first sends of an outage fail before it is known."""
        answers = self.budget.outage.answers
        seen = self._unanswered.pop(row.id, None)
        if seen is not None and answers > seen:
            return decision
        self._unanswered[row.id] = answers
        # Soon again: if Telegram is down, the outage will be known by then and spare the row.
        return Decision("retry", outcome.backoff(1, random.random()), decision.reason)

    async def _apply(self, row: Pending, decision: Decision) -> None:
        """Carry out a decision; the row stays pending unless the decision ends it."""
        action = decision.action
        if action in ("pause_chat", "pause_all"):
            # Telegram's pause holds for replies too: the shared budget keeps it.
            self.budget.refused(row.chat_id, decision.delay)
        elif action == "retry":
            self._held.pause_chat(row.chat_id, decision.delay)
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
            self.budget.throttle.forget(row.chat_id)
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


def sending_bot(settings: Settings, connections: int = MAX_IN_FLIGHT) -> Bot:
    """The dispatcher's own Bot: one connection per in-flight send, on aiohttp (whose C parser
    costs far less CPU per request than httpx)."""
    return Bot(
        settings.require_token(),
        base_url=settings.base_url,
        base_file_url=settings.base_file_url,
        request=AiohttpRequest(connections),
    )


async def start(rt: Runtime, budget: Budget | None) -> tuple[Dispatcher, asyncio.Task[None]]:
    """Open the dispatcher's connection and Bot, then start its task.

    `budget` is the one the Application's replies spend (app.build made it), so replies and
    pushes share it; the caller registers the dispatcher before the task first runs."""
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
        bot,
        conn,
        rt.settings,
        rt.sections,
        rt.outbox_ready,
        rate=rt.settings.rate_limit,
        budget=budget,
    )
    rt.outbox_ready.set()  # rows left pending by a previous run go out first
    return dispatcher, asyncio.create_task(_serve(dispatcher), name="dispatcher")


async def _serve(dispatcher: Dispatcher) -> None:
    try:
        await dispatcher.run()
    finally:
        await dispatcher.bot.shutdown()
        await dispatcher.conn.close()

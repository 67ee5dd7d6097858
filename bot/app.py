"""Wiring: the PTB application, its handlers and background tasks, all in one place."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any

from telegram import BotCommand, Update
from telegram.ext import Application, ApplicationBuilder, CommandHandler

from bot import fanout, health, ingest, retention, runtime, sections, send
from bot.config import Settings
from bot.domain import Article
from bot.handlers import commands
from bot.runtime import Runtime
from storage import db
from storage import sections as stored_sections

log = logging.getLogger(__name__)

AnyApplication = Application[Any, Any, Any, Any, Any, Any]

COMMANDS = (BotCommand("start", "Welcome and section picker"),)


def build(settings: Settings) -> AnyApplication:
    """The Application with every handler registered."""
    application = (
        ApplicationBuilder()
        .token(settings.require_token())
        .base_url(settings.base_url)
        .base_file_url(settings.base_file_url)
        .concurrent_updates(True)
        .get_updates_read_timeout(30)
        .build()
    )
    application.add_handler(CommandHandler("start", commands.start))
    assert application.job_queue is not None
    application.job_queue.run_repeating(
        retention.prune_job,
        interval=retention.INTERVAL,
        first=retention.FIRST_RUN,
        name="retention",
    )
    return application


async def startup(application: AnyApplication, settings: Settings) -> Runtime:
    """Open storage, mirror the catalogue, register commands, start background tasks."""
    catalogue = sections.load(settings.site_url, settings.sections_file)
    conn = await db.connect(settings.database)
    await stored_sections.sync(conn, catalogue)
    rt = Runtime(settings=settings, sections=catalogue, db=conn)
    application.bot_data[runtime.KEY] = rt
    await application.bot.set_my_commands(COMMANDS)
    rt.tasks.append(send.start(application, rt))
    rt.tasks.append(asyncio.create_task(ingest.poll_forever(rt, functools.partial(hand_over, rt))))
    if settings.metrics_port is not None:
        rt.tasks.append(await health.start(application))
    return rt


async def hand_over(rt: Runtime, articles: Sequence[Article]) -> None:
    """Ingest -> delivery: queue new articles for their subscribers and wake the dispatcher."""
    if await fanout.fan_out(rt.db, articles):
        rt.outbox_ready.set()


async def shutdown(rt: Runtime) -> None:
    """Stop background tasks, then close storage."""
    for task in rt.tasks:
        task.cancel()
    for task in rt.tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task
    await rt.db.close()


@contextlib.asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[AnyApplication]:
    """Run the bot until the block exits (used by `newsbot run` and by the tests)."""
    application = build(settings)
    async with application:
        rt = await startup(application, settings)
        try:
            await application.start()
            assert application.updater is not None
            await application.updater.start_polling(allowed_updates=Update.ALL_TYPES)
            log.info("newsbot is running", extra={"fields": {"sections": len(rt.sections)}})
            yield application
        finally:
            if application.updater is not None and application.updater.running:
                await application.updater.stop()
            if application.running:
                await application.stop()
            await shutdown(rt)


async def serve(settings: Settings, stop: asyncio.Event) -> None:
    """Run until `stop` is set (SIGINT/SIGTERM)."""
    async with running(settings):
        await stop.wait()
    log.info("newsbot stopped cleanly")

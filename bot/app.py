"""Wiring: the PTB application, its handlers and background tasks, all in one place."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Sequence

from telegram import BotCommand, Update
from telegram.ext import (
    ApplicationBuilder,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    InlineQueryHandler,
    MessageHandler,
    filters,
)

from bot import fanout, health, i18n, ingest, keyboards, retention, sections, send
from bot.backfill import run as backfill_texts
from bot.botdata import CONTEXT_TYPES, App
from bot.budget import Budget
from bot.config import Settings
from bot.domain import Article
from bot.handlers import admin, commands, errors, fallback, groups, inline, picker
from bot.handlers import search as search_handlers
from bot.handlers import settings as reader_settings
from bot.handlers.context import NEW_POSTS
from bot.limiter import SharedLimiter, quiet_error_pages
from bot.runtime import Runtime
from bot.webhook import start as start_webhook
from storage import db
from storage import sections as stored_sections

log = logging.getLogger(__name__)

READER_COMMANDS = (
    ("start", commands.start),
    ("sections", picker.sections),
    ("subscribe", commands.subscribe),
    ("unsubscribe", commands.unsubscribe),
    ("mysubs", commands.mysubs),
    ("latest", commands.latest),
    ("settings", reader_settings.settings),
    ("stop", commands.stop),
    ("help", commands.help_command),
)
SEARCH_COMMANDS = (
    ("search", search_handlers.search_command),
    ("follow", search_handlers.follow),
    ("unfollow", search_handlers.unfollow),
)
COMMANDS = tuple(
    BotCommand(name, i18n.t("en", f"command.{name}"))
    for name, _ in (*READER_COMMANDS, *SEARCH_COMMANDS)
)


def build(settings: Settings) -> App:
    """The Application with every handler registered."""
    quiet_error_pages()
    application = (
        ApplicationBuilder()
        .token(settings.require_token())
        .base_url(settings.base_url)
        .base_file_url(settings.base_file_url)
        .context_types(CONTEXT_TYPES)
        .job_queue(None)
        .concurrent_updates(True)
        .get_updates_read_timeout(30)
        # One budget for every message and edit; the dispatcher takes its pushes from it too.
        .rate_limiter(SharedLimiter(Budget.for_rate(settings.rate_limit)))
        .build()
    )
    # Ahead of the reader's /start, so the search deep link reaches the search handler.
    application.add_handler(
        CommandHandler(
            "start",
            search_handlers.start,
            filters=NEW_POSTS & search_handlers.START_SEARCH,
        )
    )
    for name, callback in (*READER_COMMANDS, *SEARCH_COMMANDS):
        application.add_handler(CommandHandler(name, callback, filters=NEW_POSTS))
    application.add_handler(InlineQueryHandler(inline.inline_query))
    application.add_handler(CallbackQueryHandler(picker.tap, pattern=r"^s:"))
    application.add_handler(CallbackQueryHandler(reader_settings.choose, pattern=r"^c:"))
    application.add_handler(CallbackQueryHandler(commands.stop_answer, pattern=r"^x:"))
    private_posts = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
    application.add_handler(CommandHandler("stats", admin.stats_command, filters=private_posts))
    application.add_handler(
        CommandHandler("broadcast", admin.broadcast_command, filters=private_posts)
    )
    application.add_handler(CallbackQueryHandler(admin.broadcast_answer, pattern=r"^b:"))
    application.add_handler(ChatMemberHandler(groups.membership, ChatMemberHandler.MY_CHAT_MEMBER))
    # Needs "chat_member" in allowed_updates (Update.ALL_TYPES has it; Telegram's default not).
    application.add_handler(ChatMemberHandler(groups.member_changed, ChatMemberHandler.CHAT_MEMBER))
    application.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, groups.migrated))
    # A reply to the bot's "which time zone?" question (groups deliver replies to the bot even
    # in privacy mode); it stops there, so the private-chat hint below does not answer it too.
    application.add_handler(
        MessageHandler(
            NEW_POSTS & filters.REPLY & filters.TEXT & ~filters.COMMAND,
            reader_settings.typed_zone,
        )
    )
    # Keep last among callback handlers: any button no handler above claimed still gets an answer.
    application.add_handler(CallbackQueryHandler(fallback.unknown_button))
    # Group 1 sees every private message; the hint skips commands that a handler claims.
    application.add_handler(
        MessageHandler(private_posts & ~filters.StatusUpdate.ALL & ~filters.VIA_BOT, commands.hint),
        group=1,
    )
    application.add_error_handler(errors.on_error)
    return application


async def startup(application: App, settings: Settings) -> Runtime:
    """Open storage, mirror the catalogue, register commands, start background tasks."""
    catalogue = sections.load(settings.site_url, settings.sections_file)
    conn = await db.connect(settings.database)
    await stored_sections.sync(conn, catalogue)
    rt = Runtime(settings=settings, sections=catalogue, db=conn)
    rt.reader_db = await db.connect(settings.database)
    application.bot_data.runtime = rt
    await application.bot.set_my_commands(COMMANDS)
    for lang in (lang for lang in i18n.LANGUAGES if lang != i18n.DEFAULT):
        await application.bot.set_my_commands(keyboards.menu(lang, COMMANDS), language_code=lang)
    await admin.advertise(application.bot, settings.admin_ids, COMMANDS)
    limiter = application.bot.rate_limiter
    # The Application's replies and the dispatcher's pushes share one budget (build made it).
    budget = limiter.budget if isinstance(limiter, SharedLimiter) else None
    dispatcher, dispatching = await send.start(rt, budget)
    # Registered before its task first runs, so /stats and tests find it once startup returns.
    application.bot_data.dispatcher = dispatcher
    rt.tasks.append(dispatching)
    # Named, so /healthz reports it as "poller" rather than "Task-5".
    poller = ingest.poll_forever(rt, functools.partial(hand_over, rt))
    rt.tasks.append(asyncio.create_task(poller, name="poller"))
    rt.tasks.append(asyncio.create_task(retention.prune_forever(rt), name="retention"))
    rt.chores.append(asyncio.create_task(backfill_texts(rt), name="backfill"))
    if settings.metrics_port is not None:
        rt.tasks.append(await health.start(application))
    return rt


async def hand_over(rt: Runtime, articles: Sequence[Article]) -> None:
    """Ingest -> delivery: queue new articles for their subscribers and wake the dispatcher."""
    if await fanout.fan_out(rt.db, articles):
        rt.outbox_ready.set()


async def shutdown(rt: Runtime) -> None:
    """Stop background tasks, then close storage."""
    for task in (*rt.tasks, *rt.chores):
        task.cancel()
    for task in (*rt.tasks, *rt.chores):
        with contextlib.suppress(asyncio.CancelledError):
            await task
    if rt.reader_db is not None:
        await rt.reader_db.close()
    await rt.db.close()


@contextlib.asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[App]:
    """Run the bot until the block exits (used by `newsbot run` and by the tests)."""
    application = build(settings)
    async with application:
        rt = await startup(application, settings)
        try:
            await application.start()
            assert application.updater is not None
            if settings.webhook_url:
                await start_webhook(application.updater, settings)
            else:
                await application.updater.start_polling(
                    allowed_updates=Update.ALL_TYPES,
                    drop_pending_updates=settings.drop_pending_updates,
                )
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

"""Retention: a named task beside the poller and dispatcher keeps the database bounded."""

from __future__ import annotations

import asyncio
import logging
import time

from bot import logs
from bot.runtime import Runtime
from storage import retention

log = logging.getLogger(__name__)

INTERVAL = 86_400.0
FIRST_RUN = 300.0  # after start-up, when the first polls and sends are done


async def prune_once(rt: Runtime) -> retention.Pruned:
    """Prune old articles and finished deliveries now."""
    pruned = await retention.prune(
        rt.db,
        now=int(time.time()),
        article_days=rt.settings.retention_days,
        delivery_days=rt.settings.delivery_retention_days,
    )
    logs.event(log, "retention pass", articles=pruned.articles, deliveries=pruned.deliveries)
    return pruned


async def prune_forever(
    rt: Runtime, *, first: float = FIRST_RUN, interval: float = INTERVAL
) -> None:
    """A pass `first` seconds after start-up, then one every `interval` seconds.

    A failed pass is logged and the next one comes as planned: the rows it left are still old
    then, and a task that ended would stop retention for good (/healthz would say so).
    """
    await asyncio.sleep(first)
    while True:
        try:
            await prune_once(rt)
        except Exception:
            log.exception("retention pass failed")
        await asyncio.sleep(interval)

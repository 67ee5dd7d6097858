"""The daily retention job: keeps the database bounded under steady load."""

from __future__ import annotations

import logging
import time

from telegram.ext import ContextTypes

from bot import logs, runtime
from storage import retention

log = logging.getLogger(__name__)

INTERVAL = 86_400.0
FIRST_RUN = 300.0  # after start-up, when the first polls and sends are done


async def prune_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Prune old articles and finished deliveries once a day."""
    rt = runtime.of(context)
    pruned = await retention.prune(
        rt.db,
        now=int(time.time()),
        article_days=rt.settings.retention_days,
        delivery_days=rt.settings.delivery_retention_days,
    )
    logs.event(log, "retention pass", articles=pruned.articles, deliveries=pruned.deliveries)

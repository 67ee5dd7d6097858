"""Webhook mode: Telegram POSTs updates to NEWSBOT_WEBHOOK_URL instead of us long polling."""

from __future__ import annotations

import logging
import secrets
from typing import Any
from urllib.parse import urlsplit

from telegram import Update
from telegram.ext import Updater

from bot import logs
from bot.config import Settings

log = logging.getLogger(__name__)


def listen_path(webhook_url: str) -> str:
    """The path the listener serves: the public URL's path, so a reverse proxy maps 1:1.

    Never the token (PTB's examples use it): paths end up in proxy and access logs.
    """
    return urlsplit(webhook_url).path.strip("/")


def options(settings: Settings, secret: str) -> dict[str, Any]:
    """Keyword arguments for Updater.start_webhook."""
    assert settings.webhook_url is not None
    return {
        "listen": settings.listen,
        "port": settings.port,
        "url_path": listen_path(settings.webhook_url),
        "webhook_url": settings.webhook_url,
        "secret_token": secret,
        "allowed_updates": Update.ALL_TYPES,
        "drop_pending_updates": settings.drop_pending_updates,
        # Retry setWebhook through a Bot API hiccup at start-up instead of dying.
        "bootstrap_retries": 3,
    }


async def start(updater: Updater, settings: Settings) -> None:
    """Listen for updates and tell Telegram where to send them, with a fresh secret token."""
    # New on every start: PTB answers 403 to any request without it, and a leaked old value
    # stops working at the next restart.
    secret = secrets.token_urlsafe(32)
    await updater.start_webhook(**options(settings, secret))
    logs.event(
        log,
        "receiving updates by webhook",
        url=settings.webhook_url,
        listen=f"{settings.listen}:{settings.port}",
    )

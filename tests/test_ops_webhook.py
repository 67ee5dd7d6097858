"""Webhook mode end to end: the Bot API double POSTs updates to the bot's own listener."""

from __future__ import annotations

import socket
from pathlib import Path

from bot import webhook
from tests.doubles.botapi import BotApiDouble, post_update_to
from tests.harness import run_bot, settings_for


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_listen_path_is_the_public_path_never_the_token() -> None:
    assert webhook.listen_path("https://bot.example.org/telegram/updates") == "telegram/updates"
    assert webhook.listen_path("https://bot.example.org") == ""


async def test_webhook_mode_receives_updates_and_rejects_wrong_secrets(
    botapi: BotApiDouble, tmp_path: Path
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/tg-hook"
    settings = settings_for(
        botapi,
        None,
        tmp_path,
        NEWSBOT_WEBHOOK_URL=url,
        NEWSBOT_LISTEN="127.0.0.1",
        NEWSBOT_PORT=port,
        NEWSBOT_DROP_PENDING_UPDATES="true",
    )
    async with run_bot(settings):
        [set_webhook] = await botapi.wait_for("setWebhook")
        params = set_webhook.params
        secret = params["secret_token"]
        assert params["url"] == url
        assert params["drop_pending_updates"] is True
        assert len(secret) >= 32 and botapi.token not in secret
        assert not [c for c in botapi.calls if c.method == "getUpdates"]

        # Telegram (the double) pushes the update to the listener with the secret header.
        botapi.inject_message(501, "/start")
        await botapi.wait_for("sendMessage", lambda c: c.chat_id == 501)

        # Forged requests: no header, or a wrong one. PTB refuses them before any handler.
        forged = _message_update(502, "/start")
        assert await post_update_to(url, forged, None) == 403
        assert await post_update_to(url, forged, "not-the-secret") == 403
        assert await post_update_to(f"http://127.0.0.1:{port}/other", forged, secret) == 404

        # The right secret works when posted directly too; only its reply appears.
        genuine = _message_update(503, "/start", update_id=990_002)
        assert await post_update_to(url, genuine, secret) == 200
        await botapi.wait_for("sendMessage", lambda c: c.chat_id == 503)
        assert botapi.sent("sendMessage", chat_id=502) == []
    first_secret = secret

    # A restart sets the webhook again with a fresh secret: an old leaked one stops working.
    async with run_bot(settings):
        calls = await botapi.wait_for("setWebhook", count=2)
        assert calls[-1].params["secret_token"] != first_secret
        assert await post_update_to(url, _message_update(504, "/start"), first_secret) == 403


async def test_polling_is_the_default_and_honours_drop_pending(
    botapi: BotApiDouble, tmp_path: Path
) -> None:
    settings = settings_for(botapi, None, tmp_path, NEWSBOT_DROP_PENDING_UPDATES="1")
    async with run_bot(settings):
        [delete] = await botapi.wait_for("deleteWebhook")
        assert delete.params.get("drop_pending_updates") is True
        assert not [c for c in botapi.calls if c.method == "setWebhook"]
        botapi.inject_message(601, "/start")  # still answered, by long polling
        await botapi.wait_for("sendMessage", lambda c: c.chat_id == 601)


def _message_update(chat_id: int, text: str, update_id: int = 990_001) -> dict[str, object]:
    user = {"id": chat_id, "is_bot": False, "first_name": "Reader", "language_code": "en"}
    return {
        "update_id": update_id,
        "message": {
            "message_id": 1,
            "date": 1_750_000_000,
            "chat": {"id": chat_id, "type": "private", "first_name": "Reader"},
            "from": user,
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(text)}],
        },
    }

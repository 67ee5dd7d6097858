"""Logs: one line per event, text or JSON, and never the bot token, even at DEBUG."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import logs
from tests.doubles.botapi import BotApiDouble
from tests.harness import run_bot, settings_for

TOKEN = "123456789:AAH-secret_Part-ofThe-token-0123456789"
NOISY = ("httpx", "httpcore", "telegram", "tornado", "aiosqlite")


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    levels = {name: logging.getLogger(name).level for name in NOISY}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, old in levels.items():
        logging.getLogger(name).setLevel(old)


def lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if line.strip()]


def test_json_lines_carry_stable_keys(capsys: pytest.CaptureFixture[str]) -> None:
    logs.setup("json")
    logs.event(logging.getLogger("bot.send"), "sent", section="news", chat=42, outcome="sent")
    [line] = lines(capsys)
    data = json.loads(line)
    assert data["level"] == "info" and data["logger"] == "bot.send" and data["message"] == "sent"
    assert (data["section"], data["chat"], data["outcome"]) == ("news", 42, "sent")
    assert {"time"} <= data.keys()


def test_text_lines_are_readable_with_key_values(capsys: pytest.CaptureFixture[str]) -> None:
    logs.setup("text")
    logs.event(logging.getLogger("bot.ingest"), "feed failed", logging.WARNING, section="news")
    [line] = lines(capsys)
    assert line.endswith("WARNING bot.ingest: feed failed section=news")


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_token_is_redacted_from_message_args_fields_and_tracebacks(
    log_format: str, capsys: pytest.CaptureFixture[str]
) -> None:
    logs.setup(log_format, logging.DEBUG, token=TOKEN)
    log = logging.getLogger("somelib")
    log.debug("POST https://api.telegram.org/bot%s/getMe", TOKEN)
    log.info("url-encoded: %s", TOKEN.replace(":", "%3A"))
    log.info("secret half alone: %s", TOKEN.partition(":")[2])
    logs.event(log, "with fields", url=f"https://x/bot{TOKEN}/sendMessage", chat=7)
    try:
        raise RuntimeError(f"request to /bot{TOKEN}/getUpdates failed")
    except RuntimeError:
        log.exception("boom")
    out = "\n".join(lines(capsys))
    assert TOKEN.partition(":")[2] not in out
    assert out.count("<token>") == 5
    assert "chat=7" in out or '"chat": 7' in out  # numbers stay numbers
    assert "RuntimeError: request to /bot<token>/getUpdates failed" in out.replace("\\n", "\n")


async def test_running_bot_at_debug_never_logs_the_token(
    botapi: BotApiDouble, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    logs.setup("json", logging.DEBUG, token=botapi.token)
    for name in NOISY:  # worst case: every library at DEBUG, URLs and all
        logging.getLogger(name).setLevel(logging.DEBUG)
    async with run_bot(settings_for(botapi, None, tmp_path)):
        botapi.inject_message(77, "/start")
        await botapi.wait_for("sendMessage", lambda c: c.chat_id == 77)
    out = lines(capsys)
    assert len(out) > 20, out
    for line in out:
        json.loads(line)  # every line is one JSON object
    text = "\n".join(out)
    assert "/bot<token>/sendMessage" in text  # httpx did log the URL, redacted
    assert botapi.token.partition(":")[2] not in text

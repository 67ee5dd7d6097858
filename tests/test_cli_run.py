"""`newsbot run` that cannot start says why in one line, without a traceback or the token."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from pathlib import Path

from tests.doubles.botapi import BotApiDouble


async def _run(env: dict[str, str], tmp_path: Path) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        env={**os.environ, "NEWSBOT_DATABASE": str(tmp_path / "bot.db"), **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        _, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    finally:
        if proc.returncode is None:
            proc.kill()
    assert proc.returncode is not None
    return proc.returncode, err.decode()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_unreachable_bot_api_is_one_clear_line(tmp_path: Path) -> None:
    token = "123456:unreachable-secret"
    base = f"http://127.0.0.1:{_closed_port()}/bot"
    code, err = await _run({"TELEGRAM_BOT_TOKEN": token, "TELEGRAM_BASE_URL": base}, tmp_path)
    assert code == 1
    assert f"newsbot: cannot reach the Bot API at {base}" in err
    assert "Traceback" not in err
    assert "unreachable-secret" not in err


async def test_rejected_token_says_so(botapi: BotApiDouble, tmp_path: Path) -> None:
    env = {"TELEGRAM_BOT_TOKEN": "999:not-the-right-token", "TELEGRAM_BASE_URL": botapi.base_url}
    code, err = await _run(env, tmp_path)
    assert code == 1
    assert "the Bot API rejected TELEGRAM_BOT_TOKEN" in err
    assert "Traceback" not in err
    assert "not-the-right-token" not in err

"""End-to-end smoke: `newsbot run` as a real process against the doubles, and the CLI's messages."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from bot import cli
from tests.doubles.botapi import BotApiDouble
from tests.doubles.site import SiteDouble
from tests.harness import env_for

REPO = Path(__file__).resolve().parent.parent
NEWSBOT = Path(sys.executable).with_name("newsbot")


def clean_env(extra: dict[str, str]) -> dict[str, str]:
    """The test's environment without any bot settings of the developer's, plus `extra`."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TELEGRAM_", "NEWSBOT_", "PYTEST_", "COV_"))
    }
    return {**env, **extra}


async def start_bot(env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        env=clean_env(env),
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def stop(process: asyncio.subprocess.Process, within: float = 10) -> tuple[int, str]:
    """SIGTERM, then the exit code and everything the process printed."""
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
    try:
        out, err = await asyncio.wait_for(process.communicate(), within)
    except TimeoutError:
        process.kill()
        out, err = await process.communicate()
        pytest.fail(f"newsbot did not exit within {within}s of SIGTERM:\n{err.decode()}")
    assert process.returncode is not None
    return process.returncode, out.decode() + err.decode()


async def test_run_answers_start_and_stops_cleanly_on_sigterm(
    botapi: BotApiDouble, site: SiteDouble, tmp_path: Path
) -> None:
    # One transient failure of the long poll exercises PTB's error logging too.
    botapi.fail("getUpdates", 502, "Bad Gateway", times=1)
    process = await start_bot(env_for(botapi, site, tmp_path))
    try:
        await botapi.wait_for("setMyCommands", timeout=30)
        botapi.inject_message(4242, "/start")
        (reply,) = await botapi.wait_for(
            "sendMessage", lambda c: c.chat_id == 4242 and c.ok, timeout=20
        )
        # The ingest loop reads the site double too (both doubles, as in production).
        await botapi.wait_until(lambda: bool(site.requests), timeout=30)
    finally:
        code, output = await stop(process)
    assert reply.params.get("parse_mode") == "HTML"
    assert any("/feed/" in r.path for r in site.requests)
    assert code == 0, output
    assert botapi.token not in output
    assert botapi.token.split(":", 1)[1] not in output
    assert botapi.pending_updates == []  # the /start update was confirmed before exiting


async def test_second_instance_on_same_database_is_refused(
    botapi: BotApiDouble, tmp_path: Path
) -> None:
    env = env_for(botapi, None, tmp_path)
    first = await start_bot(env)
    try:
        await botapi.wait_polling(timeout=30)
        second = await start_bot(env)
        try:
            out, err = await asyncio.wait_for(second.communicate(), 30)
        except TimeoutError:
            second.kill()  # never leave a second bot running behind the test
            await second.communicate()
            pytest.fail("the second instance did not exit within 30 s")
        assert second.returncode not in (0, None)
        assert "already running" in err.decode()
        assert botapi.token not in out.decode() + err.decode()
        assert first.returncode is None  # the first one keeps running
    finally:
        code, output = await stop(first)
    assert code == 0, output


def test_console_script_help() -> None:
    command = [str(NEWSBOT)] if NEWSBOT.exists() else [sys.executable, "-m", "bot"]
    done = subprocess.run(
        [*command, "--help"], capture_output=True, text=True, env=clean_env({}), timeout=60
    )
    assert done.returncode == 0
    for word in ("run", "sections", "check"):
        assert word in done.stdout


def test_sections_lists_catalogue_with_feed_urls(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("NEWSBOT_SITE_URL", "http://127.0.0.1:9")
    assert cli.main(["sections"]) == 0
    out = capsys.readouterr().out
    assert "COP29 [cop29]" in out
    assert "http://127.0.0.1:9/category/karabakh/feed/" in out
    assert out.index("News [news]") < out.index("Economy [economy]")


def test_run_without_token_says_how_to_get_one(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    monkeypatch.setenv("NEWSBOT_DATABASE", str(tmp_path / "bot.db"))
    assert cli.main(["run"]) == 2
    err = capsys.readouterr().err
    assert "TELEGRAM_BOT_TOKEN" in err
    assert "@BotFather" in err
    assert not (tmp_path / "bot.db").exists()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("NEWSBOT_POLL_INTERVAL", "soon"),
        ("NEWSBOT_POLL_INTERVAL", "0.5"),
        ("TELEGRAM_BASE_URL", "api.telegram.org/bot"),
        ("NEWSBOT_SITE_URL", "ftp://aze.media"),
    ],
)
def test_bad_setting_names_variable_and_value(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    name: str,
    value: str,
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "1:x")
    monkeypatch.setenv("NEWSBOT_DATABASE", str(tmp_path / "bot.db"))
    monkeypatch.setenv(name, value)
    assert cli.main(["run"]) == 2
    err = capsys.readouterr().err
    assert name in err
    assert repr(value) in err
    assert "1:x" not in err

"""Following the README on a fresh clone: each stumble of a first run says what is wrong."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from bot import check, cli, config, sections
from bot.config import ConfigError
from storage import db
from tests.doubles.botapi import BotApiDouble
from tests.doubles.site import SiteDouble
from tests.harness import DEAD_SITE_URL, env_for

README = Path(__file__).resolve().parent.parent / "README.md"


def files_in(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def content(path: Path) -> bytes:
    return path.read_bytes()


async def newsbot(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    """The console entry point in a child process: (exit code, stdout, stderr)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    finally:
        if proc.returncode is None:
            proc.kill()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


# --- an empty or invalid sections file ------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "has no [[section]] tables"),  # what a failed `--discover > sections.toml` leaves
        ("# sections\nmode = 'replace'\n", "has no [[section]] tables"),
        ("[[section]]\nname = 'No slug'\n", "needs a slug"),
        ("[[section\n", "Expected"),
        ("[[section]]\nslug = 'a'\norder = 'first'\n", "order must be a whole number"),
    ],
)
def test_an_empty_or_invalid_sections_file_is_an_error_naming_it(
    tmp_path: Path, text: str, says: str
) -> None:
    path = tmp_path / "sections.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        sections.load("https://aze.media", path)
    assert f"NEWSBOT_SECTIONS_FILE {str(path)!r}" in str(raised.value)
    assert says in str(raised.value)


def newsbot_here(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], env: dict[str, str]
) -> Callable[..., tuple[int, str, str]]:
    """The console entry point in this process (fast): args -> (exit code, stdout, stderr)."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    def run(*args: str) -> tuple[int, str, str]:
        code = cli.main(list(args))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def test_sections_check_and_run_refuse_an_empty_sections_file(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    empty = tmp_path / "sections.toml"
    empty.write_text("", encoding="utf-8")
    env = {
        **env_for(None, None, tmp_path),
        "NEWSBOT_SECTIONS_FILE": str(empty),
        "TELEGRAM_BOT_TOKEN": "123456:secret-of-the-bot",
    }
    newsbot = newsbot_here(monkeypatch, capsys, env)
    named = f"NEWSBOT_SECTIONS_FILE {str(empty)!r} has no [[section]] tables"

    code, out, err = newsbot("sections")
    assert (code, out) == (2, "") and named in err

    code, out, _ = newsbot("check")
    assert code == 1 and out.splitlines()[0].startswith(f"ERROR config: {named}")
    assert "0 sections" not in out

    # Said before any network round trip: the Bot API in env_for is a closed port.
    code, _, err = newsbot("run")
    assert code == 2 and named in err
    assert "cannot reach" not in err and "Traceback" not in err
    assert files_in(tmp_path) == ["sections.toml"]  # no database was created


# --- the README's promise of the start-up line ------------------------------------------------


async def test_the_readme_start_up_line_is_what_the_bot_logs(
    botapi: BotApiDouble, tmp_path: Path
) -> None:
    claims = re.findall(r"`(newsbot is running sections=\d+)`", README.read_text("utf-8"))
    assert claims, "the README quotes the start-up line"
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        env={**os.environ, **env_for(botapi, None, tmp_path)},  # the built-in catalogue
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stderr is not None
    try:
        async with asyncio.timeout(60):
            while b"newsbot is running" not in (line := await proc.stderr.readline()):
                assert line, "the bot exited before it was running"
    finally:
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), 30)
    logged = line.decode().strip()
    assert logged.endswith(f"newsbot is running sections={len(sections.builtin(''))}")
    for claim in claims:
        assert logged.endswith(claim)


# --- `newsbot check` after failed polls; read-only --------------------------------------------


def test_check_after_failed_polls_lists_each_failing_feed_once(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    env = {**env_for(None, None, tmp_path), "TELEGRAM_BOT_TOKEN": "123456:secret-of-the-bot"}
    newsbot = newsbot_here(monkeypatch, capsys, env)  # the site and the Bot API are down
    code, out, _ = newsbot("poll", "--once")
    # The site-wide feed is asked first; a site that does not answer is one failure, not 15.
    assert code == 1 and out.count("FAILED\t") == 1 and "FAILED\tsite\t" in out
    code, out, _ = newsbot("check")
    assert code == 1
    errors = [line for line in out.splitlines() if line.startswith("ERROR")]
    # 15 section feeds, the site-wide feed (its poll history on the same line), the REST API
    # and the Bot API: every URL once.
    assert len(errors) == 18, out
    (site_line,) = [line for line in errors if "/feed/:" in line and "category" not in line]
    assert site_line.startswith("ERROR site feed: ") and "poll loop: 1 failure(s)" in site_line
    feed_lines = sorted(line.split(":")[0] for line in errors if line.startswith("ERROR feed "))
    assert feed_lines == sorted(f"ERROR feed {slug}" for slug, *_ in sections.AZE_MEDIA)
    for section in sections.builtin(DEAD_SITE_URL):
        (line,) = [line for line in out.splitlines() if section.feeds[0] in line]
        # The live fetch and what the poll loop saw, in one line.
        assert line.startswith(f"ERROR feed {section.slug}: {section.feeds[0]}: ")
    assert "18 of 21 checks failed" in out


async def test_check_never_creates_the_database_and_says_so(
    botapi: BotApiDouble, site: SiteDouble, tmp_path: Path
) -> None:
    env = env_for(botapi, site, tmp_path)
    path = Path(env["NEWSBOT_DATABASE"])
    checks = {c.name: c for c in await check.run_checks(env)}
    assert checks["database"].ok
    assert checks["database"].detail == (
        f"{path} does not exist yet; `newsbot run` or `newsbot poll --once` creates it"
    )
    assert files_in(tmp_path) == []


async def test_check_reads_an_old_database_without_migrating_it(
    botapi: BotApiDouble, site: SiteDouble, tmp_path: Path
) -> None:
    env = env_for(botapi, site, tmp_path)
    path = Path(env["NEWSBOT_DATABASE"])
    (version, first), *_ = db.migrations()
    with sqlite3.connect(path) as old:  # a database from the first release
        old.executescript(
            "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at INTEGER);"
            f"{first}\nINSERT INTO schema_version VALUES ({version}, 0);"
        )
    old.close()
    before = content(path)
    checks = {c.name: c for c in await check.run_checks(env)}
    assert checks["database"].ok
    assert checks["database"].detail == (
        f"schema version {version} ({path}); `newsbot run` will migrate it to {db.latest_version()}"
    )
    assert content(path) == before
    conn = await db.connect_read_only(path)
    try:
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            await conn.execute("DELETE FROM chats")
    finally:
        await conn.close()


# --- the token's shape, the webhook's scheme ----------------------------------------------------


async def test_a_malformed_token_is_reported_as_malformed_without_asking_telegram(
    botapi: BotApiDouble, tmp_path: Path
) -> None:
    env = {**env_for(botapi, None, tmp_path), "TELEGRAM_BOT_TOKEN": "notatoken"}
    checks = {c.name: c for c in await check.run_checks(env)}
    assert not checks["bot api"].ok
    assert checks["bot api"].detail.startswith("TELEGRAM_BOT_TOKEN is malformed")
    assert "@BotFather" in checks["bot api"].detail
    assert botapi.calls == []


def test_run_with_a_malformed_token_says_so_without_a_network_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    env = {**env_for(None, None, tmp_path), "TELEGRAM_BOT_TOKEN": "notatoken"}
    code, _, err = newsbot_here(monkeypatch, capsys, env)("run")
    assert code == 2
    assert "TELEGRAM_BOT_TOKEN is malformed" in err and "cannot reach" not in err
    assert "notatoken" not in err


@pytest.mark.parametrize(
    "token", ["notatoken", "123456", ":abc", "abc:def", "123:", "123:abc def", "123:ab/c"]
)
def test_token_shapes_that_cannot_be_a_bot_token(token: str) -> None:
    with pytest.raises(ConfigError, match="malformed"):
        config.load({"TELEGRAM_BOT_TOKEN": token}).require_token()


def test_a_real_looking_token_passes_the_shape_check() -> None:
    token = "7012345678:AAFakeTokenForTests-doNotLeakMe_0123456789"
    assert config.load({"TELEGRAM_BOT_TOKEN": token}).require_token() == token


def test_a_plain_http_webhook_is_refused_for_telegrams_servers() -> None:
    with pytest.raises(ConfigError, match="NEWSBOT_WEBHOOK_URL must be an https:// URL") as e:
        config.load({"NEWSBOT_WEBHOOK_URL": "http://bot.example.org/hook"})
    assert "HTTPS only" in str(e.value) and "local Bot API server" in str(e.value)
    explicit = {"TELEGRAM_BASE_URL": "https://api.telegram.org/bot"}
    with pytest.raises(ConfigError, match="https://"):
        config.load({**explicit, "NEWSBOT_WEBHOOK_URL": "http://bot.example.org/hook"})
    secure = config.load({"NEWSBOT_WEBHOOK_URL": "https://bot.example.org/hook"})
    assert secure.webhook_url == "https://bot.example.org/hook"


def test_a_local_bot_api_server_may_deliver_webhooks_over_plain_http() -> None:
    local = config.load(
        {
            "TELEGRAM_BASE_URL": "http://127.0.0.1:8081/bot",
            "NEWSBOT_WEBHOOK_URL": "http://127.0.0.1:8443/hook",
        }
    )
    assert local.webhook_url == "http://127.0.0.1:8443/hook"

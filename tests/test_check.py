"""`newsbot check` against the doubles: every line clear, exit 0 only when all pass."""

from __future__ import annotations

import io
import re
import time
from pathlib import Path

import pytest

from bot import check, cli, logs
from bot.domain import FetchResult, Section
from storage import db, websub
from tests.doubles.botapi import BotApiDouble
from tests.doubles.site import SiteDouble
from tests.harness import DEAD_SITE_URL, env_for


def run(checks: list[check.Check]) -> tuple[int, str]:
    out = io.StringIO()
    code = check.report(checks, out)
    return code, out.getvalue()


async def test_everything_passes_against_the_doubles(
    botapi: BotApiDouble, site: SiteDouble, tmp_path: Path
) -> None:
    code, out = run(await check.run_checks(env_for(botapi, site, tmp_path)))
    assert code == 0, out
    assert f"OK    bot api: @{botapi.username} (id {botapi.bot_id})" in out
    assert "OK    database: " in out and "does not exist yet" in out  # check creates nothing
    assert f"OK    feed karabakh: {site.url}/category/karabakh/feed/" in out
    assert out.count("\nOK    feed ") == 15
    assert f"OK    site feed: {site.url}/feed/: offered (HTTP 200)" in out
    assert f"OK    site rest api: {site.url}/wp-json/wp/v2/posts?per_page=1: offered" in out
    assert "OK    websub: off: set NEWSBOT_METRICS_PORT" in out
    assert out.rstrip().endswith("checks passed")
    assert botapi.token not in out
    assert [c.method for c in botapi.calls] == ["getMe"]


async def test_rejected_token_is_named_and_never_printed(
    botapi: BotApiDouble, site: SiteDouble, tmp_path: Path
) -> None:
    wrong = "7012345678:AAwrongwrongwrongwrongwrongwrong"
    env = {**env_for(botapi, site, tmp_path), "TELEGRAM_BOT_TOKEN": wrong}
    code, out = run(await check.run_checks(env))
    assert code == 1
    assert "ERROR bot api: the token was rejected (401 Unauthorized)" in out
    assert "TELEGRAM_BOT_TOKEN" in out
    assert "AAwrong" not in out
    assert "1 of 21 checks failed" in out


async def test_missing_token_and_dead_site_each_fail_their_line(
    botapi: BotApiDouble, tmp_path: Path
) -> None:
    env = env_for(botapi, None, tmp_path)
    del env["TELEGRAM_BOT_TOKEN"]
    checks = await check.run_checks(env)
    by_name = {c.name: c for c in checks}
    assert by_name["config"].ok and by_name["database"].ok
    assert not by_name["bot api"].ok and "@BotFather" in by_name["bot api"].detail
    feeds = [c for c in checks if c.name.startswith("feed ")]
    assert len(feeds) == 15 and not any(c.ok for c in feeds)
    assert DEAD_SITE_URL in feeds[0].detail
    assert run(checks)[0] == 1


async def test_unreachable_bot_api(tmp_path: Path, site: SiteDouble) -> None:
    env = {
        **env_for(None, site, tmp_path),
        "TELEGRAM_BOT_TOKEN": "1234:secretsecretsecret",
        "TELEGRAM_BASE_URL": "http://127.0.0.1:9/bot",
    }
    checks = await check.run_checks(env)
    (api,) = [c for c in checks if c.name == "bot api"]
    assert not api.ok
    assert api.detail.startswith("cannot reach http://127.0.0.1:9/bot: ConnectError")
    assert "secretsecret" not in api.line()


@pytest.mark.parametrize("fault", ["500", "html", "404"])
async def test_broken_feed_fails_only_its_section(
    botapi: BotApiDouble, site: SiteDouble, tmp_path: Path, fault: str
) -> None:
    site.fault("culture", fault)
    checks = await check.run_checks(env_for(botapi, site, tmp_path))
    failed = [c for c in checks if not c.ok]
    assert [c.name for c in failed] == ["feed culture"]
    assert failed[0].detail.startswith(f"{site.url}/category/culture/feed/")
    assert {"500": "HTTP 500", "404": "HTTP 404", "html": "not RSS/Atom"}[fault] in failed[0].detail


async def test_bad_config_stops_at_the_first_line(tmp_path: Path) -> None:
    env = {"NEWSBOT_POLL_INTERVAL": "often", "NEWSBOT_DATABASE": str(tmp_path / "x.db")}
    code, out = run(await check.run_checks(env))
    assert code == 1
    assert (
        out.splitlines()[0] == "ERROR config: NEWSBOT_POLL_INTERVAL must be a number, got 'often'"
    )
    assert not (tmp_path / "x.db").exists()


async def test_database_from_the_future_is_reported(
    botapi: BotApiDouble, site: SiteDouble, tmp_path: Path
) -> None:
    env = env_for(botapi, site, tmp_path)
    conn = await db.connect(env["NEWSBOT_DATABASE"])
    await conn.execute("INSERT INTO schema_version VALUES (999, 0)")
    await conn.close()
    checks = await check.run_checks(env)
    (database,) = [c for c in checks if c.name == "database"]
    assert not database.ok and "999" in database.detail


def test_cli_check_exit_codes(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("NEWSBOT_DATABASE", str(tmp_path / "bot.db"))
    monkeypatch.setenv("NEWSBOT_SITE_URL", DEAD_SITE_URL)
    monkeypatch.setenv("TELEGRAM_BASE_URL", "http://127.0.0.1:9/bot")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "1:abc")
    assert cli.main(["check"]) == 1
    out = capsys.readouterr().out
    assert "ERROR bot api: cannot reach" in out
    assert "1:abc" not in out


def test_verdicts_explain_wrong_base_url_and_non_feeds() -> None:
    verdict = check.bot_api_verdict("http://example.test/bot", 200, None)
    assert not verdict.ok and "TELEGRAM_BASE_URL" in verdict.detail
    missing = check.bot_api_verdict("http://x/bot", 404, {"ok": False, "description": "Not Found"})
    assert not missing.ok and "token was rejected (404 Not Found)" in missing.detail
    section = Section("news", "News", ("http://site/category/news/feed/",))
    page = FetchResult(
        "http://site/category/news/feed/", 200, b"<!doctype html><html>", "text/html"
    )
    assert "not RSS/Atom (text/html)" in check.feed_verdict(section, page).detail
    atom = FetchResult("u", 200, b'<?xml version="1.0"?>\n<feed xmlns="x">')
    assert check.feed_verdict(section, atom).ok
    assert logs.redact("GET /bot1:abcdefghij/getMe", "1:abcdefghij") == "GET /bot<token>/getMe"


async def test_a_site_without_site_wide_feed_or_rest_api_still_passes_and_says_so(
    botapi: BotApiDouble, site: SiteDouble, tmp_path: Path
) -> None:
    site.fault("/feed/", "404")
    site.fault("/wp-json/wp/v2/posts", "html")
    checks = {c.name: c for c in await check.run_checks(env_for(botapi, site, tmp_path))}
    assert checks["site feed"].ok and "not offered (HTTP 404)" in checks["site feed"].detail
    rest = checks["site rest api"]
    assert rest.ok and "not offered (HTTP 200, not a list of posts)" in rest.detail
    assert "Open Graph" in rest.detail


async def test_unreachable_site_fails_the_site_lines(botapi: BotApiDouble, tmp_path: Path) -> None:
    checks = {c.name: c for c in await check.run_checks(env_for(botapi, None, tmp_path))}
    assert not checks["site feed"].ok and DEAD_SITE_URL in checks["site feed"].detail
    assert not checks["site rest api"].ok


async def test_websub_line_tells_when_the_last_ping_came_and_the_last_refusal(
    botapi: BotApiDouble, site: SiteDouble, tmp_path: Path
) -> None:
    env = {**env_for(botapi, site, tmp_path), "NEWSBOT_METRICS_PORT": "8080"}
    (line,) = [c for c in await check.run_checks(env) if c.name == "websub"]
    assert (
        line.ok and line.detail == "pings taken at :8080/websub; none received yet (README: WebSub)"
    )
    conn = await db.connect(env["NEWSBOT_DATABASE"])
    now = int(time.time())
    await websub.record(conn, "accepted", now - 180, 2, "2 topic(s)")
    await websub.record(conn, "accepted", now - 120, 1, "6 topic(s)")
    await websub.record(conn, "rejected", now - 30, 1, "no hub.url on aze.media; ignored")
    await conn.close()
    (line,) = [c for c in await check.run_checks(env) if c.name == "websub"]
    assert line.ok
    assert line.detail.startswith("pings taken at :8080/websub; last ping 2 min ago (3 in all)")
    # The check reads its own clock: a slow machine may make it a few seconds later.
    assert re.search(r"; last refused 3\d s ago: no hub.url on aze.media; ignored$", line.detail)

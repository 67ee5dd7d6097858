"""`newsbot poll --once` and `newsbot sections --discover`, run as the operator runs them."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tomllib
from pathlib import Path

from bot import config
from bot import sections as catalogue
from storage import articles, db
from tests.doubles.site import SiteDouble
from tests.harness import env_for


async def newsbot(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run the console entry point in a child process (it has its own event loop)."""
    full = {**os.environ, **env}
    full.pop("TELEGRAM_BOT_TOKEN", None)  # both commands must work without a token
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "bot", *args],
        env=full,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_poll_once_prints_new_articles_and_failing_feeds(
    site: SiteDouble, tmp_path: Path
) -> None:
    env = env_for(None, site, tmp_path)
    first = await newsbot(env, "poll", "--once")
    assert first.returncode == 0, first.stderr
    conn = await db.connect(Path(env["NEWSBOT_DATABASE"]))
    try:
        backlog = await articles.count(conn)
    finally:
        await conn.close()
    assert backlog > 1
    # A fresh database announces nothing from the backlog, but says it recorded it.
    assert first.stdout == (
        f"recorded {backlog} existing articles as already published (not pushed)\n"
    )

    post = site.add_post("Bakı–Tbilisi–Qars: first container train of the year", ["economy"])
    site.fault("defense", "500")
    second = await newsbot(env, "poll", "--once")
    assert second.returncode == 1
    lines = second.stdout.splitlines()
    assert f"news,economy\t{post.title}\t{site.link(post)}" in lines
    failing = [line for line in lines if line.startswith("FAILED\t")]
    assert failing == [f"FAILED\tdefense\t{site.feed_url('defense')}\tHTTP 500"]

    site.clear_faults()
    third = await newsbot(env, "poll", "--once")
    assert third.returncode == 0, third.stdout
    assert post.title not in third.stdout


async def test_sections_discover_prints_a_loadable_catalogue(
    site: SiteDouble, tmp_path: Path
) -> None:
    result = await newsbot(env_for(None, site, tmp_path), "sections", "--discover")
    assert result.returncode == 0, result.stderr
    path = tmp_path / "sections.toml"
    path.write_text(result.stdout, encoding="utf-8")
    loaded = catalogue.load(site.url, path)
    by_slug = {s.slug: s for s in loaded}
    for slug in ("cop29", "opinion", "news", "economy", "energy", "karabakh"):
        assert slug in by_slug
    assert by_slug["economy"].parent == "news"
    assert by_slug["energy"].feeds == (f"{site.url}/category/energy/feed/",)
    assert by_slug["climate-and-ecology"].name == "Climate and Ecology"
    assert by_slug["uncategorized"].hidden and not by_slug["opinion"].hidden
    data = tomllib.loads(result.stdout)
    assert data["mode"] == "replace"
    # The result configures the bot as-is.
    settings = config.load({**env_for(None, site, tmp_path), "NEWSBOT_SECTIONS_FILE": str(path)})
    assert settings.sections_file == path


async def test_sections_discover_many_pages(site: SiteDouble, tmp_path: Path) -> None:
    for i in range(120):
        site.add_category(f"extra-{i}", f"Extra {i}", parent="news")
    result = await newsbot(env_for(None, site, tmp_path), "sections", "--discover")
    assert result.returncode == 0, result.stderr
    data = tomllib.loads(result.stdout)
    assert len(data["section"]) == len(site.categories)


async def test_sections_discover_without_rest_api_is_a_clear_error(
    site: SiteDouble, tmp_path: Path
) -> None:
    site.fault("/wp-json/wp/v2/categories", "html")
    result = await newsbot(env_for(None, site, tmp_path), "sections", "--discover")
    assert result.returncode == 1
    assert "REST API" in result.stderr and "NEWSBOT_SECTIONS_FILE" in result.stderr
    assert result.stdout == ""


async def test_check_shows_each_feeds_poll_health(site: SiteDouble, tmp_path: Path) -> None:
    from bot import check

    env = env_for(None, site, tmp_path)
    site.fault("gender", "malformed")
    assert (await newsbot(env, "poll", "--once")).returncode == 1
    site.clear_faults()
    checks = {c.name: c for c in await check.run_checks(env)}
    assert not checks["feed gender"].ok
    assert "1 failure(s) in a row, last error: malformed feed" in checks["feed gender"].detail
    assert checks["feed opinion"].ok and "last success" in checks["feed opinion"].detail

"""Sections fed by the WordPress REST API, end to end against the news-site double."""

from __future__ import annotations

import tomllib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiosqlite
import httpx
import pytest
from aiohttp import web

from bot import check, sections
from bot.decide import Decider, PollReport
from bot.domain import Section
from bot.fetch import Fetcher
from bot.ingest import Pipeline
from storage import articles, db
from storage import sections as stored_sections
from tests.doubles.site import SiteDouble
from tests.harness import env_for
from tests.test_ingest_cli import newsbot
from tests.test_ingest_e2e import Clock

ECONOMY, NEWS = 7, 2  # category ids in tests/fixtures/site/categories.json


def rest_url(site_url: str, *ids: int) -> str:
    joined = ",".join(str(i) for i in ids)
    return f"{site_url}/wp-json/wp/v2/posts?categories={joined}&_embed&per_page=20"


def sections_file(tmp_path: Path, feeds: dict[str, str]) -> tuple[Section, ...]:
    """Write a sections file and load it as the bot does (TOML, catalogue.load)."""
    parts = ['mode = "replace"']
    for slug, url in feeds.items():
        parts.append(f'[[section]]\nslug = "{slug}"\nname = "{slug.title()}"\nfeeds = ["{url}"]')
    path = tmp_path / "sections.toml"
    path.write_text("\n\n".join(parts) + "\n", encoding="utf-8")
    return sections.load("http://unused.invalid", path)


@dataclass
class Rig:
    conn: aiosqlite.Connection
    fetcher: Fetcher

    async def poll(self, catalogue: tuple[Section, ...]) -> PollReport:
        await stored_sections.sync(self.conn, catalogue)
        pipeline = Pipeline(self.conn, catalogue, self.fetcher, Decider(60.0), Clock())
        return await pipeline.poll_once(force=True)


@pytest.fixture
async def rig(site: SiteDouble, tmp_path: Path) -> AsyncIterator[Rig]:
    conn = await db.connect(tmp_path / "newsbot.db")
    fetcher = Fetcher(site.url, connect_timeout=0.5, read_timeout=0.5)
    try:
        yield Rig(conn, fetcher)
    finally:
        await fetcher.aclose()
        await conn.close()


async def test_rest_section_records_backlog_then_yields_only_the_new_post(
    rig: Rig, site: SiteDouble, tmp_path: Path
) -> None:
    catalogue = sections_file(tmp_path, {"economy": rest_url(site.url, ECONOMY)})
    first = await rig.poll(catalogue)
    assert [f.status for f in first.feeds] == ["fetched"]
    backlog = [p for p in site.posts.values() if "economy" in p.categories]
    assert first.backlog == len(backlog) > 0
    assert first.new == () and first.handed_over == ()

    post = site.add_post(
        "Ələt free zone signs “first” tenants &amp; a port deal",
        ["economy"],
        author="Leyla Məmmədova",
        image="/wp-content/uploads/2025/05/alat-free-zone.jpg",
        caption="Photo: AZERTAC",
        caption_first=True,
    )
    second = await rig.poll(catalogue)
    (article,) = second.new
    assert second.handed_over == second.new
    assert article.key == f"wp:{post.id}"
    assert article.url == site.link(post)
    assert article.title == "Ələt free zone signs “first” tenants & a port deal"
    assert article.summary.startswith(article.title + ".")
    assert "Photo" not in article.summary and "<" not in article.summary
    assert not article.summary.endswith(("[…]", "[...]", "&hellip;"))
    assert 200 <= len(article.summary) <= 400
    assert article.author == "Leyla Məmmədova"
    assert article.image_url == f"{site.url}/wp-content/uploads/2025/05/alat-free-zone.jpg"
    assert article.sections == ("economy",)
    assert article.published is not None
    assert article.published.replace(tzinfo=None) == post.published.replace(tzinfo=None)
    # Author and image came from `_embedded`: no article page was needed.
    assert site.hits(f"/{post.slug}/") == 0
    assert all("_embed" in r.path for r in site.requests_to("/wp-json/wp/v2/posts"))

    third = await rig.poll(catalogue)
    assert third.new == () and third.updated == 0
    assert await articles.count(rig.conn) == len(backlog) + 1


async def test_post_seen_in_rss_and_rest_is_one_article_with_both_sections(
    rig: Rig, site: SiteDouble, tmp_path: Path
) -> None:
    catalogue = sections_file(
        tmp_path,
        {"news": f"{site.url}/category/news/feed/", "economy": rest_url(site.url, ECONOMY)},
    )
    await rig.poll(catalogue)
    before = await articles.count(rig.conn)
    # The news RSS feed lists its sub-categories' posts; the REST economy feed lists it too.
    post = site.add_post("Middle Corridor cargo doubles at Bakı port", ["economy"])
    report = await rig.poll(catalogue)
    (article,) = report.new
    assert article.key == f"wp:{post.id}"
    assert set(article.sections) == {"news", "economy"}
    assert await articles.count(rig.conn) == before + 1
    assert article.id is not None
    stored = await articles.get(rig.conn, article.id)
    assert stored is not None and set(stored.sections) == {"news", "economy"}
    # Summaries from either kind of feed agree, so alternating 200s are not "edits".
    assert (await rig.poll(catalogue)).updated == 0


async def test_rest_feed_with_validators_is_fetched_conditionally(
    rig: Rig, site: SiteDouble, tmp_path: Path
) -> None:
    # WordPress sends no validators for REST by default; a caching proxy in front of it does.
    seen: list[str | None] = []

    async def proxy(request: web.Request) -> web.Response:
        seen.append(request.headers.get("If-None-Match"))
        async with httpx.AsyncClient() as client:
            upstream = await client.get(site.url + request.path_qs)
        etag = f'"{hash(upstream.content) & 0xFFFFFFFF:x}"'
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        return web.Response(
            body=upstream.content,
            headers={"ETag": etag, "Content-Type": "application/json; charset=UTF-8"},
        )

    app = web.Application()
    app.router.add_get("/wp-json/wp/v2/posts", proxy)
    runner = web.AppRunner(app)
    await runner.setup()
    tcp = web.TCPSite(runner, "127.0.0.1", 0)
    await tcp.start()
    try:
        port = runner.addresses[0][1]
        catalogue = sections_file(tmp_path, {"economy": rest_url(f"http://127.0.0.1:{port}", 7)})
        assert [f.status for f in (await rig.poll(catalogue)).feeds] == ["fetched"]
        assert [f.status for f in (await rig.poll(catalogue)).feeds] == ["not_modified"]
        post = site.add_post("Caspian shipping tariffs cut", ["economy"])
        report = await rig.poll(catalogue)
        assert [f.status for f in report.feeds] == ["fetched"]
        assert [a.key for a in report.new] == [f"wp:{post.id}"]
    finally:
        await runner.cleanup()
    assert seen[0] is None and seen[1] is not None and seen[2] == seen[1]


async def test_discover_rest_writes_a_sections_file_that_polls(
    site: SiteDouble, tmp_path: Path
) -> None:
    env = env_for(None, site, tmp_path)
    result = await newsbot(env, "sections", "--discover", "--rest")
    assert result.returncode == 0, result.stderr
    path = tmp_path / "sections.toml"
    path.write_text(result.stdout, encoding="utf-8")
    by_slug = {s.slug: s for s in sections.load(site.url, path)}
    assert by_slug["economy"].feeds == (rest_url(site.url, ECONOMY),)
    assert by_slug["economy"].parent == "news"
    # A parent's REST feed names its sub-categories too, as its RSS category feed lists them.
    assert by_slug["news"].feeds == (rest_url(site.url, NEWS, 7, 9, 11),)
    assert tomllib.loads(result.stdout)["mode"] == "replace"

    env["NEWSBOT_SECTIONS_FILE"] = str(path)
    first = await newsbot(env, "poll", "--once")
    assert first.returncode == 0, first.stdout + first.stderr
    assert first.stdout.startswith("recorded ")
    assert site.hits("/wp-json/wp/v2/posts") >= len(by_slug)
    assert not any(r.path.startswith("/category/") for r in site.requests)

    # `newsbot check` accepts a REST feed as a feed, and the poll left it healthy.
    checks = {c.name: c for c in await check.run_checks(env)}
    assert checks["feed economy"].ok and "REST" in checks["feed economy"].detail
    assert "poll loop: last success" in checks["feed economy"].detail

    post = site.add_post("Energy week: new solar park near Biləsuvar", ["energy"])
    second = await newsbot(env, "poll", "--once")
    assert second.returncode == 0, second.stdout + second.stderr
    (line,) = second.stdout.splitlines()
    names, title, link = line.split("\t")
    assert set(names.split(",")) == {"news", "energy"}
    assert (title, link) == (post.title, site.link(post))


async def test_rest_without_discover_is_refused(site: SiteDouble, tmp_path: Path) -> None:
    result = await newsbot(env_for(None, site, tmp_path), "sections", "--rest")
    assert result.returncode == 2 and "--discover" in result.stderr

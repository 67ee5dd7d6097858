"""The news-site double serves what WordPress serves, so ingest tests against it mean something."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import feedparser
import httpx
import pytest

from tests.doubles.site import SiteDouble


async def get(url: str, **kwargs: object) -> httpx.Response:
    async with httpx.AsyncClient(timeout=2.0) as client:
        return await client.get(url, **kwargs)  # type: ignore[arg-type]


async def test_category_feed_parses_like_wordpress(site: SiteDouble) -> None:
    response = await get(site.feed_url("opinion"))
    assert response.headers["content-type"] == "application/rss+xml; charset=UTF-8"
    feed = feedparser.parse(response.content)
    assert not feed.bozo
    assert feed.feed.title == "Opinion Archives - Aze.Media"
    assert feed.feed.language == "en-US"
    titles = [e.title for e in feed.entries]
    assert titles[0] == "The Caucasus in the crosshairs: India militarizes, China invests"
    assert len(titles) == 5
    newest = feed.entries[0]
    assert newest.author == "Nikola Mikovic"
    assert newest.id == f"{site.url}/?p=118524"
    assert newest.guidislink is False
    assert newest.link == f"{site.url}/2025/05/19/caucasus-in-the-crosshairs-india-china/"
    assert [t.term for t in newest.tags] == ["Opinion"]
    assert newest.summary.endswith(
        f'Akash [&#8230;]<p>The post <a href="{newest.link}">{newest.title}</a> appeared first on '
        f'<a href="{site.url}">Aze.Media</a>.</p>'
    )
    assert newest.content[0].value.startswith("<p>Two Asian giants")
    assert newest.media_content[0]["url"].endswith("/indiya-kitaj.jpg")


async def test_parent_feed_includes_subcategories_and_two_category_posts(
    site: SiteDouble,
) -> None:
    site.set_feed_size(50)
    news = feedparser.parse((await get(site.feed_url("news"))).content)
    ids = [e.id.rsplit("=", 1)[1] for e in news.entries]
    assert "118355" in ids  # only in Energy, a sub-category of News
    assert "118417" in ids  # in News and Economy: listed once
    assert len(ids) == len(set(ids))
    culture = feedparser.parse((await get(site.feed_url("culture"))).content)
    karabakh = feedparser.parse((await get(site.feed_url("karabakh"))).content)
    susa = [e for e in culture.entries if e.id.endswith("=118214")]
    assert susa and any(e.id.endswith("=118214") for e in karabakh.entries)
    assert susa[0].title == "Şuşa hosts Xarıbülbül music festival for the fourth time"
    assert [t.term for t in susa[0].tags] == ["Culture", "Karabakh"]
    assert susa[0].content[0].value.startswith('<figure class="wp-block-image')


async def test_feed_quirks_short_excerpt_entities_and_atom(site: SiteDouble) -> None:
    karabakh = feedparser.parse((await get(site.feed_url("karabakh"))).content)
    photo = next(e for e in karabakh.entries if e.id.endswith("=118330"))
    assert photo.summary.startswith("Photos.<p>The post")
    assert "content" not in photo
    logistics = (await get(site.feed_url("logistics-transport"))).text
    assert "<title>Alat free trade zone: ports &#038; logistics operators sign up</title>" in (
        logistics
    )
    atom = feedparser.parse((await get(site.feed_url("opinion", atom=True))).content)
    assert not atom.bozo and atom.version == "atom10"
    assert atom.entries[0].id == f"{site.url}/?p=118524"
    assert atom.entries[0].author == "Nikola Mikovic"


async def test_conditional_get_answers_304_until_a_post_is_added(site: SiteDouble) -> None:
    first = await get(site.feed_url("energy"))
    etag, last_modified = first.headers["etag"], first.headers["last-modified"]
    assert (await get(site.feed_url("energy"), headers={"If-None-Match": etag})).status_code == 304
    since = {"If-Modified-Since": last_modified}
    assert (await get(site.feed_url("energy"), headers=since)).status_code == 304
    assert site.not_modified_count == 2

    post = site.add_post("Shah Deniz output rises", ["energy"], author="Nikola Mikovic")
    again = await get(site.feed_url("news"), headers={"If-None-Match": etag})
    changed = await get(site.feed_url("energy"), headers={"If-None-Match": etag})
    assert again.status_code == changed.status_code == 200
    newest = feedparser.parse(changed.content).entries[0]
    assert newest.id == site.guid(post) and newest.title == "Shah Deniz output rises"
    assert feedparser.parse(again.content).entries[0].id == site.guid(post)
    assert site.hits("energy") == 4 and site.not_modified_count == 2


async def test_rest_categories_paginate_as_wordpress(site: SiteDouble) -> None:
    url = f"{site.url}/wp-json/wp/v2/categories"
    first = await get(url)
    assert first.headers["x-wp-total"] == "16" and first.headers["x-wp-totalpages"] == "2"
    second = await get(url, params={"page": 2})
    slugs = [c["slug"] for c in first.json() + second.json()]
    assert len(slugs) == 16 and "climate-and-ecology" in slugs
    economy = next(c for c in first.json() + second.json() if c["slug"] == "economy")
    assert economy["parent"] == 2 and economy["link"] == f"{site.url}/category/news/economy/"
    beyond = await get(url, params={"page": 3})
    assert beyond.status_code == 400
    assert beyond.json()["code"] == "rest_post_invalid_page_number"
    everything = await get(url, params={"per_page": 100})
    assert len(everything.json()) == 16
    assert (await get(url, params={"per_page": 101})).status_code == 400


async def test_rest_posts_filter_and_embed(site: SiteDouble) -> None:
    url = f"{site.url}/wp-json/wp/v2/posts"
    response = await get(url, params={"categories": 24, "_embed": 1, "per_page": 2})
    assert response.headers["x-wp-total"] == "4"
    post = response.json()[0]
    assert post["id"] == 118510 and post["categories"] == [24]
    assert post["date_gmt"] == "2025-05-19T10:15:00" and post["date"] == "2025-05-19T14:15:00"
    assert post["_embedded"]["author"][0]["name"] == "AzeMedia"
    with_image = (await get(f"{url}/118497", params={"_embed": 1})).json()
    assert with_image["_embedded"]["wp:featuredmedia"][0]["source_url"].endswith(".jpg")
    after = await get(url, params={"after": "2025-05-19T10:00:00Z"})
    assert [p["id"] for p in after.json()] == [118533, 118524, 118510]


async def test_article_page_has_open_graph(site: SiteDouble) -> None:
    page = (await get(site.link(118330))).text
    assert f'<link rel="canonical" href="{site.link(118330)}" />' in page
    assert '<meta property="og:title" content="Photo report: Victory Day in Xankəndi' in page
    assert '<meta property="og:image" content="' in page
    assert "By <a" in page and "Min Read" in page and "You Might Also Like" in page
    assert "Thousands of residents and guests gathered" in page
    guid = await get(site.guid(118330), follow_redirects=False)
    assert guid.status_code == 301 and guid.headers["location"] == site.link(118330)


@pytest.mark.parametrize(
    ("kind", "status", "content_type"),
    [
        ("500", 500, "text/html"),
        ("404", 404, "text/html"),
        ("html", 200, "text/html"),
        ("retry-after", 503, "text/html"),
        ("slow", 200, "application/rss+xml"),
    ],
)
async def test_simple_faults_then_heal(
    site: SiteDouble, kind: str, status: int, content_type: str
) -> None:
    site.slow_delay = 0.05
    site.fault("history", kind, times=1)
    faulty = await get(site.feed_url("history"))
    assert faulty.status_code == status
    assert faulty.headers["content-type"].startswith(content_type)
    if kind == "retry-after":
        assert faulty.headers["retry-after"] == "120"
    healed = await get(site.feed_url("history"))
    assert healed.status_code == 200 and feedparser.parse(healed.content).entries


async def test_malformed_and_redirect_loop(site: SiteDouble) -> None:
    site.fault("gender", "malformed")
    broken = feedparser.parse((await get(site.feed_url("gender"))).content)
    assert broken.bozo and not broken.entries
    site.fault("/feed/", "redirect-loop")
    with pytest.raises(httpx.TooManyRedirects):
        await get(site.feed_url(), follow_redirects=True)
    site.clear_faults()
    assert (await get(site.feed_url("gender"))).status_code == 200


async def test_huge_body_streams_past_any_cap(site: SiteDouble) -> None:
    site.fault("science", "huge")
    received = 0
    async with (
        httpx.AsyncClient(timeout=2.0) as client,
        client.stream("GET", site.feed_url("science")) as response,
    ):
        assert "content-length" not in response.headers
        async for chunk in response.aiter_bytes():
            received += len(chunk)
            if received > 5 * 1024 * 1024:
                break
    assert received > 5 * 1024 * 1024


async def test_timeout_hangs_until_stopped() -> None:
    site = SiteDouble()
    await site.start()
    site.fault("defense", "timeout")
    with pytest.raises(httpx.ReadTimeout):
        async with httpx.AsyncClient(timeout=0.2) as client:
            await client.get(site.feed_url("defense"))
    hanging = asyncio.create_task(get(site.feed_url("defense")))
    await asyncio.sleep(0.05)
    started = time.monotonic()
    await site.stop()
    assert time.monotonic() - started < 2
    hanging.cancel()
    await asyncio.gather(hanging, return_exceptions=True)


async def test_edit_and_remove_post(site: SiteDouble) -> None:
    site.edit_post(118524, title="The Caucasus in the crosshairs (updated)")
    entry = feedparser.parse((await get(site.feed_url("opinion"))).content).entries[0]
    assert entry.title == "The Caucasus in the crosshairs (updated)"
    site.remove_post(118524)
    entry = feedparser.parse((await get(site.feed_url("opinion"))).content).entries[0]
    assert entry.id.endswith("=118456")
    old = site.add_post("Backdated", "history", published=datetime(2020, 1, 1, tzinfo=UTC))
    history = feedparser.parse((await get(site.feed_url("history"))).content).entries
    assert history[-1].id == site.guid(old)


async def test_new_post_with_image_reaches_feed_rest_and_page(site: SiteDouble) -> None:
    post = site.add_post(
        "Xankəndi airport opens",
        ["karabakh", "logistics-transport"],
        image="/wp-content/uploads/2025/06/xankendi-airport.jpg",
        caption="The terminal. Photo: AzeMedia",
        caption_first=True,
    )
    entry = feedparser.parse((await get(site.feed_url("karabakh"))).content).entries[0]
    assert entry.id == site.guid(post) and entry.author == "AzeMedia"
    assert [t.term for t in entry.tags] == ["Karabakh", "Logistics-Transport"]
    assert (
        entry.media_content[0]["url"]
        == f"{site.url}/wp-content/uploads/2025/06/xankendi-airport.jpg"
    )
    assert entry.summary.startswith("The terminal. Photo: AzeMedia Xankəndi airport opens.")
    page = (await get(site.link(post))).text
    assert f'<meta property="og:image" content="{entry.media_content[0]["url"]}" />' in page
    image = await get(entry.media_content[0]["url"])
    assert image.headers["content-type"] == "image/png" and image.content.startswith(b"\x89PNG")
    since = {"If-Modified-Since": "Sun, 01 Jun 2025 00:00:00 -0000"}
    assert (await get(site.feed_url("karabakh"), headers=since)).status_code == 200

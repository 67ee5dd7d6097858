"""A local double of the Aze.Media WordPress site: feeds, REST API, article pages and faults.

    site = SiteDouble()
    await site.start()          # site.url == "http://127.0.0.1:PORT"
    post = site.add_post("Headline", ["energy"])
    site.fault("opinion", "500", times=2)
    site.hubs.append(bot_hub_url)        # as in Settings → WebSub of the WebSub plugin
    post = await site.publish("Headline", ["energy"])   # add_post + the plugin's hub ping
    ...
    await site.stop()

The posts start from tests/fixtures/site/ and live in memory; every request is recorded.
What is served is rendered by tests/doubles/site_render.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import re
import struct
import zlib
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from typing import Any, Literal, NamedTuple

import aiohttp
from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

from tests.doubles import site_render as render
from tests.doubles.site_render import Category, Image, Post, Site

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "site"
RSS_TYPE = "application/rss+xml; charset=UTF-8"
ATOM_TYPE = "application/atom+xml; charset=UTF-8"
HTML_TYPE = "text/html; charset=UTF-8"

FaultKind = Literal[
    "500", "404", "timeout", "malformed", "huge", "redirect-loop", "html", "retry-after", "slow"
]
FAULT_KINDS: tuple[str, ...] = FaultKind.__args__  # type: ignore[attr-defined]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Request(NamedTuple):
    """One recorded request. `path` includes the query string when there was one."""

    method: str
    path: str
    headers: CIMultiDictProxy[str]


@dataclass
class _Fault:
    target: str  # a path ("/feed/") or a category slug ("opinion": its RSS and Atom feeds)
    kind: str
    remaining: int | None  # None = until cleared


def load_categories(path: Path = FIXTURES / "categories.json") -> list[Category]:
    return [
        Category(c["id"], c["slug"], c["name"], c["parent"], c["description"])
        for c in json.loads(path.read_text(encoding="utf-8"))
    ]


def load_posts(path: Path = FIXTURES / "posts.json") -> list[Post]:
    posts = []
    for p in json.loads(path.read_text(encoding="utf-8")):
        published = datetime.fromisoformat(p["date"])
        image = p.get("image")
        posts.append(
            Post(
                id=p["id"],
                slug=p["slug"],
                title=p["title"],
                content=render.paragraphs_to_html(p["paragraphs"]),
                author=p["author"],
                published=published,
                modified=datetime.fromisoformat(p.get("modified", p["date"])),
                categories=tuple(p["categories"]),
                excerpt=p.get("excerpt"),
                image=Image(image["path"], image["caption"], image["width"], image["height"])
                if image
                else None,
                caption_first=p.get("caption_first", False),
                media=p.get("media", False),
                feed_content=p.get("feed_content", True),
                tags=tuple(p.get("tags", ())),
            )
        )
    return posts


def _tiny_png() -> bytes:
    """A valid 1x1 grey PNG, served for every upload so image URLs resolve."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\x80"))
        + chunk(b"IEND", b"")
    )


def _slugify(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:60] or "post"


class SiteDouble:
    """The news site: state (posts, categories, faults), the HTTP server and its request log."""

    def __init__(
        self,
        *,
        posts: Iterable[Post] | None = None,
        categories: Iterable[Category] | None = None,
        feed_size: int = 10,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.posts: dict[int, Post] = {p.id: p for p in (load_posts() if posts is None else posts)}
        self.categories: list[Category] = list(
            load_categories() if categories is None else categories
        )
        self.feed_size = feed_size
        self.clock = clock or (lambda: datetime.now(UTC).replace(microsecond=0))
        self.requests: list[Request] = []
        self.not_modified_count = 0
        self.cache_control: str | None = None  # e.g. "max-age=600" on feed responses
        self.retry_after = 120  # seconds, for the "retry-after" fault
        self.slow_delay = 0.5  # seconds, for the "slow" fault
        self.huge_size = 20 * 1024 * 1024  # bytes, for the "huge" fault
        self._faults: list[_Fault] = []
        # The WebSub plugin's "Hubs (one per line)" and what each publish ping got back.
        self.hubs: list[str] = []
        self.hub_answers: list[int] = []
        self.wp_version = "6.1.1"
        self._stopping = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port = 0

    # --- lifecycle ------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        app = web.Application(middlewares=[self._record, self._inject_faults])
        app.router.add_routes(
            [
                web.get("/", self._home),
                web.get("/feed/", self._main_feed),
                web.get("/feed/rss2/", self._main_feed),
                web.get("/feed/atom/", self._main_atom),
                web.get("/category/{path:.+}/feed/atom/", self._category_atom),
                web.get("/category/{path:.+}/feed/", self._category_feed),
                web.get("/category/{path:.+}/", self._category_page),
                web.get("/wp-json/", self._rest_index),
                web.get("/wp-json/wp/v2/categories", self._rest_categories),
                web.get(r"/wp-json/wp/v2/categories/{id:\d+}", self._rest_category),
                web.get("/wp-json/wp/v2/posts", self._rest_posts),
                web.get(r"/wp-json/wp/v2/posts/{id:\d+}", self._rest_post),
                web.get("/wp-json/{tail:.*}", self._rest_no_route),
                web.get("/wp-content/uploads/{tail:.+}", self._upload),
                web.get(r"/{y:\d{4}}/{m:\d{2}}/{d:\d{2}}/{slug}/", self._article),
                web.get("/{slug}/", self._article),
                web.get("/{tail:.*}", self._fallback),
            ]
        )
        self._stopping.clear()
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        tcp = web.TCPSite(self._runner, "127.0.0.1", 0)
        await tcp.start()
        self.port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        self._stopping.set()  # releases "timeout" handlers so shutdown does not wait on them
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> SiteDouble:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # --- content mutations ----------------------------------------------------------------

    def add_post(
        self,
        title: str,
        categories: Sequence[str] | str,
        *,
        content: str | Sequence[str] | None = None,
        excerpt: str | None = None,
        author: str = "AzeMedia",
        published: datetime | None = None,
        image: str | Image | None = None,
        caption: str = "",
        caption_first: bool = False,
        post_id: int | None = None,
        slug: str | None = None,
        media: bool | None = None,
        feed_content: bool = True,
        tags: Sequence[str] = (),
    ) -> Post:
        """Publish a post (default: now, newest id); it shows in its categories' and parents' feeds.

        `content` is HTML or a list of paragraphs (default: three generated paragraphs);
        `image` a URL or a path on this site ("/wp-content/uploads/..."); with an image the
        feed item carries <media:content> and <enclosure> unless `media=False`.
        """
        cats = (categories,) if isinstance(categories, str) else tuple(categories)
        unknown = [c for c in cats if self._category(c) is None]
        if unknown:
            raise ValueError(f"unknown categories: {unknown}")
        post_id = post_id if post_id is not None else max(self.posts, default=100) + 2
        when = (published or self.clock()).astimezone(UTC)
        post = Post(
            id=post_id,
            slug=slug or _slugify(title),
            title=title,
            content=self._content(title, content),
            author=author,
            published=when,
            modified=when,
            categories=cats,
            excerpt=excerpt,
            image=image if isinstance(image, Image) or image is None else Image(image, caption),
            caption_first=caption_first,
            media=image is not None if media is None else media,
            feed_content=feed_content,
            tags=tuple(tags),
        )
        self.posts[post_id] = post
        return post

    async def publish(self, title: str, categories: Sequence[str] | str, **kw: Any) -> Post:
        """add_post, then ping every hub as the "WebSub (FKA PubSubHubbub)" plugin does."""
        post = self.add_post(title, categories, **kw)
        await self.ping_hubs(post)
        return post

    def topics(self, post: Post) -> list[str]:
        """The feed URLs the plugin names for a post: main, category and author feeds, per type."""
        site = self._site()
        urls = []
        for kind in ("rss2", "atom"):
            tail = "feed/" if kind == "rss2" else "feed/atom/"
            urls.append(f"{self.url}/{tail}")
            urls += [site.category_link(c) + tail for c in post.categories]
            urls.append(f"{self.url}/author/{site.author_id(post.author)}/{tail}")
        return list(dict.fromkeys(urls))

    async def ping_hubs(self, post: Post, *, topics: Sequence[str] | None = None) -> list[int]:
        """POST `hub.mode=publish&hub.url=…` to each hub; the statuses (0: unreachable)."""
        form = [("hub.mode", "publish")] + [
            ("hub.url", url) for url in (self.topics(post) if topics is None else topics)
        ]
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": f"WordPress/{self.wp_version}; {self.url}; PubSubHubbub/WebSub",
        }
        statuses = []
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
            for hub in self.hubs:
                try:
                    async with session.post(hub, data=form, headers=headers) as response:
                        statuses.append(response.status)
                except aiohttp.ClientError:
                    statuses.append(0)  # WordPress logs the WP_Error and publishes anyway
        self.hub_answers += statuses
        return statuses

    def edit_post(self, post_id: int, **changes: Any) -> Post:
        """Change fields of a post (title, content, excerpt, categories, image, ...).

        `modified` moves to now, so feeds get a new lastBuildDate, ETag and Last-Modified.
        """
        post = self.posts[post_id]
        if "content" in changes:
            changes["content"] = self._content(post.title, changes["content"])
        if isinstance(changes.get("categories"), str):
            changes["categories"] = (changes["categories"],)
        elif "categories" in changes:
            changes["categories"] = tuple(changes["categories"])
        if isinstance(changes.get("image"), str):
            changes["image"] = Image(changes["image"], changes.pop("caption", ""))
        changes.setdefault("modified", max(self.clock(), post.modified + timedelta(seconds=1)))
        self.posts[post_id] = replace(post, **changes)
        return self.posts[post_id]

    def remove_post(self, post_id: int) -> None:
        del self.posts[post_id]

    def set_feed_size(self, n: int) -> None:
        self.feed_size = n

    def add_category(
        self, slug: str, name: str, *, parent: str | None = None, description: str = ""
    ) -> Category:
        cat = Category(max(c.id for c in self.categories) + 1, slug, name, parent, description)
        self.categories.append(cat)
        return cat

    def post(self, post_id: int) -> Post:
        return self.posts[post_id]

    def link(self, post: Post | int) -> str:
        """The post's permalink on this server."""
        return self._site().link(self.posts[post] if isinstance(post, int) else post)

    def guid(self, post: Post | int) -> str:
        return self._site().guid(self.posts[post] if isinstance(post, int) else post)

    def feed_url(self, slug: str | None = None, *, atom: bool = False) -> str:
        base = f"{self.url}/category/{slug}/feed/" if slug else f"{self.url}/feed/"
        return base + ("atom/" if atom else "")

    def feed_posts(self, slug: str | None = None) -> list[Post]:
        """The posts a feed lists right now: newest first, at most `feed_size`."""
        return self._archive(slug)[: self.feed_size]

    # --- faults and the request log -------------------------------------------------------

    def fault(self, path_or_slug: str, kind: str, *, times: int | None = None) -> None:
        """Make a path (or a category slug's RSS and Atom feeds, or "*": every path) misbehave.

        kinds: 500, 404, timeout, malformed, huge, redirect-loop, html, retry-after, slow.
        `times`: how many requests fail before it heals; None = until clear_faults().
        """
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULT_KINDS}")
        self._faults.append(_Fault(path_or_slug, kind, times))

    def clear_faults(self) -> None:
        self._faults.clear()

    def hits(self, path_or_slug: str) -> int:
        """Requests to a path (query ignored unless given) or to a category slug's feeds."""
        return sum(1 for r in self.requests if self._matches(path_or_slug, r.path))

    def requests_to(self, path_or_slug: str) -> list[Request]:
        return [r for r in self.requests if self._matches(path_or_slug, r.path)]

    def _matches(self, target: str, path_qs: str) -> bool:
        if target == "*":
            return True  # the whole site: an outage
        if not target.startswith("/"):
            slug = _feed_slug(path_qs.split("?", 1)[0])
            return slug is not None and slug == target
        if "?" in target:
            return path_qs == target
        return path_qs.split("?", 1)[0] == target

    def _take_fault(self, path: str) -> _Fault | None:
        for fault in self._faults:
            if self._matches(fault.target, path):
                if fault.remaining is not None:
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                return fault
        return None

    @web.middleware
    async def _record(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        self.requests.append(
            Request(request.method, request.path_qs, CIMultiDictProxy(CIMultiDict(request.headers)))
        )
        response = await handler(request)
        if response.status == 304:
            self.not_modified_count += 1
        return response

    @web.middleware
    async def _inject_faults(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        fault = self._take_fault(request.path)
        if fault is None:
            return await handler(request)
        return await self._misbehave(fault.kind, request, handler)

    async def _misbehave(
        self, kind: str, request: web.Request, handler: Handler
    ) -> web.StreamResponse:
        if kind == "500":
            return web.Response(status=500, text=_ERROR_PAGE, content_type="text/html")
        if kind == "404":
            return web.Response(
                status=404, text=render.not_found_page(self._site()), content_type="text/html"
            )
        if kind == "retry-after":
            return web.Response(
                status=503,
                text="<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>",
                content_type="text/html",
                headers={"Retry-After": str(self.retry_after)},
            )
        if kind == "html":
            return web.Response(text=_CHALLENGE_PAGE, content_type="text/html", charset="utf-8")
        if kind == "redirect-loop":
            # alternates between two URLs forever; the query is ignored by fault matching
            target = request.path if request.query_string else request.path + "?redirect=1"
            raise web.HTTPFound(target)
        if kind == "timeout":
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=600)
            return web.Response(status=504, text="gave up")
        if kind == "slow":
            await asyncio.sleep(self.slow_delay)
            return await handler(request)
        if kind == "malformed":
            return web.Response(
                body=self._malformed(request).encode(), headers={"Content-Type": RSS_TYPE}
            )
        return await self._huge(request)

    def _malformed(self, request: web.Request) -> str:
        # an unescaped '&' and a body cut before the first item: a bozo feed with no entries
        return (
            '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0">\n<channel>\n'
            "\t<title>Aze.Media & friends</title>\n"
            f"\t<link>{self.url}{request.path}</link>\n"
            "\t<description>Daily Digest<b></description>\n"
            "\t<lastBuildDate>Mon, 19 May 2025 14:02:00 +0000</lastBuildDate>\n"
            "\t<image><url>https://aze.media/logo.png"
        )

    async def _huge(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": RSS_TYPE})
        response.enable_chunked_encoding()  # no Content-Length: a client must cap the stream
        await response.prepare(request)
        head = b'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>\n'
        filler = b"<!-- " + b"padding " * 8000 + b"-->\n"
        sent = 0
        try:
            await response.write(head)
            while sent < self.huge_size and not self._stopping.is_set():
                await response.write(filler)
                sent += len(filler)
            await response.write_eof()
        except (ConnectionError, RuntimeError):
            pass  # the client gave up, which is what a size cap should do
        return response

    # --- helpers --------------------------------------------------------------------------

    def _site(self) -> Site:
        return Site(self.url, tuple(self.categories))

    def _category(self, slug: str) -> Category | None:
        return next((c for c in self.categories if c.slug == slug), None)

    def _archive(self, slug: str | None) -> list[Post]:
        """All posts of a category and its sub-categories (all posts for None), newest first."""
        wanted = self._site().descendants(slug) if slug else None
        posts = [p for p in self.posts.values() if wanted is None or wanted & set(p.categories)]
        return sorted(posts, key=lambda p: (p.published, p.id), reverse=True)

    def _content(self, title: str, content: str | Sequence[str] | None) -> str:
        if content is None:
            content = [
                f"{title}. This report was published by Aze.Media, a daily digest about "
                "Azerbaijan and the South Caucasus.",
                "Officials in Bakı said more details would follow in the coming days, and that "
                "the decision had been prepared together with partners in the region.",
                "Analysts said the step fits the country’s wider strategy of diversification.",
            ]
        if isinstance(content, str):
            return content if "<" in content else render.paragraphs_to_html(content.split("\n\n"))
        return render.paragraphs_to_html(content)

    def last_modified(self) -> datetime:
        """WordPress's get_lastpostmodified(): the newest post date or modification, site-wide.

        Every feed of the site (main, category, Atom) carries this one Last-Modified, with
        one-second resolution, and an ETag that is only its md5: two posts in the same second,
        or a post whose dates lie in the past (an import, a REST client setting `date`, a
        scheduled post published late by WP-Cron), leave both validators as they were.
        """
        moments = [max(p.published, p.modified) for p in self.posts.values()]
        return max(moments, default=datetime(2021, 4, 1, tzinfo=UTC)).replace(microsecond=0)

    def _conditional(self, request: web.Request, body: str, content_type: str) -> web.Response:
        """200 with the site-wide validators, or 304 as WP::send_headers() decides for feeds."""
        last_modified = format_datetime(self.last_modified().astimezone(UTC), usegmt=True)
        etag = '"' + hashlib.md5(last_modified.encode()).hexdigest() + '"'
        headers = {
            "ETag": etag,
            "Last-Modified": last_modified,
            "Date": format_datetime(self.clock().astimezone(UTC), usegmt=True),
        }
        if self.cache_control:
            headers["Cache-Control"] = self.cache_control
        client_etag = request.headers.get("If-None-Match", "")
        client_since = _timestamp(request.headers.get("If-Modified-Since", ""))
        ours = _timestamp(last_modified)
        if client_etag and client_since:
            fresh = client_since >= ours and client_etag == etag
        else:
            fresh = (bool(client_since) and client_since >= ours) or client_etag == etag
        if fresh:
            return web.Response(status=304, headers=headers)
        return web.Response(body=body.encode(), headers={**headers, "Content-Type": content_type})

    def _feed_response(self, request: web.Request, slug: str | None, *, atom: bool) -> web.Response:
        if slug is not None and self._category(slug) is None:
            return self._not_found()
        posts = self.feed_posts(slug)
        self_url = self.url + request.path
        if atom:
            body = render.atom_feed(self._site(), posts, slug=slug, self_url=self_url)
        else:
            body = render.rss_feed(self._site(), posts, slug=slug, self_url=self_url)
        kind = ATOM_TYPE if atom else RSS_TYPE
        return self._conditional(request, body, kind)

    def _not_found(self) -> web.Response:
        return web.Response(
            status=404, text=render.not_found_page(self._site()), content_type="text/html"
        )

    # --- handlers: feeds and pages --------------------------------------------------------

    async def _main_feed(self, request: web.Request) -> web.Response:
        return self._feed_response(request, None, atom=False)

    async def _main_atom(self, request: web.Request) -> web.Response:
        return self._feed_response(request, None, atom=True)

    async def _category_feed(self, request: web.Request) -> web.Response:
        return self._feed_response(request, _last(request.match_info["path"]), atom=False)

    async def _category_atom(self, request: web.Request) -> web.Response:
        return self._feed_response(request, _last(request.match_info["path"]), atom=True)

    async def _category_page(self, request: web.Request) -> web.Response:
        cat = self._category(_last(request.match_info["path"]))
        if cat is None:
            return self._not_found()
        page = render.archive_page(self._site(), cat.name, self._archive(cat.slug)[:10])
        return web.Response(text=page, content_type="text/html")

    async def _home(self, request: web.Request) -> web.Response:
        if "p" in request.query:  # the guid form /?p=ID redirects to the permalink
            post = self.posts.get(int(request.query["p"])) if request.query["p"].isdigit() else None
            if post is None:
                return self._not_found()
            raise web.HTTPMovedPermanently(self.link(post))
        page = render.archive_page(self._site(), "Aze.Media", self._archive(None)[:10])
        return web.Response(text=page, content_type="text/html")

    async def _article(self, request: web.Request) -> web.Response:
        slug = request.match_info["slug"]
        post = next((p for p in self.posts.values() if p.slug == slug), None)
        if post is None:
            return self._not_found()
        same = self._archive(post.categories[0]) if post.categories else []
        related = [p for p in same if p.id != post.id][:4]
        recent = [p for p in self._archive(None) if p.id != post.id][:8]
        page = render.article_page(self._site(), post, related, recent)
        return web.Response(text=page, content_type="text/html")

    async def _upload(self, request: web.Request) -> web.Response:
        return web.Response(body=_PNG, content_type="image/png")

    async def _fallback(self, request: web.Request) -> web.Response:
        if not request.path.endswith("/") and "." not in request.path.rsplit("/", 1)[-1]:
            raise web.HTTPMovedPermanently(request.path + "/")  # as WordPress canonicalises
        return self._not_found()

    # --- handlers: REST API ---------------------------------------------------------------

    async def _rest_index(self, request: web.Request) -> web.Response:
        return web.json_response(render.rest_index(self._site()))

    async def _rest_no_route(self, request: web.Request) -> web.Response:
        return web.json_response(
            render.rest_error(
                "rest_no_route", "No route was found matching the URL and request method.", 404
            ),
            status=404,
        )

    async def _rest_categories(self, request: web.Request) -> web.Response:
        cats = sorted(self.categories, key=lambda c: c.name.lower())
        if "parent" in request.query:
            parent_id = int(request.query["parent"])
            cats = [c for c in cats if self._parent_id(c) == parent_id]
        if "slug" in request.query:
            slugs = request.query["slug"].split(",")
            cats = [c for c in cats if c.slug in slugs]
        counts = {c.slug: self._count(c.slug) for c in cats}
        if request.query.get("hide_empty") in ("1", "true"):
            cats = [c for c in cats if counts[c.slug]]
        site = self._site()
        return self._paginated(
            request, [render.category_json(site, c, counts[c.slug]) for c in cats]
        )

    async def _rest_category(self, request: web.Request) -> web.Response:
        cat = next((c for c in self.categories if c.id == int(request.match_info["id"])), None)
        if cat is None:
            return web.json_response(
                render.rest_error("rest_term_invalid", "Term does not exist.", 404), status=404
            )
        return web.json_response(render.category_json(self._site(), cat, self._count(cat.slug)))

    async def _rest_posts(self, request: web.Request) -> web.Response:
        posts = self._archive(None)
        query = request.query
        if "categories" in query:
            if not re.fullmatch(r"\d+(,\d+)*", query["categories"]):
                return _invalid_param("categories")
            ids = {int(i) for i in query["categories"].split(",")}
            slugs = {c.slug for c in self.categories if c.id in ids}
            posts = [p for p in posts if slugs & set(p.categories)]
        for name in ("after", "before"):
            if name in query:
                bound = _rest_date(query[name])
                if bound is None:
                    return _invalid_param(name, "Invalid date.")
                posts = [p for p in posts if (p.published > bound) == (name == "after")]
        if "slug" in query:
            posts = [p for p in posts if p.slug in query["slug"].split(",")]
        if "include" in query:
            if not re.fullmatch(r"\d+(,\d+)*", query["include"]):
                return _invalid_param("include")
            wanted = {int(i) for i in query["include"].split(",")}
            posts = [p for p in posts if p.id in wanted]
        if "search" in query:
            needle = query["search"].lower()
            posts = [p for p in posts if needle in (p.title + p.content).lower()]
        site, embed = self._site(), "_embed" in query
        return self._paginated(request, [render.post_json(site, p, embed=embed) for p in posts])

    async def _rest_post(self, request: web.Request) -> web.Response:
        post = self.posts.get(int(request.match_info["id"]))
        if post is None:
            return web.json_response(
                render.rest_error("rest_post_invalid_id", "Invalid post ID.", 404), status=404
            )
        embed = "_embed" in request.query
        return web.json_response(render.post_json(self._site(), post, embed=embed))

    def _paginated(self, request: web.Request, items: list[dict[str, Any]]) -> web.Response:
        """WordPress's collection paging: per_page 1..100, X-WP-Total(Pages), Link rel=next."""
        try:
            per_page = int(request.query.get("per_page", "10"))
            if not 1 <= per_page <= 100:
                raise ValueError
        except ValueError:
            return _invalid_param(
                "per_page", "per_page must be between 1 (inclusive) and 100 (inclusive)"
            )
        try:
            page = int(request.query.get("page", "1"))
            if page < 1:
                raise ValueError
        except ValueError:
            return _invalid_param("page", "page must be greater than or equal to 1")
        total = len(items)
        pages = max(1, -(-total // per_page)) if total else 0
        if page > max(pages, 1):
            return web.json_response(
                render.rest_error(
                    "rest_post_invalid_page_number",
                    "The page number requested is larger than the number of pages available.",
                    400,
                ),
                status=400,
            )
        headers = {"X-WP-Total": str(total), "X-WP-TotalPages": str(pages)}
        if page < pages:
            next_url = request.url.update_query(page=page + 1)
            headers["Link"] = f'<{self.url}{next_url.path_qs}>; rel="next"'
        chunk = items[(page - 1) * per_page : page * per_page]
        return web.json_response(chunk, headers=headers)

    def _parent_id(self, cat: Category) -> int:
        parent = self._category(cat.parent) if cat.parent else None
        return parent.id if parent else 0

    def _count(self, slug: str) -> int:
        # WordPress counts only posts assigned directly to the term, not its children's
        return sum(1 for p in self.posts.values() if slug in p.categories)


def _last(path: str) -> str:
    """/category/news/economy/feed/ names the category by its last segment, as WordPress does."""
    return path.rstrip("/").rsplit("/", 1)[-1]


_FEED_PATH = re.compile(r"^/category/(?:.+/)?([^/]+)/feed/(?:atom/)?$")


def _feed_slug(path: str) -> str | None:
    match = _FEED_PATH.match(path)
    return match.group(1) if match else None


def _timestamp(value: str) -> float:
    """An HTTP date as unix seconds, 0 when absent or unreadable (PHP's strtotime, roughly)."""
    try:
        moment = parsedate_to_datetime(value) if value else None
    except (TypeError, ValueError, IndexError):
        return 0.0
    if moment is None:
        return 0.0
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _rest_date(value: str) -> datetime | None:
    """A REST date parameter; without an offset it is site-local time (Asia/Baku), as in WP."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = (moment - render.SITE_OFFSET).replace(tzinfo=UTC)
    return moment


def _invalid_param(name: str, message: str = "Invalid parameter.") -> web.Response:
    return web.json_response(
        render.rest_error(
            "rest_invalid_param", f"Invalid parameter(s): {name}", 400, params={name: message}
        ),
        status=400,
    )


_PNG = _tiny_png()

_ERROR_PAGE = (
    "<!DOCTYPE html><html><head><title>WordPress &rsaquo; Error</title></head><body>"
    '<div class="wp-die-message"><p>There has been a critical error on this website.</p>'
    "</div></body></html>"
)

_CHALLENGE_PAGE = (
    '<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title>'
    '<meta http-equiv="refresh" content="390"></head><body><div class="main-wrapper">'
    "<h1>aze.media</h1><p>Checking if the site connection is secure</p>"
    "<p>aze.media needs to review the security of your connection before proceeding.</p>"
    "</div></body></html>"
)

"""What the site says about one article beyond its feed entry: its REST post, its page's meta.

Two cheap, structured sources instead of a content extractor: WordPress's single-post REST
answer (`/wp-json/wp/v2/posts/<id>?_embed`: the whole content, the featured image, the author's
name) and, for sites without it, the article page's Open Graph tags (read with the standard
library's HTML parser, head only).
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

_IMG = re.compile(r"<img\b[^>]*?\bsrc\s*=\s*[\"']([^\"']+)[\"']", re.I)


@dataclass(frozen=True, slots=True)
class PageInfo:
    """What the site tells about an article beyond its feed entry."""

    text: str = ""  # the article's content (HTML or plain text), the best source of a lead
    description: str = ""  # a short description (og:description, the REST excerpt)
    image_url: str | None = None
    author: str = ""

    def filled_from(self, other: PageInfo) -> PageInfo:
        """This info with its gaps filled from `other`."""
        return PageInfo(
            text=self.text or other.text,
            description=self.description or other.description,
            image_url=self.image_url or other.image_url,
            author=self.author or other.author,
        )


def rest_post_url(site_url: str, key: str, article_url: str) -> str | None:
    """The REST single-post URL for a `wp:<id>` article of the configured site, else None.

    Only for an article whose link is on the site's own host: a `wp:` key from another site's
    feed names a post of that site, not of ours.
    """
    kind, _, post_id = key.partition(":")
    if kind != "wp" or not post_id.isdigit() or not site_url:
        return None
    if urlsplit(article_url).hostname != urlsplit(site_url).hostname:
        return None
    return f"{site_url.rstrip('/')}/wp-json/wp/v2/posts/{int(post_id)}?_embed"


def _rendered(value: Any) -> str:
    if isinstance(value, Mapping):
        return str(value.get("rendered") or "")
    return ""


def _first(embedded: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    # WordPress embeds a list per link; an unreadable one is an error object, not a list.
    items = embedded.get(name)
    first = items[0] if isinstance(items, list) and items else None
    return first if isinstance(first, Mapping) else {}


def from_rest(body: bytes) -> PageInfo | None:
    """The content, excerpt, featured image and author of one REST post; None if not a post."""
    try:
        post = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(post, Mapping) or "id" not in post or post.get("code"):
        return None
    embedded = post.get("_embedded")
    embedded = embedded if isinstance(embedded, Mapping) else {}
    content = _rendered(post.get("content"))
    image = _first(embedded, "wp:featuredmedia").get("source_url")
    if not image:  # no featured image: the first picture in the content, as feeds show it
        found = _IMG.search(content)
        image = html.unescape(found.group(1)) if found else None
    author = _first(embedded, "author").get("name")
    return PageInfo(
        text=content,
        description=_rendered(post.get("excerpt")),
        image_url=str(image) if image else None,
        author=html.unescape(str(author)).strip() if author else "",
    )


class _MetaCollector(HTMLParser):
    """`<meta property|name=… content=…>` pairs from the document head."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.meta: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "meta":
            return
        values = dict(attrs)
        name = (values.get("property") or values.get("name") or "").strip().lower()
        content = values.get("content")
        if name and content and name not in self.meta:
            self.meta[name] = content.strip()


def _meta(page: str) -> dict[str, str]:
    collector = _MetaCollector()
    # Meta tags live in the head; the body can be large, so stop there.
    head_end = page.lower().find("</head>")
    collector.feed(page if head_end < 0 else page[: head_end + 7])
    collector.close()
    return collector.meta


def from_page(page: str) -> PageInfo:
    """og:description, og:image and the author's name from an article page's head."""
    meta = _meta(page)
    author = meta.get("article:author") or meta.get("author") or ""
    # article:author is often a profile URL; only a name is worth showing.
    if author.startswith(("http://", "https://")):
        author = meta.get("author", "")
    return PageInfo(
        description=html.unescape(meta.get("og:description") or meta.get("description") or ""),
        image_url=meta.get("og:image") or meta.get("twitter:image") or None,
        author=html.unescape(author),
    )

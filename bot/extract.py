"""An article page's lead paragraphs and Open Graph facts, for feeds that carry too little."""

from __future__ import annotations

import html
from dataclasses import dataclass
from html.parser import HTMLParser

import trafilatura

# Enough paragraphs for a 400-character lead even when the first ones are captions.
MAX_PARAGRAPHS = 6


@dataclass(frozen=True, slots=True)
class PageInfo:
    """What an article page tells us beyond its feed entry."""

    paragraphs: tuple[str, ...] = ()
    description: str = ""
    image_url: str | None = None
    author: str = ""


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


def extract(page: str) -> PageInfo:
    """Lead paragraphs (via trafilatura), og:description, og:image and article:author."""
    meta = _meta(page)
    text = trafilatura.extract(
        page,
        output_format="txt",
        include_comments=False,
        include_tables=False,
        include_images=False,
        favor_precision=True,
        deduplicate=True,
    )
    paras = tuple(p.strip() for p in (text or "").split("\n") if p.strip())[:MAX_PARAGRAPHS]
    author = meta.get("article:author") or meta.get("author") or ""
    # article:author is often a profile URL; only a name is worth showing.
    if author.startswith(("http://", "https://")):
        author = meta.get("author", "")
    return PageInfo(
        paragraphs=paras,
        description=html.unescape(meta.get("og:description") or meta.get("description") or ""),
        image_url=meta.get("og:image") or meta.get("twitter:image") or None,
        author=html.unescape(author),
    )

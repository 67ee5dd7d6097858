"""Feed bytes to articles: RSS 2.0, RSS 1.0, Atom (feedparser) and WordPress REST posts."""

from __future__ import annotations

import calendar
import html
import json
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import feedparser

from bot import summary
from bot.domain import Article, fold

_WS = re.compile(r"\s+")
_TAG = re.compile(r"<[^>]+>")
_IMG = re.compile(r"<img\b[^>]*?\bsrc\s*=\s*[\"']([^\"']+)[\"']", re.I)
_WP_POST_ID = re.compile(r"[?&]p=(\d+)(?:&|$)")
_TRACKING = re.compile(
    r"^(?:utm_[a-z_]*|fbclid|gclid|dclid|gbraid|wbraid|msclkid|yclid|mc_cid|mc_eid|_ga|_gl|igshid"
    r"|ref_src)$",
    re.I,
)


class FeedError(ValueError):
    """The body is not a feed we can read; the message is the reason an operator sees."""


def clean_title(raw: str) -> str:
    """One line: tags dropped, entities decoded (twice-encoded ones too), spaces collapsed."""
    text = _TAG.sub("", raw)
    for _ in range(2):
        if "&" not in text:
            break
        text = html.unescape(text)
    return _WS.sub(" ", text).strip()


def canonical_link(url: str) -> str:
    """The link without tracking parameters or fragment, host lower-cased."""
    parts = urlsplit(url.strip())
    query = [
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING.match(k)
    ]
    return urlunsplit(
        (parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", urlencode(query), "")
    )


def stable_key(guid: str, link: str) -> str:
    """WordPress post id ("wp:123") when the guid carries one, else the guid, else the link."""
    guid = guid.strip()
    match = _WP_POST_ID.search(guid) or _WP_POST_ID.search(link)
    if match:
        return f"wp:{match.group(1)}"
    if guid:
        return canonical_link(guid) if guid.startswith(("http://", "https://")) else guid
    return canonical_link(link)


def _utc(parsed: Any) -> datetime | None:
    if not parsed:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(parsed), UTC)
    except (TypeError, ValueError, OverflowError):
        return None


def _image(entry: Mapping[str, Any], content_html: str) -> str | None:
    for media in entry.get("media_content") or ():
        url = media.get("url")
        medium = media.get("medium") or media.get("type") or "image"
        if url and str(medium).startswith("image"):
            return str(url)
    for thumb in entry.get("media_thumbnail") or ():
        if thumb.get("url"):
            return str(thumb["url"])
    for link in entry.get("links") or ():
        if link.get("rel") == "enclosure" and str(link.get("type", "")).startswith("image"):
            return str(link.get("href"))
    for enclosure in entry.get("enclosures") or ():
        if str(enclosure.get("type", "")).startswith("image") and enclosure.get("href"):
            return str(enclosure["href"])
    found = _IMG.search(content_html)
    return html.unescape(found.group(1)) if found else None


def label_key(name: str) -> str:
    """A category or tag name reduced to what tells names apart: 'Logistics-Transport' ->
    'logisticstransport'."""
    return "".join(c for c in fold(name) if c.isalnum())


def _tags(names: Sequence[str], categories: Collection[str]) -> tuple[str, ...]:
    """Distinct tag names, minus the site's categories (`categories`: their label_key)."""
    kept: dict[str, str] = {}
    for name in names:
        text = clean_title(name)
        key = label_key(text)
        if key and key not in categories:
            kept.setdefault(key, text)
    return tuple(kept.values())


def _entry(
    entry: Mapping[str, Any], section: str, low: int, high: int, categories: Collection[str]
) -> Article | None:
    link = str(entry.get("link") or "").strip()
    title = clean_title(str(entry.get("title") or ""))
    if not link or not title:
        return None
    description = str(entry.get("summary") or "")
    contents = entry.get("content") or ()
    content_html = "\n".join(str(c.get("value") or "") for c in contents)
    return Article(
        key=stable_key(str(entry.get("id") or ""), link),
        url=link,
        title=title,
        summary=summary.lead((description, content_html), low, high),
        author=clean_title(str(entry.get("author") or "")),
        published=_utc(entry.get("published_parsed") or entry.get("updated_parsed")),
        image_url=_image(entry, content_html or description),
        sections=(section,),
        word_count=summary.word_count(content_html) if content_html else None,
        body=summary.body(content_html) if content_html else "",
        # WordPress writes a post's categories, then its tags, as <category> elements.
        tags=_tags([str(t.get("term") or "") for t in entry.get("tags") or ()], categories),
    )


def is_json(body: bytes, content_type: str = "") -> bool:
    """A WordPress REST answer rather than XML: said by its type, or seen in its first byte."""
    kind = content_type.split(";")[0].strip().lower()
    if kind == "application/json" or kind.endswith("+json"):
        return True
    return body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"[")


def parse_feed(
    body: bytes,
    section: str,
    low: int = 200,
    high: int = 400,
    content_type: str = "",
    categories: Collection[str] = (),
) -> tuple[Article, ...]:
    """Articles of one section's feed, in feed order; FeedError when the body is not a feed.

    `categories` are the label_key of every section name and slug: a feed item's <category>
    elements naming one are its sections, the others its tags.
    """
    if is_json(body, content_type):
        return parse_rest_posts(body, section, low, high)
    parsed = feedparser.parse(body, sanitize_html=False, resolve_relative_uris=False)
    entries: Sequence[Mapping[str, Any]] = parsed.get("entries") or ()
    found = (_entry(e, section, low, high, frozenset(categories)) for e in entries)
    articles = tuple(a for a in found if a is not None)
    # A broken feed that still yields whole entries is used (feedparser is lenient for a
    # reason); one that yields nothing is an error, not an empty section.
    if not articles and (parsed.get("bozo") or not parsed.get("version")):
        reason = parsed.get("bozo_exception") or "no feed found"
        raise FeedError(f"malformed feed: {str(reason)[:200]}")
    return articles


def parse_site_feed(
    body: bytes,
    low: int = 200,
    high: int = 400,
    content_type: str = "",
    categories: Collection[str] = (),
) -> tuple[tuple[Article, tuple[str, ...]], ...]:
    """The site-wide feed: each article (no section yet) with its entry's category names.

    WordPress lists a post's categories (and tags) by name in <category>; the caller decides
    which of its sections they mean. `categories` as for parse_feed: the names that are not
    sections are the article's tags. FeedError when the body is not an XML feed.
    """
    if is_json(body, content_type):
        raise FeedError("the site-wide feed must be RSS or Atom, not JSON")
    parsed = feedparser.parse(body, sanitize_html=False, resolve_relative_uris=False)
    entries: Sequence[Mapping[str, Any]] = parsed.get("entries") or ()
    if not parsed.get("version") or (not entries and parsed.get("bozo")):
        reason = parsed.get("bozo_exception") or "no feed found"
        raise FeedError(f"malformed feed: {str(reason)[:200]}")
    found = []
    for entry in entries:
        article = _entry(entry, "", low, high, frozenset(categories))
        if article is not None:
            names = (clean_title(str(t.get("term") or "")) for t in entry.get("tags") or ())
            found.append((replace(article, sections=()), tuple(n for n in names if n)))
    return tuple(found)


def _rendered(value: Any) -> str:
    if isinstance(value, Mapping):
        return str(value.get("rendered") or "")
    return str(value or "")


def parse_rest_posts(
    body: bytes, section: str, low: int = 200, high: int = 400
) -> tuple[Article, ...]:
    """Articles from a /wp-json/wp/v2/posts answer (with `_embed` for author and image)."""
    try:
        posts = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise FeedError(f"malformed JSON: {exc}") from None
    if isinstance(posts, dict) and posts.get("code"):
        raise FeedError(f"REST error {str(posts['code'])[:80]}: {str(posts.get('message'))[:200]}")
    if not isinstance(posts, list):
        raise FeedError("REST answer is not a list of posts")
    out = []
    for post in posts:
        article = _rest_post(post, section, low, high)
        if article is not None:
            out.append(article)
    return tuple(out)


def _first(embedded: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    # WordPress embeds a list per link; an unreadable one is an error object, not a list.
    items = embedded.get(name)
    first = items[0] if isinstance(items, list) and items else None
    return first if isinstance(first, Mapping) else {}


def _gmt(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value)).replace(tzinfo=UTC) if value else None
    except ValueError:
        return None


def _rest_post(post: Any, section: str, low: int, high: int) -> Article | None:
    if not isinstance(post, Mapping) or not post.get("link"):
        return None
    post_id = str(post.get("id") or "")
    title = clean_title(_rendered(post.get("title")))
    if not post_id.isdigit() or not title:
        return None
    content = _rendered(post.get("content"))
    embedded = post.get("_embedded")
    embedded = embedded if isinstance(embedded, Mapping) else {}
    image = _first(embedded, "wp:featuredmedia").get("source_url")
    return Article(
        # The same key as the RSS guid `?p=ID`: one article whichever feed shows it.
        key=f"wp:{int(post_id)}",
        url=str(post["link"]),
        title=title,
        summary=summary.lead((_rendered(post.get("excerpt")), content), low, high),
        author=clean_title(str(_first(embedded, "author").get("name") or "")),
        published=_gmt(post.get("date_gmt")),
        image_url=str(image) if image else _image({}, content),
        sections=(section,),
        word_count=summary.word_count(content) if content else None,
        body=summary.body(content) if content else "",
        tags=_rest_tags(embedded),
    )


def _rest_tags(embedded: Mapping[str, Any]) -> tuple[str, ...]:
    """Names of the post's tags: `_embed` lists its terms per taxonomy (categories, then tags)."""
    groups = embedded.get("wp:term")
    names = [
        str(term.get("name") or "")
        for group in (groups if isinstance(groups, list) else ())
        if isinstance(group, list)
        for term in group
        if isinstance(term, Mapping) and term.get("taxonomy") == "post_tag"
    ]
    return _tags(names, ())

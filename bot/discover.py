"""WordPress discovery: a site's categories (REST API) as a ready NEWSBOT_SECTIONS_FILE."""

from __future__ import annotations

import html
import json
from dataclasses import dataclass

from bot.fetch import Fetcher
from bot.sections import feed_url

PER_PAGE = 100
REST_PER_PAGE = 20  # posts per REST poll: more than a news section publishes between two polls
MAX_PAGES = 50  # 5,000 categories is more than any news site; a guard against a looping API


class DiscoveryError(RuntimeError):
    """The site cannot tell us its categories; the message says why."""


@dataclass(frozen=True, slots=True)
class Category:
    """One WordPress category as the REST API describes it."""

    id: int
    slug: str
    name: str
    parent: int = 0
    count: int = 0


def parse_categories(body: bytes) -> tuple[Category, ...]:
    """Categories from one /wp-json/wp/v2/categories page."""
    try:
        items = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise DiscoveryError("the categories answer is not JSON") from None
    if not isinstance(items, list):
        raise DiscoveryError("the categories answer is not a list")
    out = []
    for item in items:
        if not isinstance(item, dict) or "id" not in item or not item.get("slug"):
            continue
        out.append(
            Category(
                id=int(item["id"]),
                slug=str(item["slug"]),
                # WordPress returns names HTML-escaped ("Climate &amp; Ecology").
                name=html.unescape(str(item.get("name") or item["slug"])),
                parent=int(item.get("parent") or 0),
                count=int(item.get("count") or 0),
            )
        )
    return tuple(out)


def _string(value: str) -> str:
    # A JSON string is a valid TOML basic string (same escapes, UTF-8 kept as is).
    return json.dumps(value, ensure_ascii=False)


def family(categories: tuple[Category, ...], top: Category) -> list[int]:
    """`top`'s id and every descendant's: what its RSS category feed lists."""
    ids, frontier = [top.id], [top.id]
    while frontier:
        children = [c.id for c in categories if c.parent in frontier and c.id not in ids]
        ids.extend(children)
        frontier = children
    return [top.id, *sorted(ids[1:])]


def rest_feed_url(site_url: str, category_ids: list[int]) -> str:
    """The REST posts of these categories, newest first, with author and image embedded."""
    ids = ",".join(str(i) for i in category_ids)
    return (
        f"{site_url.rstrip('/')}/wp-json/wp/v2/posts"
        f"?categories={ids}&_embed&per_page={REST_PER_PAGE}"
    )


def to_toml(categories: tuple[Category, ...], site_url: str, *, rest: bool = False) -> str:
    """A sections file: every category with its feed, sub-categories after their parent.

    `uncategorized` and empty categories are listed hidden, so an operator sees them and can
    unhide them, but readers are not offered sections with nothing in them. With `rest`, each
    feed is the REST posts URL of the category and its descendants: WordPress's REST filter
    does not include sub-categories, its RSS category feed does, and sections must not differ.
    """
    by_id = {c.id: c for c in categories}
    tops = [c for c in categories if c.parent not in by_id]
    ordered: list[Category] = []
    for top in tops:
        ordered.append(top)
        ordered.extend(c for c in categories if c.parent == top.id)
    ordered.extend(c for c in categories if c not in ordered)
    lines = [
        f"# Sections discovered from {site_url}/wp-json/wp/v2/categories",
        "# Edit names, add emoji, reorder or hide, then set NEWSBOT_SECTIONS_FILE to this file.",
        'mode = "replace"',
    ]
    for order, cat in enumerate(ordered):
        feed = (
            rest_feed_url(site_url, family(categories, cat))
            if rest
            else feed_url(site_url, cat.slug)
        )
        lines += [
            "",
            "[[section]]",
            f"slug = {_string(cat.slug)}",
            f"name = {_string(cat.name)}",
            f"feeds = [{_string(feed)}]",
            f"order = {order}",
        ]
        parent = by_id.get(cat.parent)
        if parent is not None:
            lines.append(f"parent = {_string(parent.slug)}")
        if cat.slug == "uncategorized" or cat.count == 0:
            lines.append("hidden = true")
    return "\n".join(lines) + "\n"


async def fetch_categories(fetcher: Fetcher, site_url: str) -> tuple[Category, ...]:
    """Every page of the site's categories, page by page until a short or past-the-end one."""
    found: list[Category] = []
    base = f"{site_url.rstrip('/')}/wp-json/wp/v2/categories"
    for page in range(1, MAX_PAGES + 1):
        url = f"{base}?per_page={PER_PAGE}&page={page}&orderby=id"
        result = await fetcher.get(url, accept="application/json")
        # WordPress answers 400 rest_post_invalid_page_number past the last page.
        if page > 1 and result.status == 400:
            break
        if result.error is not None or not result.ok:
            raise DiscoveryError(
                f"{site_url} has no usable WordPress REST API at {base} "
                f"({result.error or f'HTTP {result.status}'}); "
                "list the sections by hand in NEWSBOT_SECTIONS_FILE instead"
            )
        if "json" not in result.content_type.lower():
            raise DiscoveryError(
                f"{site_url} has no WordPress REST API at {base} (the answer is "
                f"{result.content_type or 'untyped'}, not JSON); "
                "list the sections by hand in NEWSBOT_SECTIONS_FILE instead"
            )
        batch = parse_categories(result.body)
        found.extend(batch)
        if len(batch) < PER_PAGE:
            break
    return tuple(found)


async def discover(site_url: str, *, rest: bool = False) -> str:
    """`newsbot sections --discover [--rest]`: the TOML catalogue of `site_url`'s categories."""
    async with Fetcher(site_url) as fetcher:
        categories = await fetch_categories(fetcher, site_url)
    if not categories:
        raise DiscoveryError(f"{site_url} reports no categories")
    return to_toml(categories, site_url, rest=rest)

"""The section catalogue: Aze.Media's built in, replaced or extended by a TOML file."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bot.config import ConfigError
from bot.domain import Section

# (slug, name, emoji, parent) in the site's own menu order; sub-sections follow their parent.
AZE_MEDIA: tuple[tuple[str, str, str, str | None], ...] = (
    ("cop29", "COP29", "🌍", None),
    ("opinion", "Opinion", "💬", None),
    ("news", "News", "📰", None),
    ("economy", "Economy", "📈", "news"),
    ("energy", "Energy", "⚡", "news"),
    ("climate-and-ecology", "Climate and Ecology", "🌱", "news"),
    ("culture", "Culture", "🎭", None),
    ("diaspora", "Diaspora", "🌐", None),
    ("interview", "Interview", "🎙", None),
    ("science", "Science", "🔬", None),
    ("logistics-transport", "Logistics-Transport", "🚆", None),
    ("gender", "Gender", "⚖️", None),
    ("history", "History", "📜", None),
    ("defense", "Defense", "🛡", None),
    ("karabakh", "Karabakh", "🏔", None),
)


def feed_url(site_url: str, slug: str) -> str:
    """WordPress's per-category RSS feed."""
    return f"{site_url.rstrip('/')}/category/{slug}/feed/"


def builtin(site_url: str) -> tuple[Section, ...]:
    """The built-in catalogue, with feed URLs on `site_url`."""
    return tuple(
        Section(slug, name, (feed_url(site_url, slug),), emoji, parent, order)
        for order, (slug, name, emoji, parent) in enumerate(AZE_MEDIA)
    )


def from_toml(data: Mapping[str, Any], site_url: str) -> tuple[Section, ...]:
    """Sections from parsed TOML: [[section]] tables; `mode = "extend"` keeps the built-in."""
    mode = data.get("mode", "replace")
    if mode not in ("replace", "extend"):
        raise ConfigError(f"mode must be 'replace' or 'extend', got {mode!r}")
    entries = data.get("section", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ConfigError("expected [[section]] tables")
    base = {s.slug: s for s in builtin(site_url)} if mode == "extend" else {}
    result = dict(base)
    for index, entry in enumerate(entries, start=1):
        slug = str(entry.get("slug", "")).strip().lower()
        if not slug or len(slug.encode()) > 40 or not all(c.isalnum() or c in "-_" for c in slug):
            raise ConfigError(f"section #{index} needs a slug of letters, digits, '-'")
        name = str(entry.get("name", "")).strip() or slug
        feeds = entry.get("feeds", entry.get("feed", feed_url(site_url, slug)))
        if isinstance(feeds, str):
            feeds = [feeds]
        if not isinstance(feeds, list) or not feeds:
            raise ConfigError(f"section {slug!r} needs at least one feed URL")
        try:
            order = int(entry.get("order", len(base) + index))
        except (TypeError, ValueError):
            raise ConfigError(f"section {slug!r}: order must be a whole number") from None
        result[slug] = Section(
            slug=slug,
            name=name,
            feeds=tuple(str(f) for f in feeds),
            emoji=str(entry.get("emoji", "")),
            parent=(str(entry["parent"]) if entry.get("parent") else None),
            order=order,
            hidden=bool(entry.get("hidden", False)),
            aliases=_aliases(entry, slug),
        )
    unknown = [s.slug for s in result.values() if s.parent and s.parent not in result]
    if unknown:
        raise ConfigError(f"unknown parent for {', '.join(unknown)}")
    return ordered(result.values())


def _aliases(entry: Mapping[str, Any], slug: str) -> tuple[str, ...]:
    """`aliases = ["Карабах", "Qarabağ"]`: more names search knows the section by."""
    aliases = entry.get("aliases", [])
    if isinstance(aliases, str):
        aliases = [aliases]
    if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
        raise ConfigError(f"sections file: aliases of {slug!r} must be a list of names")
    return tuple(a.strip() for a in aliases if a.strip())


def ordered(sections: Any) -> tuple[Section, ...]:
    """Top-level sections by `order`, each followed by its sub-sections."""
    items = sorted(sections, key=lambda s: (s.order, s.slug))
    out: list[Section] = []
    for top in (s for s in items if s.parent is None):
        out.append(top)
        out.extend(s for s in items if s.parent == top.slug)
    out.extend(s for s in items if s not in out)
    return tuple(out)


def load(site_url: str, sections_file: Path | None) -> tuple[Section, ...]:
    """The effective catalogue for these settings."""
    if sections_file is None:
        return builtin(site_url)
    where = f"NEWSBOT_SECTIONS_FILE {str(sections_file)!r}"
    try:
        data = tomllib.loads(sections_file.read_text(encoding="utf-8"))
        catalogue = from_toml(data, site_url)
    except (OSError, tomllib.TOMLDecodeError, ConfigError) as exc:
        raise ConfigError(f"{where}: {exc}") from None
    if not catalogue:
        # What `newsbot sections --discover > FILE` leaves behind when discovery fails.
        raise ConfigError(
            f"{where} has no [[section]] tables (is it empty?); write its sections again, "
            "e.g. `newsbot sections --discover > FILE`, or unset it for the built-in catalogue"
        )
    return catalogue

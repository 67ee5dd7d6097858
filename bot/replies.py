"""The reader's replies as HTML text: pure functions of state and language."""

from __future__ import annotations

import html
from collections.abc import Collection, Sequence
from datetime import tzinfo
from urllib.parse import urlsplit

from bot.domain import Article, Section
from bot.i18n import format_date, t

HELP_COMMANDS = (
    "start",
    "sections",
    "subscribe",
    "unsubscribe",
    "mysubs",
    "latest",
    "search",
    "follow",
    "unfollow",
    "settings",
    "stop",
    "help",
)
SHOWN_NAME = 40  # characters of an unknown typed name echoed back


def site_name(site_url: str) -> str:
    """The site as readers know it: its host without 'www.'."""
    host = urlsplit(site_url).hostname or site_url
    return host.removeprefix("www.")


def names(sections: Sequence[Section], slugs: Collection[str]) -> str:
    """'Opinion, Defense' in catalogue order, escaped."""
    return ", ".join(html.escape(s.name) for s in sections if s.slug in slugs)


def changed(lang: str, sections: Sequence[Section], **keyed: Collection[str]) -> str:
    """One line per non-empty set of slugs, worded by its message key: 'Subscribed to …'."""
    return "\n".join(
        t(lang, key, sections=names(sections, slugs)) for key, slugs in keyed.items() if slugs
    )


def shown(text: str) -> str:
    """A reader-typed string fit to echo back: one line, bounded, escaped."""
    flat = " ".join(text.split())
    if len(flat) > SHOWN_NAME:
        flat = flat[: SHOWN_NAME - 1] + "…"
    return html.escape(flat)


def unknown(
    name: str, suggestions: Sequence[Section], offered: Sequence[Section], lang: str
) -> str:
    """'I know no section called …' with the closest names, or the whole list when none is close."""
    lines = [t(lang, "unknown_section", name=shown(name))]
    if suggestions:
        lines.append(
            t(lang, "did_you_mean", names=", ".join(html.escape(s.name) for s in suggestions))
        )
    else:
        lines.append(
            t(lang, "known_sections", names=", ".join(html.escape(s.name) for s in offered))
        )
    return "\n".join(lines)


def overview(
    sections: Sequence[Section],
    followed: Collection[str],
    settings_lines: Sequence[str],
    lang: str,
    topic: bool = False,
) -> str:
    """/mysubs: followed sections (one per line, with emoji) then the settings."""
    items = [f"{s.emoji} {html.escape(s.name)}".strip() for s in sections if s.slug in followed]
    heading = f"<b>{t(lang, 'mysubs_topic')}</b>" if topic else t(lang, "mysubs_sections")
    body = "\n".join(items) if items else t(lang, "mysubs_none")
    settings = "\n".join(html.escape(line) for line in settings_lines)
    return f"{heading}\n{body}\n\n{t(lang, 'settings_heading')}\n{settings}"


def settings_view(settings_lines: Sequence[str], lang: str) -> str:
    """/settings: the current values, then how to change them."""
    lines = "\n".join(html.escape(line) for line in settings_lines)
    return f"{t(lang, 'settings_heading')}\n{lines}\n\n{t(lang, 'settings_prompt')}"


def latest(
    articles: Sequence[Article],
    sections: Sequence[Section],
    heading: str,
    lang: str,
    tz: tzinfo,
) -> str:
    """/latest: a heading, then each article as a linked headline over section and local date."""
    if not articles:
        return f"{heading}\n{t(lang, 'latest_none')}"
    by_slug = {s.slug: s for s in sections}
    entries = []
    for article in articles:
        title = html.escape(article.title.strip() or article.url)
        link = html.escape(article.url, quote=True)
        meta = [by_slug[s].name for s in article.sections if s in by_slug][:2]
        if article.published is not None:
            meta.append(format_date(article.published.astimezone(tz), lang))
        line = f'• <a href="{link}">{title}</a>'
        if meta:
            line += f"\n  <i>{html.escape(' · '.join(meta))}</i>"
        entries.append(line)
    return heading + "\n\n" + "\n".join(entries)


def help_text(lang: str, bot_username: str) -> str:
    """/help: every command on one line, then inline search."""
    lines = [t(lang, "help_heading")]
    lines += [f"/{name} — {html.escape(t(lang, f'command.{name}'))}" for name in HELP_COMMANDS]
    lines += ["", t(lang, "help_inline", bot=html.escape(bot_username))]
    lines.append(t(lang, "help_sections_hint"))
    return "\n".join(lines)

"""What the admin commands say: the /stats report and the /broadcast checks, pure."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Literal

from bot import render
from bot.domain import Figures
from bot.i18n import t

MAX_BROADCAST = 4000  # UTF-16 units: leaves room for the preview heading within 4096
MAX_REPORT = 3900  # section lines stop here, so the report always fits one message

Verdict = Literal["ok", "empty", "too_long"]


def broadcast_argument(message_text: str) -> str:
    """The announcement after `/broadcast` (or `/broadcast@bot`), line breaks kept."""
    parts = message_text.split(maxsplit=1)
    return parts[1].strip() if len(parts) > 1 else ""


def judge(text: str) -> Verdict:
    """Whether an announcement can be sent as it is."""
    if not text.strip():
        return "empty"
    return "too_long" if render.utf16_len(text) > MAX_BROADCAST else "ok"


def ago(seconds: int, lang: str) -> str:
    """A rough age: '40 s ago', '12 min ago', '5 h ago', '3 days ago'."""
    if seconds < 90:
        return t(lang, "admin.ago_seconds", n=max(0, seconds))
    if seconds < 90 * 60:
        return t(lang, "admin.ago_minutes", n=round(seconds / 60))
    if seconds < 36 * 3600:
        return t(lang, "admin.ago_hours", n=round(seconds / 3600))
    return t(lang, "admin.ago_days", n=round(seconds / 86400))


def _rate(rate: float) -> str:
    return f"{rate:.1f}".removesuffix(".0")


def stats_report(
    figures: Figures,
    last_day: Mapping[str, int],
    rate: float | None,
    limit: float,
    now: int,
    lang: str,
) -> str:
    """/stats as one HTML message: chats, the last 24 h of deliveries, send rate, sections."""
    lines = [
        t(lang, "admin.stats_heading"),
        t(
            lang,
            "admin.stats_chats",
            active=figures.active_chats,
            inactive=figures.inactive_chats,
        ),
        t(
            lang,
            "admin.stats_deliveries",
            sent=last_day.get("sent", 0),
            failed=last_day.get("failed", 0),
            dropped=last_day.get("dropped", 0),
            pending=last_day.get("pending", 0),
        ),
        t(lang, "admin.stats_rate", rate=_rate(rate), limit=_rate(limit))
        if rate is not None
        else t(lang, "admin.stats_rate_stopped"),
        "",
        t(lang, "admin.stats_sections"),
    ]
    size = sum(len(line) + 1 for line in lines)
    for shown, section in enumerate(figures.sections):
        poll = (
            t(lang, "admin.never")
            if section.last_success_at is None
            else ago(now - section.last_success_at, lang)
        )
        line = t(
            lang,
            "admin.stats_section",
            name=html.escape(section.name),
            subscribers=section.subscriptions,
            poll=poll,
        )
        if section.failing_feeds:
            line += " " + t(lang, "admin.stats_failing", count=section.failing_feeds)
        if size + len(line) > MAX_REPORT:
            rest = len(figures.sections) - shown
            lines.append(t(lang, "admin.stats_more", count=rest))
            break
        lines.append(line)
        size += len(line) + 1
    return "\n".join(lines)


def preview(text: str, chats: int, lang: str) -> str:
    """The confirmation message: a heading, then the announcement exactly as chats will get it."""
    body = render.broadcast_message(text).text
    return t(lang, "admin.broadcast_preview", chats=chats) + "\n\n" + body

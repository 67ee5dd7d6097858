"""Text for the operator: `newsbot stats` (the /metrics figures) and `newsbot poll --once`."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from bot.adminview import ago
from bot.domain import Figures

if TYPE_CHECKING:
    from bot.decide import PollReport


def _when(at: int | None, now: int) -> str:
    if at is None:
        return "never"
    stamp = time.strftime("%Y-%m-%d %H:%M", time.gmtime(at))
    return f"{stamp} UTC ({ago(max(0, now - at), 'en')})"


def render(figures: Figures, now: int) -> str:
    """The figures as plain text, one topic per line, then one line per section."""
    d = figures.deliveries
    lines = [
        f"Chats:       {figures.active_chats} active, {figures.inactive_chats} gone",
        f"Articles:    {figures.articles} stored, {figures.articles_last_day} new in 24 h",
        f"Deliveries:  {d['pending']} pending, {d['sent']} sent "
        f"({figures.sent_last_day} in 24 h), {d['failed']} failed, {d['dropped']} dropped",
        "",
    ]
    width = max((len(s.name) + len(s.slug) + 3 for s in figures.sections), default=10)
    lines.append(f"{'Section':<{width}}  {'subs':>5}  {'articles':>8}  last good poll")
    for s in figures.sections:
        label = f"{s.name} [{s.slug}]"
        line = (
            f"{label:<{width}}  {s.subscriptions:>5}  {s.articles:>8}  "
            f"{_when(s.last_success_at, now)}"
        )
        if s.failing_feeds:
            line += f"  FAILING ({s.failing_feeds} feed): {s.last_error or 'unknown error'}"
        lines.append(line)
    return "\n".join(lines)


def poll_lines(report: PollReport) -> list[str]:
    """`poll --once`: one tab-separated line per new article, what the backlog was, failing feeds.

    The backlog line is there because a first pass pushes nothing, and silence would look like
    a broken site.
    """
    lines = [f"{','.join(a.sections)}\t{a.title}\t{a.url}" for a in report.new]
    if report.backlog:
        articles = "article" if report.backlog == 1 else "articles"
        lines.append(
            f"recorded {report.backlog} existing {articles} as already published (not pushed)"
        )
    lines += [f"FAILED\t{f.section or 'site'}\t{f.url}\t{f.error}" for f in report.failed]
    return lines

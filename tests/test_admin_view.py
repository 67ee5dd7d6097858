"""The admin commands' pure parts: the /stats report and the /broadcast argument checks."""

from __future__ import annotations

import pytest

from bot import adminview
from bot.domain import Figures, SectionFigures

NOW = 1_800_000_000


def section(
    slug: str, name: str, subs: int, polled: int | None, failing: int = 0
) -> SectionFigures:
    return SectionFigures(slug, name, subs, 0, polled, failing, "boom" if failing else None)


def figures(*sections: SectionFigures) -> Figures:
    return Figures(3, 1, 0, 0, {}, 0, sections)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/broadcast", ""),
        ("/broadcast   ", ""),
        ("/broadcast hello", "hello"),
        ("/broadcast@news_bot  two\nlines  ", "two\nlines"),
        ("/broadcast\nfirst line\n\nthird", "first line\n\nthird"),
    ],
)
def test_broadcast_argument_keeps_line_breaks(text: str, expected: str) -> None:
    assert adminview.broadcast_argument(text) == expected


@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        ("", "empty"),
        (" \n ", "empty"),
        ("x" * 4000, "ok"),
        ("x" * 4001, "too_long"),
        ("🎉" * 2000, "ok"),  # 4000 UTF-16 units, as Telegram counts
        ("🎉" * 2001, "too_long"),
    ],
)
def test_judge(text: str, verdict: str) -> None:
    assert adminview.judge(text) == verdict


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (0, "0 s ago"),
        (89, "89 s ago"),
        (90, "2 min ago"),
        (5399, "90 min ago"),
        (5400, "2 h ago"),
        (36 * 3600, "2 days ago"),
    ],
)
def test_ago(seconds: int, expected: str) -> None:
    assert adminview.ago(seconds, "en") == expected


def test_report_escapes_names_and_flags_failing_feeds() -> None:
    text = adminview.stats_report(
        figures(section("a", "A <b>&", 2, NOW - 30, failing=1), section("b", "B", 0, None)),
        {"sent": 5, "failed": 1, "pending": 7},
        None,
        25,
        NOW,
        "en",
    )
    assert "A &lt;b&gt;&amp;: 2 · 30 s ago ⚠️ 1 feed(s) failing" in text.split("\n")
    assert "B: 0 · never" in text.split("\n")
    assert "Last 24 h: 5 sent, 1 failed, 0 dropped. Pending now: 7" in text
    assert "Send rate: the dispatcher is not running" in text


def test_report_with_many_sections_fits_one_message() -> None:
    many = [section(f"s{i}", "Section " + "x" * 60 + str(i), i, NOW) for i in range(200)]
    text = adminview.stats_report(figures(*many), {}, 12.5, 1000, NOW, "ru")
    assert len(text) <= adminview.MAX_REPORT + 100
    assert text.endswith("разделов: " + str(200 - text.count(" · ")))
    assert "Скорость отправки: 12.5 сообщ./с (лимит 1000/с)" in text

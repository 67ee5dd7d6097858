"""`newsbot stats`: the operator's figures from the database, no token, no Prometheus."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

import pytest

from bot import cli, report
from bot.domain import Figures, SectionFigures
from storage import db

NOW = 1_750_000_000


def test_render_lines_up_sections_and_flags_failing_feeds() -> None:
    figures = Figures(
        active_chats=12,
        inactive_chats=3,
        articles=240,
        articles_last_day=9,
        deliveries={"pending": 4, "sent": 900, "failed": 2, "dropped": 1},
        sent_last_day=80,
        sections=(
            SectionFigures("news", "News", 10, 200, NOW - 120, 0, None),
            SectionFigures("culture", "Culture", 2, 40, NOW - 7200, 1, "HTTP 500"),
            SectionFigures("gender", "Gender", 0, 0, None, 0, None),
        ),
    )
    text = report.render(figures, NOW)
    lines = text.splitlines()
    assert lines[0] == "Chats:       12 active, 3 gone"
    assert lines[1] == "Articles:    240 stored, 9 new in 24 h"
    assert lines[2] == "Deliveries:  4 pending, 900 sent (80 in 24 h), 2 failed, 1 dropped"
    assert lines[5].startswith("News [news]")
    assert "2025-06-15 15:04 UTC (2 min ago)" in lines[5]
    assert lines[6].endswith("(2 h ago)  FAILING (1 feed): HTTP 500")
    assert lines[7].endswith("never")
    # Columns line up: labels padded to the longest, counts right-aligned after them.
    assert [line[17:36] for line in lines[5:8]] == [
        "     10       200  ",
        "      2        40  ",
        "      0         0  ",
    ]


async def test_stats_command_reads_the_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "newsbot.db"
    now = int(time.time())
    conn = await db.connect(path)
    await conn.executescript(
        f"""
        INSERT INTO sections (slug, name, position)
            VALUES ('news', 'News', 1), ('opinion', 'Opinion', 2);
        INSERT INTO chats (id, kind, active, created_at, updated_at)
            VALUES (1, 'private', 1, 0, 0), (2, 'group', 1, 0, 0), (3, 'private', 0, 0, 0);
        INSERT INTO subscriptions (chat_id, section, created_at)
            VALUES (1, 'news', 0), (2, 'news', 0), (3, 'news', 0), (2, 'opinion', 0);
        INSERT INTO articles (id, key, url, title, published_at, first_seen_at, updated_at)
            VALUES (1, 'a', 'u', 't', 0, 0, 0), (2, 'b', 'u', 't', {now}, {now}, {now});
        INSERT INTO article_sections VALUES (1, 'news'), (2, 'news'), (2, 'opinion');
        INSERT INTO deliveries (chat_id, article_id, status, created_at, sent_at)
            VALUES (1, 1, 'sent', 0, {now - 60}), (2, 1, 'sent', 0, 5),
                   (1, 2, 'pending', 0, NULL), (3, 2, 'failed', 0, {now});
        INSERT INTO feeds (url, section, last_success_at, failures, last_fetch_at, last_error)
            VALUES ('f1', 'news', {now - 30}, 0, {now}, NULL),
                   ('f2', 'opinion', {now - 4000}, 3, {now}, 'timeout');
        """
    )
    await conn.close()
    monkeypatch.setenv("NEWSBOT_DATABASE", str(path))
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)

    assert await _main(["stats"]) == 0
    out = capsys.readouterr().out
    assert "Chats:       2 active, 1 gone" in out
    assert "Articles:    2 stored, 1 new in 24 h" in out
    assert "Deliveries:  1 pending, 2 sent (1 in 24 h), 1 failed, 0 dropped" in out
    news = next(line for line in out.splitlines() if line.startswith("News [news]"))
    assert news.split()[2:4] == ["2", "2"]  # active subscribers, articles
    # The CLI reads its own clock, a second or so after the seed's.
    ago = re.search(r"\((\d+) s ago\)", news)
    assert ago is not None and 30 <= int(ago.group(1)) <= 40
    opinion = next(line for line in out.splitlines() if line.startswith("Opinion"))
    assert opinion.split()[2:4] == ["1", "1"]
    assert "FAILING (1 feed): timeout" in opinion


async def _main(argv: list[str]) -> int:
    # The command runs its own event loop, as it does from a shell.
    return await asyncio.to_thread(cli.main, argv)


def test_stats_without_a_database_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("NEWSBOT_DATABASE", str(tmp_path / "none.db"))
    assert cli.main(["stats"]) == 1
    assert "no database" in capsys.readouterr().err
    assert not (tmp_path / "none.db").exists()

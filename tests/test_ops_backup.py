"""`newsbot backup` / `newsbot restore`: consistent copies while another process keeps writing."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot import cli
from bot.lock import InstanceLock
from storage import db

CHATS = 50

# A second process playing the running bot: each transaction stores one article with its
# section, FTS row and one delivery per subscribed chat (what ingest + fan_out do), then marks
# deliveries sent. Any torn copy would break the invariants checked below.
WRITER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
conn.execute("PRAGMA busy_timeout = 30000")
n = 0
while True:
    n += 1
    conn.execute("BEGIN IMMEDIATE")
    cur = conn.execute(
        "INSERT INTO articles (key, url, title, summary, published_at, first_seen_at, updated_at,"
        " announced) VALUES (?, ?, ?, 'summary text ' || ?, ?, ?, ?, 1)",
        (f"p{n}", f"https://example.org/?p={n}", f"Title {n}", "x" * 500, n, n, n),
    )
    aid = cur.lastrowid
    conn.execute("INSERT INTO article_sections VALUES (?, 'news')", (aid,))
    conn.execute(
        "INSERT INTO articles_fts (rowid, title, summary, author, sections) "
        "VALUES (?, ?, 'summary', '', 'news')", (aid, f"title {n}"))
    conn.execute(
        "INSERT INTO deliveries (chat_id, thread_id, article_id, created_at) "
        "SELECT chat_id, thread_id, ?, ? FROM subscriptions WHERE section = 'news'", (aid, n))
    conn.execute("UPDATE deliveries SET status = 'sent', sent_at = ? WHERE article_id = ?",
                 (n, aid))
    conn.execute("COMMIT")
    if n == 20:
        print("ready", flush=True)
"""


@pytest.fixture
async def live_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "data" / "newsbot.db"
    conn = await db.connect(path)
    await conn.execute("INSERT INTO sections (slug, name) VALUES ('news', 'News')")
    for chat in range(1, CHATS + 1):
        await conn.execute(
            "INSERT INTO chats (id, kind, created_at, updated_at) VALUES (?, 'private', 0, 0)",
            (chat,),
        )
        await conn.execute(
            "INSERT INTO subscriptions (chat_id, section, created_at) VALUES (?, 'news', 0)",
            (chat,),
        )
    await conn.close()
    monkeypatch.setenv("NEWSBOT_DATABASE", str(path))
    return path


def _figures(path: Path) -> tuple[str, int, int, int]:
    conn = sqlite3.connect(path)
    try:
        verdict = conn.execute("PRAGMA integrity_check").fetchone()[0]
        articles = conn.execute("SELECT COUNT(*) FROM articles").fetchone()[0]
        fts = conn.execute("SELECT COUNT(*) FROM articles_fts").fetchone()[0]
        sent = conn.execute("SELECT COUNT(*) FROM deliveries WHERE status = 'sent'").fetchone()[0]
    finally:
        conn.close()
    assert fts == articles
    return verdict, articles, fts, sent


def test_backup_during_concurrent_writes_is_consistent(
    live_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(live_db)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert writer.stdout is not None
        assert writer.stdout.readline().strip() == "ready"
        counts = []
        for i in range(5):
            target = tmp_path / "backups" / f"b{i}.db"
            assert cli.main(["backup", str(target)]) == 0
            verdict, articles, _fts, sent = _figures(target)
            assert verdict == "ok"
            assert sent == articles * CHATS  # every article's fan-out is whole, never half
            assert not Path(f"{target}-wal").exists()  # a single self-contained file
            counts.append(articles)
            time.sleep(0.05)
        assert writer.poll() is None, "the writer must still be running during the backups"
    finally:
        writer.kill()
        writer.wait()
    assert counts[0] >= 20
    assert counts[-1] > counts[0], f"writes did not progress during backups: {counts}"
    assert "integrity check: ok" in capsys.readouterr().out


def test_backup_refuses_to_overwrite_without_force(
    live_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "b.db"
    target.write_text("precious")
    assert cli.main(["backup", str(target)]) == 1
    assert "already exists" in capsys.readouterr().err
    assert target.read_text() == "precious"
    assert cli.main(["backup", "--force", str(target)]) == 0
    assert _figures(target)[0] == "ok"
    assert not list(tmp_path.glob(".b.db.partial-*"))


def test_backup_of_missing_database_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("NEWSBOT_DATABASE", str(tmp_path / "nothing.db"))
    assert cli.main(["backup", str(tmp_path / "b.db")]) == 1
    assert "no database" in capsys.readouterr().err
    assert not (tmp_path / "nothing.db").exists()


def test_restore_round_trip_keeps_the_replaced_database(
    live_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "b.db"
    assert cli.main(["backup", str(target)]) == 0
    with sqlite3.connect(live_db) as conn:
        conn.execute("DELETE FROM subscriptions")  # the accident the backup undoes
    conn.close()

    assert cli.main(["restore", str(target)]) == 0
    out = capsys.readouterr().out
    assert "restored" in out
    with sqlite3.connect(live_db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM subscriptions").fetchone()[0] == CHATS
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    kept = list(live_db.parent.glob("newsbot.db.pre-restore-*"))
    assert len(kept) == 1 and str(kept[0]) in out
    with sqlite3.connect(kept[0]) as old:
        assert old.execute("SELECT COUNT(*) FROM subscriptions").fetchone()[0] == 0
    old.close()


def test_restore_refuses_while_a_bot_holds_the_lock(
    live_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "b.db"
    assert cli.main(["backup", str(target)]) == 0
    before = live_db.read_bytes()
    with InstanceLock(live_db):
        assert cli.main(["restore", str(target)]) == 2
    assert "already running" in capsys.readouterr().err
    assert live_db.read_bytes() == before


def test_restore_refuses_a_damaged_or_foreign_file(
    live_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite" * 100)
    assert cli.main(["restore", str(junk)]) == 1
    assert "not a newsbot database" in capsys.readouterr().err

    # Two deterministic kinds of damage to the b-tree page of a table with rows: one that
    # integrity_check reports in its verdict, one that makes SQLite fail while checking.
    for name, offset, scribble in (("cells.db", 5, b"\x00\x01"), ("type.db", 0, b"\x00")):
        damaged = tmp_path / name
        assert cli.main(["backup", str(damaged)]) == 0
        _break_btree_page(damaged, "subscriptions", offset, scribble)
        assert cli.main(["restore", str(damaged)]) == 1
        assert "is damaged, refusing" in capsys.readouterr().err
    assert not list(live_db.parent.glob("newsbot.db.pre-restore-*"))


def _break_btree_page(path: Path, table: str, offset: int, scribble: bytes) -> None:
    """Overwrite bytes of the b-tree page header of `table`'s root page."""
    with sqlite3.connect(path) as conn:
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        (root,) = conn.execute(
            "SELECT rootpage FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
        ).fetchone()
        assert conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] > 0
    conn.close()
    assert root > 1  # page 1 starts with the 100-byte file header, not a b-tree header
    data = bytearray(path.read_bytes())
    # Header bytes: 0 = page type, 5-6 = start of the cell content area.
    start = (root - 1) * page_size + offset
    data[start : start + len(scribble)] = scribble
    path.write_bytes(bytes(data))

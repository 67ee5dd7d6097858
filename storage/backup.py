"""Consistent copies of the live database (SQLite online backup API) and restoring one."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from storage import db

# The first 16 bytes of every SQLite 3 database file.
_SQLITE_MAGIC = b"SQLite format 3\x00"


class BackupError(RuntimeError):
    """The backup or restore cannot be done; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class Copied:
    """What a backup or restore wrote."""

    path: Path
    size: int
    seconds: float


def _copy(source: Path, target: Path) -> None:
    """Copy `source` into the new file `target` in one backup step, then check the copy."""
    # uri mode=ro: a backup must never create, migrate or write the live database.
    src = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
    dst = sqlite3.connect(target)
    try:
        src.execute(f"PRAGMA busy_timeout = {db.BUSY_TIMEOUT_MS}")
        # pages=-1 copies everything in a single step under one read transaction: with WAL the
        # bot keeps writing meanwhile and the copy is exactly the database at that instant.
        src.backup(dst, pages=-1)
        # A backup is one self-contained file, not a WAL database that needs its -wal beside it.
        dst.execute("PRAGMA journal_mode = DELETE")
        verdict = integrity(dst)
        if verdict != "ok":
            raise BackupError(f"the copy in {target} failed its integrity check: {verdict}")
    finally:
        dst.close()
        src.close()


def integrity(conn: sqlite3.Connection) -> str:
    """`ok` or SQLite's first complaints from PRAGMA integrity_check."""
    rows = conn.execute("PRAGMA integrity_check").fetchall()
    return "; ".join(str(row[0]) for row in rows[:5])


def _partial(target: Path) -> Path:
    return target.with_name(f".{target.name}.partial-{os.getpid()}")


def _backup(source: Path, target: Path, force: bool) -> Copied:
    if not source.is_file():
        raise BackupError(f"there is no database at {source} (check NEWSBOT_DATABASE)")
    if target.exists() and not force:
        raise BackupError(f"{target} already exists; choose a new name or pass --force")
    if target.resolve() == source.resolve():
        raise BackupError("the backup target is the live database itself")
    target.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    partial = _partial(target)
    partial.unlink(missing_ok=True)
    try:
        _copy(source, partial)
        if force:
            os.replace(partial, target)
        else:
            # link() fails if the target appeared meanwhile: we never overwrite by accident.
            try:
                os.link(partial, target)
            except FileExistsError:
                raise BackupError(f"{target} already exists; pass --force") from None
    finally:
        partial.unlink(missing_ok=True)
    return Copied(target, target.stat().st_size, time.monotonic() - started)


async def backup(source: Path, target: Path, *, force: bool = False) -> Copied:
    """Write a consistent copy of the database at `source` to `target`, safe while it runs."""
    return await asyncio.to_thread(_backup, source, target, force)


def _check_source(source: Path) -> None:
    if not source.is_file():
        raise BackupError(f"there is no backup file at {source}")
    with source.open("rb") as file:
        if file.read(len(_SQLITE_MAGIC)) != _SQLITE_MAGIC:
            raise BackupError(f"{source} is not a newsbot database: not an SQLite file")
    conn = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)
    try:
        # Damage shows either as complaints in the verdict or, when a page SQLite must read to
        # check the file is itself unreadable, as an error: both mean the same thing here.
        try:
            verdict = integrity(conn)
        except sqlite3.DatabaseError as exc:
            verdict = str(exc)
        if verdict != "ok":
            raise BackupError(f"{source} is damaged, refusing to restore it: {verdict}")
        try:
            row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
        except sqlite3.DatabaseError as exc:
            raise BackupError(f"{source} is not a newsbot database: {exc}") from None
    finally:
        conn.close()
    version = int(row[0] or 0) if row else 0
    if version > db.latest_version():
        raise BackupError(
            f"{source} has schema version {version}, newer than this newsbot "
            f"({db.latest_version()}); upgrade newsbot first"
        )


def _restore(source: Path, database: Path) -> tuple[Copied, Path | None]:
    _check_source(source)
    started = time.monotonic()
    kept = None
    if database.exists():
        # The current database is kept beside it: a restore is never a one-way door.
        kept = database.with_name(f"{database.name}.pre-restore-{int(time.time())}")
        _copy(database, kept)
    partial = _partial(database)
    partial.unlink(missing_ok=True)
    try:
        _copy(source, partial)
        # A -wal or -shm left by the old file would be replayed onto the restored one.
        for suffix in ("-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                database.with_name(database.name + suffix).unlink()
        os.replace(partial, database)
    finally:
        partial.unlink(missing_ok=True)
    return Copied(database, database.stat().st_size, time.monotonic() - started), kept


async def restore(source: Path, database: Path) -> tuple[Copied, Path | None]:
    """Replace `database` by the backup `source` after checking it; the caller holds the lock.

    Returns what was written and where the replaced database was kept (if there was one).
    """
    return await asyncio.to_thread(_restore, source, database)

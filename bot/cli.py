"""The `newsbot` command line: run, poll --once, sections, check, stats, backup."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from telegram.error import InvalidToken, NetworkError

from bot import config, logs, sections
from bot.config import ConfigError
from bot.lock import AlreadyRunning, InstanceLock
from storage.db import SchemaTooNew


def _run(args: argparse.Namespace) -> int:
    settings = config.load()
    settings.require_token()
    # A bad sections file is the operator's to fix, and says so before any network round trip.
    sections.load(settings.site_url, settings.sections_file)
    logs.setup(settings.log_format, token=settings.token)
    from bot import app

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await app.serve(settings, stop)

    # PTB retries network trouble once it runs; failing to start at all is the operator's to fix.
    try:
        with InstanceLock(settings.database):
            asyncio.run(main())
    except InvalidToken:
        print(
            "newsbot: the Bot API rejected TELEGRAM_BOT_TOKEN; copy it again from @BotFather "
            "(/mybots -> API Token)",
            file=sys.stderr,
        )
        return 1
    except NetworkError as exc:
        reason = logs.redact(str(exc), settings.token)
        print(
            f"newsbot: cannot reach the Bot API at {settings.base_url}: {reason}", file=sys.stderr
        )
        return 1
    return 0


def _poll(args: argparse.Namespace) -> int:
    if not args.once:
        print("newsbot: use `newsbot poll --once` (continuous polling is `newsbot run`)")
        return 2
    settings = config.load()
    logs.setup(settings.log_format, token=settings.token)
    from bot import fanout, ingest, report

    # The lock keeps a running bot and this pass from both claiming the same new articles.
    with InstanceLock(settings.database):
        done = asyncio.run(ingest.poll_once(settings, fanout.fan_out))
    for line in report.poll_lines(done):
        print(line)
    return 0 if done.ok else 1


def _sections(args: argparse.Namespace) -> int:
    settings = config.load()
    if args.rest and not args.discover:
        print("newsbot: --rest only applies to --discover", file=sys.stderr)
        return 2
    if args.discover:
        from bot import discover

        try:
            found = discover.discover(settings.site_url, rest=args.rest)
            print(asyncio.run(found), end="")
        except discover.DiscoveryError as exc:
            print(f"newsbot: {exc}", file=sys.stderr)
            return 1
        return 0
    for section in sections.load(settings.site_url, settings.sections_file):
        indent = "  " if section.parent else ""
        hidden = " (hidden)" if section.hidden else ""
        print(f"{indent}{section.emoji} {section.name} [{section.slug}]{hidden}")
        for url in section.feeds:
            print(f"{indent}    {url}")
    return 0


def _check(args: argparse.Namespace) -> int:
    from bot import check

    return check.report(asyncio.run(check.run_checks()), sys.stdout)


def _stats(args: argparse.Namespace) -> int:
    import time

    from bot import report
    from bot.domain import Figures
    from storage import db, stats

    settings = config.load()
    if not settings.database.is_file():
        print(f"newsbot: there is no database at {settings.database}", file=sys.stderr)
        return 1

    async def read() -> Figures:
        conn = await db.connect(settings.database)
        try:
            return await stats.figures(conn, int(time.time()))
        finally:
            await conn.close()

    print(report.render(asyncio.run(read()), int(time.time())))
    return 0


def _backup(args: argparse.Namespace) -> int:
    from storage import backup

    settings = config.load()
    try:
        copied = asyncio.run(backup.backup(settings.database, Path(args.path), force=args.force))
    except backup.BackupError as exc:
        print(f"newsbot: {exc}", file=sys.stderr)
        return 1
    print(
        f"backed up {settings.database} to {copied.path} ({copied.size} bytes, "
        f"{copied.seconds:.2f} s); integrity check: ok"
    )
    return 0


def _restore(args: argparse.Namespace) -> int:
    from storage import backup

    settings = config.load()
    # Holding the instance lock is what makes this safe: no bot can write while we swap files.
    with InstanceLock(settings.database):
        try:
            copied, kept = asyncio.run(backup.restore(Path(args.path), settings.database))
        except backup.BackupError as exc:
            print(f"newsbot: {exc}", file=sys.stderr)
            return 1
    print(f"restored {args.path} into {copied.path} ({copied.size} bytes)")
    if kept is not None:
        print(f"the database it replaced is kept as {kept}")
    return 0


def parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    top = argparse.ArgumentParser(
        prog="newsbot",
        description="Telegram bot that delivers a news site's articles to its readers.",
        epilog="Configuration comes from environment variables; see README.md.",
    )
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = sub.add_parser("run", help="run the bot (needs TELEGRAM_BOT_TOKEN)")
    run.set_defaults(func=_run)
    sec = sub.add_parser("sections", help="list sections and their feed URLs")
    sec.add_argument(
        "--discover",
        action="store_true",
        help="print a sections file built from the WordPress site's categories (REST API)",
    )
    sec.add_argument(
        "--rest",
        action="store_true",
        help="with --discover: each section's feed is the REST posts URL of its category "
        "(/wp-json/wp/v2/posts?categories=ID,...&_embed) instead of its RSS feed",
    )
    sec.set_defaults(func=_sections)
    poll = sub.add_parser("poll", help="poll the site once and print new articles (no token)")
    poll.add_argument("--once", action="store_true", help="one pass, then exit (0 = all feeds ok)")
    poll.set_defaults(func=_poll)
    chk = sub.add_parser(
        "check", help="check config, database, Bot API and every feed (exit 1 on a failure)"
    )
    chk.set_defaults(func=_check)
    sta = sub.add_parser("stats", help="chats, articles, deliveries and feed health (no token)")
    sta.set_defaults(func=_stats)
    bak = sub.add_parser(
        "backup", help="write a consistent copy of the database (safe while the bot runs)"
    )
    bak.add_argument("path", help="file to write, e.g. backups/newsbot-2025-01-31.db")
    bak.add_argument("--force", action="store_true", help="overwrite PATH if it exists")
    bak.set_defaults(func=_backup)
    res = sub.add_parser("restore", help="replace the database by a backup (stop the bot first)")
    res.add_argument("path", help="a file written by `newsbot backup`")
    res.set_defaults(func=_restore)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    args = parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except (ConfigError, AlreadyRunning, SchemaTooNew) as exc:
        print(f"newsbot: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())

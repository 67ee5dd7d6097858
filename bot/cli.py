"""The `newsbot` command line: run, poll --once, sections, check, stats, backup."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Sequence

from bot import config, logs, sections
from bot.config import ConfigError
from bot.lock import AlreadyRunning, InstanceLock
from storage.db import SchemaTooNew


def _run(args: argparse.Namespace) -> int:
    settings = config.load()
    settings.require_token()
    logs.setup(settings.log_format)
    from bot import app

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await app.serve(settings, stop)

    with InstanceLock(settings.database):
        asyncio.run(main())
    return 0


def _sections(args: argparse.Namespace) -> int:
    settings = config.load()
    for section in sections.load(settings.site_url, settings.sections_file):
        indent = "  " if section.parent else ""
        hidden = " (hidden)" if section.hidden else ""
        print(f"{indent}{section.emoji} {section.name} [{section.slug}]{hidden}")
        for url in section.feeds:
            print(f"{indent}    {url}")
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
    sec.set_defaults(func=_sections)
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

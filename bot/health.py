"""Is the bot healthy? /healthz and /metrics on NEWSBOT_METRICS_PORT, and the container probe.

The same server takes WebSub publish pings at /websub (bot/websub.py).

The HTTP server is tornado, which PTB's `webhooks` extra already installs for webhook mode: no
extra dependency, and a real HTTP server rather than a hand-rolled one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import tornado.httpserver
import tornado.web

from bot import config, logs, metrics, pings, websub
from bot.botdata import App
from bot.config import ConfigError, Settings
from bot.lock import InstanceLock
from storage import stats

log = logging.getLogger(__name__)

# A section is stale when its newest successful poll is older than this many poll intervals,
# but never less than STALE_FLOOR seconds: a slow site or one retried failure is no outage.
STALE_INTERVALS = 5
STALE_FLOOR = 300
WRITE_PROBE_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class Facts:
    """What /healthz looked at, gathered at one moment."""

    now: int
    started_at: int
    poll_interval: float
    database_error: str | None
    last_success: Mapping[str, int | None]
    tasks: Mapping[str, str | None]  # name -> None while running, else how it ended
    receiving: bool  # updater (polling or webhook) running


def stale_after(poll_interval: float) -> int:
    """Seconds without a successful poll after which a section counts as stale."""
    return max(STALE_FLOOR, int(STALE_INTERVALS * poll_interval))


def assess(facts: Facts) -> tuple[bool, dict[str, Any]]:
    """Decide health from the facts: (healthy, the JSON body explaining it)."""
    problems = []
    if facts.database_error:
        problems.append(f"database not writable: {facts.database_error}")
    if not facts.receiving:
        problems.append("not receiving updates from Telegram")
    for name, ended in facts.tasks.items():
        if ended is not None:
            problems.append(f"task {name} stopped: {ended}")
    limit = stale_after(facts.poll_interval)
    sections = {}
    for slug, success in sorted(facts.last_success.items()):
        # A section never polled since start-up gets the same grace as one polled at start.
        since = max(success or 0, facts.started_at)
        fresh = facts.now - since <= limit
        sections[slug] = {"last_success_at": success, "fresh": fresh}
        if not fresh:
            problems.append(f"section {slug}: no successful poll for {facts.now - since} s")
    body = {
        "status": "unhealthy" if problems else "ok",
        "problems": problems,
        "database": facts.database_error or "ok",
        "tasks": {name: ended or "running" for name, ended in facts.tasks.items()},
        "sections": sections,
        "stale_after_seconds": limit,
        "uptime_seconds": facts.now - facts.started_at,
    }
    return not problems, body


def _task_state(task: asyncio.Task[None]) -> str | None:
    if not task.done():
        return None
    if task.cancelled():
        return "cancelled"
    exc = task.exception()
    return f"{type(exc).__name__}: {exc}" if exc else "returned"


async def gather(application: App, started_at: int, now: int) -> Facts:
    """Collect the facts about a running application."""
    rt = application.bot_data.runtime
    polled = {s.slug: None for s in rt.sections if s.feeds and not s.hidden}
    stored = await stats.last_success(rt.db)
    last_success = {slug: stored.get(slug) for slug in polled}
    updater = application.updater
    return Facts(
        now=now,
        started_at=started_at,
        poll_interval=rt.settings.poll_interval,
        database_error=await stats.writable(rt.settings.database, WRITE_PROBE_SECONDS),
        last_success=last_success,
        tasks={task.get_name(): _task_state(task) for task in rt.tasks},
        receiving=bool(application.running and updater is not None and updater.running),
    )


class _Healthz(tornado.web.RequestHandler):
    def initialize(self, bot: App, started_at: int) -> None:
        self.bot = bot
        self.started_at = started_at

    async def get(self) -> None:
        facts = await gather(self.bot, self.started_at, int(time.time()))
        healthy, body = assess(facts)
        self.set_status(200 if healthy else 503)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body))


class _Metrics(tornado.web.RequestHandler):
    def initialize(self, bot: App) -> None:
        self.bot = bot

    async def get(self) -> None:
        rt = self.bot.bot_data.runtime
        metrics.observe(await stats.figures(rt.db, int(time.time())))
        body, content_type = metrics.render()
        self.set_header("Content-Type", content_type)
        self.finish(body)


def _quiet(handler: tornado.web.RequestHandler) -> None:
    # Probes arrive every few seconds; only errors deserve a log line.
    if handler.get_status() >= 500 and handler.request.path != "/healthz":
        logs.event(log, "metrics server error", logging.WARNING, path=handler.request.path)


async def start(application: App) -> asyncio.Task[None]:
    """Listen on NEWSBOT_METRICS_PORT now (fail fast if taken); the task serves until cancelled."""
    rt = application.bot_data.runtime
    port = rt.settings.metrics_port
    assert port is not None
    hub = websub.Hub(rt.db, rt.poke_poller)
    hosts = pings.site_hosts(rt.settings.site_url, rt.sections)
    web = tornado.web.Application(
        [
            (r"/healthz", _Healthz, {"bot": application, "started_at": int(time.time())}),
            (r"/metrics", _Metrics, {"bot": application}),
            (websub.PATH, websub.HubHandler, {"hub": hub, "hosts": hosts}),
        ],
        log_function=_quiet,
    )
    # No request here needs a body larger than a WebSub ping's form.
    server = tornado.httpserver.HTTPServer(web, max_body_size=websub.MAX_BODY)
    server.listen(port, address=rt.settings.listen)
    logs.event(log, "health and metrics listening", port=port, address=rt.settings.listen)

    async def serve() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            server.stop()
            with contextlib.suppress(Exception):
                await server.close_all_connections()
            await hub.close()

    return asyncio.create_task(serve(), name="health")


def _probe_host(listen: str) -> str:
    return "127.0.0.1" if listen in ("0.0.0.0", "::", "") else listen


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def probe(settings: Settings) -> tuple[bool, str]:
    """Ask /healthz if the port is configured, else check the lock holder is alive."""
    if settings.metrics_port:
        url = f"http://{_probe_host(settings.listen)}:{settings.metrics_port}/healthz"
        try:
            with urllib.request.urlopen(url, timeout=4) as resp:
                return resp.status == 200, resp.read().decode(errors="replace")
        except urllib.error.HTTPError as exc:
            return False, exc.read().decode(errors="replace")
        except OSError as exc:
            return False, f"{url}: {exc}"
    # Reading the lock file, never taking the lock: a probe must not block the bot's start.
    lock = InstanceLock(settings.database).path
    try:
        pid = int(lock.read_text().strip())
    except (OSError, ValueError):
        return False, f"no running newsbot: {lock} is missing or empty"
    if not _pid_alive(pid):
        return False, f"newsbot (pid {pid}) recorded in {lock} is not running"
    return True, f"newsbot (pid {pid}) is running"


def main() -> int:
    """Exit 0 when healthy, 1 otherwise, with one line saying why."""
    try:
        healthy, detail = probe(config.load())
    except ConfigError as exc:
        healthy, detail = False, str(exc)
    print(detail.strip(), file=sys.stdout if healthy else sys.stderr)
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())

"""Is the bot healthy? The container probe (`python -m bot.health`); /healthz comes later."""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

from bot import config
from bot.config import ConfigError, Settings
from bot.lock import InstanceLock


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

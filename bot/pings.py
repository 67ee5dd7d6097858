"""What a WebSub publish ping to the hub means, decided from its form alone (pure).

bot/websub.py serves the endpoint and records outcomes; this module decides, without I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

from bot.domain import Section

MAX_FIELDS = 200


@dataclass(frozen=True, slots=True)
class Ping:
    """How one request to the hub endpoint is answered."""

    accepted: bool
    status: int  # 204 as a hub answers an accepted publish ping; 400 otherwise
    reason: str  # said to the sender, logged for the operator, shown by `newsbot check`


def _host(url: str) -> str:
    """host[:port] of a URL, `www.` and a scheme's default port left out; "" if unreadable."""
    try:
        parts = urlsplit(url.strip())
        host, port = parts.hostname or "", parts.port
    except ValueError:
        return ""
    host = host.removeprefix("www.")
    return f"{host}:{port}" if host and port not in (None, 80, 443) else host


def site_hosts(site_url: str, sections: Iterable[Section]) -> frozenset[str]:
    """The hosts whose feeds the bot polls: a ping about any other host is not for us."""
    urls = [site_url, *(url for s in sections for url in s.feeds)]
    return frozenset(h for h in map(_host, urls) if h)


def read(body: bytes, query: str, hosts: frozenset[str]) -> Ping:
    """Decide on a hub request from its form fields (body or query string), never its URLs."""
    try:
        fields = parse_qsl(query, keep_blank_values=True, max_num_fields=MAX_FIELDS)
        fields += parse_qsl(
            body.decode("utf-8", errors="replace"),
            keep_blank_values=True,
            max_num_fields=MAX_FIELDS,
        )
    except ValueError:
        return Ping(False, 400, f"more than {MAX_FIELDS} form fields")
    modes = [value.strip().lower() for key, value in fields if key == "hub.mode"]
    if not modes:
        return Ping(False, 400, "hub.mode is missing; this hub takes hub.mode=publish")
    if modes[0] != "publish":
        return Ping(False, 400, f"hub.mode={modes[0][:40]!r} is not supported; only publish")
    # WebSub names the topic hub.topic; PubSubHubbub 0.3 and the WordPress plugin, hub.url.
    topics = [value for key, value in fields if key in ("hub.url", "hub.topic") and value.strip()]
    if not topics:
        return Ping(False, 400, "hub.url is missing")
    if not any(_host(t) in hosts for t in topics):
        return Ping(False, 400, f"no hub.url on {', '.join(sorted(hosts))}; ignored")
    return Ping(True, 204, f"{len(topics)} topic(s)")

"""A minimal Bot API stub for benchmarks, run as its own process so that its CPU is not the bot's.

    python bench/botstub.py [--limits GLOBAL_PER_S,PER_CHAT_PER_S]

Prints the port it listens on (127.0.0.1), then serves HTTP/1.1 keep-alive until killed.
`sendMessage` answers at once with a message; with --limits it answers 429 (retry_after 1) like
Telegram when a send arrives inside a full sliding window, and a refused send does not count.
`GET /stats` returns {"ok": n, "too_many": n, "cpu_ms": n, "sends": [[chat_id, unix time], ...]}
(accepted sends by arrival) as JSON.  `GET /inject/N/FIRST` queues N private "/help" commands
from users FIRST, FIRST+1, ... for `getUpdates` (long polling) and returns the unix time.
Other methods answer `true`.  It is raw asyncio rather than aiohttp so that the stub stays far
faster than anything it measures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import time
from collections import deque
from typing import ClassVar
from urllib.parse import parse_qsl

ME = {"id": 1, "is_bot": True, "first_name": "Bench", "username": "bench_bot"}


class Limits:
    """Telegram's windows as the stub sees them: by arrival time."""

    def __init__(self, global_per_s: int, per_chat_per_s: int) -> None:
        self.recent: deque[float] = deque(maxlen=global_per_s)
        self.per_chat = per_chat_per_s
        self.last: dict[int, deque[float]] = {}

    def allow(self, chat_id: int, now: float) -> bool:
        full = len(self.recent) == self.recent.maxlen and now - self.recent[0] < 1.0
        chat = self.last.setdefault(chat_id, deque(maxlen=self.per_chat))
        busy = len(chat) == chat.maxlen and now - chat[0] < 1.0
        if full or busy:
            return False
        self.recent.append(now)
        chat.append(now)
        return True


class Updates:
    """Injected commands, handed out by getUpdates with Telegram's offset rules."""

    def __init__(self) -> None:
        self.queue: list[dict[str, object]] = []
        self.next_id = 1
        self.arrived = asyncio.Event()

    def inject(self, count: int, first: int) -> float:
        now = time.time()
        for user in range(first, first + count):
            user_info = {"id": user, "is_bot": False, "first_name": "Reader"}
            self.queue.append(
                {
                    "update_id": self.next_id,
                    "message": {
                        "message_id": self.next_id,
                        "date": int(now),
                        "chat": {"id": user, "type": "private", "first_name": "Reader"},
                        "from": user_info,
                        "text": "/help",
                        "entities": [{"type": "bot_command", "offset": 0, "length": 5}],
                    },
                }
            )
            self.next_id += 1
        self.arrived.set()
        return now

    async def take(self, offset: int, patience: float) -> list[dict[str, object]]:
        self.queue = [u for u in self.queue if int(str(u["update_id"])) >= offset]
        if not self.queue and patience > 0:
            self.arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.arrived.wait(), min(patience, 1.0))
        return self.queue[:100]


class Stub(asyncio.Protocol):
    limits: Limits | None = None
    stats: ClassVar[dict[str, int]] = {"ok": 0, "too_many": 0}
    sends: ClassVar[list[tuple[int, float]]] = []
    updates: ClassVar[Updates]
    polls: ClassVar[set[asyncio.Future[None]]] = set()
    next_id = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].decode("latin-1").split("\r\n")
            length = 0
            for line in head[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            if len(self.buffer) < end + 4 + length:
                return
            body = self.buffer[end + 4 : end + 4 + length]
            self.buffer = self.buffer[end + 4 + length :]
            path = head[0].split(" ")[1]
            if path.rsplit("/", 1)[-1].lower() == "getupdates":
                # Only PTB's poller asks, on its own connection: answering later keeps order.
                task = asyncio.ensure_future(self.poll(body))
                self.polls.add(task)
                task.add_done_callback(self.polls.discard)
                continue
            self.respond(*self.answer(path, body))

    def respond(self, status: int, answer: object) -> None:
        payload = json.dumps(answer).encode()
        self.transport.write(
            f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\n\r\n".encode()
            + payload
        )

    async def poll(self, body: bytes) -> None:
        params = _params(body)
        found = await self.updates.take(
            int(str(params.get("offset", 0))), float(str(params.get("timeout", 0)))
        )
        if not self.transport.is_closing():
            self.respond(200, {"ok": True, "result": found})

    def answer(self, path: str, body: bytes) -> tuple[int, object]:
        method = path.rsplit("/", 1)[-1]
        if method == "stats":
            cpu_ms = int(time.process_time() * 1000)
            return 200, {**self.stats, "cpu_ms": cpu_ms, "sends": self.sends}
        if "/inject/" in path:
            count, first = (int(x) for x in path.split("/inject/")[1].split("/")[:2])
            return 200, {"at": self.updates.inject(count, first)}
        if method.lower() == "getme":
            return 200, {"ok": True, "result": ME}
        if method.lower() != "sendmessage":
            return 200, {"ok": True, "result": True}
        params = _params(body)
        chat_id = int(str(params.get("chat_id", 0)))
        if self.limits is not None and not self.limits.allow(chat_id, time.monotonic()):
            Stub.stats["too_many"] += 1
            return 429, {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests: retry after 1",
                "parameters": {"retry_after": 1},
            }
        Stub.stats["ok"] += 1
        Stub.sends.append((chat_id, time.time()))
        Stub.next_id += 1
        message = {
            "message_id": Stub.next_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private"},
            "text": str(params.get("text", "")),
        }
        return 200, {"ok": True, "result": message}


def _params(body: bytes) -> dict[str, object]:
    """Form-encoded (httpx, aiohttp) or JSON bodies."""
    text = body.decode()
    if text.startswith("{"):
        loaded: dict[str, object] = json.loads(text)
        return loaded
    return dict(parse_qsl(text))


async def serve(limits: Limits | None) -> None:
    Stub.limits = limits
    Stub.updates = Updates()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Stub, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--limits", help="GLOBAL_PER_S,PER_CHAT_PER_S, e.g. 30,1")
    args = parser.parse_args()
    chosen = None
    if args.limits:
        global_per_s, per_chat = (int(x) for x in args.limits.split(","))
        chosen = Limits(global_per_s, per_chat)
    asyncio.run(serve(chosen))

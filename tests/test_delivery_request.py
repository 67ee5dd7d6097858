"""The dispatcher's aiohttp request: PTB's error mapping for timeouts and refused connections."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest
from telegram.error import NetworkError, TimedOut
from telegram.request import RequestData
from telegram.request._requestparameter import RequestParameter

from bot.aiohttp_request import AiohttpRequest


@pytest.fixture
async def silent_server() -> AsyncIterator[str]:
    """Accepts connections and reads, but never answers."""
    writers: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        await reader.read(65536)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}/botX/sendMessage"
    for writer in writers:
        writer.close()
    server.close()


@pytest.fixture
async def echo_server() -> AsyncIterator[tuple[str, list[bytes]]]:
    """Answers every request with 400 and a Telegram error envelope; keeps the raw requests."""
    seen: list[bytes] = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
        seen.append(head + await reader.readexactly(length))
        body = b'{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}'
        writer.write(
            b"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
        )
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}/botX/sendMessage", seen
    server.close()


def _data() -> RequestData:
    return RequestData(
        [RequestParameter.from_input("chat_id", 42), RequestParameter.from_input("text", "a&b é")]
    )


async def test_read_timeout_raises_timed_out(silent_server: str) -> None:
    async with AiohttpRequest(2, read_timeout=0.2) as request:
        with pytest.raises(TimedOut):
            await request.do_request(silent_server, "POST", _data())


async def test_per_call_read_timeout_overrides_default(silent_server: str) -> None:
    async with AiohttpRequest(2, read_timeout=30.0) as request:
        with pytest.raises(TimedOut):
            await request.do_request(silent_server, "POST", _data(), read_timeout=0.2)


async def test_connection_refused_raises_network_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # Nothing listens on the port now.
    async with AiohttpRequest(2) as request:
        with pytest.raises(NetworkError) as caught:
            await request.do_request(f"http://127.0.0.1:{port}/botX/getMe", "POST")
    assert not isinstance(caught.value, TimedOut)


async def test_form_body_and_error_status_reach_ptb(echo_server: tuple[str, list[bytes]]) -> None:
    url, seen = echo_server
    async with AiohttpRequest(2) as request:
        status, body = await request.do_request(url, "POST", _data())
    assert status == 400
    assert b"chat not found" in body
    assert b"application/x-www-form-urlencoded" in seen[0]
    assert seen[0].endswith(b"chat_id=42&text=a%26b+%C3%A9")
    # the cached quoting gives byte for byte what PTB's own encoding gives, buttons included
    data = RequestData(
        [
            RequestParameter.from_input("chat_id", 7),
            RequestParameter.from_input("text", "<b>x</b> & y"),
            RequestParameter.from_input("reply_markup", {"inline_keyboard": [[{"text": "Ö"}]]}),
        ]
    )
    async with AiohttpRequest(2) as request:
        await request.do_request(url, "POST", data)
    assert seen[1].endswith(data.url_encoded_parameters().encode())


async def test_unitialized_request_refuses() -> None:
    with pytest.raises(RuntimeError):
        await AiohttpRequest(1).do_request("http://127.0.0.1:1/", "POST")

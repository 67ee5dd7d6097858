"""The dispatcher's HTTP: a PTB request on aiohttp, whose C parser costs far less CPU than httpx."""

from __future__ import annotations

import functools
from urllib.parse import quote_plus

import aiohttp
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@functools.lru_cache(maxsize=1024)
def _quoted(value: str) -> str:
    # A fan-out sends the same text and buttons to every chat; urlencode quotes byte by byte.
    return quote_plus(value)


def _form(parameters: dict[str, str]) -> str:
    """The same body as RequestData.url_encoded_parameters(), with repeated values quoted once."""
    return "&".join(f"{_quoted(k)}={_quoted(v)}" for k, v in parameters.items())


# PTB's documented way to tell "not passed" from an explicit None: BaseRequest.DEFAULT_NONE.
# Timeout parameters are typed `object` because PTB's own alias for "float, None or that
# sentinel" lives in a private module; a wider parameter type is still a valid override.
_NOT_PASSED = BaseRequest.DEFAULT_NONE


def _pick(value: object, default: float | None) -> float | None:
    if value is _NOT_PASSED:
        return default
    if value is None or isinstance(value, int | float):
        return value
    raise TypeError(f"a timeout is a number of seconds or None, got {value!r}")


class AiohttpRequest(BaseRequest):
    """One keep-alive session with at most `connections` sockets; timeouts and errors map to
    PTB's the way HTTPXRequest maps httpx's (TimedOut, NetworkError)."""

    def __init__(
        self,
        connections: int,
        *,
        read_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
    ) -> None:
        self._connections = connections
        self._read, self._connect, self._pool = read_timeout, connect_timeout, pool_timeout
        self._default = self._timeout(read_timeout, connect_timeout, pool_timeout)
        self._session: aiohttp.ClientSession | None = None

    @staticmethod
    def _timeout(
        read: float | None, connect: float | None, pool: float | None
    ) -> aiohttp.ClientTimeout:
        # aiohttp's `connect` covers waiting for a pooled socket plus opening one.
        waiting = None if connect is None or pool is None else connect + pool
        return aiohttp.ClientTimeout(sock_read=read, sock_connect=connect, connect=waiting)

    @property
    def read_timeout(self) -> float | None:
        return self._read

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._connections, keepalive_timeout=60),
                cookie_jar=aiohttp.DummyCookieJar(),
                headers={"User-Agent": self.USER_AGENT},
            )

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: object = _NOT_PASSED,
        write_timeout: object = _NOT_PASSED,
        connect_timeout: object = _NOT_PASSED,
        pool_timeout: object = _NOT_PASSED,
    ) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        timeout = self._default
        if any(t is not _NOT_PASSED for t in (read_timeout, connect_timeout, pool_timeout)):
            timeout = self._timeout(
                _pick(read_timeout, self._read),
                _pick(connect_timeout, self._connect),
                _pick(pool_timeout, self._pool),
            )
        data: aiohttp.FormData | str | None = None
        headers = None
        if request_data is not None and request_data.contains_files:
            form = aiohttp.FormData(request_data.json_parameters)
            for name, (filename, content, mime) in request_data.multipart_data.items():
                form.add_field(name, content, filename=filename, content_type=mime)
            data = form
        elif request_data is not None:
            data, headers = _form(request_data.json_parameters), FORM
        try:
            async with self._session.request(
                method, url, data=data, headers=headers, timeout=timeout
            ) as response:
                return response.status, await response.read()
        except TimeoutError as err:
            raise TimedOut from err
        except aiohttp.ClientError as err:
            raise NetworkError(f"aiohttp.{err.__class__.__name__}: {err}") from err

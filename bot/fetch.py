"""Polite HTTP GETs to the news site: one client, few requests in flight, conditional, capped."""

from __future__ import annotations

import asyncio
import re
import time
from email.utils import parsedate_to_datetime
from types import TracebackType

import httpx

from bot.domain import FetchResult, http_date

MAX_BYTES = 5 * 1024 * 1024
MAX_REDIRECTS = 5
CONCURRENCY = 4
FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml, application/xml;q=0.9, "
    "text/xml;q=0.9, application/json;q=0.8, */*;q=0.1"
)
_MAX_AGE = re.compile(r"(?:^|[,\s])max-age\s*=\s*\"?(\d+)", re.I)


def retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a Retry-After header (delta seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - now)


def max_age(cache_control: str | None) -> float | None:
    """Seconds from `Cache-Control: max-age=N`, ignoring `no-cache`/`no-store` answers."""
    if not cache_control or re.search(r"no-(?:cache|store)", cache_control, re.I):
        return None
    match = _MAX_AGE.search(cache_control)
    return float(match.group(1)) if match else None


def user_agent(site_url: str) -> str:
    """Names the bot and where its operator can be found, as polite crawlers do."""
    return f"newsbot/0.1 (+{site_url})"


class Fetcher:
    """The one shared HTTP client of the ingest stage; never raises for network trouble."""

    def __init__(
        self,
        site_url: str,
        *,
        connect_timeout: float = 5.0,
        read_timeout: float = 15.0,
        max_bytes: int = MAX_BYTES,
        concurrency: int = CONCURRENCY,
        max_redirects: int = MAX_REDIRECTS,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.max_bytes = max_bytes
        self._slots = asyncio.Semaphore(concurrency)
        self._client = httpx.AsyncClient(
            http2=False,
            headers={"User-Agent": user_agent(site_url)},
            timeout=httpx.Timeout(read_timeout, connect=connect_timeout),
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
            follow_redirects=True,
            max_redirects=max_redirects,
            transport=transport,
        )

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the pooled connections."""
        await self._client.aclose()

    async def get(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: str = FEED_ACCEPT,
    ) -> FetchResult:
        """GET `url`, conditionally when validators are given, body capped at `max_bytes`."""
        headers = {"Accept": accept}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        async with self._slots:
            try:
                return await self._get(url, headers)
            except httpx.TooManyRedirects:
                return FetchResult(url, 0, error="too many redirects")
            except httpx.TimeoutException as exc:
                return FetchResult(url, 0, error=f"timeout ({type(exc).__name__})")
            except httpx.HTTPError as exc:
                return FetchResult(url, 0, error=f"{type(exc).__name__}: {exc}"[:300])

    async def _get(self, url: str, headers: dict[str, str]) -> FetchResult:
        async with self._client.stream("GET", url, headers=headers) as response:
            status = response.status_code
            if status == 304:
                return _result(url, response)
            if not 200 <= status < 300:
                return _result(url, response, error=f"HTTP {status}")
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > self.max_bytes:
                return self._too_big(url, status)
            chunks = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > self.max_bytes:
                    return self._too_big(url, status)
                chunks.append(chunk)
            return _result(url, response, b"".join(chunks))

    def _too_big(self, url: str, status: int) -> FetchResult:
        return FetchResult(url, status, error=f"body larger than {self.max_bytes} bytes")


def _result(
    url: str, response: httpx.Response, body: bytes = b"", error: str | None = None
) -> FetchResult:
    headers = response.headers
    return FetchResult(
        url=url,
        status=response.status_code,
        body=body,
        content_type=headers.get("Content-Type", ""),
        etag=headers.get("ETag"),
        last_modified=headers.get("Last-Modified"),
        retry_after=retry_after(headers.get("Retry-After"), time.time()),
        max_age=max_age(headers.get("Cache-Control")),
        error=error,
        date=http_date(headers.get("Date")),
    )

"""The dispatcher's HTTP: many single-connection HTTPX clients instead of one big pool."""

from __future__ import annotations

import asyncio
import itertools

import httpx
from telegram._utils.defaultvalue import DEFAULT_NONE
from telegram._utils.types import ODVInput
from telegram.request import BaseRequest, HTTPXRequest, RequestData


class Lanes(BaseRequest):
    """Sends each request on an idle lane (one connection each), so concurrent sends never queue.

    httpcore checks every connection of its pool on each request; with dozens of connections that
    costs more CPU than the send itself.  Pools of one connection keep the cost flat, and a stack
    of idle lanes reuses the warmest connection first."""

    def __init__(self, count: int) -> None:
        # One TLS context for all: building one (reading the CA bundle) takes ~15 ms of CPU.
        shared = {"verify": httpx.create_ssl_context()}
        self._lanes = tuple(
            HTTPXRequest(connection_pool_size=1, httpx_kwargs=shared) for _ in range(count)
        )
        self._idle = list(self._lanes)
        self._spare = itertools.cycle(self._lanes)  # only when more requests than lanes

    @property
    def read_timeout(self) -> float | None:
        return self._lanes[0].read_timeout

    async def initialize(self) -> None:
        await asyncio.gather(*(lane.initialize() for lane in self._lanes))

    async def shutdown(self) -> None:
        await asyncio.gather(*(lane.shutdown() for lane in self._lanes))

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = DEFAULT_NONE,
        write_timeout: ODVInput[float] = DEFAULT_NONE,
        connect_timeout: ODVInput[float] = DEFAULT_NONE,
        pool_timeout: ODVInput[float] = DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        idle = bool(self._idle)
        lane = self._idle.pop() if idle else next(self._spare)
        try:
            return await lane.do_request(
                url,
                method,
                request_data,
                read_timeout,
                write_timeout,
                connect_timeout,
                pool_timeout,
            )
        finally:
            if idle:
                self._idle.append(lane)

"""One stream of market events fed by several tasks (`PricedFeed`, `VenueFeeds`): what the tasks put on one queue is
handed out in order; the first error a task meets ends the stream, for every later call too.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable
from typing import Self

from bot.domain import MarketEvent

__all__ = ["MergedFeed"]


class MergedFeed:
    """The queue, the tasks and the async-iterator protocol; a subclass spawns its tasks in `_start`."""

    def __init__(self, task_prefix: str) -> None:
        self._queue: asyncio.Queue[MarketEvent | BaseException] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._task_prefix = task_prefix
        self._started = False
        self._closed = False

    def _start(self) -> None:
        raise NotImplementedError

    def _spawn(self, name: str, work: Awaitable[None]) -> None:
        async def guarded() -> None:
            try:
                await work
            except asyncio.CancelledError:
                raise
            except BaseException as exc:  # Fatal, or a bug: the consumer hears of it
                self._queue.put_nowait(exc)

        self._tasks.append(asyncio.create_task(guarded(), name=f"{self._task_prefix}-{name}"))

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> MarketEvent:
        if self._closed:
            raise StopAsyncIteration
        if not self._started:
            self._started = True
            self._start()
        item = await self._queue.get()
        if isinstance(item, BaseException):
            self._queue.put_nowait(item)  # it ended the feed: every later call raises it too
            raise item
        return item

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Stop the tasks (closing twice is harmless); a subclass then closes what it owns."""
        self._closed = True
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(BaseException):
                await task
        self._tasks.clear()

"""Group calls: requests made while one batch runs are served together by the next.

Per-hotel loops that each need the same kind of database round trip (the sender's step read,
its claim) ask a `GroupCall`; every request that arrives while a batch is in flight, or in the
same event-loop turn as the first, joins the next batch, so a round over many hotels costs one
transaction instead of one per hotel, and a lone request runs at once (no timer).

Contract: `await group(request)` returns what `run(requests)` returned for that request, or
raises what `run` raised (every request of the failed batch gets the same exception). The
batch runs in a task of its own, so a caller that is cancelled while waiting does not cancel
the batch the other callers share; `on_abandoned` (if given) receives the result of such a
caller's request, so the caller's owner can undo what was done for it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

Request = TypeVar("Request")
Result = TypeVar("Result")


class GroupCall(Generic[Request, Result]):
    """`run(requests)` returns one result per request, in order."""

    def __init__(
        self,
        run: Callable[[list[Request]], Awaitable[Sequence[Result]]],
        *,
        name: str,
        on_abandoned: Callable[[Request, Result], None] | None = None,
    ) -> None:
        self._run = run
        self._name = name
        self._on_abandoned = on_abandoned
        self._queued: list[tuple[Request, asyncio.Future[Result]]] = []
        self._task: asyncio.Task[None] | None = None
        self.batches = 0
        self.requests = 0

    @property
    def task(self) -> asyncio.Task[None] | None:
        """The batch task while one is running (an owner's stop() may wait for it)."""
        return self._task

    async def __call__(self, request: Request) -> Result:
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._queued.append((request, future))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain(), name=self._name)
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            on_abandoned = self._on_abandoned

            def abandoned(done: asyncio.Future[Result]) -> None:
                # Retrieves the exception too, so an abandoned failure is not reported as
                # "never retrieved".
                if done.cancelled() or done.exception() is not None:
                    return
                if on_abandoned is not None:
                    on_abandoned(request, done.result())

            future.add_done_callback(abandoned)
            raise

    async def _drain(self) -> None:
        batch: list[tuple[Request, asyncio.Future[Result]]] = []
        try:
            while self._queued:
                batch, self._queued = self._queued, []
                self.batches += 1
                self.requests += len(batch)
                try:
                    results = await self._run([request for request, _ in batch])
                except Exception as exc:
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for (_, future), result in zip(batch, results, strict=True):
                    if not future.done():
                        future.set_result(result)
                batch = []
        except BaseException:
            # Cancelled (shutdown past its timeout): nobody may wait forever.
            for _, future in [*batch, *self._queued]:
                future.cancel()
            self._queued = []
            raise

"""Owned long-running tasks: every background task of the daemon runs in one anyio task group.

Nothing runs fire-and-forget. A task started here belongs to the daemon's task group, so the
group does not end while it runs, and cancelling the group (a second signal) cancels it. Each
task also has its own cancel scope and a "done" event, so the ordered drain can stop, wait
for (time-boxed) and cancel one task at a time.

A *critical* task (ingest writer, processor, lease manager, hotel reconciliation, outbox
sender, supervisor) that raises, or that returns while the daemon is not stopping, is
reported at once through `on_crash`: the daemon logs it and stops in order with a non-zero
exit status, so systemd restarts it. A non-critical task (a hotel's worker) that fails is
logged at once; its owner hears of its end through `on_end` (the hotel reconciliation starts
a fresh worker, daemon/hotels.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import anyio
from anyio.abc import TaskGroup
from loguru import logger

from hotelbot.error_text import describe
from hotelbot.redact import redact

OnCrash = Callable[[str, BaseException | None], None]


@dataclass(eq=False)
class OwnedTask:
    """Handle of one task in the group. `cancel()` is safe at any time (also before the
    task started or after it ended); `wait(timeout_s)` never raises."""

    name: str
    critical: bool
    scope: anyio.CancelScope = field(default_factory=anyio.CancelScope)
    ended: anyio.Event = field(default_factory=anyio.Event)
    error: BaseException | None = None

    def done(self) -> bool:
        return self.ended.is_set()

    def cancel(self) -> None:
        self.scope.cancel()

    async def wait(self, timeout_s: float | None = None) -> bool:
        """Wait until the task ended, at most `timeout_s`; True if it did."""
        if timeout_s is None:
            await self.ended.wait()
            return True
        with anyio.move_on_after(timeout_s):
            await self.ended.wait()
        return self.ended.is_set()

    async def stop(self, timeout_s: float) -> bool:
        """Wait up to `timeout_s` for the task to end by itself, then cancel it and wait for
        that. True if it ended by itself in time."""
        if await self.wait(timeout_s):
            return True
        self.cancel()
        await self.wait()
        return False


def _leaf(error: Exception) -> Exception:
    """A task running its own task group fails with an exception group: report the error
    inside it when there is exactly one."""
    while isinstance(error, ExceptionGroup) and len(error.exceptions) == 1:
        error = error.exceptions[0]
    return error


class OwnedTasks:
    """Starts tasks in `group`; `stopping` turns off crash reports (the ordered drain)."""

    def __init__(self, group: TaskGroup, on_crash: OnCrash) -> None:
        self._group = group
        self._on_crash = on_crash
        self.stopping = False

    def start(
        self,
        name: str,
        fn: Callable[[], Awaitable[None]],
        *,
        critical: bool = True,
        on_end: Callable[[], None] | None = None,
    ) -> OwnedTask:
        """Start `fn` as a task of the group. `on_end` is called once it ended, however it
        ended (after `done()` became true): how an owner hears of a non-critical task's end
        at once (the hotel reconciliation restarts a hotel's worker)."""
        task = OwnedTask(name, critical)
        self._group.start_soon(self._run, task, fn, on_end, name=name)
        return task

    async def _run(
        self,
        task: OwnedTask,
        fn: Callable[[], Awaitable[None]],
        on_end: Callable[[], None] | None,
    ) -> None:
        try:
            with task.scope:
                try:
                    await fn()
                except Exception as exc:
                    task.error = _leaf(exc)
            cancelled = task.scope.cancel_called
        finally:
            task.ended.set()
            if on_end is not None:
                on_end()
        if cancelled or self.stopping:
            return  # ended on purpose
        if task.error is not None:
            # The error text may quote guest data or an upstream answer: class and safe
            # description above DEBUG, the traceback at DEBUG only.
            logger.opt(exception=task.error).debug(
                "task {} failed: {}", task.name, redact(str(task.error))
            )
        if not task.critical:
            if task.error is not None:
                logger.error("task {} failed: {}", task.name, describe(task.error))
            return
        self._on_crash(task.name, task.error)

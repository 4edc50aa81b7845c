"""The ordered drain: every stage waits at most for what is left of one budget,
drain_timeout_s, so the process is done within it (plus closing), well inside the unit's
TimeoutStopSec. Order:

1. side tasks (watchdog, metrics snapshot, digest, operator watch) and the trigger clock
   stop: no new work is decided;
2. no more lease rounds or hotel rounds;
3. every hotel worker stops together: long polls are cancelled (safe: only delete dequeues),
   an item being stored/deleted and a send step in progress are finished; what is still
   running when the budget is spent is cancelled (a send cut short stays `sending` and is
   reconciled after the restart);
4. the outbox sender's shared work and its queued commits; the ingest writer commits what is
   queued; the processor commits finished analyses;
5. a last status write, the HTTP transports closed, the leases released (others take the
   hotels over at once instead of after ttl_s).
Resources (database, sentiment stage) are closed afterwards by the exit stack (daemon/app.py).
A second signal cancels the task group: the drain stops where it is.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from loguru import logger

from hotelbot import sdnotify
from hotelbot.daemon.wiring import Parts


async def drain(
    parts: Parts,
    *,
    timeout_s: float,
    stop_watchdog: Callable[[], Awaitable[None]],
    write_status: Callable[[], Awaitable[None]],
    lease_ttl_s: float,
) -> None:
    started = time.monotonic()
    deadline = started + timeout_s

    def left_s() -> float:
        return max(0.1, deadline - time.monotonic())

    sdnotify.stopping("stopping: finishing in-flight work")  # [operations]
    parts.tasks.stopping = True  # tasks ending from here on do so on purpose
    # 1. nothing new is decided
    await stop_watchdog()
    for task in parts.side_tasks:
        task.cancel()  # a read-only round or one transaction: either committed or not
    for task in parts.side_tasks:
        await task.wait()
    await parts.observability.stop()
    await parts.scheduler.stop()
    # 2. no more lease rounds; the hotel round in progress finishes (it may be stopping
    # workers whose leases were lost)
    parts.lease_task.cancel()
    await parts.lease_task.wait()
    parts.workers.close()
    await parts.hotels_task.stop(left_s())
    # 3. the hotels' pollers and send loops, together
    served, cancelled = await parts.workers.stop_all(left_s())
    # 4. commits
    await parts.sender.stop(left_s())
    await parts.sender_task.stop(left_s())
    await parts.writer.close()
    if not await parts.writer_task.stop(left_s()):
        logger.error("ingest writer did not finish in time")
    await parts.processing.stop(left_s())  # after the pollers and the writer
    # 5. what others see
    await write_status()
    await parts.workers.aclose()
    try:
        await parts.leases.release_all()
    except Exception as exc:
        logger.warning(
            "could not release leases ({}); they expire in {:.0f} s",
            type(exc).__name__,
            lease_ttl_s,
        )
    received = sum(h.received_total for h in parts.workers.health.values())
    logger.info(
        "stopped in {:.1f} s: {} hotel(s), {} notification(s) stored this run, "
        "{} hotel worker(s) cancelled",
        time.monotonic() - started,
        served,
        received,
        cancelled,
    )

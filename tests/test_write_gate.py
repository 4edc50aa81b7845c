"""The SQLite write gate: ingest commits jump the queue, background writers are not starved,
and a cancelled waiter never strands the lock."""

from __future__ import annotations

import asyncio

import pytest

from hotelbot.storage.db import WriteGate

pytestmark = pytest.mark.timeout(10)


async def _take(gate: WriteGate, name: str, order: list[str], *, priority: bool) -> None:
    await gate.acquire(priority=priority)
    order.append(name)
    await asyncio.sleep(0)
    gate.release()


async def test_priority_waiter_goes_before_earlier_plain_waiters() -> None:
    gate = WriteGate()
    order: list[str] = []
    await gate.acquire()
    tasks = [
        asyncio.create_task(_take(gate, "plain1", order, priority=False)),
        asyncio.create_task(_take(gate, "plain2", order, priority=False)),
        asyncio.create_task(_take(gate, "ingest", order, priority=True)),
    ]
    await asyncio.sleep(0)
    gate.release()
    await asyncio.gather(*tasks)
    assert order == ["ingest", "plain1", "plain2"]


async def test_plain_waiters_get_a_turn_after_a_run_of_priority_grants() -> None:
    gate = WriteGate(max_priority_run=2)
    order: list[str] = []
    await gate.acquire()
    tasks = [asyncio.create_task(_take(gate, "plain", order, priority=False))]
    tasks += [asyncio.create_task(_take(gate, f"p{i}", order, priority=True)) for i in range(4)]
    await asyncio.sleep(0)
    gate.release()
    await asyncio.gather(*tasks)
    assert order == ["p0", "p1", "plain", "p2", "p3"]


async def test_cancelled_waiters_do_not_strand_the_lock() -> None:
    gate = WriteGate()
    order: list[str] = []
    await gate.acquire()
    doomed = asyncio.create_task(gate.acquire(priority=True))
    later = asyncio.create_task(_take(gate, "later", order, priority=False))
    await asyncio.sleep(0)
    gate.release()  # hands the lock to `doomed` ...
    doomed.cancel()  # ... which is cancelled before it runs: it must pass the lock on
    await asyncio.gather(doomed, later, return_exceptions=True)
    assert order == ["later"]
    await asyncio.wait_for(gate.acquire(), timeout=1)  # and the gate is free again
    gate.release()

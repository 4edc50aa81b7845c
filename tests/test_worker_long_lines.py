"""The daemon's side of the processing worker reads lines longer than asyncio's default
64 KiB limit: a metrics report names every hotel's counters, and with 1,000 hotels it is
longer than that (the bench's 1,000-hotel run stopped the daemon on a ValueError)."""

from __future__ import annotations

import asyncio
import os
import sys

from hotelbot.daemon import worker_child as wire
from hotelbot.daemon.worker_process import ProcessingWorker
from hotelbot.settings import DatabaseSettings, Settings
from hotelbot.storage.db import Database

# A stand-in child (a real process speaking the worker protocol): ready, one metrics line
# of ~300 KB, then an alert line, then it waits for `stop`.
_CHILD = f"""
import json, sys
sys.stdout.write({wire.READY!r} + "\\n")
counters = {{json.dumps(["hotelbot_not_forwarded", {{"hotel": f"bench-{{i}}"}}]): i
            for i in range(6000)}}
sys.stdout.write({wire.METRICS!r} + " " + json.dumps({{"counters": counters}}) + "\\n")
sys.stdout.write({wire.ALERTS!r} + " 7,8\\n")
sys.stdout.flush()
for line in sys.stdin:
    if line.strip() == {wire.STOP!r}:
        break
"""


async def test_a_metrics_line_longer_than_64_kib_is_read(db: Database, db_url: str) -> None:
    settings = Settings(database=DatabaseSettings(url=db_url))
    worker = ProcessingWorker(
        db,
        settings,
        "test-daemon",
        dict(os.environ),
        hotels=lambda: ([], {}),
        command=[sys.executable, "-c", _CHILD],
    )
    alerted: list[set[int]] = []
    worker.on_alerts(alerted.append)
    task = asyncio.create_task(worker.run())
    try:
        await asyncio.wait_for(worker.ready.wait(), 30)
        for _ in range(200):  # the alert line comes after the long line
            if alerted or task.done():
                break
            await asyncio.sleep(0.05)
        assert not task.done(), task.exception()
        assert alerted == [{7, 8}]
        assert worker.restarts == 0
    finally:
        worker.stop()
        await asyncio.wait_for(task, 30)

"""The daemon's observability runtime: the /metrics server and the snapshot task, started
and stopped as one (the composition root holds one of these)."""

from __future__ import annotations

import asyncio

from hotelbot.observability import metrics
from hotelbot.observability.server import MetricsServer
from hotelbot.observability.snapshot import MetricsSnapshot, SnapshotSources
from hotelbot.settings import MetricsSettings


class Observability:
    """`start()` serves /metrics (unless `listen` is "") and starts the snapshot task;
    `stop()` ends both. Idempotent; neither raises (see MetricsServer)."""

    def __init__(self, settings: MetricsSettings, sources: SnapshotSources) -> None:
        self.server = MetricsServer(settings.listen)
        self.snapshot = MetricsSnapshot(sources, interval_s=settings.snapshot_interval_s)
        self._enabled = bool(settings.listen)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if not self._enabled or self._task is not None:
            return  # metrics off: nobody reads the gauges, so no snapshot queries either
        metrics.set_build_info()
        self.server.start()
        self._task = asyncio.create_task(self.snapshot.run(), name="metrics-snapshot")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        await asyncio.to_thread(self.server.stop)

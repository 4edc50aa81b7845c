"""The daemon's observability runtime: the /metrics server and the snapshot (the composition
root runs `snapshot.run` as one of its tasks while `enabled`)."""

from __future__ import annotations

import asyncio

from hotelbot.observability import metrics
from hotelbot.observability.server import MetricsServer
from hotelbot.observability.snapshot import MetricsSnapshot, SnapshotSources
from hotelbot.settings import MetricsSettings


class Observability:
    """`start()` serves /metrics unless `listen` is ""; `stop()` ends the server. Both
    idempotent; neither raises (see MetricsServer). With metrics off nobody reads the
    gauges, so the caller does not run the snapshot either (`enabled` is False)."""

    def __init__(self, settings: MetricsSettings, sources: SnapshotSources) -> None:
        self.server = MetricsServer(settings.listen)
        self.snapshot = MetricsSnapshot(sources, interval_s=settings.snapshot_interval_s)
        self.enabled = bool(settings.listen)

    def start(self) -> None:
        if not self.enabled:
            return
        metrics.set_build_info()
        self.server.start()

    async def stop(self) -> None:
        await asyncio.to_thread(self.server.stop)

"""The daemon's side of the processing worker (`processing.workers = 1`): starts the child
(daemon/worker_child.py), feeds it, serves it the SQLite write gate, restarts it when it dies
and stops it in order.

Contract with the daemon (daemon/app.py):
- `run()` is one owned task; it returns only after `stop()` (or when cancelled, which kills
  the child). A child that exits or is killed is restarted after a backoff (0.5 s doubling to
  `restart_max_s`; reset once a child ran a minute). A child silent for `hang_after_s` (no
  heartbeat: its event loop is blocked or it is frozen), or holding the write gate that long,
  is killed with SIGKILL and restarted. Nothing is lost either way: its unfinished batch was
  never committed and is redone from the database by the next child.
- `notify(ids)` is the ingest writer's commit listener, `on_alerts(listener)` hears the
  hotels whose alerts the child committed (the outbox sender's wake-up). Both are hints.
- `stop()` asks the child to commit what it has analysed and exit; the daemon then waits for
  `run()` within its drain budget, before the database engines close.
- `probe()` is the worker's line in the systemd watchdog: its last sign of life. A child
  that stays dead or silent longer than the watchdog's bound withholds the ping.
- The fault-injection variables (hotelbot/crashpoints.py) reach the first child only: a
  restarted child runs clean, so a test can kill a child at a chosen point exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from collections.abc import Callable, Mapping, Sequence

import anyio
from loguru import logger

from hotelbot.crashpoints import FAULT_VARIABLES
from hotelbot.daemon import worker_child as wire
from hotelbot.daemon.supervisor import PollerProbe
from hotelbot.domain.backoff import Backoff
from hotelbot.domain.breaker import BreakerState
from hotelbot.observability import metrics
from hotelbot.settings import Settings
from hotelbot.storage.db import Database

HotelsAndEpochs = Callable[[], tuple[Sequence[int], Mapping[int, tuple[int, float]]]]
"""() -> (the hotels this daemon polls, for each lease held: (epoch, monotonic self-fence
deadline))."""

CHILD_COMMAND = (sys.executable, "-c", "from hotelbot.daemon.worker_child import main; main()")
_LEASE_PUSH_S = 0.25


class ProcessingWorker:
    """Supervises one processing worker process; see the module docstring."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        name: str,
        environ: Mapping[str, str],
        *,
        hotels: HotelsAndEpochs,
        hang_after_s: float = 15.0,
        restart_max_s: float = 10.0,
        command: Sequence[str] = CHILD_COMMAND,
    ) -> None:
        self._db = db
        self._settings = settings
        self._name = name
        self._environ = dict(environ)
        self._hotels = hotels
        self._hang_after_s = hang_after_s
        self._command = list(command)
        self._backoff = Backoff(lambda n, _hint: min(restart_max_s, 0.5 * 2 ** (n - 1)))
        self._listeners: list[Callable[[set[int]], None]] = []
        self._proc: asyncio.subprocess.Process | None = None
        self._alive = False  # the current child's stdout is open
        self._stopping = False
        self._stop_event = asyncio.Event()
        self._last_seen = time.monotonic()
        self._gate_task: asyncio.Task[None] | None = None
        self._gate_held_since: float | None = None
        self._sent_leases = ""
        self.generation = 0  # children started so far
        self.restarts = 0
        self.ready = asyncio.Event()  # the current child said `ready`
        self._breaker: BreakerState | None = None  # the child's LLM breaker, last reported
        self._counted: dict[str, float] = {}  # the current child's counter totals applied

    # -- what the daemon calls --------------------------------------------------------------
    @property
    def pid(self) -> int | None:
        """The running child's process id (None between children)."""
        return self._proc.pid if self._proc is not None and self._alive else None

    def on_alerts(self, listener: Callable[[set[int]], None]) -> None:
        self._listeners.append(listener)

    def notify(self, notification_ids: Sequence[int]) -> None:
        if notification_ids:
            self._send(f"{wire.INGESTED} {min(notification_ids)}")

    def stop(self) -> None:
        """Ask the child to commit what it has analysed and exit; `run()` then returns."""
        self._stopping = True
        self._stop_event.set()
        self._send(wire.STOP)

    @property
    def breaker_state(self) -> BreakerState | None:
        """The worker's LLM circuit breaker as last reported (None: no LLM, or no report)."""
        return self._breaker

    def probe(self, *, running: bool = True) -> PollerProbe:
        """For the watchdog: `running` = the supervising task has not ended; progress = the
        last line from a child (a heartbeat at least every second while one lives)."""
        return PollerProbe("processing-worker", running, self._last_seen, 0.0, kind="worker")

    # -- supervision --------------------------------------------------------------------------
    async def run(self) -> None:
        while not self._stopping:
            started = time.monotonic()
            code = await self._run_child()
            if self._stopping:
                break
            ran_s = time.monotonic() - started
            if ran_s > 60.0:
                self._backoff.reset()
            delay_s = self._backoff.next_delay()
            self.restarts += 1
            logger.error(
                "processing worker exited (status {}) after {:.1f} s; restarting in {:.1f} s",
                code,
                ran_s,
                delay_s,
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop_event.wait(), delay_s)

    async def _run_child(self) -> int | None:
        self.generation += 1
        env = dict(self._environ)
        if self.generation > 1:
            for variable in FAULT_VARIABLES:
                env.pop(variable, None)
        self.ready.clear()
        proc = await asyncio.create_subprocess_exec(
            *self._command,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env=env,
            # A metrics line names every hotel's counters: 1,000 hotels is over asyncio's
            # default 64 KiB line limit (bench: the daemon stopped on a ValueError).
            limit=16 * 1024 * 1024,
        )
        self._proc, self._alive, self._sent_leases = proc, True, ""
        self._counted = {}
        self._last_seen = time.monotonic()
        assert proc.stdin is not None and proc.stdout is not None
        config = {"settings": self._settings, "name": self._name, "generation": self.generation}
        proc.stdin.write(wire.encode_config(config))
        self._push_leases()
        if self._stopping:
            self._send(wire.STOP)
        keeper = asyncio.create_task(self._keep(proc))
        try:
            await self._read(proc.stdout)
            self._alive = False
            with anyio.move_on_after(5.0):
                await proc.wait()
        finally:
            self._alive = False
            keeper.cancel()
            with anyio.CancelScope(shield=True):
                if proc.returncode is None:
                    proc.kill()  # cancelled (second signal, drain over) or a stuck exit
                await proc.wait()
                await self._drop_gate()
                with contextlib.suppress(asyncio.CancelledError):
                    await keeper
        return proc.returncode

    async def _read(self, stdout: asyncio.StreamReader) -> None:
        while True:
            line = await stdout.readline()
            if not line:
                return
            self._last_seen = time.monotonic()
            kind, _, rest = line.decode("ascii", "replace").strip().partition(" ")
            if kind == wire.HEARTBEAT:
                continue
            if kind in (wire.GATE_ASK, wire.GATE_ASK_PRIORITY):
                priority = kind == wire.GATE_ASK_PRIORITY
                self._gate_task = asyncio.create_task(self._grant(priority))
            elif kind == wire.GATE_RELEASE:
                self._release_gate()
            elif kind == wire.ALERTS:
                hotel_ids = {int(h) for h in rest.split(",") if h.strip().isdigit()}
                for listener in self._listeners:
                    listener(hotel_ids)
            elif kind == wire.METRICS:
                self._add_metrics(rest)
            elif kind == wire.READY:
                self.ready.set()
                logger.info("processing worker {} ready", self.generation)

    async def _keep(self, proc: asyncio.subprocess.Process) -> None:
        """Relay lease changes; kill a child that went silent or sits on the write gate."""
        while True:
            await asyncio.sleep(_LEASE_PUSH_S)
            self._push_leases()
            now = time.monotonic()
            silent_s = now - self._last_seen
            held = self._gate_held_since
            if silent_s > self._hang_after_s or (
                held is not None and now - held > self._hang_after_s
            ):
                what = "silent" if silent_s > self._hang_after_s else "holding the write gate"
                logger.error(
                    "processing worker {} {} for over {:.0f} s: killing it",
                    self.generation,
                    what,
                    self._hang_after_s,
                )
                proc.kill()
                return

    def _add_metrics(self, payload: str) -> None:
        """Add what the child counted since its last report to this process's counters."""
        try:
            data = json.loads(payload)
            counters: dict[str, float] = data["counters"]
            state = data.get("breaker")
            self._breaker = None if state is None else BreakerState(state)
        except (ValueError, KeyError, TypeError):
            return
        for key, total in counters.items():
            delta = float(total) - self._counted.get(key, 0.0)
            if delta <= 0:
                continue
            self._counted[key] = float(total)
            family, labels = json.loads(key)
            counter = metrics.PROCESSING_WORKER_COUNTERS.get(family)
            if counter is None:
                continue
            if labels:
                counter.labels(**labels).inc(delta)
            else:
                counter.inc(delta)

    # -- the write gate (SQLite) ----------------------------------------------------------------
    async def _grant(self, priority: bool) -> None:
        gate = self._db.write_gate
        if gate is None:
            return
        proc = self._proc
        await gate.acquire(priority=priority)
        if proc is not self._proc or not self._alive:
            gate.release()  # that child is gone
            return
        self._gate_held_since = time.monotonic()
        self._send(wire.GATE_GRANTED)

    def _release_gate(self) -> None:
        gate = self._db.write_gate
        if self._gate_held_since is None or gate is None:
            return
        self._gate_held_since = None
        gate.release()

    async def _drop_gate(self) -> None:
        """The child ended: a grant it waits for is withdrawn, a gate it held is released
        (SQLite released the file lock with the process)."""
        task, self._gate_task = self._gate_task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._release_gate()

    # -- lines to the child -----------------------------------------------------------------
    def _push_leases(self) -> None:
        hotels, epochs = self._hotels()
        line = wire.leases_line(hotels, epochs)
        if line != self._sent_leases:
            self._sent_leases = line
            self._send(line)

    def _send(self, line: str) -> None:
        proc = self._proc
        if proc is None or not self._alive or proc.stdin is None or proc.stdin.is_closing():
            return
        with contextlib.suppress(ConnectionError, RuntimeError):
            proc.stdin.write((line + "\n").encode())

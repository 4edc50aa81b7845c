"""The processing worker process: interpretation, sentiment and alert decisions (the
processor, daemon/processor.py) in a child of the daemon, so the daemon's own event loop
(pollers, ingest writer, outbox sender) keeps a core to itself.

Started and supervised by `daemon/worker_process.py` as `python -m hotelbot.daemon.worker_child`;
never run by hand. It talks to its parent over two pipes in short ASCII lines; the database
stays the source of truth, so a lost line costs at most the processor's periodic scan.

parent -> child (the child's stdin):
  first line   the configuration: base64 of a pickled dict (settings, daemon name); it never
               travels in argv or the environment, which other users can read
  `n <id>`     the ingest writer committed rows from notification id <id> on (wake up)
  `l <json>`   the hotels this daemon polls and the lease epoch it holds for each
  `G`          the write gate is yours (SQLite; answers one `g`)
  `stop`       commit what is analysed and exit 0; end of input (the parent died) does too

child -> parent (the child's stdout; anything else the child prints goes to stderr):
  `ready`      the processor runs
  `h`          heartbeat, once a second, from the event loop (a hung child goes silent)
  `a <ids>`    a committed batch raised alerts for these hotel ids: wake their senders
  `m <json>`   the child's counters (metrics.PROCESSING_WORKER_COUNTERS, totals since it
               started) and its LLM breaker state, every two seconds when they changed
               and once at the end: the daemon's /metrics adds them to its own
  `g` / `g!`   may I write (`!`: an alert, the gate's fast lane)?   `r`  I am done writing

On SQLite every write transaction of the child first borrows the parent's write gate
(`g` ... `G` ... `r`), so the child is one more writer in the parent's fair queue: an ingest
commit waits for at most one of the child's transactions, as in one process, and SQLite's
busy handler (which polls and is not fair) is never where they meet. On PostgreSQL the child
commits concurrently; its transactions are fenced by the lease epochs its parent relays (the
processor's TX2 locks and checks them in the database, so a stale relay cannot act for a
hotel this daemon lost).

SIGINT, SIGTERM and SIGHUP are ignored: the parent decides when the child stops (a Ctrl+C in
a terminal reaches the whole process group; the parent stops the child in order).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import pickle
import signal
import sys
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from loguru import logger

# Lines of the protocol (bytes, newline-terminated on the wire).
READY = "ready"
HEARTBEAT = "h"
ALERTS = "a"
GATE_ASK = "g"
GATE_ASK_PRIORITY = "g!"
GATE_GRANTED = "G"
GATE_RELEASE = "r"
INGESTED = "n"
LEASES = "l"
STOP = "stop"
METRICS = "m"

HEARTBEAT_S = 1.0
METRICS_EVERY = 2  # heartbeats


class GateClosed(RuntimeError):
    """The parent is gone: no write can be made safe any more (the child is exiting)."""


def encode_config(config: dict[str, Any]) -> bytes:
    return base64.b64encode(pickle.dumps(config)) + b"\n"


def decode_config(line: bytes) -> dict[str, Any]:
    value = pickle.loads(base64.b64decode(line.strip()))  # our own parent wrote it
    if not isinstance(value, dict):
        raise ValueError("bad worker configuration")
    return value


class RemoteGate:
    """The child's side of the parent's SQLite write gate (implements storage.db.Gate).

    The child's own writers queue on a local WriteGate first, so at most one request is
    outstanding at the parent; grants arrive in request order. A writer cancelled while
    waiting for the grant keeps its place: the grant, when it comes, is handed straight
    back. After `close()` (parent gone) every acquire raises GateClosed."""

    def __init__(self, send: Callable[[str], None]) -> None:
        from hotelbot.storage.db import WriteGate

        self._send = send
        self._local = WriteGate()
        self._grants: deque[asyncio.Future[None]] = deque()
        self._closed = False

    async def acquire(self, *, priority: bool = False) -> None:
        await self._local.acquire(priority=priority)
        if self._closed:
            self._local.release()
            raise GateClosed("the daemon process is gone")
        grant: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._grants.append(grant)
        self._send(GATE_ASK_PRIORITY if priority else GATE_ASK)
        try:
            await asyncio.shield(grant)
        except asyncio.CancelledError:
            if grant.done() and not grant.cancelled() and grant.exception() is None:
                self.release()  # granted as we were cancelled: give it back
            elif not grant.done():
                grant.add_done_callback(self._give_back)
            else:
                self._local.release()
            raise
        except GateClosed:
            self._local.release()
            raise

    def _give_back(self, grant: asyncio.Future[None]) -> None:
        if not grant.cancelled() and grant.exception() is None:
            self.release()
        else:
            self._local.release()

    def release(self) -> None:
        if not self._closed:
            self._send(GATE_RELEASE)
        self._local.release()

    def granted(self) -> None:
        """The parent's `G`: the oldest request is served."""
        while self._grants:
            grant = self._grants.popleft()
            if not grant.done():
                grant.set_result(None)
                return

    def close(self) -> None:
        self._closed = True
        while self._grants:
            grant = self._grants.popleft()
            if not grant.done():
                grant.set_exception(GateClosed("the daemon process is gone"))


class RelayedLeases:
    """The hotels the parent polls and, for each lease it holds, the epoch and the monotonic
    time it self-fences at (storage.leases.Ownership.valid_until; CLOCK_MONOTONIC is one
    clock for every process of the host), as last relayed: a storage.leases LeaseView. The
    child self-fences at the parent's deadline, not a relay later; and the processor's write
    transaction locks the lease rows and compares the epoch in the database, so an old relay
    can only make the child skip work (left unprocessed for the next round)."""

    def __init__(self, owner: str, clock: Callable[[], float] = time.monotonic) -> None:
        self._owner = owner
        self._clock = clock
        self._hotels: list[int] = []
        self._epochs: dict[int, tuple[int, float]] = {}

    @property
    def owner(self) -> str:
        return self._owner

    def epoch_of(self, hotel_id: int) -> int | None:
        held = self._epochs.get(hotel_id)
        if held is None or self._clock() >= held[1]:
            return None
        return held[0]

    def hotels(self) -> list[int]:
        return list(self._hotels)

    def update(self, payload: str) -> None:
        data = json.loads(payload)
        self._hotels = [int(h) for h in data["hotels"]]
        self._epochs = {int(h): (int(e), float(u)) for h, (e, u) in data["epochs"].items()}


def leases_line(hotels: Sequence[int], epochs: Mapping[int, tuple[int, float]]) -> str:
    """`l {"hotels": [...], "epochs": {id: [epoch, valid until (monotonic)]}}`."""
    held = {str(h): [e, u] for h, (e, u) in epochs.items()}
    return f"{LEASES} " + json.dumps({"hotels": sorted(hotels), "epochs": held})


def metrics_line(breaker_state: str | None) -> str:
    """`m {"counters": {key: total}, "breaker": state}`; a key is the JSON of
    [family, labels]."""
    from prometheus_client import REGISTRY

    from hotelbot.observability import metrics

    totals: dict[str, float] = {}
    for family in REGISTRY.collect():
        if family.name not in metrics.PROCESSING_WORKER_COUNTERS:
            continue
        for sample in family.samples:
            if sample.name.endswith("_total"):
                key = json.dumps([family.name, sample.labels], sort_keys=True)
                totals[key] = sample.value
    return f"{METRICS} " + json.dumps({"counters": totals, "breaker": breaker_state})


class _Pipe:
    """Line I/O with the parent: a stream reader on stdin, unbuffered writes to the private
    copy of stdout (fd 1 itself is pointed at stderr, so a stray print cannot corrupt the
    protocol)."""

    def __init__(self, reader: asyncio.StreamReader, out_fd: int) -> None:
        self.reader = reader
        self._out = out_fd
        self.broken = False

    @classmethod
    async def open(cls) -> _Pipe:
        out_fd = os.dup(1)
        os.dup2(2, 1)
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=16 * 1024 * 1024)
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        return cls(reader, out_fd)

    def send(self, line: str) -> None:
        if self.broken:
            return
        data = (line + "\n").encode()
        try:
            while data:  # lines are tiny; the parent reads all the time
                written = os.write(self._out, data)
                data = data[written:]
        except OSError:  # the parent is gone: end of input follows
            self.broken = True


def _register_secrets(url: str, settings: Any, environ: dict[str, str]) -> None:
    """As the daemon does before its first query: the database password and the LLM key
    are scrubbed from every log line of this process too."""
    from hotelbot.redact import register_secrets
    from hotelbot.sentiment.settings import resolve_api_key
    from hotelbot.storage.db import url_password

    password = url_password(url)
    found = [password] if password else []
    if settings.llm.enabled:
        key = resolve_api_key(settings.llm, environ)
        if key:
            found.append(key)
    register_secrets(found)


async def serve() -> int:
    """The child's life: read the configuration, run the processor until `stop` or end of
    input, close in order. Returns the exit status."""
    from hotelbot.daemon.escalator import Escalator
    from hotelbot.daemon.fact_answers import facts_hook
    from hotelbot.daemon.heap import freeze_startup_heap
    from hotelbot.daemon.processor import Processor
    from hotelbot.daemon.scheduler import message_hook as scheduler_message_hook
    from hotelbot.logs import configure_logging
    from hotelbot.sentiment.factory import build_stage
    from hotelbot.settings import Settings
    from hotelbot.storage.db import Database, PgSessionLimits
    from hotelbot.storage.llm_ledger import LlmLedger
    from hotelbot.storage.stays import room_of_current_stay

    pipe = await _Pipe.open()
    first = await pipe.reader.readline()
    if not first:
        return 0  # the parent went away before configuring us
    config = decode_config(first)
    settings: Settings = config["settings"]
    name: str = config["name"]
    environ = dict(os.environ)
    configure_logging(settings.logging.level, settings.logging.format)
    log = logger.bind(worker=config.get("generation", 0))
    url = settings.database_url(environ)
    _register_secrets(url, settings, environ)
    db = Database.open(
        url,
        pool_size=min(settings.database.pool_size, 3),
        busy_timeout_ms=settings.database.busy_timeout_ms,
        pgbouncer=settings.database.pgbouncer,
        pg_limits=PgSessionLimits.for_lease_ttl(settings.leases.ttl_s),
        create=False,
    )
    gate: RemoteGate | None = None
    if db.is_sqlite:
        gate = RemoteGate(pipe.send)
        db.use_write_gate(gate)
    llm = settings.llm
    ledger = LlmLedger(
        db,
        llm.limits.to_limits(),
        {slug: spec.to_limits() for slug, spec in llm.hotel_limits.items()},
    )
    built = build_stage(settings, environ, ledger=ledger)
    leases = RelayedLeases(name)
    processor = Processor(
        db,
        built.stage,
        max_concurrency=llm.max_concurrency,
        # As in one process (daemon/app.py): PostgreSQL interprets only the hotels this
        # daemon polls, and fences its write transactions by their lease epochs.
        owned_hotels=None if db.is_sqlite else leases.hotels,
        lease=None if db.is_sqlite else leases,
    )
    processor.add_message_hook(scheduler_message_hook(decided_by=name))
    processor.add_message_hook(facts_hook())
    processor.set_room_lookup(room_of_current_stay)
    processor.set_escalator(Escalator(db, hotel_ids=leases.hotels, lease=leases))
    processor.on_commit(
        lambda hotel_ids: pipe.send(f"{ALERTS} " + ",".join(str(h) for h in sorted(hotel_ids)))
    )
    stopping = asyncio.Event()

    async def read_lines() -> None:
        while True:
            line = await pipe.reader.readline()
            if not line:
                log.info("processing worker: the daemon closed the pipe; stopping")
                break
            text = line.decode("ascii", "replace").strip()
            kind, _, rest = text.partition(" ")
            if kind == GATE_GRANTED and gate is not None:
                gate.granted()
            elif kind == INGESTED:
                with contextlib.suppress(ValueError):
                    processor.notify([int(rest)])
            elif kind == LEASES:
                leases.update(rest)
            elif kind == STOP:
                stopping.set()  # and keep reading: the drain still borrows the gate
        if gate is not None:
            gate.close()
        stopping.set()

    last_metrics = ""

    def send_metrics() -> None:
        nonlocal last_metrics
        line = metrics_line(None if built.llm is None else built.llm.breaker_state)
        if line != last_metrics:
            last_metrics = line
            pipe.send(line)

    async def heartbeat() -> None:
        beats = 0
        while True:
            pipe.send(HEARTBEAT)
            beats += 1
            if beats % METRICS_EVERY == 0:
                send_metrics()
            await asyncio.sleep(HEARTBEAT_S)

    reader_task = asyncio.create_task(read_lines())
    beat_task = asyncio.create_task(heartbeat())
    run_task = asyncio.create_task(processor.run())
    pipe.send(READY)
    log.info("processing worker {} running (pid {})", config.get("generation", 0), os.getpid())
    freeze_startup_heap()  # full GC passes no longer walk the start-up heap (daemon/heap.py)
    code = 0
    try:
        await asyncio.wait(
            {run_task, asyncio.create_task(stopping.wait())}, return_when=asyncio.FIRST_COMPLETED
        )
        if run_task.done():
            error = run_task.exception()
            log.error("processing worker: the processor ended ({})", type(error).__name__)
            code = 1
        else:
            processor.stop()
            await run_task
        try:
            await built.aclose()  # the LLM ledger's counters, through the gate
        except Exception as exc:  # the parent is gone: the next start recounts
            log.warning("processing worker: closing the stage failed ({})", type(exc).__name__)
    finally:
        beat_task.cancel()
        send_metrics()  # the last counts, before the daemon stops reading
        reader_task.cancel()
        await db.dispose()
    log.info(
        "processing worker {} stopped: {} notification(s) processed, {} alert(s)",
        config.get("generation", 0),
        processor.processed_total,
        processor.alerts_total,
    )
    return code


def main() -> None:
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    sys.exit(asyncio.run(serve()))


if __name__ == "__main__":
    main()

"""The daemon speaks sd_notify to a real datagram socket (path and abstract), in order:
READY=1 (after start-up), STATUS= and WATCHDOG=1 while running, RELOADING=1 ... READY=1
around a reload, STOPPING=1 at shutdown. Plus the watchdog's own rules."""

from __future__ import annotations

import asyncio
import socket
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from hotelbot.daemon.app import Daemon
from hotelbot.daemon.supervisor import PollerProbe, Supervisor, watchdog_verdict
from hotelbot.fakes.greenapi import FakeGreenApi
from hotelbot.storage.db import Database
from hotelbot.storage.schema import upgrade
from tests import shapes
from tests.helpers import add_hotels, fast_settings, stored_notifications, wait_for


class Listener:
    """Collects notify datagrams, as systemd would receive them."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.messages: list[list[str]] = []

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            data = await loop.sock_recv(self.sock, 4096)
            self.messages.append(data.decode().split("\n"))

    def keys(self) -> list[str]:
        """The first field of each datagram without its value, e.g. READY, STATUS."""
        return [m[0].split("=")[0] for m in self.messages]

    def first(self, key: str) -> list[str]:
        return next(m for m in self.messages if m[0].startswith(key + "="))


def _bind(sock: socket.socket, kind: str, tmp: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if kind == "path":
        address = str(Path(tmp, "notify.sock"))  # /tmp keeps it under the 108-byte limit
        sock.bind(address)
        monkeypatch.setenv("NOTIFY_SOCKET", address)
    else:
        name = f"hb-test-{uuid.uuid4().hex}"
        sock.bind("\0" + name)
        monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
    sock.setblocking(False)
    monkeypatch.setenv("WATCHDOG_USEC", "300000")  # ping every 0.15 s
    monkeypatch.delenv("WATCHDOG_PID", raising=False)


@asynccontextmanager
async def listening(kind: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Listener]:
    with (
        socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock,
        tempfile.TemporaryDirectory(prefix="hb-") as tmp,
    ):
        _bind(sock, kind, tmp, monkeypatch)
        collector = Listener(sock)
        task = asyncio.create_task(collector.run())
        try:
            yield collector
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


@pytest.fixture
async def listener(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Listener]:
    async with listening("abstract", monkeypatch) as collector:
        yield collector


async def test_lifecycle_notifications_in_order(
    db: Database, db_url: str, listener: Listener
) -> None:
    async with FakeGreenApi() as fake:
        inst = fake.add_instance("1101000001", "tok1")
        inst.push(shapes.incoming_text("1101000001", "37120000001@c.us", "hello"))
        await add_hotels(db, fake.url, [("1101000001", "tok1")])
        settings = fast_settings(db_url, daemon={"hotels_refresh_s": 3600})
        # What SIGHUP will read: a new pool size (restart only) and a new refresh interval.
        reloaded = fast_settings(
            db_url, daemon={"hotels_refresh_s": 1800}, database={"pool_size": 9}
        )
        daemon = Daemon(
            settings, environ={}, install_signal_handlers=False, settings_loader=lambda: reloaded
        )
        task = asyncio.create_task(daemon.run())
        await asyncio.wait_for(daemon.ready.wait(), 10)
        await wait_for(_has(listener, "WATCHDOG", 3), 10)
        await wait_for(_has(listener, "STATUS", 1), 10)
        assert listener.keys()[0] == "READY"
        ready = listener.first("READY")
        assert ready[1].startswith("STATUS=1/1 hotels polling")
        # A hotel added while running is picked up by the reload, not the (hourly) refresh.
        inst2 = fake.add_instance("1101000002", "tok2")
        inst2.push(shapes.incoming_text("1101000002", "37120000002@c.us", "hi"))
        await add_hotels(db, fake.url, [("1101000002", "tok2")])
        daemon.request_reload()
        await inst2.wait_drained(10)
        await wait_for(_has(listener, "READY", 2), 10)
        assert daemon.settings.daemon.hotels_refresh_s == 1800  # applied
        assert daemon.settings.database.pool_size == 5  # needs a restart: kept
        await inst.wait_drained(10)
        daemon.request_stop()
        assert await asyncio.wait_for(task, 20) == 0
        await wait_for(_has(listener, "STOPPING", 1), 5)
    keys = listener.keys()
    reloading = keys.index("RELOADING")
    assert keys[0] == "READY" and keys.index("READY", 1) > reloading
    assert keys[-1] == "STOPPING"  # nothing after STOPPING=1 (systemd >= 259 treats it as final)
    assert listener.first("RELOADING")[1].startswith("MONOTONIC_USEC=")
    statuses = [m[0] for m in listener.messages if m[0].startswith("STATUS=")]
    assert any("backlog: " in s for s in statuses)
    assert await stored_notifications(db) == 2


def _has(listener: Listener, key: str, n: int) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return listener.keys().count(key) >= n

    return check


async def test_path_socket_ready_watchdog_stopping(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = Database.open(sqlite_url)
    await upgrade(db)
    await db.dispose()
    async with listening("path", monkeypatch) as listener:
        daemon = Daemon(fast_settings(sqlite_url), environ={}, install_signal_handlers=False)
        task = asyncio.create_task(daemon.run())
        await asyncio.wait_for(daemon.ready.wait(), 10)
        await wait_for(_has(listener, "WATCHDOG", 2), 10)
        daemon.request_stop()
        assert await asyncio.wait_for(task, 20) == 0
        await wait_for(_has(listener, "STOPPING", 1), 5)
    keys = listener.keys()
    assert keys[0] == "READY" and keys[-1] == "STOPPING"
    assert (
        listener.first("READY")[1] == "STATUS=0/0 hotels polling; backlog: 0 to process, 0 to send"
    )


async def test_no_notifications_without_notify_socket(
    db: Database, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    daemon = Daemon(fast_settings(db_url), environ={}, install_signal_handlers=False)
    task = asyncio.create_task(daemon.run())
    await asyncio.wait_for(daemon.ready.wait(), 10)
    assert daemon.housekeeping is not None
    assert daemon.housekeeping.supervisor is None  # no WatchdogSec=: no supervisor task
    daemon.request_stop()
    assert await asyncio.wait_for(task, 20) == 0


# -- the watchdog's rules ---------------------------------------------------------------------
def _probe(**kw: object) -> PollerProbe:
    values: dict[str, object] = {
        "slug": "h1",
        "alive": True,
        "last_progress": 100.0,
        "quiet_until": 0.0,
    }
    values.update(kw)
    return PollerProbe(**values)  # type: ignore[arg-type]


def test_verdict_ok_when_pollers_progress() -> None:
    verdict = watchdog_verdict(
        now=150.0, loop_lag_s=0.1, max_loop_lag_s=1.0, pollers=[_probe()], stall_after_s=75.0
    )
    assert verdict.ok


def test_verdict_withholds_for_a_lagging_loop_a_dead_or_silent_poller() -> None:
    common = {"now": 200.0, "max_loop_lag_s": 1.0, "stall_after_s": 75.0}
    assert not watchdog_verdict(loop_lag_s=2.5, pollers=[], **common).ok
    dead = watchdog_verdict(loop_lag_s=0, pollers=[_probe(alive=False)], **common)
    assert dead.reason == "poller h1 is not running"
    silent = watchdog_verdict(loop_lag_s=0, pollers=[_probe(last_progress=100.0)], **common)
    assert silent.reason == "poller h1 made no progress for 100 s"


def test_verdict_a_deliberate_backoff_is_not_a_stall() -> None:
    # An upstream outage: the poller sleeps 300 s on purpose; the watchdog keeps pinging.
    probe = _probe(last_progress=0.0, quiet_until=300.0)
    assert watchdog_verdict(
        now=350.0, loop_lag_s=0, max_loop_lag_s=1.0, pollers=[probe], stall_after_s=75.0
    ).ok
    assert not watchdog_verdict(
        now=400.0, loop_lag_s=0, max_loop_lag_s=1.0, pollers=[probe], stall_after_s=75.0
    ).ok


async def test_supervisor_notices_a_blocked_event_loop() -> None:
    supervisor = Supervisor(lambda: [], interval_s=0.05, stall_after_s=60, max_loop_lag_s=0.3)
    task = asyncio.create_task(supervisor.run())
    try:
        await wait_for(_pinged(supervisor), 5)
        await asyncio.sleep(0.01)  # let the supervisor start its next sleep
        time.sleep(0.6)  # noqa: ASYNC251 -- a synchronous call blocking the loop is the point
        await asyncio.sleep(0.01)
        await wait_for(_withheld(supervisor), 5)
        assert "event loop lagged" in (supervisor.last_verdict.reason or "")
        await wait_for(_ok_again(supervisor), 5)  # recovers once the loop is responsive
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def _pinged(s: Supervisor) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return s.pings > 0

    return check


def _withheld(s: Supervisor) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return not s.last_verdict.ok

    return check


def _ok_again(s: Supervisor) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return s.last_verdict.ok

    return check

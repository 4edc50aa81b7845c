"""The processing worker (`processing.workers = 1`) with the real `hotelbot run`: the worker
child is killed in the middle of its batch (SIGKILL while frozen inside the processing
transaction; os._exit right after the commit, before the daemon hears of the alerts), the
daemon restarts it, and every message is processed once and every staff alert sent once.
SIGTERM stops the child before the daemon closes its database."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from hotelbot.fakes import shapes
from hotelbot.fakes.greenapi import FakeGreenApi, FakeInstance
from hotelbot.storage.db import Database
from hotelbot.storage.models import Notification
from hotelbot.storage.models_messaging import Alert, Message
from tests.helpers import count, daemon_env, wait_for

PY = sys.executable
INSTANCE, TOKEN, STAFF = "1101000001", "tok", "37129999999@c.us"
GUESTS = 8
COMPLAINT = "The room is dirty and the shower is broken. This is unacceptable, I want a refund."
QUESTION = "Hello, what time is breakfast served tomorrow?"


def _env(db_url: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    return daemon_env(db_url, tmp_path, HOTELBOT_PROCESSING__WORKERS="1", **extra)


async def _cli(env: dict[str, str], *args: str) -> None:
    proc = await asyncio.create_subprocess_exec(
        PY,
        "-m",
        "hotelbot",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, out.decode()


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found.extend(int(child) for child in text)
    return found


def _state(pid: int) -> str:
    """The process state letter from /proc (T = stopped), "" once it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return ""
    return text[text.rindex(")") + 2]


async def _one_child(pid: int, *, other_than: int | None = None) -> int:
    async def found() -> bool:
        kids = [c for c in _children(pid) if c != other_than and _state(c) not in ("", "Z")]
        return len(kids) == 1

    await wait_for(found, timeout_s=30)
    return next(c for c in _children(pid) if c != other_than and _state(c) not in ("", "Z"))


def _staff_alerts(inst: FakeInstance) -> list[str]:
    return [s.message for s in inst.sent if s.chat_id == STAFF]


async def _setup(env: dict[str, str], fake: FakeGreenApi, tmp_path: Path) -> FakeInstance:
    inst = fake.add_instance(INSTANCE, TOKEN)
    await _cli(env, "db", "upgrade")
    hotels = tmp_path / "h.toml"
    hotels.write_text(
        f'[[hotels]]\nslug = "riga"\nname = "Riga"\ninstance_id = "{INSTANCE}"\n'
        f'api_token = "{TOKEN}"\napi_url = "{fake.url}"\ntimezone = "Europe/Riga"\n'
        f'staff_chat_id = "{STAFF}"\n'
    )
    await _cli(env, "hotel", "import", str(hotels))
    # Each guest: a question, a complaint (one alert per guest), another question.
    for n in range(GUESTS):
        guest = f"3712000{n:04d}@c.us"
        for k, text in enumerate((QUESTION, COMPLAINT, QUESTION)):
            inst.push(shapes.incoming_text(INSTANCE, guest, text, id_message=f"M{n}-{k}"))
    return inst


@pytest.mark.parametrize("kill", ["sigkill_inside_transaction", "exit_after_commit"])
async def test_worker_killed_mid_batch_processes_once_and_alerts_once(
    db_url: str, tmp_path: Path, kill: str
) -> None:
    if kill == "sigkill_inside_transaction":
        fault = {"HOTELBOT_PAUSE_AT": "processor_before_commit"}
    else:
        fault = {"HOTELBOT_CRASH_AT": "processor_after_commit"}
    env = _env(db_url, tmp_path, **fault)
    total = 3 * GUESTS
    async with FakeGreenApi() as fake:
        inst = await _setup(env, fake, tmp_path)
        daemon = await asyncio.create_subprocess_exec(
            PY,
            "-m",
            "hotelbot",
            "run",
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        db = Database.open(db_url)
        try:
            first = await _one_child(daemon.pid)
            if kill == "sigkill_inside_transaction":
                # Frozen inside its processing transaction (holding the write gate on
                # SQLite, row locks on PostgreSQL): killed there, it commits nothing.
                async def frozen() -> bool:
                    return _state(first) == "T"

                await wait_for(frozen, timeout_s=30)
                os.kill(first, signal.SIGKILL)
            # The daemon restarts the worker; the new one redoes what was not committed.
            second = await _one_child(daemon.pid, other_than=first)
            assert second != first
            await inst.wait_drained(30)

            async def all_processed() -> bool:
                guest_messages = await count(db, Message, Message.direction == "in")
                left = await count(db, Notification, Notification.processed_at.is_(None))
                return guest_messages == total and left == 0

            await wait_for(all_processed, timeout_s=30)

            async def alerts_sent() -> bool:
                return len(_staff_alerts(inst)) >= GUESTS

            await wait_for(alerts_sent, timeout_s=30)
            await asyncio.sleep(1.5)  # time for a wrong second alert to show up
            assert daemon.returncode is None  # the daemon itself never stopped
        finally:
            if daemon.returncode is None:
                daemon.send_signal(signal.SIGTERM)
            out, _ = await asyncio.wait_for(daemon.communicate(), 30)
        try:
            text = out.decode()
            assert daemon.returncode == 0, text
            # Every guest message stored once (keyed by its id: a redo cannot double it)...
            assert await count(db, Message, Message.direction == "in") == total
            # ...and every notification (guest messages and the echoes of the sends) done.
            assert await count(db, Notification, Notification.processed_at.is_(None)) == 0
            async with db.read() as conn:
                attempts = list(await conn.execute(select(Notification.process_attempts)))
                alerts = list(await conn.execute(select(Alert.message_id)))
            assert all(a == 0 for (a,) in attempts)  # nothing failed, nothing given up
            assert len(alerts) == GUESTS  # one alert per complaint...
            sent = _staff_alerts(inst)
            assert len(sent) == GUESTS and len(set(sent)) == GUESTS, sent  # ...sent once
            assert "processing worker exited" in text  # the death was noticed
            # Stopped in order: the worker drained and exited before the daemon finished.
            assert text.index("processing worker 2 stopped") < text.index("stopped in")
            assert _state(first) == "" and _state(second) == ""  # no orphan left
        finally:
            await db.dispose()


async def test_sigterm_stops_the_worker_first_and_its_counts_reach_metrics(
    db_url: str, tmp_path: Path
) -> None:
    env = _env(db_url, tmp_path)
    total = 3 * GUESTS
    lines: list[str] = []

    async def collect(stream: asyncio.StreamReader) -> None:
        while line := await stream.readline():
            lines.append(line.decode())

    async def scrape() -> str:
        url = next(line.rsplit(" ", 1)[-1].strip() for line in lines if "metrics: serving" in line)
        async with httpx.AsyncClient() as client:
            return (await client.get(url)).text

    async with FakeGreenApi() as fake:
        inst = await _setup(env, fake, tmp_path)
        daemon = await asyncio.create_subprocess_exec(
            PY,
            "-m",
            "hotelbot",
            "run",
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        assert daemon.stdout is not None
        reader = asyncio.create_task(collect(daemon.stdout))
        try:
            child = await _one_child(daemon.pid)

            async def alerts_sent() -> bool:
                return len(_staff_alerts(inst)) >= GUESTS

            await wait_for(alerts_sent, timeout_s=30)

            async def counted() -> bool:
                # The worker judged them; the daemon's /metrics shows its counts.
                return 'hotelbot_attention_verdicts_total{analyser="rules",hotel="riga"} 8.0' in (
                    await scrape()
                )

            await wait_for(counted, timeout_s=15)
        finally:
            daemon.send_signal(signal.SIGTERM)
            await asyncio.wait_for(daemon.wait(), 30)
            await asyncio.wait_for(reader, 10)
        text = "".join(lines)
        assert daemon.returncode == 0, text
        assert "processing worker exited" not in text  # never restarted
        assert text.index("processing worker 1 stopped") < text.index("stopped in")
        assert _state(child) == ""
        db = Database.open(db_url)
        try:
            assert await count(db, Message, Message.direction == "in") == total
            assert len(_staff_alerts(inst)) == GUESTS
        finally:
            await db.dispose()


async def test_a_silent_worker_withholds_the_watchdog_and_is_replaced(
    db: Database, db_url: str
) -> None:
    """The daemon's side alone, with the real child: its heartbeats are the worker's line in
    the watchdog; frozen (SIGSTOP) it goes silent, the watchdog verdict turns, and after
    hang_after_s it is killed and a new child takes over (the verdict recovers)."""
    from hotelbot.daemon.supervisor import watchdog_verdict
    from hotelbot.daemon.worker_process import ProcessingWorker
    from hotelbot.settings import DatabaseSettings, Settings

    settings = Settings(database=DatabaseSettings(url=db_url))
    worker = ProcessingWorker(
        db, settings, "test-daemon", dict(os.environ), hotels=lambda: ([], {}), hang_after_s=3.0
    )

    def verdict_ok() -> bool:
        probe = worker.probe()
        return watchdog_verdict(
            now=time.monotonic(),
            loop_lag_s=0.0,
            max_loop_lag_s=1.0,
            pollers=[probe],
            stall_after_s=1.5,
        ).ok

    task = asyncio.create_task(worker.run())
    try:
        await asyncio.wait_for(worker.ready.wait(), 30)
        first = worker.pid
        assert first is not None
        await asyncio.sleep(2.0)
        assert verdict_ok()  # heartbeats keep it fresh
        os.kill(first, signal.SIGSTOP)
        await asyncio.sleep(2.0)
        assert not verdict_ok()  # silent beyond the bound: no WATCHDOG=1

        async def replaced() -> bool:
            return worker.pid not in (None, first) and worker.ready.is_set()

        await wait_for(replaced, timeout_s=30)
        assert _state(first) == ""  # killed and reaped
        assert worker.restarts == 1
        await asyncio.sleep(1.2)
        assert verdict_ok()
    finally:
        worker.stop()
        await asyncio.wait_for(task, 30)
    assert worker.pid is None

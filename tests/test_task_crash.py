"""A background task of a real daemon process crashes (HOTELBOT_FAIL_AT, crashpoints.py): the
daemon reports it at once, drains in order, exits non-zero for systemd to restart it, and the
restarted daemon loses and duplicates nothing."""

from __future__ import annotations

import asyncio
from pathlib import Path

from hotelbot.fakes import shapes
from hotelbot.fakes.greenapi import FakeGreenApi
from hotelbot.storage.db import Database
from hotelbot.storage.models import Notification
from tests.helpers import count
from tests.test_daemon_process import _cli, _env, _hotels_toml, _start_daemon, _stop

INSTANCE = "1101000077"


async def test_a_crashed_ingest_writer_stops_the_daemon_in_order_with_status_1(
    db_url: str, tmp_path: Path
) -> None:
    env = _env(db_url, tmp_path, HOTELBOT_DAEMON__DRAIN_TIMEOUT_S="3")
    total = 6
    async with FakeGreenApi() as fake:
        inst = fake.add_instance(INSTANCE, "tok")
        inst.push_many(
            [shapes.incoming_text(INSTANCE, "37120000001@c.us", f"m{n}") for n in range(total)]
        )
        assert (await _cli(env, "db", "upgrade"))[0] == 0
        hotels = _hotels_toml(tmp_path / "h.toml", fake.url, [(INSTANCE, "tok")])
        assert (await _cli(env, "hotel", "import", str(hotels)))[0] == 0
        # The writer commits its first batch, then raises: a bug in a background task.
        crashing = await _start_daemon(dict(env, HOTELBOT_FAIL_AT="ingest_writer_committed"))
        out_bytes, _ = await asyncio.wait_for(crashing.communicate(), 40)
        out = out_bytes.decode()
        assert crashing.returncode == 1, out
        assert "task ingest-writer crashed" in out and "stopping the daemon" in out
        # In order: the drain ran and logged its summary line; no traceback above DEBUG.
        assert "stopped in" in out and "Traceback" not in out
        assert out.index("task ingest-writer crashed") < out.index("stopped in")
        assert 0 < inst.pending_count < total  # it worked until the crash, then stopped
        db = Database.open(db_url)
        try:
            stored = await count(db, Notification)
            assert 1 <= stored < total
            # systemd restarts it (Restart=on-failure): the rest arrives, nothing twice.
            proc = await _start_daemon(env)
            try:
                await inst.wait_drained(30)
            finally:
                code, out = await _stop(proc)
                assert code == 0, out
            assert await count(db, Notification) == total
        finally:
            await db.dispose()


async def test_a_crashed_outbox_sender_is_reported_at_once_and_stops_the_daemon(
    db_url: str, tmp_path: Path
) -> None:
    env = _env(db_url, tmp_path, HOTELBOT_DAEMON__DRAIN_TIMEOUT_S="3")
    async with FakeGreenApi() as fake:
        fake.add_instance(INSTANCE, "tok")
        assert (await _cli(env, "db", "upgrade"))[0] == 0
        hotels = _hotels_toml(tmp_path / "h.toml", fake.url, [(INSTANCE, "tok")])
        assert (await _cli(env, "hotel", "import", str(hotels)))[0] == 0
        # Without it staff alerts would silently stop leaving: it must not go unnoticed.
        proc = await _start_daemon(dict(env, HOTELBOT_FAIL_AT="outbox_supervisor"))
        out_bytes, _ = await asyncio.wait_for(proc.communicate(), 40)
        out = out_bytes.decode()
        assert proc.returncode == 1, out
        assert "task outbox-sender crashed (InjectedFault" in out, out
        assert out.index("task outbox-sender crashed") < out.index("stopped in")

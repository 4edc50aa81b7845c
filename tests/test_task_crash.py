"""A background task of a real daemon process crashes (HOTELBOT_FAIL_AT, crashpoints.py): the
daemon reports it at once, drains in order, exits non-zero for systemd to restart it, and the
restarted daemon loses and duplicates nothing."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

from sqlalchemy import select

from hotelbot.fakes.greenapi import FakeGreenApi
from hotelbot.storage.db import Database
from hotelbot.storage.models import Notification, OutboxMessage
from tests import shapes
from tests.helpers import count, wait_for
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


async def test_a_crashed_hotel_worker_is_restarted_in_order_and_its_hotel_still_served(
    db_url: str, tmp_path: Path
) -> None:
    env = _env(db_url, tmp_path, HOTELBOT_DAEMON__DRAIN_TIMEOUT_S="3")
    other = "1101000078"
    total = 4
    async with FakeGreenApi() as fake:
        insts = {iid: fake.add_instance(iid, f"tok{iid}") for iid in (INSTANCE, other)}
        for iid, inst in insts.items():
            inst.push_many(
                [shapes.incoming_text(iid, "37120000001@c.us", f"m{n}") for n in range(total)]
            )
        assert (await _cli(env, "db", "upgrade"))[0] == 0
        pairs = [(iid, f"tok{iid}") for iid in insts]
        hotels = _hotels_toml(tmp_path / "h.toml", fake.url, pairs)
        assert (await _cli(env, "hotel", "import", str(hotels)))[0] == 0
        # The first hotel worker to start raises (a bug in one hotel's worker): its poller
        # and its send loop end together, it is restarted, the other hotel never notices.
        proc = await _start_daemon(dict(env, HOTELBOT_FAIL_AT="hotel_worker"))
        try:
            for inst in insts.values():
                await inst.wait_drained(30)
            # The restarted worker's send loop runs too: a message to each hotel leaves.
            for iid in insts:
                sent = await _cli(env, "send", f"h{iid}", "+37120000001", "Your room is ready.")
                assert sent[0] == 0, sent[1]

            async def both_sent() -> bool:
                return all(len(inst.sent) >= 1 for inst in insts.values())

            await wait_for(both_sent, timeout_s=30)
        finally:
            code, out = await _stop(proc)
        assert code == 0, out  # a hotel worker is not critical: the daemon keeps serving
        assert out.count("failed: InjectedFault") == 1, out
        crashed = next(iid for iid in insts if f"task hotel:h{iid} failed" in out)
        # In order: the crash is logged, the worker is stopped, then polled afresh.
        failed_at = out.index(f"task hotel:h{crashed} failed")
        restart_at = out.index("hotel worker ended by itself: restarting it in 0 s")
        polling = f"polling instance {crashed}"
        assert out.index(polling) < failed_at < restart_at < out.index(polling, restart_at)
        assert "Traceback" not in out
        db = Database.open(db_url)
        try:
            incoming = Notification.type_webhook == "incomingMessageReceived"
            assert await count(db, Notification, incoming) == 2 * total  # none lost or twice
            assert await _outbox_states(db) == ["sent", "sent"]
        finally:
            await db.dispose()
        assert [len(inst.sent) for inst in insts.values()] == [1, 1]


async def test_a_second_sigterm_cuts_the_drain_short_and_nothing_is_sent_twice(
    db_url: str, tmp_path: Path
) -> None:
    env = _env(db_url, tmp_path, HOTELBOT_DAEMON__DRAIN_TIMEOUT_S="60")
    async with FakeGreenApi() as fake:
        inst = fake.add_instance(INSTANCE, "tok")
        # The send reaches Green API, then its answer hangs: the first drain waits for it.
        inst.faults.send_timeout_next(1, stall_s=30.0)
        assert (await _cli(env, "db", "upgrade"))[0] == 0
        hotels = _hotels_toml(tmp_path / "h.toml", fake.url, [(INSTANCE, "tok")])
        assert (await _cli(env, "hotel", "import", str(hotels)))[0] == 0
        proc = await _start_daemon(env)
        try:
            sent = await _cli(env, "send", f"h{INSTANCE}", "+37120000001", "Your room is ready.")
            assert sent[0] == 0, sent[1]

            async def in_flight() -> bool:
                return len(inst.sent) >= 1

            await wait_for(in_flight, timeout_s=30)
            proc.send_signal(signal.SIGTERM)  # first: ordered drain, waits for the send
            await asyncio.sleep(1.0)
            assert proc.returncode is None  # still draining
            started = time.monotonic()
            proc.send_signal(signal.SIGTERM)  # second: cancel the drain
            out_bytes, _ = await asyncio.wait_for(proc.communicate(), 20)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        out = out_bytes.decode()
        assert proc.returncode == 1, out
        assert time.monotonic() - started < 10, out  # not the send's 15 s, not the 60 s drain
        assert "second SIGTERM: cancelling the drain" in out and "Traceback" not in out, out
        # The interrupted send is settled (its echo), never sent twice.
        db = Database.open(db_url)
        try:
            # Cut short in `sending`, or already confirmed by its echo: never lost.
            assert await _outbox_states(db) in (["sending"], ["sent"])
            polls = inst.request_counts.get("receiveNotification", 0)
            proc = await _start_daemon(env)
            try:

                async def settled() -> bool:  # and the restarted daemon is up (it polls)
                    polling = inst.request_counts.get("receiveNotification", 0) > polls
                    return polling and await _outbox_states(db) == ["sent"]

                await wait_for(settled, timeout_s=60)
            finally:
                code, out = await _stop(proc)
                assert code == 0, out
        finally:
            await db.dispose()
        assert len(inst.sent) == 1


async def _outbox_states(db: Database) -> list[str]:
    async with db.read() as conn:
        return [str(s) for s in (await conn.execute(select(OutboxMessage.state))).scalars()]

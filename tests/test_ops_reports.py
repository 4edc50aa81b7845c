"""`hotelbot status`, `stats` and `guest` as an operator runs them, on a seeded database."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import timedelta
from pathlib import Path

from sqlalchemy import insert, text, update

from hotelbot.daemon.health import HotelHealth
from hotelbot.daemon.status_writer import write_status
from hotelbot.storage.db import Database
from hotelbot.storage.models import HotelStatus
from hotelbot.storage.models_leases import HotelLease
from hotelbot.storage.reports import stats_report
from hotelbot.storage.types import utcnow
from tests.ops_seed import ANNA, ANNA_TEXT, seed


def _env(db_url: str, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTELBOT_")}
    env.update(HOME=str(tmp_path), HOTELBOT_DATABASE_URL=db_url)
    return env


async def _cli(env: dict[str, str], *args: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hotelbot",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode or 0, out.decode()


def _line(out: str, start: str) -> str:
    return next(line for line in out.splitlines() if line.startswith(start))


async def test_status_fresh_then_stale(db: Database, db_url: str, tmp_path: Path) -> None:
    seeded = await seed(db, utcnow())
    env = _env(db_url, tmp_path)
    code, out = await _cli(env, "status")
    assert code == 0, out
    assert "NO (never polled)" in _line(out, "riga")
    health = HotelHealth(seeded.hotel_id, "riga", polling=True)
    health.mark_ok()
    await write_status(db, "host-a:42", [health])
    code, out = await _cli(env, "status")
    assert code == 0, out
    row = _line(out, "riga")
    assert "yes (host-a:42)" in row
    assert " 2 " in row  # two unprocessed notifications
    assert "1/1" in row  # outbox: 1 pending (Boris's alert), 1 failed
    assert "stale" not in out
    # Several daemons (PostgreSQL leases): the live lease owner is who polls.
    async with db.write() as conn:
        await conn.execute(
            insert(HotelLease).values(
                hotel_id=seeded.hotel_id,
                owner="host-b:7",
                epoch=1,
                expires_at=utcnow() + timedelta(minutes=1),
            )
        )
    code, out = await _cli(env, "status")
    assert "yes (host-b:7)" in _line(out, "riga"), out
    # The daemon stopped writing a while ago.
    async with db.write() as conn:
        await conn.execute(update(HotelStatus).values(updated_at=utcnow() - timedelta(minutes=10)))
    code, out = await _cli(env, "status")
    assert code == 0, out
    assert "NO (status stale)" in _line(out, "riga")
    assert "is the daemon running?" in out


async def test_stats_sections(db: Database, db_url: str, tmp_path: Path) -> None:
    seeded = await seed(db, utcnow())
    sections = {s.title: s for s in await _stats(db, seeded.hotel_id, days=7)}
    messages = sections["Messages and guest sentiment"]
    assert messages.rows[-1] == ("total", 2, 0, 1, 1, 0, 1, 0)
    alerts = sections["Staff alerts and time to first staff reply"]
    assert alerts.rows[-1][:3] == ("total", 1, 0)  # Boris's alert is unanswered
    triggers = sections["Scheduled messages (trigger fires decided)"]
    assert triggers.rows == (("welcome", 1, 1, 2, "opted_out"),)
    assert sections["Opt-outs (guests who asked for no automated messages)"].rows[-1] == (
        "total",
        1,
    )
    # Over 500 days Anna's alert, answered 30 minutes later, is included.
    long = {s.title: s for s in await _stats(db, seeded.hotel_id, days=500)}
    total = long["Staff alerts and time to first staff reply"].rows[-1]
    assert total[:4] == ("total", 2, 1, "30 min")
    code, out = await _cli(_env(db_url, tmp_path), "stats", "--hotel", "riga", "--days", "3")
    assert code == 0, out
    assert "positive" in out and "welcome" in out and "not available" not in out


async def _stats(db: Database, hotel_id: int, days: int) -> list:  # type: ignore[type-arg]
    async with db.read() as conn:
        return await stats_report(conn, hotel_id=hotel_id, days=days, now=utcnow())


async def test_stats_say_not_available_without_feature_tables(
    db: Database, db_url: str, tmp_path: Path
) -> None:
    await seed(db, utcnow())
    async with db.write() as conn:
        await conn.execute(text("DROP TABLE trigger_fires"))
    code, out = await _cli(_env(db_url, tmp_path), "stats")
    assert code == 0, out
    assert "not available: the triggers/trigger_fires tables not in this database" in out
    assert "Messages and guest sentiment" in out


async def test_guest_export_and_forget_commands(db: Database, db_url: str, tmp_path: Path) -> None:
    await seed(db, utcnow())
    env = _env(db_url, tmp_path)
    code, out = await _cli(env, "guest", "export", f"+{ANNA}")
    assert code == 0, out
    assert json.loads(out)["tables"]["messages"][0]["text"] == ANNA_TEXT
    code, out = await _cli(env, "guest", "forget", ANNA, "--yes")
    assert code == 0 and "erased" in out, out
    async with db.read() as conn:  # gone from the database
        left = (
            await conn.execute(
                text("SELECT count(*) FROM messages WHERE text = :t"), {"t": ANNA_TEXT}
            )
        ).scalar_one()
    assert left == 0
    code, out = await _cli(env, "guest", "forget", "12", "--yes")
    assert code == 1 and "neither a phone number" in out

"""The real `hotelbot` command as a sysadmin runs it, in subprocesses: signals, crashes,
restarts."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

from hotelbot.fakes.greenapi import FakeGreenApi, FakeInstance
from hotelbot.storage.db import Database
from hotelbot.storage.models import Notification
from tests import shapes
from tests.helpers import count, daemon_env, wait_for


async def _deleted_at_least(inst: FakeInstance, n: int) -> bool:
    return len(inst.deleted) >= n


PY = sys.executable


def _env(db_url: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    return daemon_env(db_url, tmp_path, **extra)


async def _cli(env: dict[str, str], *args: str, stdin: bytes | None = None) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        PY,
        "-m",
        "hotelbot",
        *args,
        env=env,
        stdin=asyncio.subprocess.PIPE if stdin else None,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(stdin), 60)
    return proc.returncode or 0, out.decode()


async def _start_daemon(env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        PY,
        "-m",
        "hotelbot",
        "run",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )


async def _wait_exit(proc: asyncio.subprocess.Process) -> tuple[int, str]:
    out, _ = await asyncio.wait_for(proc.communicate(), 30)
    return proc.returncode if proc.returncode is not None else -1, out.decode()


async def _stop(proc: asyncio.subprocess.Process, sig: int = signal.SIGTERM) -> tuple[int, str]:
    if proc.returncode is None:
        proc.send_signal(sig)
    out, _ = await asyncio.wait_for(proc.communicate(), 30)
    return proc.returncode if proc.returncode is not None else -1, out.decode()


def _hotels_toml(path: Path, fake_url: str, instances: list[tuple[str, str]]) -> Path:
    lines = []
    for instance, token in instances:
        lines += [
            "[[hotels]]",
            f'slug = "h{instance}"',
            f'name = "Hotel {instance}"',
            f'instance_id = "{instance}"',
            f'api_token = "{token}"',
            f'api_url = "{fake_url}"',
            'timezone = "Europe/Riga"',
            "",
        ]
    path.write_text("\n".join(lines))
    return path


async def test_sysadmin_flow_upgrade_import_run_sigterm(db_url: str, tmp_path: Path) -> None:
    env = _env(db_url, tmp_path)
    async with FakeGreenApi() as fake:
        instances = [(f"110100000{i}", f"tok{i}") for i in range(3)]
        for instance, token in instances:
            fake.add_instance(instance, token).push_many(
                [shapes.incoming_text(instance, "37120000001@c.us", f"m{n}") for n in range(20)]
            )
        code, out = await _cli(env, "db", "upgrade")
        assert code == 0, out
        code, out = await _cli(
            env, "hotel", "import", str(_hotels_toml(tmp_path / "h.toml", fake.url, instances))
        )
        assert code == 0 and "added" in out, out
        proc = await _start_daemon(env)
        try:
            for instance, _ in instances:
                await fake.instance(instance).wait_drained(30)
        finally:
            code, out = await _stop(proc)
        assert code == 0, out
        assert "stopped in" in out
        for _, token in instances:
            assert token not in out  # tokens never logged
        db = Database.open(db_url)
        try:
            assert await count(db, Notification) == 60
        finally:
            await db.dispose()


async def test_daemon_refuses_an_uninitialised_database_with_status_78(
    db_url: str, tmp_path: Path
) -> None:
    proc = await _start_daemon(_env(db_url, tmp_path))
    code, out = await _wait_exit(proc)
    assert code == 78
    assert "hotelbot db upgrade" in out


async def test_bad_config_exits_78_and_names_the_key(db_url: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[greenapi]\nreceive_timout_s = 20\n")
    proc = await _start_daemon(_env(db_url, tmp_path, HOTELBOT_CONFIG=str(bad)))
    code, out = await _wait_exit(proc)
    assert code == 78
    assert "greenapi.receive_timout_s: unknown key" in out and str(bad) in out


async def test_sigkill_between_commit_and_delete_loses_nothing_stores_once(
    db_url: str, tmp_path: Path
) -> None:
    env = _env(db_url, tmp_path)
    async with FakeGreenApi() as fake:
        inst = fake.add_instance("1101000001", "tok")
        inst.push_many(
            [shapes.incoming_text("1101000001", "37120000001@c.us", f"m{n}") for n in range(5)]
        )
        assert (await _cli(env, "db", "upgrade"))[0] == 0
        hotels = _hotels_toml(tmp_path / "h.toml", fake.url, [("1101000001", "tok")])
        assert (await _cli(env, "hotel", "import", str(hotels)))[0] == 0
        # First run dies (like SIGKILL) right after committing the first notification.
        crashing = await _start_daemon(dict(env, HOTELBOT_CRASH_AT="after_commit_before_delete"))
        code = await asyncio.wait_for(crashing.wait(), 30)
        assert code == 137
        assert inst.pending_count == 5 and inst.deleted == []  # committed but not deleted
        db = Database.open(db_url)
        try:
            assert await count(db, Notification) == 1
            proc = await _start_daemon(env)
            try:
                await inst.wait_drained(30)
            finally:
                assert (await _stop(proc))[0] == 0
            assert await count(db, Notification) == 5  # the first one was not stored twice
        finally:
            await db.dispose()


async def test_sigterm_mid_run_and_restart_lose_nothing(db_url: str, tmp_path: Path) -> None:
    env = _env(db_url, tmp_path)
    async with FakeGreenApi() as fake:
        inst = fake.add_instance("1101000001", "tok")
        inst.faults.latency_s = 0.02  # slow enough to catch it mid-run
        total = 200
        inst.push_many(
            [shapes.incoming_text("1101000001", "37120000001@c.us", f"m{n}") for n in range(total)]
        )
        assert (await _cli(env, "db", "upgrade"))[0] == 0
        hotels = _hotels_toml(tmp_path / "h.toml", fake.url, [("1101000001", "tok")])
        assert (await _cli(env, "hotel", "import", str(hotels)))[0] == 0
        proc = await _start_daemon(env)
        await wait_for(lambda: _deleted_at_least(inst, 20), timeout_s=30)
        code, out = await _stop(proc)
        assert code == 0, out
        assert 0 < inst.pending_count < total
        proc = await _start_daemon(env)
        try:
            await inst.wait_drained(60)
        finally:
            assert (await _stop(proc))[0] == 0
        db = Database.open(db_url)
        try:
            assert await count(db, Notification) == total
        finally:
            await db.dispose()

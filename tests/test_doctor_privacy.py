"""`hotelbot doctor` against the fake Green API and fake OpenAI servers; private files; tokens
hidden by `hotel show`."""

from __future__ import annotations

import asyncio
import os
import stat
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from hotelbot.fakes.greenapi import FakeGreenApi
from hotelbot.fakes.openai_server import FakeOpenAI
from hotelbot.ops.doctor import exit_code, run_doctor
from hotelbot.storage.db import Database
from hotelbot.storage.introspect import database_clock, ping
from hotelbot.storage.schema import upgrade
from tests.helpers import add_hotels

LLM_KEY = "sk-doctor-test-0123456789abcdef"


def _env(db_url: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTELBOT_")}
    env.update(HOME=str(tmp_path), HOTELBOT_DATABASE_URL=db_url, **extra)
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
    return proc.returncode if proc.returncode is not None else -1, out.decode()


def _levels(out: str) -> dict[str, str]:
    """check name -> OK/WARN/FAIL (the last line for a name wins)."""
    found = {}
    for line in out.splitlines():
        level, _, rest = line.partition(" ")
        if level in ("OK", "WARN", "FAIL"):
            found[rest.strip().split(":")[0]] = level
    return found


async def test_doctor_all_well_then_each_failure_explained(
    db: Database, db_url: str, tmp_path: Path
) -> None:
    async with FakeGreenApi() as fake, FakeOpenAI(api_key=LLM_KEY) as llm:
        fake.add_instance("1101000001", "tok1")
        await add_hotels(db, fake.url, [("1101000001", "tok1")])
        config = tmp_path / "hotelbot.toml"
        config.write_text(f'[llm]\nenabled = true\nbase_url = "{llm.base_url}"\n')
        env = _env(db_url, tmp_path, HOTELBOT_CONFIG=str(config), DEEPSEEK_API_KEY=LLM_KEY)
        lines: list[str] = []
        checks = await run_doctor(env, lambda check: lines.extend(check.lines()))  # in-process
        out = "\n".join(lines)
        assert exit_code(checks) == 0, out
        levels = _levels(out)
        assert set(levels.values()) == {"OK"}, out
        for name in (
            "settings",
            "database",
            "schema",
            "clock",
            "time zones",
            "hotel h1101000001",
            "llm",
        ):
            assert name in levels, (name, out)
        assert "authorized; notifications reach the HTTP queue" in out
        assert "tok1" not in out and LLM_KEY not in out
        if db_url.startswith("postgresql"):
            assert "system clock vs PostgreSQL" in out

        # Now break things: an instance logged out, a webhook URL set, a hotel whose token
        # variable is missing, and a wrong LLM key.
        fake.instance("1101000001").set_state("notAuthorized")
        fake.instance("1101000001").settings["webhookUrl"] = "https://example.invalid/hook"
        fake.add_instance("1101000002", "tok2")
        await add_hotels(db, fake.url, [("1101000002", "unused")])
        async with db.write() as conn:
            await conn.execute(
                text(
                    "UPDATE hotels SET api_token = NULL, api_token_env = 'GREENAPI_TOKEN_H2' "
                    "WHERE instance_id = '1101000002'"
                )
            )
        env["DEEPSEEK_API_KEY"] = "sk-wrong"
        code, out = await _cli(env, "doctor")
        assert code == 1, out
        assert "FAIL hotel h1101000001: instance state notAuthorized" in out
        assert "scan the QR code" in out
        assert "webhookUrl is set" in out and "hotel check h1101000001 --fix" in out
        assert "FAIL hotel h1101000002: no API token: $GREENAPI_TOKEN_H2 is not set here" in out
        assert _levels(out)["llm"] == "FAIL"
        assert "falls back to rules" in out


def _touch_new(path: Path) -> None:
    assert not path.exists()
    path.touch()


async def test_doctor_uninitialised_database_and_bad_settings(db_url: str, tmp_path: Path) -> None:
    code, out = await _cli(_env(db_url, tmp_path), "doctor")
    assert code == 1
    if db_url.startswith("sqlite"):  # doctor creates nothing: the missing file is named
        path = db_url.removeprefix("sqlite+aiosqlite:///")
        assert f"FAIL database: no database at {path}: run `hotelbot db upgrade`" in out
        assert "-> database chosen by environment variable HOTELBOT_DATABASE_URL" in out
        _touch_new(Path(path))  # an empty file: the schema check comes next
        code, out = await _cli(_env(db_url, tmp_path), "doctor")
        assert code == 1
    assert "FAIL schema: not initialised" in out and "hotelbot db upgrade" in out
    bad = tmp_path / "bad.toml"
    bad.write_text("[privacy]\nretention_dayz = 3\n")
    code, out = await _cli(_env(db_url, tmp_path, HOTELBOT_CONFIG=str(bad)), "doctor")
    assert code == 1
    assert "FAIL settings" in out and "privacy.retention_dayz: unknown key" in out


async def test_doctor_names_llm_limits_for_a_hotel_that_does_not_exist(
    db: Database, db_url: str, tmp_path: Path
) -> None:
    async with FakeGreenApi() as fake:
        fake.add_instance("1101000001", "tok1")
        await add_hotels(db, fake.url, [("1101000001", "tok1")])  # slug h1101000001
        config = tmp_path / "hotelbot.toml"
        config.write_text(
            "[llm.hotel_limits.h1101000001]\ndaily_calls = 500\n"
            "[llm.hotel_limits.harbour-in]\ndaily_calls = 100\n"
        )
        env = _env(db_url, tmp_path, HOTELBOT_CONFIG=str(config))
        lines: list[str] = []
        checks = await run_doctor(env, lambda check: lines.extend(check.lines()))
    warned = [line for line in lines if "llm limits" in line]
    assert warned == ["WARN llm limits: [llm.hotel_limits] names no hotel: harbour-in"]
    assert exit_code(checks) == 2


async def test_doctor_warns_about_a_readable_database(sqlite_url: str, tmp_path: Path) -> None:
    db = Database.open(sqlite_url)
    await upgrade(db)
    await db.dispose()
    path = Path(sqlite_url.removeprefix("sqlite+aiosqlite:///"))
    await asyncio.to_thread(path.chmod, 0o644)
    code, out = await _cli(_env(sqlite_url, tmp_path), "doctor")
    assert code == 2, out  # only warnings (privacy, no hotels)
    assert "WARN privacy: readable by others" in out and f"chmod 600 {path}" in out


async def test_sqlite_files_and_state_directory_are_owner_only(tmp_path: Path) -> None:
    old = os.umask(0o022)  # a typical login shell: files would be world-readable
    try:
        path = tmp_path / "state" / "hotelbot" / "hotelbot.sqlite3"
        db = Database.open(f"sqlite+aiosqlite:///{path}")
        try:
            await upgrade(db)
            async with db.write() as conn:
                await conn.execute(text("CREATE TABLE t (x TEXT)"))
                await conn.execute(text("INSERT INTO t VALUES ('guest text')"))
            files = [path, *(Path(f"{path}{s}") for s in ("-wal", "-shm"))]
            existing = [f for f in files if f.exists()]
            assert len(existing) == 3  # WAL mode: the database, its WAL and shared memory
            for f in existing:
                assert stat.S_IMODE(f.stat().st_mode) == 0o600, f
            assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        finally:
            await db.dispose()
    finally:
        os.umask(old)


async def test_hotel_show_hides_the_token_unless_asked(sqlite_url: str, tmp_path: Path) -> None:
    token = "tok-show-9a8b7c6d5e4f"
    db = Database.open(sqlite_url)
    try:
        await upgrade(db)
        await add_hotels(db, "http://127.0.0.1:9", [("1101000001", token)])
    finally:
        await db.dispose()
    env = _env(sqlite_url, tmp_path)
    for args in (("hotel", "show", "h1101000001"), ("hotel", "list")):
        code, out = await _cli(env, *args)
        assert code == 0, out
        assert token not in out, args
    assert "(inline, hidden)" in (await _cli(env, "hotel", "show", "h1101000001"))[1]
    code, out = await _cli(env, "hotel", "show", "h1101000001", "--show-token")
    assert token in out


async def test_the_database_probes_doctor_runs(db: Database) -> None:
    async with db.read() as conn:
        await ping(conn)
        if db.is_sqlite:
            with pytest.raises(ValueError, match="no database clock on sqlite"):
                await database_clock(conn)
        else:  # the server runs on this host: one clock
            assert abs(await database_clock(conn) - time.time()) < 5

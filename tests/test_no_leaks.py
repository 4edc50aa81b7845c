"""Nothing private in errors: a failed insert that carries guest text (or a token) leaves the
text in no log line above DEBUG, no stored error text and no CLI output.

The failures are real: triggers in the real database refuse chosen rows (on PostgreSQL the
trigger's own error message even quotes the row), and a duplicate instance_id hits the real
unique constraint. What is checked is state and output, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from loguru import logger
from sqlalchemy import select

from hotelbot.fakes.greenapi import FakeGreenApi
from hotelbot.logs import configure_logging
from hotelbot.storage.db import Database
from hotelbot.storage.models import DeadLetter, HotelStatus, Notification, OutboxMessage
from tests import shapes
from tests.helpers import add_hotels, fast_settings, running_daemon, wait_for
from tests.hostile import CHAT, refuse_rows
from tests.test_doctor_privacy import _cli, _env

TOKEN = "tokLEAK0123456789abcdef0123456789abcdef01234567"
SECRETS = ("GUESTTEXT", "4711", TOKEN)


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    buf = io.StringIO()
    configure_logging("DEBUG", "json", stream=buf)
    yield buf
    logger.remove()
    logger.add(sys.stderr)
    for handler in logging.getLogger().handlers[:]:
        logging.getLogger().removeHandler(handler)


def _leaks(text: str | None) -> list[str]:
    return [s for s in SECRETS if text and s in text]


async def test_failed_inserts_with_guest_text_leak_nowhere(
    db: Database, db_url: str, json_log: io.StringIO
) -> None:
    await refuse_rows(db, "notifications", "body", "GUESTTEXT-A")
    await refuse_rows(db, "messages", "text", "GUESTTEXT-B")
    async with FakeGreenApi() as fake:
        inst = fake.add_instance("1101000001", TOKEN)
        inst.push(shapes.incoming_text("1101000001", CHAT, "safe code 4711 GUESTTEXT-A"))
        inst.push(shapes.incoming_text("1101000001", CHAT, "GUESTTEXT-B call me", id_message="B"))
        inst.push(shapes.incoming_text("1101000001", CHAT, "all good", id_message="C"))
        await add_hotels(db, fake.url, [("1101000001", TOKEN)])

        async def settled() -> bool:
            async with db.read() as conn:
                dead = (await conn.execute(select(DeadLetter.id))).first()
                failed = (
                    await conn.execute(
                        select(Notification.id).where(
                            Notification.id_message == "B", Notification.process_error.is_not(None)
                        )
                    )
                ).first()
            return dead is not None and failed is not None

        async with running_daemon(fast_settings(db_url)):
            await inst.wait_drained(30)
            await wait_for(settled, 30)
    records = [json.loads(line) for line in json_log.getvalue().splitlines() if line.strip()]
    loud = [r for r in records if r["level"] not in ("DEBUG", "TRACE")]
    assert loud, "no log lines captured"
    for record in loud:
        assert not _leaks(json.dumps(record, ensure_ascii=False)), record
    # The failures did carry the data somewhere: DEBUG may show it (redacted for tokens).
    assert any("failed alone" in r["message"] for r in records)
    async with db.read() as conn:
        errors = [
            *(await conn.execute(select(Notification.process_error))).scalars(),
            *(await conn.execute(select(DeadLetter.error))).scalars(),
            *(await conn.execute(select(HotelStatus.last_error))).scalars(),
            *(await conn.execute(select(HotelStatus.unhealthy_reason))).scalars(),
            *(await conn.execute(select(OutboxMessage.last_error))).scalars(),
        ]
    assert any(e for e in errors), "no error text was stored at all"
    for error in errors:
        assert not _leaks(error), error


def _hotels_file(path: Path, slug: str, token: str) -> Path:
    path.write_text(
        f'[[hotels]]\nslug = "{slug}"\nname = "{slug}"\ninstance_id = "1101000001"\n'
        f'api_token = "{token}"\napi_url = "http://127.0.0.1:9"\n'
    )
    return path


async def test_cli_database_errors_are_one_line_without_data(
    db: Database, db_url: str, tmp_path: Path
) -> None:
    env = _env(db_url, tmp_path)
    first = _hotels_file(tmp_path / "a.toml", "alpha", "tokAAAA0123456789abcdefghij")
    code, out = await _cli(env, "hotel", "import", str(first))
    assert code == 0, out
    # Another slug with the same instance: the unique constraint refuses it.
    second = _hotels_file(tmp_path / "b.toml", "beta", TOKEN)
    code, out = await _cli(env, "hotel", "import", str(second))
    assert code == 1, out
    assert TOKEN not in out and "Traceback" not in out and "[SQL" not in out
    (line,) = out.strip().splitlines()
    assert line.startswith("error:") and "instance_id" in line
    # Guest text the database refuses, typed on stdin for `send`: not echoed back.
    await refuse_rows(db, "outbox", "text", "GUESTTEXT")
    code, out = await _cli_stdin(
        env, "safe code 4711 GUESTTEXT-C\n", "send", "alpha", "+37120000001", "--text-file", "-"
    )
    assert code == 1, out
    assert not _leaks(out) and "Traceback" not in out
    (line,) = out.strip().splitlines()
    assert line.startswith("error: the database refused the change")


async def _cli_stdin(env: dict[str, str], stdin: str, *args: str) -> tuple[int, str]:
    import asyncio

    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hotelbot",
        *args,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(stdin.encode()), 60)
    return proc.returncode if proc.returncode is not None else -1, out.decode()

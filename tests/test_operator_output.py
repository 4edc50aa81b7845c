"""What operators see: hotel-local times with the zone (`--utc`), `--since` in hotel time,
tables that fit the terminal (`--wide` for everything, full cells in pipes), staff chats
kept out of guest conversations, renamed options that still work. Real Typer app on SQLite
and PostgreSQL; a real pseudo-terminal for the terminal width."""

from __future__ import annotations

import asyncio
import os
import pty
import subprocess
import sys
from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

from hotelbot.cli import app
from hotelbot.cli.output import display_width, render_table
from hotelbot.daemon.processor import Processor
from hotelbot.storage.db import Database
from tests import shapes
from tests.processor_helpers import FakeAnalyser, ingest, make_hotel

GUEST = "37120000001@c.us"
STAFF = "37129999999@c.us"
# 2026-03-27 08:30 UTC = 10:30 in Riga (EET, UTC+2) = 17:30 in Tokyo (JST, UTC+9)
SENT = int(datetime(2026, 3, 27, 8, 30, tzinfo=UTC).timestamp())
LONG = "The shower in room 204 is broken and " + "nobody came yet " * 10 + "END"


def test_tables_fit_a_width_and_count_wide_characters() -> None:
    headers = ["ID", "WHO", "TEXT"]
    cells = [["1", "Anna", "a" * 100], ["22", "李小龙😀", "short"]]
    fitted = render_table(headers, cells, shrink=[2], limit=40)
    lines = fitted.splitlines()
    assert all(display_width(line) <= 40 for line in lines), fitted
    assert lines[2].endswith("…") and lines[-1] == "(text cut to fit: --wide shows all)"
    # Wide characters are padded by what they show: the TEXT column starts at one column.
    assert display_width(lines[2].split("aaa")[0]) == display_width(lines[3].split("short")[0])
    whole = render_table(headers, cells, shrink=[2], limit=40, wide=True)
    assert "a" * 100 in whole and "text cut" not in whole
    assert "a" * 100 in render_table(headers, cells, limit=None)


async def _seed(url: str) -> None:
    db = Database.open(url)
    try:
        riga = await make_hotel(db, timezone="Europe/Riga", staff_chat_id=STAFF)
        tokyo = await make_hotel(db, slug="tokyo", instance_id="1101000002", timezone="Asia/Tokyo")
        await ingest(
            db,
            riga,
            [
                shapes.incoming_text("1101000001", GUEST, LONG, id_message="G1", timestamp=SENT),
                # staff write in their own chat (where alerts go): not a guest conversation
                shapes.incoming_text(
                    "1101000001", STAFF, "on my way", id_message="S1", timestamp=SENT + 60
                ),
            ],
        )
        await ingest(
            db,
            tokyo,
            [
                shapes.incoming_text(
                    "1101000002",
                    "81300000001@c.us",
                    "Hello from Tokyo",
                    id_message="T1",
                    timestamp=SENT,
                ),
            ],
        )
        await Processor(db, FakeAnalyser()).run_once()
    finally:
        await db.dispose()


@pytest.fixture
def cli(db_url: str, monkeypatch: pytest.MonkeyPatch, clean_env: dict[str, str]) -> CliRunner:
    monkeypatch.setenv("HOTELBOT_DATABASE_URL", db_url)
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    asyncio.run(_seed(db_url))
    return runner


def _ok(cli: CliRunner, *args: str) -> str:
    result = cli.invoke(app, list(args))
    assert result.exit_code == 0, (args, result.output, result.exception)
    return result.output


def test_times_are_hotel_local_with_the_zone_or_utc(cli: CliRunner) -> None:
    out = _ok(cli, "messages", "list")
    assert "2026-03-27 10:30:00 EET  seaside" in out and "2026-03-27 17:30:00 JST  tokyo" in out
    assert LONG in out, "a pipe gets the whole text"
    utc = _ok(cli, "messages", "list", "--utc")
    assert "2026-03-27 08:30:00 UTC  seaside" in utc and "JST" not in utc
    convs = _ok(cli, "conversations", "list")
    assert "2026-03-27 10:30 EET" in convs and "2026-03-27 17:30 JST" in convs
    shown = _ok(cli, "conversations", "show", GUEST)
    assert "2026-03-27 10:30 EET" in shown and LONG in shown


def test_since_is_read_in_each_hotels_local_time(cli: CliRunner) -> None:
    # 10:00 local: both messages (10:30 Riga, 17:30 Tokyo, each in its own zone) are newer.
    both = _ok(cli, "messages", "list", "--since", "2026-03-27 10:00")
    assert "seaside" in both and "tokyo" in both
    # 11:00 local: Riga's 10:30 is older, Tokyo's 17:30 is newer.
    one = _ok(cli, "messages", "list", "--since", "2026-03-27 11:00")
    assert "seaside" not in one and "tokyo" in one
    # --utc: 08:00 UTC includes both, 09:00 UTC neither.
    assert "seaside" in _ok(cli, "messages", "list", "--since", "2026-03-27 08:00", "--utc")
    assert "no messages" in _ok(cli, "messages", "list", "--since", "2026-03-27 09:00", "--utc")
    assert "seaside" in _ok(cli, "messages", "list", "--hotel", "seaside", "--since", "2026-03-27")
    bad = cli.invoke(app, ["messages", "list", "--since", "last tuesday"])
    assert bad.exit_code == 1 and "use 30m, 2h, 3d, 1w, a date" in str(bad.exception)


def test_staff_chats_are_not_guest_conversations(cli: CliRunner) -> None:
    convs = _ok(cli, "conversations", "list")
    assert GUEST in convs and STAFF not in convs
    messages = _ok(cli, "messages", "list", "--outgoing")
    assert "on my way" not in messages and LONG in messages


def test_renamed_options_still_work_with_a_warning(cli: CliRunner) -> None:
    result = CliRunner().invoke(app, ["messages", "list", "--all"])
    assert result.exit_code == 0 and "warning: --all is deprecated: use --outgoing" in result.output
    added = _ok(
        cli,
        "hotel",
        "add",
        "gamma",
        "--name",
        "Gamma",
        "--instance-id",
        "1101000009",
        "--api-token-env",
        "GREENAPI_TOKEN_GAMMA",
    )
    assert "gamma: added" in added
    old = CliRunner().invoke(
        app,
        [
            "hotel",
            "add",
            "--slug",
            "delta",
            "--name",
            "Delta",
            "--instance-id",
            "1101000010",
            "--api-token-env",
            "GREENAPI_TOKEN_DELTA",
        ],
    )
    assert old.exit_code == 0 and "warning: --slug is deprecated: use SLUG" in old.output
    assert "delta" in _ok(cli, "hotel", "list")
    missing = CliRunner().invoke(app, ["hotel", "add", "epsilon"])
    assert missing.exit_code == 1 and "--name, --instance-id required" in str(missing.exception)


def _on_a_terminal(argv: list[str], env: dict[str, str]) -> str:
    master, slave = pty.openpty()
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env)
    os.close(slave)
    seen = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    os.close(master)
    assert proc.wait(timeout=60) == 0, seen
    return seen.decode(errors="replace").replace("\r\n", "\n")


def test_on_a_terminal_tables_fit_its_width(cli: CliRunner, db_url: str) -> None:
    env = dict(os.environ, HOTELBOT_DATABASE_URL=db_url, COLUMNS="100")
    argv = [sys.executable, "-m", "hotelbot", "messages", "list"]
    fitted = _on_a_terminal(argv, env)
    lines = [line for line in fitted.splitlines() if line]
    assert max(display_width(line) for line in lines) <= 100, fitted
    assert "The shower" in fitted and "END" not in fitted
    assert lines[-1] == "(text cut to fit: --wide shows all)"
    assert LONG in _on_a_terminal([*argv, "--wide"], env).replace("\n", "")

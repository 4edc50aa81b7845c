"""A new, re-enabled or re-timed trigger shows what it would send at once and asks first;
`trigger preview` gives the true reason when nothing more is sent; `trigger remove` asks.

Through the real Typer app (and one real process on a pseudo-terminal for the question) on
SQLite and PostgreSQL; the outbox and the fire log are read back, and the daemon's scheduler
runs afterwards to show the confirmed messages are queued exactly once.
"""

from __future__ import annotations

import asyncio
import os
import pty
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from hotelbot.cli import app
from hotelbot.daemon.scheduler import Scheduler
from hotelbot.errors import UserError
from hotelbot.storage.db import Database
from hotelbot.storage.models import OutboxMessage
from hotelbot.storage.models_triggers import TriggerFire

HOTEL = """[[hotels]]
slug = "alpha"
name = "Alpha"
instance_id = "1101000001"
api_token = "tok-alpha-123456"
timezone = "UTC"
quiet_hours = "off"
"""


@pytest.fixture
def cli(
    db_url: str, monkeypatch: pytest.MonkeyPatch, clean_env: dict[str, str], tmp_path: Path
) -> CliRunner:
    monkeypatch.setenv("HOTELBOT_DATABASE_URL", db_url)
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    hotels = tmp_path / "hotels.toml"
    hotels.write_text(HOTEL)
    assert runner.invoke(app, ["hotel", "import", str(hotels)]).exit_code == 0
    return runner


def _ok(cli: CliRunner, *args: str) -> str:
    result = cli.invoke(app, list(args))
    assert result.exit_code == 0, (args, result.output, result.exception)
    return result.output


def _in_house_stay(cli: CliRunner, name: str = "Anna Berzina", phone: str = "+37120000001") -> None:
    today = datetime.now(UTC).date()
    dates = [str(today - timedelta(days=2)), str(today + timedelta(days=2))]
    _ok(
        cli,
        "stay",
        "add",
        "alpha",
        "--phone",
        phone,
        "--name",
        name,
        "--check-in",
        dates[0],
        "--check-out",
        dates[1],
    )


async def _rows(url: str) -> tuple[list[tuple[str, str]], list[str]]:
    """(outbox texts and states, fire-log outcomes)."""
    db = Database.open(url)
    try:
        async with db.read() as conn:
            outbox = [
                (r[0], r[1])
                for r in await conn.execute(select(OutboxMessage.text, OutboxMessage.state))
            ]
            fires = list((await conn.execute(select(TriggerFire.outcome))).scalars())
        return outbox, fires
    finally:
        await db.dispose()


async def _scheduler_tick(url: str) -> dict[str, int]:
    db = Database.open(url)
    try:
        return dict((await Scheduler(db).run_once()).outcomes)
    finally:
        await db.dispose()


def _just_passed() -> str:
    """A daily time 5 minutes ago (UTC hotel): a fire due within the default 15 min grace."""
    return (datetime.now(UTC) - timedelta(minutes=5)).strftime("%H:%M")


def test_a_new_trigger_lists_what_it_would_send_and_needs_yes(cli: CliRunner, db_url: str) -> None:
    _in_house_stay(cli)
    add = [
        "trigger",
        "add",
        "alpha",
        "evening",
        "--when",
        f"daily at {_just_passed()}",
        "--text",
        "Good evening {first_name}",
    ]
    dry = _ok(cli, *add, "--dry-run")
    assert "Adding evening would queue 1 fire(s) due now:" in dry
    assert "Anna Berzina (37120000001@c.us), due " in dry
    assert "sent now: Good evening Anna" in dry and "dry run: nothing was changed" in dry
    assert asyncio.run(_rows(db_url)) == ([], [])
    assert "no triggers yet" in _ok(cli, "trigger", "list")

    refused = cli.invoke(app, add)  # no terminal to ask on, no --yes
    assert refused.exit_code == 1 and isinstance(refused.exception, UserError)
    assert "would send 1 message(s) to guests at once: add --yes" in str(refused.exception)
    assert asyncio.run(_rows(db_url)) == ([], [])

    out = _ok(cli, *add, "--yes")
    # (ids: a rolled-back preview may use up a PostgreSQL sequence value)
    assert "(evening): added" in out and "queued now: 1" in out
    assert "next: " in out and "to Anna Berzina" in out
    assert asyncio.run(_rows(db_url)) == ([("Good evening Anna", "pending")], ["enqueued"])
    # The daemon's scheduler finds the fire decided: the guest gets it once.
    assert asyncio.run(_scheduler_tick(db_url)) == {}
    assert len(asyncio.run(_rows(db_url))[0]) == 1


def test_no_catch_up_starts_with_the_next_time(cli: CliRunner, db_url: str) -> None:
    _in_house_stay(cli)
    out = _ok(
        cli,
        "trigger",
        "add",
        "alpha",
        "evening",
        "--when",
        f"daily at {_just_passed()}",
        "--text",
        "Hi",
        "--no-catch-up",
    )
    assert "recorded skipped:not_caught_up: 1" in out
    assert asyncio.run(_rows(db_url)) == ([], ["skipped:not_caught_up"])
    assert asyncio.run(_scheduler_tick(db_url)) == {}
    assert asyncio.run(_rows(db_url))[0] == []


def test_nothing_due_needs_no_question(cli: CliRunner, db_url: str) -> None:
    _in_house_stay(cli)
    later = (datetime.now(UTC) + timedelta(hours=3)).strftime("%H:%M")
    out = _ok(
        cli, "trigger", "add", "alpha", "later", "--when", f"daily at {later}", "--text", "Hi"
    )
    assert "fire(s) due now" not in out and "(later): added" in out
    assert asyncio.run(_rows(db_url)) == ([], [])


def test_re_enabling_asks_on_a_terminal(cli: CliRunner, db_url: str, tmp_path: Path) -> None:
    """The question is asked on a real terminal: "y" sends, "n" changes nothing."""
    _in_house_stay(cli)
    _ok(
        cli,
        "trigger",
        "add",
        "alpha",
        "evening",
        "--when",
        f"daily at {_just_passed()}",
        "--text",
        "Hello {first_name}",
        "--disabled",
    )
    env = dict(os.environ, HOTELBOT_DATABASE_URL=db_url)
    for answer, code in (("n", 1), ("y", 0)):
        output = _on_a_terminal(
            [sys.executable, "-m", "hotelbot", "trigger", "enable", "alpha", "evening"], env, answer
        )
        assert "Enabling evening would queue 1 fire(s) due now:" in output[1], output
        assert "Send these 1 message(s) now?" in output[1]
        assert output[0] == code, output
        if answer == "n":
            assert "nothing changed" in output[1]
            assert asyncio.run(_rows(db_url)) == ([], [])
    assert asyncio.run(_rows(db_url)) == ([("Hello Anna", "pending")], ["enqueued"])
    assert " yes " in _ok(cli, "trigger", "list")


def _on_a_terminal(argv: list[str], env: dict[str, str], answer: str) -> tuple[int, str]:
    master, slave = pty.openpty()
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env)
    os.close(slave)
    seen = b""
    answered = False
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
        if not answered and b"[y/N]" in seen:
            os.write(master, answer.encode() + b"\n")
            answered = True
    os.close(master)
    return proc.wait(timeout=60), seen.decode(errors="replace")


def test_preview_gives_the_true_reason(cli: CliRunner) -> None:
    _ok(
        cli,
        "stay",
        "add",
        "alpha",
        "--phone",
        "+37120000001",
        "--name",
        "Anna",
        "--check-in",
        "2030-03-28",
        "--check-out",
        "2030-03-30",
    )
    _ok(
        cli,
        "trigger",
        "add",
        "alpha",
        "before",
        "--when",
        "1d before check-in at 10:00",
        "--text",
        "See you tomorrow",
    )
    _ok(cli, "trigger", "add", "alpha", "morning", "--when", "daily at 09:00", "--text", "Hi")
    _ok(cli, "trigger", "add", "alpha", "late", "--when", "daily at 23:00", "--text", "Hi")
    _ok(cli, "hotel", "edit", "alpha", "--set", "quiet_hours=22:00-08:00")
    preview = ["trigger", "preview", "alpha"]
    out = _ok(cli, *preview, "before", "--stay", "1", "--from", "2030-03-27T14:00")
    assert "  none: its one time for this stay, 2030-03-27 10:00 UTC, has passed" in out
    out = _ok(cli, *preview, "morning", "--stay", "1", "--from", "2030-03-29T10:00")
    assert (
        "  none: the last one, 2030-03-30 09:00 UTC, has passed" not in out
        and "2030-03-30 09:00 UTC (Sat)" in out
    )
    out = _ok(cli, *preview, "morning", "--stay", "1", "--from", "2030-03-30T09:30")
    assert (
        "  none: the last one, 2030-03-30 09:00 UTC, has passed; check-out at "
        "2030-03-30 11:00 UTC comes before the next"
    ) in out
    out = _ok(cli, *preview, "morning", "--stay", "1", "--from", "2030-04-02T00:00")
    assert "  none: the stay ended at check-out, 2030-03-30 11:00 UTC" in out
    out = _ok(cli, *preview, "late", "--stay", "1", "--from", "2030-03-28T12:00")
    assert "2030-03-28 23:00 UTC (Thu): held until 2030-03-29 08:00 UTC (quiet_hours)" in out
    _ok(cli, "stay", "cancel", "1")
    out = _ok(cli, *preview, "late", "--stay", "1", "--from", "2030-03-28T12:00")
    assert "2030-03-28 23:00 UTC (Thu): not sent (cancelled)" in out


def test_trigger_remove_asks(cli: CliRunner) -> None:
    _ok(cli, "trigger", "add", "alpha", "welcome", "--when", "on stay created", "--text", "Hi")
    refused = cli.invoke(app, ["trigger", "remove", "alpha", "welcome"])
    assert refused.exit_code == 1
    assert "cannot be undone: add --yes" in str(refused.exception)
    assert "welcome" in _ok(cli, "trigger", "list")
    assert "welcome: removed" in _ok(cli, "trigger", "remove", "alpha", "welcome", "--yes")
    assert "no triggers yet" in _ok(cli, "trigger", "list")

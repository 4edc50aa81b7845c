"""`--json` on the operator commands: one shared helper (cli/common.print_json), same rows
as the tables, guest text escaped, [] when empty. Real Typer app on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from typer.testing import CliRunner

from hotelbot.cli import app
from hotelbot.daemon.processor import Processor
from hotelbot.storage.db import Database
from tests import shapes
from tests.processor_helpers import FakeAnalyser, ingest, make_hotel

GUEST = "37120000001@c.us"
STAFF = "37129999999@c.us"
SENT = int(datetime(2026, 3, 27, 8, 30, tzinfo=UTC).timestamp())
TEXT = "The shower is broken \u202e again"  # a bidi override: escaped in JSON


async def _seed(url: str) -> None:
    db = Database.open(url)
    try:
        riga = await make_hotel(db, timezone="Europe/Riga", staff_chat_id=STAFF)
        await ingest(
            db,
            riga,
            [
                shapes.incoming_text("1101000001", GUEST, TEXT, id_message="G1", timestamp=SENT),
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


def _json(cli: CliRunner, *args: str) -> Any:
    result = cli.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, (args, result.output, result.exception)
    assert result.output.isascii()  # escapes and bidi overrides never reach a terminal raw
    return json.loads(result.output)


def test_hotel_list_and_show(cli: CliRunner) -> None:
    hotels = _json(cli, "hotel", "list")
    assert [h["slug"] for h in hotels] == ["seaside"]
    assert hotels[0]["timezone"] == "Europe/Riga" and hotels[0]["enabled"] == "yes"
    shown = _json(cli, "hotel", "show", "seaside")
    assert shown["staff_chat_id"] == STAFF and shown["api_token"] == "(inline, hidden)"
    assert "instance_state" in shown


def test_messages_list_keeps_the_text_exact_and_the_zone_named(cli: CliRunner) -> None:
    messages = _json(cli, "messages", "list")
    assert len(messages) == 1
    assert messages[0]["text"] == TEXT and messages[0]["chat"] == GUEST
    assert messages[0]["sent"] == "2026-03-27 10:30:00 EET"
    assert _json(cli, "messages", "list", "--utc")[0]["sent"] == "2026-03-27 08:30:00 UTC"
    assert _json(cli, "messages", "list", "--hotel", "seaside", "--since", "2099-01-01") == []


def test_conversations_and_outbox_list(cli: CliRunner) -> None:
    conversations = _json(cli, "conversations", "list")
    assert [c["chat"] for c in conversations] == [GUEST]
    outbox = _json(cli, "outbox", "list")
    assert [(o["kind"], o["lane"], o["chat"]) for o in outbox] == [("alert", "alert", STAFF)]
    assert _json(cli, "outbox", "list", "--state", "failed") == []


def test_trigger_and_stay_list(cli: CliRunner) -> None:
    assert _json(cli, "trigger", "list") == []
    assert _json(cli, "stay", "list") == []
    today = datetime.now(UTC).date()
    added = cli.invoke(
        app,
        [
            "stay",
            "add",
            "seaside",
            "--phone",
            "+371 2000 0001",
            "--name",
            "Anna Berzina",
            "--check-in",
            str(today),
            "--check-out",
            str(today + timedelta(days=3)),
        ],
    )
    assert added.exit_code == 0, added.output
    trig = cli.invoke(
        app,
        [
            "trigger",
            "add",
            "seaside",
            "welcome",
            "--when",
            "at check-in",
            "--text",
            "Hi {first_name}",
            "--yes",
        ],
    )
    assert trig.exit_code == 0, trig.output
    stays = _json(cli, "stay", "list")
    assert [(s["guest"], s["chat"], s["in"]) for s in stays] == [
        ("Anna Berzina", "37120000001@c.us", str(today))
    ]
    triggers = _json(cli, "trigger", "list")
    assert [(t["name"], t["on"]) for t in triggers] == [("welcome", "yes")]


def test_status_and_stats(cli: CliRunner) -> None:
    status = _json(cli, "status")
    assert [h["slug"] for h in status["hotels"]] == ["seaside"]
    assert status["hotels"][0]["unprocessed"] == 0
    datetime.fromisoformat(status["at"])  # ISO 8601
    stats = _json(cli, "stats", "--days", "366")
    titles = [s["title"] for s in stats["sections"]]
    assert stats["days"] == 366 and titles
    rows = [r for s in stats["sections"] for r in s["rows"]]
    assert any(r.get("day") == "2026-03-27" for r in rows), rows

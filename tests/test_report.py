"""`hotelbot report`: a manager's period on seeded data (real rules, both databases)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update
from typer.testing import CliRunner

from hotelbot.cli import app
from hotelbot.daemon.fact_answers import facts_hook
from hotelbot.daemon.processor import Processor
from hotelbot.domain.facts import parse_facts
from hotelbot.domain.report import percentile, sparkline
from hotelbot.errors import UserError
from hotelbot.sentiment.factory import build_stage
from hotelbot.settings import Settings
from hotelbot.storage.db import Database
from hotelbot.storage.facts import import_facts
from hotelbot.storage.models_messaging import Alert
from tests import shapes
from tests.processor_helpers import ingest, make_hotel

ANNA = "37120000001@c.us"
BEN = "37120000002@c.us"
NOW = datetime.now(UTC)


def _ts(days_ago: float) -> int:
    return int((NOW - timedelta(days=days_ago)).timestamp())


async def _seed(url: str) -> None:
    db = Database.open(url)
    try:
        hotel = await make_hotel(db, timezone="Europe/Riga")
        await ingest(
            db,
            hotel,
            [
                shapes.incoming_text(
                    "1101000001",
                    BEN,
                    "Thank you, a lovely stay!",
                    id_message="B0",
                    timestamp=_ts(10),
                ),  # the period before
                shapes.incoming_text(
                    "1101000001", BEN, "Thanks, all good", id_message="B1", timestamp=_ts(3)
                ),
                shapes.incoming_text(
                    "1101000001",
                    ANNA,
                    "Hello, what time is breakfast?",
                    id_message="A1",
                    timestamp=_ts(2),
                ),
                shapes.incoming_text(
                    "1101000001",
                    ANNA,
                    "The shower is broken and there is no hot water in my room!",
                    id_message="A2",
                    timestamp=_ts(1),
                ),
            ],
        )
        async with db.write() as conn:  # the breakfast question is answered from the facts
            await import_facts(conn, hotel, parse_facts('[breakfast]\nen = "7:00-10:30."'))
        stage = build_stage(Settings(), {})
        processor = Processor(db, stage.stage)
        processor.add_message_hook(facts_hook())
        await processor.run_once()
        async with db.write() as conn:  # staff acknowledged the alert after 5 minutes
            alerts = list(await conn.execute(select(Alert.id, Alert.created_at)))
            for alert_id, created_at in alerts:
                acknowledged = created_at + timedelta(minutes=5)
                await conn.execute(
                    update(Alert).where(Alert.id == alert_id).values(acknowledged_at=acknowledged)
                )
    finally:
        await db.dispose()


@pytest.fixture
def cli(db_url: str, monkeypatch: pytest.MonkeyPatch, clean_env: dict[str, str]) -> CliRunner:
    monkeypatch.setenv("HOTELBOT_DATABASE_URL", db_url)
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    asyncio.run(_seed(db_url))
    return runner


def test_report_in_the_terminal_and_as_json(cli: CliRunner) -> None:
    result = cli.invoke(app, ["report", "seaside", "--since", "7d"])
    assert result.exit_code == 0, (result.output, result.exception)
    out = result.output
    assert out.startswith("seaside: ") and ("EET" in out or "EEST" in out)
    flat = [" ".join(line.split()) for line in out.splitlines()]
    assert "guest messages 3 from 2 guest(s)" in flat
    assert "negative 33% (before: 0%, worse)" in flat
    assert "needed staff 1: complaint 1" in flat
    assert "staff alerts 1 (0 not acknowledged)" in flat
    assert "acknowledged median 5 min, p90 5 min" in flat
    assert "unanswered 2 guest(s)" in flat
    assert "answered from facts 1 message(s)" in flat
    bars = [line for line in out.splitlines() if line.startswith("  per day")]
    assert len(bars) == 2 and len(bars[0].split()[2]) == 8  # 7 days back + today, local

    as_json = cli.invoke(app, ["report", "seaside", "--since", "7d", "--json", "--utc"])
    assert as_json.exit_code == 0, as_json.output
    data = json.loads(as_json.output)
    assert (data["messages"], data["guests"], data["alerts"]) == (3, 2, 1)
    assert data["attention"] == {"complaint": 1} and data["trend"] == "worse"
    assert data["ack_median_s"] == pytest.approx(300, abs=1) and data["timezone"] == "UTC"
    assert sum(data["per_day"]) == 3 and data["delivery_failures"] == 0
    assert data["fact_answers"] == 1


def test_report_names_what_is_wrong(cli: CliRunner) -> None:
    missing = cli.invoke(app, ["report", "nowhere"])
    assert missing.exit_code == 1 and "no hotel with slug 'nowhere'" in str(missing.exception)
    bad = cli.invoke(app, ["report", "seaside", "--since", "last tuesday"])
    assert isinstance(bad.exception, UserError)


def test_sparkline_and_percentile() -> None:
    assert sparkline([0, 1, 2, 4]) == "▁▃▅█"
    assert sparkline([0, 0]) == "▁▁" and sparkline([]) == ""
    assert percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9) == 9
    assert percentile([7], 0.5) == 7 and percentile([], 0.5) is None

"""CLI: sentiment (text and the JSON-lines protocol), messages --attention, conversations."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hotelbot.cli import app
from hotelbot.daemon.processor import Processor
from hotelbot.storage.db import Database
from hotelbot.storage.schema import upgrade
from tests import shapes
from tests.processor_helpers import INSTANCE, FakeAnalyser, ingest, make_hotel

GUEST = "79001234568@c.us"


def test_jsonl_protocol_over_a_pipe(clean_env: dict[str, str]) -> None:
    """As score_sentiment.py --command drives it: write a line, read a line, repeat."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "hotelbot", "sentiment", "--jsonl", "--analyser", "rules"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env,
    )
    assert proc.stdin is not None and proc.stdout is not None
    answers = []
    try:
        lines = [
            '{"text": "The room is dirty and the staff were rude"}',
            "not json",
            '{"nope": 1}',
            "",
            '{"text": "Thank you, lovely stay!", "id": 3}',
        ]
        for line in lines:
            proc.stdin.write(line + "\n")
            proc.stdin.flush()
            answers.append(json.loads(proc.stdout.readline()))
    finally:
        proc.stdin.close()
        assert proc.wait(timeout=20) == 0
        proc.stdout.close()
        if proc.stderr:
            proc.stderr.close()
    assert answers[0]["sentiment"] == "negative" and answers[0]["requires_attention"] is True
    assert set(answers[0]) >= {"sentiment", "score", "requires_attention", "language", "analyser"}
    assert [("error" in a) for a in answers] == [False, True, True, True, False]
    assert answers[4]["sentiment"] == "positive" and answers[4]["id"] == 3


def test_sentiment_text_shows_both_analysers(clean_env: dict[str, str]) -> None:
    result = CliRunner().invoke(app, ["sentiment", "no hot water again"], env=clean_env)
    assert result.exit_code == 0, result.output
    assert "rules: negative" in result.output and "llm:   not configured" in result.output
    result = CliRunner().invoke(
        app, ["sentiment", "x"], env={**clean_env, "HOTELBOT_LLM__ENABLED": "true"}
    )
    assert "llm:   no API key" in result.output


def test_llm_analyser_without_llm_answers_error_lines(clean_env: dict[str, str]) -> None:
    result = CliRunner().invoke(
        app, ["sentiment", "--jsonl", "--analyser", "llm"], input='{"text": "hi"}\n', env=clean_env
    )
    assert result.exit_code == 0
    assert "error" in json.loads(result.output.splitlines()[0])


@pytest.fixture
def populated(tmp_path: Path, clean_env: dict[str, str]) -> dict[str, str]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.sqlite3'}"

    async def setup() -> None:
        db = Database.open(url)
        try:
            await upgrade(db)
            hotel_id = await make_hotel(db, staff_pause_h=6)
            await ingest(
                db,
                hotel_id,
                [
                    shapes.incoming_text(INSTANCE, GUEST, "Hello there", id_message="P1"),
                    shapes.incoming_text(INSTANCE, GUEST, "The tap is broken", id_message="P2"),
                ],
            )
            await Processor(db, FakeAnalyser()).run_once()
        finally:
            await db.dispose()

    asyncio.run(setup())
    return {**clean_env, "HOTELBOT_DATABASE_URL": url}


def test_messages_and_conversations(populated: dict[str, str]) -> None:
    runner = CliRunner()
    every = runner.invoke(app, ["messages", "list"], env=populated)
    assert every.exit_code == 0, every.output
    assert "Hello there" in every.output and "The tap is broken" in every.output
    flagged = runner.invoke(app, ["messages", "list", "--attention"], env=populated)
    assert "The tap is broken" in flagged.output and "Hello there" not in flagged.output
    listed = runner.invoke(app, ["conversations", "list"], env=populated)
    assert listed.exit_code == 0 and GUEST in listed.output
    shown = runner.invoke(app, ["conversations", "show", "+79001234568"], env=populated)
    assert shown.exit_code == 0, shown.output
    assert "The tap is broken" in shown.output and "phone +79001234568" in shown.output
    handled = runner.invoke(app, ["conversations", "handled", GUEST], env=populated)
    assert handled.exit_code == 0 and "handled by staff until" in handled.output
    resumed = runner.invoke(app, ["conversations", "handled", "1", "--hours", "0"], env=populated)
    assert "resume now" in resumed.output
    missing = runner.invoke(app, ["conversations", "show", "999"], env=populated)
    assert missing.exit_code != 0

"""Test helper: a fresh SQLite database with one hotel ("riga"), set up through the CLI the
way an operator does it (`db upgrade`, `hotel import`)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from hotelbot.cli import app

RIGA_TOML = """
[[hotels]]
slug = "riga"
name = "Grand Riga"
instance_id = "1101000001"
api_token = "secret-token"
timezone = "Europe/Riga"
"""


def cli_with_riga(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, extra_toml: str = ""
) -> CliRunner:
    """A CliRunner whose commands use a new SQLite file under `tmp_path` holding the hotel
    "riga" (plus `extra_toml` lines in its table). Asserts that both set-up commands worked."""
    monkeypatch.setenv("HOTELBOT_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'hb.sqlite3'}")
    runner = CliRunner()
    upgraded = runner.invoke(app, ["db", "upgrade"])
    assert upgraded.exit_code == 0, upgraded.output
    hotels = tmp_path / "hotels.toml"
    hotels.write_text(RIGA_TOML + extra_toml)
    imported = runner.invoke(app, ["hotel", "import", str(hotels)])
    assert imported.exit_code == 0, imported.output
    return runner

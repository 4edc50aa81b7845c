"""CLI: stays (CSV import with per-line errors, idempotent re-import), triggers (validation at
add time, preview in local time), manual send and the outbox listing."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from hotelbot.cli import app
from hotelbot.errors import UserError

HOTELS_TOML = """
[[hotels]]
slug = "riga"
name = "Grand Riga"
instance_id = "1101000001"
api_token = "secret-token"
timezone = "Europe/Riga"
"""

CSV_GOOD_AND_BAD = """phone,name,check_in,check_out,room,external_ref
+371 2000 0001,Anna Berzina,2026-03-27,2026-03-31,101,B-1
not-a-phone,Bad Phone,2026-03-27,2026-03-31,102,B-2
+371 2000 0003,Ivan Petrov,2026-03-28,2026-03-30,,B-3
+371 2000 0004,,2026-04-05,2026-04-01,,B-4
"""


@pytest.fixture
def cli(clean_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("HOTELBOT_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'hb.sqlite3'}")
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    hotels = tmp_path / "hotels.toml"
    hotels.write_text(HOTELS_TOML)
    result = runner.invoke(app, ["hotel", "import", str(hotels)])
    assert result.exit_code == 0, result.output
    return runner


def test_csv_import_reports_every_bad_row_by_line_and_imports_nothing(
    cli: CliRunner, tmp_path: Path
) -> None:
    path = tmp_path / "stays.csv"
    path.write_text(CSV_GOOD_AND_BAD)
    result = cli.invoke(app, ["stay", "import", str(path), "--hotel", "riga"])
    assert isinstance(result.exception, UserError)
    assert "2 bad row(s): nothing imported" in str(result.exception)
    assert "line 3: phone 'not-a-phone'" in result.output
    assert "line 5: name is empty; check_out 2026-04-01 is before check_in 2026-04-05" in (
        result.output
    )
    assert "line 2" not in result.output and "line 4" not in result.output
    assert "no stays" in cli.invoke(app, ["stay", "list", "--all"]).output


def test_csv_import_skip_bad_then_reimport_changes_nothing(cli: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "stays.csv"
    path.write_text(CSV_GOOD_AND_BAD)
    first = cli.invoke(app, ["stay", "import", str(path), "--hotel", "riga", "--skip-bad"])
    assert first.exit_code == 0, first.output
    assert "added: 2, updated: 0, unchanged: 0, skipped: 2" in first.output
    again = cli.invoke(app, ["stay", "import", str(path), "--hotel", "riga", "--skip-bad"])
    assert "added: 0, updated: 0, unchanged: 2, skipped: 2" in again.output
    listing = cli.invoke(app, ["stay", "list", "--all"]).output
    assert "37120000001@c.us" in listing and "37120000003@c.us" in listing
    # A changed room for the same booking id is an update, not a new stay.
    path.write_text(
        "phone,name,check_in,check_out,room,external_ref,hotel\n"
        "+371 2000 0001,Anna Berzina,2026-03-27,2026-03-31,205,B-1,riga\n"
    )
    third = cli.invoke(app, ["stay", "import", str(path)])
    assert "added: 0, updated: 1, unchanged: 0" in third.output
    assert " 205 " in cli.invoke(app, ["stay", "list", "--all"]).output


def test_csv_header_problems_are_reported(cli: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "stays.csv"
    path.write_text("phone,nmae,check_in,check_out\n")
    result = cli.invoke(app, ["stay", "import", str(path), "--hotel", "riga"])
    assert isinstance(result.exception, UserError)
    assert "unknown column 'nmae'" in str(result.exception)
    assert "missing column 'name'" in str(result.exception)


def test_trigger_add_validates_and_preview_shows_local_times(cli: CliRunner) -> None:
    added = cli.invoke(
        app,
        [
            "stay",
            "add",
            "riga",
            "--phone",
            "+371 2000 0001",
            "--name",
            "Anna Berzina",
            "--check-in",
            "2026-03-27",
            "--check-out",
            "2026-03-31",
            "--language",
            "ru",
        ],
    )
    assert added.exit_code == 0, added.output
    stay_id = added.output.split()[1].rstrip(":")
    bad = cli.invoke(
        app,
        [
            "trigger",
            "add",
            "riga",
            "morning",
            "--when",
            "daily at 09:00",
            "--text",
            "Hello {frist_name}",
        ],
    )
    assert isinstance(bad.exception, UserError)
    assert "unknown variable {frist_name}" in str(bad.exception)
    bad_when = cli.invoke(
        app, ["trigger", "add", "riga", "morning", "--when", "daily 9am", "--text", "Hi"]
    )
    assert isinstance(bad_when.exception, UserError)
    good = cli.invoke(
        app,
        [
            "trigger",
            "add",
            "riga",
            "morning",
            "--when",
            "daily at 09:00",
            "--text",
            "en=Good morning, {first_name}!",
            "--text",
            "ru=Доброе утро, {first_name}!",
        ],
    )
    assert good.exit_code == 0, good.output
    preview = cli.invoke(
        app,
        [
            "trigger",
            "preview",
            "riga",
            "morning",
            "--stay",
            stay_id,
            "--count",
            "3",
            "--from",
            "2026-03-27T12:00",
        ],
    )
    assert preview.exit_code == 0, preview.output
    assert "text: Доброе утро, Anna!" in preview.output
    lines = [ln.strip() for ln in preview.output.splitlines() if ln.startswith("  2026")]
    assert lines == [
        "2026-03-28 09:00 EET (Sat)",
        "2026-03-29 09:00 EEST (Sun)",  # after the DST change: still 09:00 local
        "2026-03-30 09:00 EEST (Mon)",
    ]
    edited = cli.invoke(app, ["trigger", "edit", "riga", "morning", "--when", "daily at 08:30"])
    assert "version 2" in edited.output
    assert "daily at 08:30 grace 15m" in cli.invoke(app, ["trigger", "list"]).output
    assert cli.invoke(app, ["trigger", "disable", "riga", "morning"]).exit_code == 0
    assert " no " in cli.invoke(app, ["trigger", "list"]).output


def test_manual_send_prints_the_outbox_id_and_outbox_lists_it(cli: CliRunner) -> None:
    result = cli.invoke(
        app, ["send", "riga", "+371 2000 0001", "--text-file", "-"], input="Your taxi is here\n"
    )
    assert result.exit_code == 0, result.output
    outbox_id = result.output.strip()
    assert outbox_id.isdigit()
    listing = cli.invoke(app, ["outbox", "list", "--hotel", "riga", "--state", "pending"]).output
    assert f"\n{outbox_id} " in listing and "manual" in listing
    assert "Your taxi" not in listing  # guest text only with --show-text
    assert "Your taxi is here" in cli.invoke(app, ["outbox", "list", "--show-text"]).output

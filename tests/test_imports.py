"""Imports that merge and never revert: `hotel import` and `stay import` change only what the
file states (or everything with --replace), never un-cancel a stay, and --dry-run shows the
fields and scheduled messages that would change without changing anything. Through the real
Typer app on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from hotelbot.cli import app

HOTEL = """[[hotels]]
slug = "alpha"
name = "Alpha"
instance_id = "1101000001"
api_token = "tok-alpha-123456"
timezone = "Europe/Riga"
"""


@pytest.fixture
def cli(db_url: str, monkeypatch: pytest.MonkeyPatch, clean_env: dict[str, str]) -> CliRunner:
    monkeypatch.setenv("HOTELBOT_DATABASE_URL", db_url)
    runner = CliRunner()
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    return runner


def _ok(cli: CliRunner, *args: str) -> str:
    result = cli.invoke(app, list(args))
    assert result.exit_code == 0, (args, result.output, result.exception)
    return result.output


def _shown(cli: CliRunner, slug: str) -> dict[str, str]:
    lines = _ok(cli, "hotel", "show", slug).splitlines()
    return {line[:22].strip(): line[22:].strip() for line in lines}


def test_hotel_import_keeps_edits_and_replace_restores_defaults(
    cli: CliRunner, tmp_path: Path
) -> None:
    path = tmp_path / "hotels.toml"
    path.write_text(HOTEL)
    assert "alpha: added" in _ok(cli, "hotel", "import", str(path))
    _ok(cli, "hotel", "edit", "alpha", "--set", "quiet_hours=off", "--set", "staff_pause_h=2")
    _ok(cli, "hotel", "disable", "alpha")
    # Re-importing the same file is a no-op: the edits and the disable survive.
    assert _ok(cli, "hotel", "import", str(path)).splitlines() == ["alpha: unchanged"]
    shown = _shown(cli, "alpha")
    assert (shown["quiet_hours"], shown["staff_pause_h"], shown["enabled"]) == (
        "off",
        "2.0",
        "False",
    )

    # A changed key in the file changes only that key, and says so.
    path.write_text(HOTEL.replace('"Alpha"', '"Alpha Hotel"'))
    out = _ok(cli, "hotel", "import", str(path))
    assert out.splitlines() == ["alpha: updated (name: Alpha -> Alpha Hotel)"]
    assert _shown(cli, "alpha")["quiet_hours"] == "off"

    # --replace --dry-run: what would go back to defaults; nothing changes.
    out = _ok(cli, "hotel", "import", "--replace", "--dry-run", str(path))
    assert out.splitlines() == [
        "alpha: would update (quiet_hours: off -> 22:00-09:00; staff_pause_h: 2.0 -> 12.0)",
        "dry run: nothing was changed",
    ]
    assert _shown(cli, "alpha")["quiet_hours"] == "off"
    _ok(cli, "hotel", "import", "--replace", str(path))
    shown = _shown(cli, "alpha")
    assert (shown["quiet_hours"], shown["staff_pause_h"]) == ("22:00-09:00", "12.0")
    assert shown["enabled"] == "False"  # enabled changes only when the file says so

    # Switching the token source clears the other one, and no token is ever printed.
    path.write_text(
        HOTEL.replace('api_token = "tok-alpha-123456"', 'api_token_env = "GREENAPI_TOKEN_A"')
    )
    out = _ok(cli, "hotel", "import", str(path))
    assert "api_token_env: (none) -> GREENAPI_TOKEN_A; api_token: (inline) -> (none)" in out
    assert "tok-alpha" not in out
    assert _shown(cli, "alpha")["api_token"] == ""


STAYS = """phone,name,check_in,check_out,room,external_ref
+371 2000 0001,Anna Berzina,2030-03-27,2030-03-31,101,B-1
+371 2000 0003,Ivan Petrov,2030-03-28,2030-03-30,,B-3
"""


def _stays(cli: CliRunner) -> dict[str, list[str]]:
    """external_ref -> the row of `stay list --all`."""
    rows = _ok(cli, "stay", "list", "--all").splitlines()[2:]
    return {row.split()[-1]: row.split() for row in rows}


def test_stay_import_merges_never_uncancels_and_dry_run_changes_nothing(
    cli: CliRunner, tmp_path: Path
) -> None:
    hotels = tmp_path / "hotels.toml"
    hotels.write_text(HOTEL)
    _ok(cli, "hotel", "import", str(hotels))
    _ok(
        cli,
        "trigger",
        "add",
        "alpha",
        "welcome",
        "--when",
        "1d before check-in at 10:00",
        "--text",
        "Hello {first_name}",
        "--yes",
    )
    first = tmp_path / "stays.csv"
    first.write_text(STAYS)
    out = _ok(cli, "stay", "import", str(first), "--hotel", "alpha")
    assert "line 2: a new stay for Anna Berzina (37120000001@c.us): added" in out
    assert "  next message welcome: 2030-03-26 10:00 EET" in out
    ivan = _stays(cli)["B-3"]
    _ok(cli, "stay", "edit", ivan[0], "--room", "205")
    _ok(cli, "stay", "cancel", _stays(cli)["B-1"][0])

    # The PMS exports again: Anna's row says booked, Ivan's room cell is empty, his check-in
    # moved by a day.
    second = tmp_path / "stays2.csv"
    second.write_text(
        "phone,name,check_in,check_out,room,external_ref,status\n"
        "+371 2000 0001,Anna Berzina,2030-03-27,2030-03-31,101,B-1,booked\n"
        "+371 2000 0003,Ivan Petrov,2030-03-29,2030-03-30,,B-3,\n"
    )
    before = _stays(cli)
    dry = _ok(cli, "stay", "import", str(second), "--hotel", "alpha", "--dry-run")
    assert _stays(cli) == before, "a dry run changes nothing"
    out = _ok(cli, "stay", "import", str(second), "--hotel", "alpha")
    for text in (dry, out):
        assert f"stay {before['B-1'][0]} for Anna Berzina" in text
        assert "kept cancelled (un-cancel with `hotelbot stay edit" in text
        assert "check_in: 2030-03-28 -> 2030-03-29" in text
        assert "  next message welcome: 2030-03-27 10:00 EET -> 2030-03-28 10:00 EET" in text
    assert dry.splitlines()[-1] == (
        "dry run, nothing was changed; added: 0, updated: 1, unchanged: 1, skipped: 0, "
        "kept cancelled: 1"
    )
    assert "would be updated" in dry and "would be updated" not in out
    after = _stays(cli)
    assert after["B-1"][-2] == "cancelled"
    assert "205" in after["B-3"], "an empty cell keeps the room set with `stay edit`"

    # --replace: the row is the whole truth (the room goes), but still never un-cancels.
    out = _ok(cli, "stay", "import", str(second), "--hotel", "alpha", "--replace")
    assert "room: 205 -> (none)" in out and "kept cancelled" in out
    after = _stays(cli)
    assert after["B-1"][-2] == "cancelled" and "205" not in after["B-3"]
    # ... and `stay edit` is the way back.
    _ok(cli, "stay", "edit", after["B-1"][0], "--status", "booked")
    assert _stays(cli)["B-1"][-2] == "booked"


def test_stay_add_updates_only_the_options_given(cli: CliRunner, tmp_path: Path) -> None:
    hotels = tmp_path / "hotels.toml"
    hotels.write_text(HOTEL)
    _ok(cli, "hotel", "import", str(hotels))
    base = [
        "stay",
        "add",
        "alpha",
        "--phone",
        "+37120000001",
        "--name",
        "Anna",
        "--check-in",
        "2030-05-01",
        "--check-out",
        "2030-05-03",
    ]
    assert _ok(cli, *base, "--room", "12", "--external-ref", "R-1").startswith("stay 1: added")
    out = _ok(cli, *base, "--language", "ru")
    assert out.strip() == "stay 1: updated (language: (none) -> ru)"
    row = _stays(cli)["R-1"]
    assert row[4] == "12"
    # The old option name still works for scripts, with a warning.
    result = CliRunner().invoke(app, [*base, "--ref", "R-1", "--room", "14"])
    assert result.exit_code == 0
    assert "warning: --ref is deprecated: use --external-ref" in result.output
    assert _stays(cli)["R-1"][4] == "14"

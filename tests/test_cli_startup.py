"""`hotelbot` registers only the command it runs (start-up cost), and the top-level listing
built from `hotelbot.cli.COMMANDS` stays the same as the one of the full CLI."""

from __future__ import annotations

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from hotelbot.cli import COMMANDS, app_for, full_app, requested_command


def _help(app_argv: list[str], argv: list[str]) -> str:
    result = CliRunner().invoke(app_for(app_argv), argv, prog_name="hotelbot")
    assert result.exit_code == 0, result.output
    return result.output


def test_top_level_listing_matches_the_full_cli() -> None:
    full = CliRunner().invoke(full_app(), ["--help"], prog_name="hotelbot")
    assert full.exit_code == 0
    assert _help([], ["--help"]) == full.output


def test_every_registered_command_is_in_the_table() -> None:
    import typer.main

    group = typer.main.get_command(full_app())
    commands: dict[str, object] = getattr(group, "commands")  # noqa: B009 - click's Group
    assert sorted(commands) == sorted(COMMANDS)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_a_command_alone_has_the_same_help_as_in_the_full_cli(name: str) -> None:
    full = CliRunner().invoke(full_app(), [name, "--help"], prog_name="hotelbot")
    assert full.exit_code == 0, full.output
    assert _help([name, "--help"], [name, "--help"]) == full.output


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([], None),
        (["--help"], None),
        (["--version"], None),
        (["status"], "status"),
        (["-c", "x.toml", "db", "info"], "db"),
        (["--config", "db", "hotel", "list"], "hotel"),
        (["--config=x.toml", "trigger", "list"], "trigger"),
        (["nonsense"], "nonsense"),
    ],
)
def test_requested_command_skips_root_options(argv: list[str], expected: str | None) -> None:
    assert requested_command(argv) == expected


_PROBE = """
import sys
sys.argv = ["hotelbot", *sys.argv[1:]]
from hotelbot.cli import main
try:
    main()
except SystemExit:
    pass
loaded = sorted(m for m in sys.modules if m.startswith("hotelbot.cli.") or m == "sqlalchemy")
print("LOADED", " ".join(loaded), file=sys.stderr)
"""


def _loaded(*argv: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *argv], capture_output=True, text=True, timeout=60
    )
    line = [x for x in done.stderr.splitlines() if x.startswith("LOADED")][-1]
    return set(line.split()[1:])


def test_help_imports_no_command_module() -> None:
    assert _loaded("--help") == set()


def test_a_command_imports_its_own_module_only() -> None:
    loaded = _loaded("db", "--help")
    assert "hotelbot.cli.db" in loaded
    assert not {"hotelbot.cli.trigger", "hotelbot.cli.stay", "hotelbot.cli.conversations"} & loaded

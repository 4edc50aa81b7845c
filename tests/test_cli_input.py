"""Operator input: guest text stays out of argv (`send --text-file -`, `sentiment` on stdin)
and bad CSV files give one clear line with the line number, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from hotelbot.cli import app
from hotelbot.errors import UserError
from tests.test_scheduling_cli import cli as cli  # the fixture: a database with hotel "riga"


def _outbox_texts(cli: CliRunner) -> str:
    return cli.invoke(app, ["outbox", "list", "--show-text"]).output


def test_send_reads_the_text_from_stdin_or_a_file(cli: CliRunner, tmp_path: Path) -> None:
    result = cli.invoke(app, ["send", "riga", "+37120000001"], input="From stdin\n")
    assert result.exit_code == 0, result.output
    path = tmp_path / "msg.txt"
    path.write_text("Line one\nline two\n", encoding="utf-8")
    result = cli.invoke(app, ["send", "riga", "+37120000001", "--text-file", str(path)])
    assert result.exit_code == 0, result.output
    texts = _outbox_texts(cli)
    assert "From stdin" in texts and "Line one" in texts


def test_send_text_as_an_argument_warns(cli: CliRunner) -> None:
    result = cli.invoke(app, ["send", "riga", "+37120000001", "visible in ps"])
    assert result.exit_code == 0
    assert "visible to other users" in result.stderr


@pytest.mark.parametrize(
    ("args", "stdin", "content", "message"),
    [
        (["--text-file", "FILE"], None, b"\xff\xfe bad", "not UTF-8 (byte 0)"),
        (["--text-file", "FILE"], None, b"  \n", "the message text is empty"),
        (["--text-file", "/nonexistent/x"], None, None, "cannot read"),
        (["--text-file", "-"], "", None, "the message text is empty"),
        (["text", "--text-file", "-"], "x", None, "not both"),
        (["--text-file", "-"], "x" * 20_001, None, "longer than 20000"),
    ],
)
def test_send_refuses_bad_text_in_one_line(
    cli: CliRunner,
    tmp_path: Path,
    args: list[str],
    stdin: str | None,
    content: bytes | None,
    message: str,
) -> None:
    path = tmp_path / "msg.txt"
    if content is not None:
        path.write_bytes(content)
    argv = ["send", "riga", "+37120000001", *(str(path) if a == "FILE" else a for a in args)]
    result = cli.invoke(app, argv, input=stdin)
    assert isinstance(result.exception, UserError), result.output
    assert message in str(result.exception)


def test_sentiment_reads_stdin(cli: CliRunner) -> None:
    result = cli.invoke(app, ["sentiment"], input="The room is dirty and nobody answers!\n")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("rules: negative")
    assert "visible to other users" not in result.stderr
    dash = cli.invoke(app, ["sentiment", "-"], input="Thank you, all perfect")
    assert dash.exit_code == 0 and "rules: positive" in dash.stdout
    argv = cli.invoke(app, ["sentiment", "thanks"])
    assert argv.exit_code == 0 and "visible to other users" in argv.stderr


def _import(cli: CliRunner, path: Path) -> BaseException | None:
    return cli.invoke(app, ["stay", "import", str(path), "--hotel", "riga"]).exception


HEADER = "phone,name,check_in,check_out\n"


def test_csv_that_is_not_utf8_names_the_line(cli: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "stays.csv"
    path.write_bytes(
        HEADER.encode() + b"+37120000001,Anna,2026-03-27,2026-03-31\n+37120000002,J\xf6rg,x,y\n"
    )
    error = _import(cli, path)
    assert isinstance(error, UserError)
    assert f"{path}: line 3: not UTF-8 (byte 0xf6)" in str(error)
    assert "iconv" in str(error)


def test_csv_with_an_oversized_field_names_the_line(cli: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "stays.csv"
    path.write_text(
        HEADER + "+37120000001,Anna,2026-03-27,2026-03-31\n" + '+3712,"' + "x" * 200_000 + '",a,b\n'
    )
    error = _import(cli, path)
    assert isinstance(error, UserError)
    assert "line 3: not valid CSV (field larger than field limit" in str(error)


def test_csv_nul_in_a_name_is_a_bad_row(cli: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "stays.csv"
    path.write_text(HEADER + "+37120000001,An\x00na,2026-03-27,2026-03-31\n")
    result = cli.invoke(app, ["stay", "import", str(path), "--hotel", "riga"])
    assert isinstance(result.exception, UserError)
    assert "line 2: name: control characters" in result.output

"""`hotelbot hotel ...` and friends through the real Typer app, on a real SQLite file."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hotelbot.cli import app
from hotelbot.fakes.greenapi import FakeGreenApi

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def cli(clean_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, sqlite_url: str) -> CliRunner:
    monkeypatch.setenv("HOTELBOT_DATABASE_URL", sqlite_url)
    runner = CliRunner()
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    return runner


def _hotels(path: Path, url: str = "https://api.green-api.com", token: str = "tok-123456") -> Path:
    path.write_text(
        f'[[hotels]]\nslug = "alpha"\nname = "Alpha"\ninstance_id = "1101000001"\n'
        f'api_token = "{token}"\napi_url = "{url}"\ntimezone = "Europe/Riga"\n'
        f'staff_chat_id = "37120000000@c.us"\n\n'
        f'[[hotels]]\nslug = "beta"\nname = "Beta"\ninstance_id = "1101000002"\n'
        f'api_token_env = "GREENAPI_TOKEN_BETA"\ntimezone = "Asia/Kolkata"\n'
    )
    return path


def test_version_and_help(cli: CliRunner) -> None:
    assert "hotelbot 0.1.0" in cli.invoke(app, ["--version"]).output
    for args in (
        ["--help"],
        ["hotel", "--help"],
        ["hotel", "import", "--help"],
        ["db", "--help"],
        ["messages", "list", "--help"],
        ["run", "--help"],
        ["demo", "--help"],
    ):
        result = cli.invoke(app, args)
        assert result.exit_code == 0 and "Usage" in result.output, args


def test_import_is_idempotent_and_all_or_nothing(cli: CliRunner, tmp_path: Path) -> None:
    path = _hotels(tmp_path / "h.toml")
    first = cli.invoke(app, ["hotel", "import", str(path)])
    assert first.exit_code == 0 and "alpha: added" in first.output and "beta: added" in first.output
    second = cli.invoke(app, ["hotel", "import", str(path)])
    assert "alpha: unchanged" in second.output and "beta: unchanged" in second.output
    bad = tmp_path / "bad.toml"
    bad.write_text(path.read_text().replace('"Alpha"', '"Alpha 2"') + 'colour = "red"\n')
    result = cli.invoke(app, ["hotel", "import", str(bad)])
    assert result.exit_code != 0
    assert "colour: unknown key" in str(result.exception) or "colour" in result.output
    shown = cli.invoke(app, ["hotel", "show", "alpha"])
    assert "Alpha 2" not in shown.output  # nothing changed


def test_list_show_hides_token_edit_enable_disable_remove(cli: CliRunner, tmp_path: Path) -> None:
    cli.invoke(app, ["hotel", "import", str(_hotels(tmp_path / "h.toml"))])
    listed = cli.invoke(app, ["hotel", "list"]).output
    assert "alpha" in listed and "beta" in listed and "Asia/Kolkata" in listed
    shown = cli.invoke(app, ["hotel", "show", "alpha"]).output
    assert "tok-123456" not in shown and "(inline, hidden)" in shown
    assert "tok-123456" in cli.invoke(app, ["hotel", "show", "alpha", "--show-token"]).output
    edited = cli.invoke(
        app,
        [
            "hotel",
            "edit",
            "alpha",
            "--set",
            "timezone=Europe/Tallinn",
            "--set",
            "quiet_hours=23:00-08:00",
        ],
    )
    assert edited.exit_code == 0 and "updated" in edited.output
    shown = cli.invoke(app, ["hotel", "show", "alpha"]).output
    assert "Europe/Tallinn" in shown and "23:00-08:00" in shown and "tok-123456" not in shown
    bad = cli.invoke(app, ["hotel", "edit", "alpha", "--set", "timezone=Mars/Base"])
    assert bad.exit_code != 0
    assert cli.invoke(app, ["hotel", "disable", "beta"]).exit_code == 0
    assert "beta" in cli.invoke(app, ["hotel", "list"]).output
    cli.invoke(app, ["hotel", "import", str(tmp_path / "h.toml")])
    listed = cli.invoke(app, ["hotel", "list"]).output
    beta_line = next(line for line in listed.splitlines() if line.startswith("beta"))
    assert "  no  " in beta_line  # re-import did not re-enable it
    assert cli.invoke(app, ["hotel", "remove", "beta", "--yes"]).exit_code == 0
    assert "beta" not in cli.invoke(app, ["hotel", "list"]).output


def test_add_reads_token_from_stdin(cli: CliRunner) -> None:
    result = cli.invoke(
        app,
        [
            "hotel",
            "add",
            "--slug",
            "gamma",
            "--name",
            "Gamma",
            "--instance-id",
            "1101000003",
            "--api-token-stdin",
            "--timezone",
            "Europe/Riga",
        ],
        input="stdin-token-999\n",
    )
    assert result.exit_code == 0, result.output
    assert "stdin-token-999" in cli.invoke(app, ["hotel", "show", "gamma", "--show-token"]).output
    dup = cli.invoke(
        app,
        [
            "hotel",
            "add",
            "--slug",
            "gamma",
            "--name",
            "G",
            "--instance-id",
            "1101000004",
            "--api-token-env",
            "X",
        ],
    )
    assert dup.exit_code != 0


def test_unknown_hotel_is_a_clear_error(cli: CliRunner) -> None:
    result = cli.invoke(app, ["hotel", "show", "nope"])
    assert result.exit_code != 0
    assert "no hotel with slug 'nope'" in str(result.exception)


@pytest.fixture
def fake_in_thread() -> Iterator[tuple[FakeGreenApi, str]]:
    """The fake on its own loop in a thread, so the synchronous CLI can call it."""
    loop = asyncio.new_event_loop()
    fake = FakeGreenApi(reboot_s=0.1)
    ready = threading.Event()
    box: dict[str, str] = {}

    def serve() -> None:
        asyncio.set_event_loop(loop)
        box["url"] = loop.run_until_complete(fake.start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    ready.wait(10)
    try:
        yield fake, box["url"]
    finally:
        asyncio.run_coroutine_threadsafe(fake.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


def test_hotel_check_reports_and_fixes_settings(
    cli: CliRunner, tmp_path: Path, fake_in_thread: tuple[FakeGreenApi, str]
) -> None:
    fake, url = fake_in_thread
    fake.add_instance(
        "1101000001",
        "tok-123456",
        settings={"webhookUrl": "https://x.example/h", "incomingWebhook": "no"},
    )
    cli.invoke(app, ["hotel", "import", str(_hotels(tmp_path / "h.toml", url=url))])
    result = cli.invoke(app, ["hotel", "check", "alpha"])
    assert result.exit_code == 1
    assert "state: authorized" in result.output
    assert "notifications reach the HTTP queue: NO" in result.output
    assert "webhookUrl is set" in result.output and "--fix" in result.output
    fixed = cli.invoke(app, ["hotel", "check", "alpha", "--fix"])
    assert "restarts the instance" in fixed.output
    settings = fake.instance("1101000001").settings
    assert settings["webhookUrl"] == "" and settings["incomingWebhook"] == "yes"
    import time

    time.sleep(0.3)  # the fake "reboots" for reboot_s after setSettings
    ok = cli.invoke(app, ["hotel", "check", "alpha"])
    assert ok.exit_code == 0, ok.output
    assert "tok-123456" not in ok.output


def test_messages_list_since(cli: CliRunner) -> None:
    result = cli.invoke(app, ["messages", "list", "--since", "2h"])
    assert result.exit_code == 0 and "no messages" in result.output
    bad = cli.invoke(app, ["messages", "list", "--since", "yesterday-ish"])
    assert bad.exit_code != 0


def test_signal_settings_import_show_edit(cli: CliRunner, tmp_path: Path) -> None:
    path = _hotels(tmp_path / "h.toml")
    text = path.read_text().replace(
        'staff_chat_id = "37120000000@c.us"\n',
        'staff_chat_id = "37120000000@c.us"\nsignal_photo = "alert"\nsignal_call = "IGNORE"\n',
    )
    path.write_text(text)
    assert cli.invoke(app, ["hotel", "import", str(path)]).exit_code == 0
    shown = cli.invoke(app, ["hotel", "show", "alpha"]).output
    assert "signal_photo           alert" in shown and "signal_call            ignore" in shown
    assert "signal_voice_note      alert" in shown and "signal_sticker         ignore" in shown
    edited = cli.invoke(app, ["hotel", "edit", "alpha", "--set", "signal_sticker=digest"])
    assert edited.exit_code == 0, edited.output
    assert "signal_sticker         digest" in cli.invoke(app, ["hotel", "show", "alpha"]).output
    bad = cli.invoke(app, ["hotel", "edit", "alpha", "--set", "signal_video=loud"])
    assert bad.exit_code != 0
    message = bad.output + str(bad.exception)
    assert 'signal_video: one of "alert", "digest"' in message and "Traceback" not in message
    # A re-import that does not state a signal key keeps the edited value.
    assert cli.invoke(app, ["hotel", "import", str(path)]).exit_code == 0
    assert "signal_sticker         digest" in cli.invoke(app, ["hotel", "show", "alpha"]).output

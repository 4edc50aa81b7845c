"""Logging output and secret redaction, observed on the configured stream.

Each test configures logging onto its own stream and asserts on the text that came out:
no registered secret and no Green API URL token survives, whichever path the line took
(our logger, bound extras, exception tracebacks, stdlib loggers such as httpx).
"""

from __future__ import annotations

import io
import json
import logging
import os
import secrets
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from loguru import logger

from hotelbot.logs import configure_logging, excerpt, is_journal_stream
from hotelbot.redact import MASK, SecretRegistry, redact, register_secret


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    chatty = {n: logging.getLogger(n).level for n in ("httpx", "httpcore", "openai")}
    yield
    logger.remove()
    logger.add(sys.stderr)
    for handler in root.handlers[:]:
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)
    for name, old in chatty.items():
        logging.getLogger(name).setLevel(old)
    logging.captureWarnings(False)


def _token() -> str:
    return secrets.token_hex(25)  # Green API tokens are 50 hex characters


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        status = 401 if "/getStateInstance/" in self.path else 200
        body = b'{"stateInstance": "authorized"}'
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep the server's own stderr lines out of the test output


@pytest.fixture
def server_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# --- redaction (pure) -------------------------------------------------------------------


def test_registry_masks_registered_values_and_encoded_form() -> None:
    reg = SecretRegistry()
    reg.register("p@ss/word!")
    assert reg.redact("raw p@ss/word! enc p%40ss%2Fword%21.") == "raw *** enc ***."


def test_registry_ignores_empty_and_short_values() -> None:
    reg = SecretRegistry()
    for value in ("", "   ", "abc"):
        reg.register(value)
    assert len(reg) == 0
    assert reg.redact("abc and more") == "abc and more"


def test_registry_prefers_the_longest_secret() -> None:
    reg = SecretRegistry()
    reg.register("abcd1234")
    reg.register("abcd1234-extended")
    assert reg.redact("x abcd1234-extended y abcd1234 z") == "x *** y *** z"


def test_registry_clear_and_reregister() -> None:
    reg = SecretRegistry()
    reg.register("tok-0000")
    reg.clear()
    assert reg.redact("tok-0000") == "tok-0000"
    reg.register("tok-0000")
    assert reg.redact("tok-0000") == MASK


_secret_text = st.text(
    alphabet=st.characters(exclude_characters="*", exclude_categories=["Cs"]),
    min_size=4,
    max_size=40,
).filter(lambda s: len(s.strip()) >= 4)


@given(
    secrets_=st.lists(_secret_text, min_size=1, max_size=30),
    pick=st.integers(min_value=0),
    before=st.text(max_size=30),
    after=st.text(max_size=30),
)
def test_no_registered_secret_survives(
    secrets_: list[str], pick: int, before: str, after: str
) -> None:
    reg = SecretRegistry()
    for value in secrets_:
        reg.register(value)
    secret = secrets_[pick % len(secrets_)].strip()
    assert secret not in reg.redact(before + secret + after)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "GET https://api.green-api.com/waInstance1101000001/receiveNotification/"
            "d75b3a66374942c5b3c019c698abc2067e151558acbd412345?receiveTimeout=20",
            "GET https://api.green-api.com/waInstance1101000001/receiveNotification/***"
            "?receiveTimeout=20",
        ),
        (
            "DELETE https://7103.api.greenapi.com/waInstance7103000000/deleteNotification/"
            "0123456789abcdef/42",
            "DELETE https://7103.api.greenapi.com/waInstance7103000000/deleteNotification/***/42",
        ),
        (
            "postgresql+asyncpg://hotelbot:pw-Xy9@db.internal:5432/hotelbot",
            "postgresql+asyncpg://hotelbot:***@db.internal:5432/hotelbot",
        ),
        (  # an unencoded "@" or "/" in the password must not leak its tail
            "postgresql+asyncpg://u:a@b/c@db/x",
            "postgresql+asyncpg://u:***@db/x",
        ),
        ('{"apiTokenInstance": "abc123def"}', '{"apiTokenInstance": "***"}'),
        ("password=hunter22 host=db", "password=*** host=db"),
        ("sqlite+aiosqlite:////var/lib/hotelbot/hotelbot.sqlite3", None),
        ("https://api.green-api.com/waInstance1101000001", None),
        ("mail guest@example.com about room 12", None),
    ],
)
def test_shapes_redacted_without_registration(text: str, expected: str | None) -> None:
    assert SecretRegistry().redact(text) == (text if expected is None else expected)


# --- log output -------------------------------------------------------------------------


def test_registered_token_never_appears_in_message_extra_or_traceback() -> None:
    token = _token()
    register_secret(token)
    out = io.StringIO()
    configure_logging("INFO", "text", stream=out)

    logger.bind(hotel="alpina", key=token).info("configured token {}", token)
    try:
        raise RuntimeError(f"upstream rejected {token}")
    except RuntimeError:
        logger.bind(hotel="alpina").exception("poll failed")

    text = out.getvalue()
    assert token not in text
    assert "configured token ***" in text
    assert "key=***" in text
    assert "RuntimeError: upstream rejected ***" in text
    assert "Traceback (most recent call last)" in text


def test_unregistered_url_token_redacted_in_message_and_traceback() -> None:
    token = _token()
    url = f"https://api.green-api.com/waInstance1101000001/sendMessage/{token}"
    out = io.StringIO()
    configure_logging("INFO", "journal", stream=out)

    logger.info("POST {}", url)
    try:
        raise ValueError(f"request to {url} failed")
    except ValueError:
        logger.exception("send failed")

    text = out.getvalue()
    assert token not in text
    assert "/waInstance1101000001/sendMessage/***" in text


def test_db_password_redacted() -> None:
    out = io.StringIO()
    configure_logging("INFO", "text", stream=out)
    logger.warning("cannot connect to {}", "postgresql+asyncpg://hotelbot:S3cret-pw@db/hotelbot")
    text = out.getvalue()
    assert "S3cret-pw" not in text
    assert "postgresql+asyncpg://hotelbot:***@db/hotelbot" in text


def test_the_database_password_the_daemon_registers_as_a_secret() -> None:
    """`url_password` (what the daemon and its processing worker register before the first
    query): percent-decoded, as it reaches the server and its error messages; None without
    one."""
    from hotelbot.storage.db import url_password

    assert url_password("postgresql+asyncpg://hotelbot:S3cret%40pw@db/hotelbot") == "S3cret@pw"
    assert url_password("postgresql+asyncpg://hotelbot@db/hotelbot") is None
    assert url_password("postgresql+asyncpg://hotelbot:@db/hotelbot") is None
    assert url_password("sqlite+aiosqlite:///hotelbot.sqlite3") is None


def test_httpx_request_lines_via_stdlib_are_redacted(server_url: str) -> None:
    token = _token()
    out = io.StringIO()
    configure_logging("DEBUG", "text", stream=out)  # DEBUG lets httpx INFO lines through

    with httpx.Client() as client:
        client.get(f"{server_url}/waInstance1101000001/receiveNotification/{token}")
        response = client.get(f"{server_url}/waInstance1101000001/getStateInstance/{token}")
        try:
            response.raise_for_status()
        except httpx.HTTPStatusError:
            logger.exception("state check failed")

    text = out.getvalue()
    assert token not in text
    assert "DEBUG    httpx: HTTP Request: GET" in text  # library INFO is our DEBUG
    assert "/receiveNotification/*** " in text
    assert "httpx.HTTPStatusError: Client error '401 Unauthorized'" in text


def test_httpx_info_lines_hidden_at_info(server_url: str) -> None:
    out = io.StringIO()
    configure_logging("INFO", "text", stream=out)
    with httpx.Client() as client:
        client.get(f"{server_url}/waInstance1/receiveNotification/{_token()}")
    logging.getLogger("hotelbot.test").info("stdlib line")
    text = out.getvalue()
    assert "HTTP Request" not in text
    assert "hotelbot.test: stdlib line" in text


def test_stdlib_exception_traceback_redacted() -> None:
    token = _token()
    register_secret(token)
    out = io.StringIO()
    configure_logging("INFO", "json", stream=out)
    try:
        raise ConnectionError(f"auth {token}")
    except ConnectionError:
        logging.getLogger("sqlalchemy.pool").exception("pool error %s", token)
    record = json.loads(out.getvalue())
    assert token not in out.getvalue()
    assert record["logger"] == "sqlalchemy.pool"
    assert record["message"] == "pool error ***"
    assert record["exception"].endswith("ConnectionError: auth ***")


def test_journal_prefix_on_every_line() -> None:
    out = io.StringIO()
    configure_logging("DEBUG", "journal", stream=out)
    logger.bind(hotel="h1").warning("first\nsecond")
    logger.debug("dbg")
    logger.success("ok")
    logger.critical("down")
    try:
        raise KeyError("x")
    except KeyError:
        logger.opt(exception=True).error("with traceback")

    lines = out.getvalue().splitlines()
    # A message's own line breaks are escaped (no forged lines); tracebacks keep theirs.
    assert lines[0] == f"<4>[h1] {__name__}: first\\nsecond"
    assert lines[1] == f"<7>{__name__}: dbg"
    assert lines[2] == f"<5>{__name__}: ok"
    assert lines[3] == f"<2>{__name__}: down"
    tb_lines = [line for line in lines[4:] if line.startswith("<3>")]
    assert len(tb_lines) == len(lines[4:]) > 3
    assert any(line == "<3>Traceback (most recent call last):" for line in tb_lines)


def test_slug_shown_in_text_and_json() -> None:
    out = io.StringIO()
    configure_logging("INFO", "text", stream=out)
    logger.bind(hotel="seaside").info("handled receipt={}", 7)
    assert f"INFO     [seaside] {__name__}: handled receipt=7" in out.getvalue()

    out = io.StringIO()
    configure_logging("INFO", "json", stream=out)
    with logger.contextualize(hotel="seaside"):
        logger.bind(receipt=7, ok=True).info("handled")
    logger.info("daemon-wide")
    first, second = (json.loads(line) for line in out.getvalue().splitlines())
    assert first["hotel"] == "seaside"
    assert first["level"] == "INFO"
    assert first["message"] == "handled"
    assert first["extra"] == {"receipt": 7, "ok": True}
    assert "T" in first["time"]
    assert second["hotel"] is None


def test_level_filters_lines() -> None:
    out = io.StringIO()
    configure_logging("warning", "text", stream=out)
    logger.info("quiet")
    logging.getLogger("hotelbot.x").info("quiet too")
    logger.warning("loud")
    text = out.getvalue()
    assert "quiet" not in text
    assert "loud" in text


def test_unknown_level_or_format_rejected() -> None:
    with pytest.raises(ValueError):
        configure_logging("CHATTY", "text", stream=io.StringIO())
    with pytest.raises(ValueError):
        configure_logging("INFO", "xml", stream=io.StringIO())  # type: ignore[arg-type]


def test_journal_detection_uses_stream_dev_and_inode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with open(tmp_path / "journal", "w") as stream, open(tmp_path / "other", "w") as other:
        st = os.fstat(stream.fileno())
        monkeypatch.setenv("JOURNAL_STREAM", f"{st.st_dev}:{st.st_ino}")
        assert is_journal_stream(stream)
        assert not is_journal_stream(other)
        assert not is_journal_stream(io.StringIO())

        configure_logging("INFO", "auto", stream=stream)
        logger.info("to journal")
        configure_logging("INFO", "auto", stream=other)
        logger.info("to file")

    assert (tmp_path / "journal").read_text() == f"<6>{__name__}: to journal\n"
    plain = (tmp_path / "other").read_text()
    assert not plain.startswith("<")
    assert plain.endswith(f" INFO     {__name__}: to file\n")
    assert "\x1b[" not in plain


def test_auto_text_is_coloured_on_a_tty(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JOURNAL_STREAM", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    primary, secondary = os.openpty()
    with os.fdopen(secondary, "w") as tty, os.fdopen(primary, "rb", buffering=0) as reader:
        configure_logging("INFO", "auto", stream=tty)
        logger.warning("coloured")
        received = reader.read(4096).decode()
    assert "\x1b[33mWARNING" in received
    assert "coloured" in received


def test_excerpt_is_one_short_quoted_line() -> None:
    assert excerpt("hello\n  world") == '"hello world"'
    long = excerpt("x" * 500, limit=10)
    assert long == '"' + "x" * 9 + '…"'


def test_module_redact_uses_process_registry() -> None:
    token = _token()
    assert redact(token) == token
    register_secret(token)
    assert redact(f"<{token}>") == "<***>"


def test_upstream_text_cannot_forge_log_lines_or_reach_the_terminal() -> None:
    out = io.StringIO()
    configure_logging("INFO", "text", stream=out)
    logger.bind(hotel="h1").warning(
        "instance not ready: {}", "starting\n2026-01-01 00:00:00.000 ERROR forged\x1b[2J\x9b"
    )
    text = out.getvalue()
    assert text.count("\n") == 1 and "\x1b" not in text and "\x9b" not in text
    assert "starting\\n2026-01-01" in text


def test_authorization_values_are_masked() -> None:
    registry = SecretRegistry()
    text = registry.redact("401 from api: header Authorization: Bearer sk-abcdef0123456789xyz")
    assert "sk-abcdef" not in text and "Bearer ***" in text

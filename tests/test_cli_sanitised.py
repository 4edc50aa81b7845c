"""Guest-controlled text reaches an operator's terminal only through `for_people`: a sender
name or message with a line break cannot forge table rows, and ESC, C1 controls, bidi
overrides and NUL never reach the terminal. Data goes in through the real ingest and
processor; the CLI runs as a real process."""

from __future__ import annotations

from pathlib import Path

from hotelbot.cli.common import table
from hotelbot.daemon.processor import Processor
from hotelbot.storage.db import Database
from tests import shapes
from tests.processor_helpers import FakeAnalyser, ingest, make_hotel
from tests.test_doctor_privacy import _cli, _env

CHAT = "37120000009@c.us"
HOSTILE_NAME = "Eve\nReason: all fine, ignore\x1b[31mRED\u202eevil\u202c\x00\x9b2J"
HOSTILE_TEXT = "line one\nFORGED ROW\r\n\x1b]0;title\x07 \u2066bidi\u2069 nul\x00 end"
FORBIDDEN = ("\x1b", "\x9b", "\x00", "\x07", "\u202e", "\u202c", "\u2066", "\u2069", "\r")


def test_table_cells_cannot_break_rows_or_carry_controls() -> None:
    out = table(["name", "text"], [[HOSTILE_NAME, HOSTILE_TEXT], ["Anna", "ok"]])
    lines = out.splitlines()
    assert len(lines) == 4  # header, rule, two rows: no forged line
    assert not any(c in out for c in FORBIDDEN)
    assert "Eve Reason: all fine, ignore[31mRED" in lines[2]


async def test_messages_and_conversations_are_safe_on_a_terminal(
    db: Database, db_url: str, tmp_path: Path
) -> None:
    hotel_id = await make_hotel(db)
    body = shapes.incoming_text("1101000001", CHAT, HOSTILE_TEXT, sender_name=HOSTILE_NAME)
    await ingest(db, hotel_id, [body])
    assert await Processor(db, FakeAnalyser()).run_once() == 1
    env = _env(db_url, tmp_path)
    for args in (
        ("messages", "list"),
        ("conversations", "list"),
        ("conversations", "show", CHAT),
    ):
        code, out = await _cli(env, *args)
        assert code == 0, (args, out)
        assert not [c for c in FORBIDDEN if c in out], (args, out)
        assert not any(line.startswith(("Reason:", "FORGED")) for line in out.splitlines())

"""The guest's language: detected from their messages (a switch needs two), kept per guest,
set by the operator, used for automated messages instead of the stay's when they differ;
templates fall back to the hotel's default language (never a hole) and preview warns."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from hotelbot.cli import app
from hotelbot.cli.trigger import preview_lines
from hotelbot.daemon.processor import Processor
from hotelbot.daemon.scheduler import Scheduler, message_hook
from hotelbot.domain.guest_language import (
    GuestLanguage,
    LanguageSource,
    message_language,
    observe,
    set_by_operator,
)
from hotelbot.domain.rules import RuleAnalyser
from hotelbot.domain.templates import Template, render
from hotelbot.sentiment.stage import SentimentStage
from hotelbot.storage.db import Database
from hotelbot.storage.guest_language import get_guest_language, set_guest_language
from hotelbot.storage.models_messaging import Guest
from tests import shapes
from tests.cli_helpers import cli_with_riga
from tests.processor_helpers import ingest
from tests.scheduling_helpers import make_hotel, make_stay, make_trigger, outbox_rows

DETECTED, OPERATOR = LanguageSource.DETECTED, LanguageSource.OPERATOR

# --- pure rules ----------------------------------------------------------------------------


def test_a_switch_needs_two_messages_and_the_operator_wins() -> None:
    state = GuestLanguage()
    state = observe(state, "ru")
    assert state == GuestLanguage("ru", None, None)  # a first guess
    state = observe(state, "ru")
    assert state == GuestLanguage("ru", DETECTED, None)
    assert observe(state, "und") is state and observe(state, "") is state
    once = observe(state, "en")
    assert once == GuestLanguage("ru", DETECTED, "en")  # one English "thanks": no switch
    assert observe(once, "ru") == GuestLanguage("ru", DETECTED, None)
    assert observe(once, "en") == GuestLanguage("en", DETECTED, None)
    assert observe(once, "de") == GuestLanguage("ru", DETECTED, "de")
    fixed = set_by_operator("lv")
    assert observe(observe(fixed, "en"), "en") is fixed
    assert set_by_operator(None) == GuestLanguage()


@pytest.mark.parametrize(
    ("stay", "guest", "expected"),
    [
        ("ru", GuestLanguage(), "ru"),
        (None, GuestLanguage(), "en"),  # the hotel default
        (None, GuestLanguage("de"), "de"),  # no stay language: even a first guess
        ("ru", GuestLanguage("de"), "ru"),  # a first guess does not beat the booking
        ("ru", GuestLanguage("de", DETECTED), "de"),
        ("pt-br", GuestLanguage("pt", DETECTED), "pt-br"),  # same language
        ("ru", GuestLanguage("lv", OPERATOR), "lv"),
        (None, GuestLanguage("lv", OPERATOR), "lv"),
    ],
)
def test_message_language(stay: str | None, guest: GuestLanguage, expected: str) -> None:
    assert message_language(stay_language=stay, guest=guest, hotel_default="en").code == expected


def test_a_missing_text_falls_back_to_the_hotel_default_before_the_template_fallback() -> None:
    template = Template({"en": "Hello {first_name}", "ru": "Привет, {first_name}"}, "ru")
    values = {"first_name": "Anna"}
    assert render(template, "de", values, default_language="en") == "Hello Anna"
    assert render(template, "de", values, default_language="lv") == "Привет, Anna"
    assert render(template, "de", values) == "Привет, Anna"
    assert template.has_text_for("ru") and not template.has_text_for("de")


# --- detected from real messages, used by the scheduler --------------------------------------

CHECK_IN = datetime(2026, 6, 1, 12, 0, 30, tzinfo=UTC)  # 15:00:30 in Riga
TEXTS = {
    "en": "Welcome {first_name}",
    "ru": "Добро пожаловать, {first_name}",
    "de": "Willkommen {first_name}",
}


_last_second = 0


def _next_second() -> int:
    """Ten minutes ago at the time of the call (not of the module's import: a full run collects
    long before it runs this file, and stale messages get no keyword answer), always one
    second after the previous one."""
    global _last_second
    _last_second = max(_last_second + 1, int(datetime.now(UTC).timestamp()) - 600)
    return _last_second


async def _guest_writes(db: Database, hotel_id: int, chat: str, *texts: str) -> None:
    """The guest's messages, one second apart (a keyword answer is keyed by the instant)."""
    bodies = [
        shapes.incoming_text("1101000001", chat, text, timestamp=_next_second()) for text in texts
    ]
    await ingest(db, hotel_id, bodies)
    processor = Processor(db, SentimentStage(RuleAnalyser(), None))
    processor.add_message_hook(message_hook())
    await processor.run_once()


async def _stay(db: Database, hotel_id: int, n: int, language: str | None) -> str:
    await make_stay(
        db,
        hotel_id,
        phone=f"+371 2000 000{n}",
        name=f"Guest{n} X",
        check_in=date(2026, 6, 1),
        check_out=date(2026, 6, 3),
        check_in_time=time(15, 0),
        language=language,
    )
    return f"3712000000{n}@c.us"


async def test_welcome_goes_out_in_the_language_the_guest_writes(db: Database) -> None:
    hotel_id = await make_hotel(db, "riga", default_language="en")
    two_german = await _stay(db, hotel_id, 1, "ru")
    one_german = await _stay(db, hotel_id, 2, "ru")
    no_language = await _stay(db, hotel_id, 3, None)
    operator_ru = await _stay(db, hotel_id, 4, None)
    await _guest_writes(
        db,
        hotel_id,
        two_german,
        "Guten Tag, wann ist das Frühstück bitte?",
        "Danke schön, das Zimmer ist sehr schön",
    )
    await _guest_writes(db, hotel_id, one_german, "Guten Tag, wann ist das Frühstück bitte?")
    await _guest_writes(db, hotel_id, no_language, "Guten Tag, wann ist das Frühstück bitte?")
    await _guest_writes(db, hotel_id, operator_ru, "Hello, what time is breakfast please?")
    async with db.write() as conn:
        await set_guest_language(conn, hotel_id, operator_ru, set_by_operator("ru"))
    # Writing English again does not undo the operator's choice.
    await _guest_writes(
        db,
        hotel_id,
        operator_ru,
        "Hello, what time is the pool open please?",
        "Thank you, the room is great",
    )
    await make_trigger(db, hotel_id, "welcome", "at check-in", TEXTS)
    assert dict((await Scheduler(db).run_once(CHECK_IN)).outcomes) == {"enqueued": 4}
    sent = {r["chat_id"]: r["text"] for r in await outbox_rows(db)}
    assert sent == {
        two_german: "Willkommen Guest1",
        one_german: "Добро пожаловать, Guest2",
        no_language: "Willkommen Guest3",
        operator_ru: "Добро пожаловать, Guest4",
    }
    async with db.read() as conn:
        stored = {
            r[0]: (r[1], r[2], r[3])
            for r in await conn.execute(
                select(
                    Guest.chat_id, Guest.language, Guest.language_source, Guest.language_candidate
                )
            )
        }
        assert await get_guest_language(conn, hotel_id, operator_ru) == GuestLanguage(
            "ru", OPERATOR, None
        )
    assert stored[two_german] == ("de", "detected", None)
    assert stored[one_german] == ("de", None, None)  # a first guess; the stay's ru wins


async def test_no_text_in_the_guests_language_uses_the_hotel_default_and_preview_warns(
    db: Database,
) -> None:
    hotel_id = await make_hotel(db, "riga", default_language="en")
    chat = await _stay(db, hotel_id, 1, "lv")
    await _guest_writes(
        db,
        hotel_id,
        chat,
        "Guten Tag, wann ist das Frühstück bitte?",
        "Danke schön, das Zimmer ist sehr schön",
    )
    texts = {"ru": "Добро пожаловать, {first_name}", "en": "Welcome {first_name}"}
    async with db.write() as conn:
        from hotelbot.domain.triggers import parse_trigger
        from hotelbot.storage.triggers import add_trigger

        await add_trigger(
            conn,
            hotel_id=hotel_id,
            name="welcome",
            spec=parse_trigger("at check-in"),
            template=Template(texts, "ru"),
            now=datetime(2026, 1, 1, tzinfo=UTC),
        )
    lines = await preview_lines(db, "riga", "welcome", 1, 1, "2026-06-01T10:00")
    assert lines[1] == (
        "language: en (guest's language de: the guest writes German, the stay says Latvian)"
    )
    assert lines[2].startswith("warning: no de text: this guest gets the en text")
    assert lines[3] == "text: Welcome Guest1"
    await Scheduler(db).run_once(CHECK_IN)
    assert [r["text"] for r in await outbox_rows(db)] == ["Welcome Guest1"]


async def test_a_keyword_answer_follows_the_language_the_guest_switched_to(db: Database) -> None:
    hotel_id = await make_hotel(db, "riga", default_language="en")
    today = datetime.now(UTC).date()
    await make_stay(
        db,
        hotel_id,
        phone="+371 2000 0001",
        name="Guest1 X",
        check_in=today,
        check_out=today + timedelta(days=2),
        language="en",
    )
    chat = "37120000001@c.us"
    wifi = {"en": "Wi-Fi password: sea-breeze", "de": "WLAN-Passwort: sea-breeze"}
    await make_trigger(db, hotel_id, "wifi", "on keyword wifi, wlan", wifi)
    # One German message: the booking's English still holds.
    await _guest_writes(db, hotel_id, chat, "Wie ist das WLAN Passwort bitte?")
    # The second German message confirms German: the answer to it is German.
    await _guest_writes(db, hotel_id, chat, "Guten Tag, wie ist das WLAN Passwort, bitte?")
    assert [r["text"] for r in await outbox_rows(db)] == [
        "Wi-Fi password: sea-breeze",
        "WLAN-Passwort: sea-breeze",
    ]


def test_cli_guest_language_show_set_and_auto(
    clean_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli = cli_with_riga(tmp_path, monkeypatch)
    shown = cli.invoke(app, ["guest", "language", "riga", "+371 2000 0001"])
    assert shown.exit_code == 0, shown.output
    assert "37120000001@c.us: not known yet" in shown.output
    set_ = cli.invoke(app, ["guest", "language", "riga", "+371 2000 0001", "DE"])
    assert set_.output.strip() == "37120000001@c.us: de (set by the operator)"
    auto = cli.invoke(app, ["guest", "language", "riga", "37120000001@c.us", "auto"])
    assert "not known yet" in auto.output
    bad = cli.invoke(app, ["guest", "language", "riga", "+371 2000 0001", "german"])
    assert "language 'german': expected a code like en, ru or pt-br, or 'auto'" in str(
        bad.exception
    )

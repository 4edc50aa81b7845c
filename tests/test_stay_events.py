"""Stay events ("on check-in", "on check-out", "on cancellation") and trigger conditions
("nights >= 3", language, room tag, booking source, first or returning guest): parsed into
typed values with clear errors, decided once per stay and trigger, shown by the CLI."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from hotelbot.cli import app
from hotelbot.daemon.scheduler import Scheduler, fire_stay_status_triggers
from hotelbot.daemon.sender import OutboxSender
from hotelbot.domain.conditions import (
    ConditionError,
    Conditions,
    GuestHistory,
    Language,
    Nights,
    RoomTag,
    Source,
    StayContext,
    parse_conditions,
)
from hotelbot.domain.templates import Template
from hotelbot.domain.triggers import EventKind, EventTrigger, format_trigger, parse_trigger
from hotelbot.errors import UserError
from hotelbot.storage.db import Database
from hotelbot.storage.stays import update_stay
from hotelbot.storage.triggers import add_trigger, edit_trigger
from tests.cli_helpers import cli_with_riga
from tests.scheduling_helpers import fires, make_hotel, make_stay, outbox_rows

# --- the grammar ---------------------------------------------------------------------------


def test_status_events_parse_and_format_back() -> None:
    for text, kind in [
        ("on check-in", EventKind.CHECK_IN),
        ("On Checkout", EventKind.CHECK_OUT),
        ("on cancellation grace 1h", EventKind.CANCELLATION),
    ]:
        spec = parse_trigger(text)
        assert isinstance(spec, EventTrigger) and spec.event is kind
        assert parse_trigger(format_trigger(spec)) == spec
    # "on check-in day at HH:MM" stays a clock time, not the event.
    assert not isinstance(parse_trigger("on check-in day at 10:00"), EventTrigger)


def test_conditions_parse_into_typed_values_and_back() -> None:
    parsed = parse_conditions(
        [
            "nights >= 3 and language in en, de",
            "room tag = Sea-View",
            "source != direct",
            "guest = returning",
        ]
    )
    assert parsed.clauses == (
        Nights(parsed.clauses[0].op, 3),  # type: ignore[union-attr]
        Language(frozenset({"en", "de"})),
        RoomTag("sea-view"),
        Source("direct", negate=True),
        GuestHistory(returning=True),
    )
    assert parsed.text() == (
        "nights >= 3 and language in de,en and room tag = sea-view and source != direct "
        "and guest = returning"
    )
    assert parse_conditions([parsed.text()]) == parsed
    assert Conditions.from_dict(parsed.to_dict()) == parsed
    assert parse_conditions(["first stay"]).clauses == (GuestHistory(returning=False),)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("nights >= three", "nights takes a whole number"),
        ("nights > 400", "nights must be 0..366"),
        ("language = russian", "language takes codes"),
        ("room tag = sea view", "a room tag is lower-case"),
        ("guest = vip", "'guest = first' or 'guest = returning'"),
        ("weather = sunny", "is not a condition; use 'nights >= 3'"),
        ("__import__('os')", "is not a condition"),
        ("", "empty condition"),
    ],
)
def test_bad_conditions_say_what_is_accepted(text: str, fragment: str) -> None:
    with pytest.raises(ConditionError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        parse_conditions([text])


def test_each_condition_holds_or_not() -> None:
    ctx = StayContext(
        nights=3,
        language="ru",
        room_tags=frozenset({"suite"}),
        source="booking.com",
        returning_guest=False,
    )
    cases = {
        "nights >= 3": True,
        "nights > 3": False,
        "nights != 3": False,
        "nights != 2": True,
        "nights = 2": False,
        "language = ru": True,
        "language != ru": False,
        "language not in en,de": True,
        "room tag = suite": True,
        "room tag = sea-view": False,
        "room tag != sea-view": True,
        "source = booking.com": True,
        "source = direct": False,
        "guest = first": True,
        "guest = returning": False,
    }
    for text, expected in cases.items():
        assert parse_conditions([text]).holds(ctx) is expected, text
    assert parse_conditions(["nights >= 3", "room tag = x"]).failing(ctx) == ["room tag = x"]
    # pt-br speaks pt; a stay without tags or source fails "=" and passes "!=".
    bare = StayContext(nights=1, language="pt-br")
    assert parse_conditions(["language = pt", "source != direct"]).holds(bare)
    assert not parse_conditions(["room tag = suite"]).holds(bare)


# --- decided once per stay and trigger -----------------------------------------------------

NOW = datetime(2026, 6, 1, 9, 30, tzinfo=UTC)  # 12:30 in Riga: outside quiet hours


async def _trigger(db: Database, hotel_id: int, name: str, when: str, **kwargs: Any) -> int:
    async with db.write() as conn:
        return await add_trigger(
            conn,
            hotel_id=hotel_id,
            name=name,
            spec=parse_trigger(when),
            template=Template({"en": f"{name} {{first_name}}"}),
            now=NOW - timedelta(days=30),
            **kwargs,
        )


async def _set_status(db: Database, hotel_id: int, stay_id: int, old: str, new: str) -> Any:
    async with db.write() as conn:
        await update_stay(conn, stay_id, {"status": new})
        return await fire_stay_status_triggers(
            conn, hotel_id=hotel_id, stay_id=stay_id, old_status=old, new_status=new, now=NOW
        )


async def test_each_status_event_fires_once_per_stay(db: Database) -> None:
    hotel_id = await make_hotel(db)
    stay_id = await make_stay(db, hotel_id, check_in=date(2026, 6, 1), check_out=date(2026, 6, 3))
    for name, when in [("in", "on check-in"), ("out", "on check-out"), ("gone", "on cancellation")]:
        await _trigger(db, hotel_id, name, when)
    assert await _set_status(db, hotel_id, stay_id, "booked", "in_house") == [("in", "enqueued")]
    # Back and forth: the check-in message is not sent again.
    assert await _set_status(db, hotel_id, stay_id, "in_house", "booked") == []
    assert await _set_status(db, hotel_id, stay_id, "booked", "in_house") == []
    # Checked out (even before the stay's check-out time): the goodbye is not "stale".
    assert await _set_status(db, hotel_id, stay_id, "in_house", "checked_out") == [
        ("out", "enqueued")
    ]
    assert await _set_status(db, hotel_id, stay_id, "checked_out", "checked_out") == []
    assert [r["text"] for r in await outbox_rows(db)] == ["in Anna", "out Anna"]
    # Exactly once holds in the fire log: one row per (trigger, stay).
    assert len(await fires(db)) == 2


async def test_cancellation_message_is_sent_while_the_stays_other_messages_are_withdrawn(
    db: Database,
) -> None:
    hotel_id = await make_hotel(db)
    stay_id = await make_stay(db, hotel_id, check_in=date(2026, 6, 5), check_out=date(2026, 6, 7))
    await _trigger(db, hotel_id, "gone", "on cancellation")
    await _trigger(db, hotel_id, "soon", "1d before check-in at 23:00")
    decided = await Scheduler(db).run_once(datetime(2026, 6, 4, 20, 1, tzinfo=UTC))
    assert dict(decided.outcomes) == {"deferred:quiet_hours": 1}  # held until 09:00
    outcomes = await _set_status(db, hotel_id, stay_id, "booked", "cancelled")
    assert outcomes == [("gone", "enqueued")]
    # The sender re-checks before sending: the deferred "soon" is withdrawn, "gone" is not.
    from hotelbot.storage.triggers import withdrawn_messages

    rows = await outbox_rows(db)
    async with db.read() as conn:
        withdrawn = await withdrawn_messages(conn, [r["id"] for r in rows])
    assert {r["text"]: withdrawn.get(r["id"]) for r in rows} == {
        "soon Anna": "stay cancelled",
        "gone Anna": None,
    }


async def test_a_status_event_respects_quiet_hours_and_opt_out_like_any_message(
    db: Database,
) -> None:
    hotel_id = await make_hotel(db)
    stay_id = await make_stay(db, hotel_id, check_in=date(2026, 6, 1), check_out=date(2026, 6, 3))
    await _trigger(db, hotel_id, "in", "on check-in")
    late = datetime(2026, 6, 1, 20, 30, tzinfo=UTC)  # 23:30 in Riga
    async with db.write() as conn:
        await update_stay(conn, stay_id, {"status": "in_house"})
        decided = await fire_stay_status_triggers(
            conn,
            hotel_id=hotel_id,
            stay_id=stay_id,
            old_status="booked",
            new_status="in_house",
            now=late,
        )
    assert decided == [("in", "deferred:quiet_hours")]
    [row] = await outbox_rows(db)
    assert row["available_at"] == datetime(2026, 6, 2, 6, 0, tzinfo=UTC)  # 09:00 Riga


async def test_conditions_decide_which_stays_get_a_message(db: Database) -> None:
    hotel_id = await make_hotel(db)
    long_ru = await make_stay(
        db,
        hotel_id,
        phone="+371 2000 0001",
        name="Anna A",
        check_in=date(2026, 6, 1),
        check_out=date(2026, 6, 4),
        language="ru",
        room_tags="suite sea-view",
        source="booking.com",
    )
    short_en = await make_stay(
        db,
        hotel_id,
        phone="+371 2000 0002",
        name="Ben B",
        check_in=date(2026, 6, 1),
        check_out=date(2026, 6, 2),
        language="en",
    )
    # Ben stayed before: a returning guest.
    await make_stay(
        db,
        hotel_id,
        phone="+371 2000 0002",
        name="Ben B",
        check_in=date(2025, 6, 1),
        check_out=date(2025, 6, 2),
    )
    cases = {
        "long": "nights >= 3",
        "russian": "language = ru",
        "suite": "room tag = suite",
        "booking": "source = booking.com",
        "newcomer": "guest = first",
        "regular": "guest = returning",
    }
    for name, condition in cases.items():
        await _trigger(
            db,
            hotel_id,
            name,
            "at check-in grace 1h",
            conditions=parse_conditions([condition]),
        )
    at = datetime(2026, 6, 1, 12, 1, tzinfo=UTC)  # 15:01 in Riga
    await Scheduler(db).run_once(at)
    await Scheduler(db).run_once(at + timedelta(minutes=1))
    sent = sorted((r["chat_id"], r["text"].split()[0]) for r in await outbox_rows(db))
    assert sent == [
        ("37120000001@c.us", "booking"),
        ("37120000001@c.us", "long"),
        ("37120000001@c.us", "newcomer"),
        ("37120000001@c.us", "russian"),
        ("37120000001@c.us", "suite"),
        ("37120000002@c.us", "regular"),
    ]
    skipped = [(f[1], f[3]) for f in await fires(db) if f[3] == "skipped:condition"]
    assert len(skipped) == 6 and {stay for stay, _ in skipped} == {long_ru, short_en}


async def test_conditions_survive_storage_and_can_be_removed(db: Database) -> None:
    hotel_id = await make_hotel(db)
    trigger_id = await _trigger(
        db, hotel_id, "t", "at check-in", conditions=parse_conditions(["nights >= 2"])
    )
    from hotelbot.storage.triggers import get_trigger

    async with db.write() as conn:
        record = await get_trigger(conn, hotel_id, "t")
        assert record is not None and record.conditions.text() == "nights >= 2"
        await edit_trigger(conn, trigger_id, conditions=Conditions())
        cleared = await get_trigger(conn, hotel_id, "t")
    assert cleared is not None and cleared.conditions.clauses == ()


async def test_a_status_event_message_goes_out_through_the_sender(db: Database) -> None:
    from hotelbot.fakes.greenapi import FakeGreenApi
    from hotelbot.greenapi.client import GreenApiClient, InstanceCredentials
    from hotelbot.greenapi.transport import HttpxTransport

    async with FakeGreenApi() as fake:
        instance = fake.add_instance("1101000001", "secret-token")
        transport = HttpxTransport(connect_timeout_s=2.0)
        client = GreenApiClient(
            InstanceCredentials(fake.url, "1101000001", "secret-token"), transport
        )
        try:
            hotel_id = await make_hotel(db, api_url=fake.url)
            stay_id = await make_stay(
                db, hotel_id, check_in=date(2026, 6, 1), check_out=date(2026, 6, 3)
            )
            await _trigger(db, hotel_id, "in", "on check-in")
            await _set_status(db, hotel_id, stay_id, "booked", "in_house")
            sender = OutboxSender(db, lambda _: client, clock=lambda: NOW)
            assert (await sender.run_once(hotel_id))["sent"] == 1
        finally:
            await transport.aclose()
    assert [s.message for s in instance.sent] == ["in Anna"]


# --- the CLI -------------------------------------------------------------------------------


def test_cli_conditions_status_edit_and_csv_reimport(
    clean_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli = cli_with_riga(tmp_path, monkeypatch, 'quiet_hours = "off"\n')
    today = datetime.now(UTC).date()
    bad = cli.invoke(
        app,
        [
            "trigger",
            "add",
            "riga",
            "hi",
            "--when",
            "on check-in",
            "--text",
            "Hi",
            "--if",
            "nights >= many",
        ],
    )
    assert isinstance(bad.exception, UserError)
    assert str(bad.exception) == "--if: 'nights >= many': nights takes a whole number: " + (
        "'nights >= 3'"
    )
    good = cli.invoke(
        app,
        [
            "trigger",
            "add",
            "riga",
            "hi",
            "--when",
            "on check-in",
            "--text",
            "Hi {first_name}",
            "--if",
            "nights >= 2",
            "--if",
            "room tag = suite",
        ],
    )
    assert good.exit_code == 0, good.output
    assert "next: when a stay's status changes" in good.output
    assert "if nights >= 2 and room tag = suite" in cli.invoke(app, ["trigger", "list"]).output
    shown = cli.invoke(app, ["trigger", "show", "riga", "hi"]).output
    assert "when      on check-in grace 15m" in shown
    assert "if        nights >= 2 and room tag = suite" in shown
    assert (
        cli.invoke(
            app, ["trigger", "add", "riga", "bye", "--when", "on check-out", "--text", "Bye"]
        ).exit_code
        == 0
    )
    csv_path = tmp_path / "stays.csv"
    row = "+371 2000 0001,Anna Berzina,{ci},{co},B-1,{status},suite,booking.com\n"
    header = "phone,name,check_in,check_out,external_ref,status,room_tags,source\n"
    dates = {"ci": today.isoformat(), "co": (today + timedelta(days=2)).isoformat()}
    csv_path.write_text(header + row.format(status="booked", **dates))
    first = cli.invoke(app, ["stay", "import", str(csv_path), "--hotel", "riga"])
    assert first.exit_code == 0, first.output
    edited = cli.invoke(app, ["stay", "edit", "1", "--status", "in_house"])
    assert edited.exit_code == 0, edited.output
    assert "trigger hi: enqueued" in edited.output
    shown_stay = cli.invoke(app, ["stay", "show", "1"]).output
    assert "room_tags       suite" in shown_stay and "source          booking.com" in shown_stay
    assert [ln.split()[-2] for ln in shown_stay.splitlines() if ln.startswith("hi ")] == [
        "enqueued"
    ]
    preview = cli.invoke(app, ["trigger", "preview", "riga", "hi", "--stay", "1"]).output
    assert "if nights >= 2 and room tag = suite: met" in preview
    assert "fires once, when the stay's status changes to in_house" in preview
    # The PMS export says checked out: the import fires "on check-out", once.
    csv_path.write_text(header + row.format(status="checked_out", **dates))
    second = cli.invoke(app, ["stay", "import", str(csv_path), "--hotel", "riga"])
    assert second.exit_code == 0, second.output
    assert "trigger bye: enqueued" in second.output
    third = cli.invoke(app, ["stay", "import", str(csv_path), "--hotel", "riga"])
    assert "trigger bye" not in third.output
    outbox = cli.invoke(app, ["outbox", "list"]).output
    assert len([ln for ln in outbox.splitlines() if " trigger " in ln]) == 2

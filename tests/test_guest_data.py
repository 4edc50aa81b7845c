"""`guest forget` / `guest export` by exact identity, on data made by the real ingest and
processor (both backends): staff alerts quoting the guest and their echoes, group messages
they wrote, an @lid chat, a guest whose number the first one's is a prefix of, dead letters;
a dry run first; the opt-out suppression list that outlives forgetting."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, select, text, update

from hotelbot.daemon.processor import Processor
from hotelbot.domain.guest_identity import IdentityError, parse_identity
from hotelbot.ops.guest_data import export_guest, json_for_terminal
from hotelbot.storage.db import Database
from hotelbot.storage.guest_facts import NO_FACTS, load_guest_facts
from hotelbot.storage.models import DeadLetter, Notification, OutboxMessage
from hotelbot.storage.models_messaging import Alert, Guest, Message
from hotelbot.storage.suppression import suppressed
from hotelbot.storage.types import utcnow
from tests import shapes
from tests.helpers import forget
from tests.processor_helpers import STAFF_CHAT, FakeAnalyser, ingest, make_hotel
from tests.test_doctor_privacy import _cli, _env

INSTANCE = "1101000001"
EVE = "3712000000"  # ten digits: a prefix of MALLORY's number
MALLORY = "37120000001"
EVE_CHAT, MALLORY_CHAT = f"{EVE}@c.us", f"{MALLORY}@c.us"
EVE_LID = "987654321012345@lid"
GROUP = "120363000000000099@g.us"
EVE_TEXT = "Eve-private: the room is dirty and I am angry"
MALLORY_TEXT = "Mallory-private: the lamp is broken"


async def _seed(db: Database) -> int:
    hotel = await make_hotel(db)
    bodies = [
        shapes.incoming_text(INSTANCE, EVE_CHAT, EVE_TEXT, sender_name="Eve", id_message="E1"),
        shapes.incoming_text(INSTANCE, EVE_CHAT, "STOP", id_message="E2"),
        shapes.incoming_text(INSTANCE, EVE_LID, "Eve-private via lid", id_message="L1"),
        shapes.incoming_group_text(
            INSTANCE,
            GROUP,
            EVE_CHAT,
            "Eve-private in the group",
            id_message="G1",
            sender_name="Eve",
        ),
        shapes.incoming_group_text(
            INSTANCE,
            GROUP,
            MALLORY_CHAT,
            "Mallory in the group",
            id_message="G2",
            sender_name="Mallory",
        ),
        shapes.incoming_text(
            INSTANCE, MALLORY_CHAT, MALLORY_TEXT, sender_name="Mallory", id_message="M1"
        ),
    ]
    await ingest(db, hotel, bodies)
    assert await Processor(db, FakeAnalyser()).run_once() == len(bodies)
    # The sender sent both staff alerts; Green API echoed them into the staff chat.
    async with db.write() as conn:
        alerts = (
            await conn.execute(
                select(OutboxMessage.id, OutboxMessage.text).where(OutboxMessage.kind == "alert")
            )
        ).all()
        echoes = []
        for outbox_id, alert_text in alerts:
            await conn.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == outbox_id)
                .values(state="sent", id_message=f"SENT{outbox_id}")
            )
            echoes.append(
                shapes.outgoing_api_message(
                    INSTANCE, STAFF_CHAT, alert_text, id_message=f"SENT{outbox_id}"
                )
            )
    assert len(alerts) == 2 and any(EVE in t for _, t in alerts)
    await ingest(db, hotel, echoes)
    assert await Processor(db, FakeAnalyser()).run_once() == 2
    async with db.write() as conn:
        for raw in (f"junk {EVE_CHAT} x", f"junk {MALLORY_CHAT} y"):
            await conn.execute(
                insert(DeadLetter).values(
                    hotel_id=hotel,
                    receipt_id=None,
                    fingerprint=raw,
                    raw=raw,
                    error="bad",
                    received_at=utcnow(),
                )
            )
    return hotel


async def _everything(db: Database) -> str:
    parts: list[str] = []
    async with db.read() as conn:
        for query in (
            select(Message.text, Message.sender_name, Message.chat_id, Message.sender_id),
            select(Notification.body, Notification.chat_id),
            select(OutboxMessage.text, OutboxMessage.chat_id),
            select(DeadLetter.raw),
            select(Guest.name, Guest.phone, Guest.chat_id),
        ):
            for row in await conn.execute(query):
                parts.extend(str(v) for v in row if v is not None)
    return "\n".join(parts)


@pytest.mark.parametrize(
    ("given", "phones", "chats"),
    [
        (["+371 2000-0001"], {"37120000001"}, {"37120000001@c.us"}),
        (["37120000001@c.us"], {"37120000001"}, {"37120000001@c.us"}),
        (["(371) 2000.0001", EVE_LID], {"37120000001"}, {"37120000001@c.us", EVE_LID}),
    ],
)
def test_identity_forms(given: list[str], phones: set[str], chats: set[str]) -> None:
    identity = parse_identity(given)
    assert identity.phones == phones and identity.chat_ids == chats


@pytest.mark.parametrize(
    ("bad", "why"),
    [
        ("1101000", "neither a phone number"),  # too short: could be part of many numbers
        ("%371%", "neither a phone number"),
        ("Eve", "neither a phone number"),
        ("0037120000001", "not 00"),
        (GROUP, "group chat"),
        ("371200@c.us", "neither a phone number"),
    ],
)
def test_ambiguous_identities_are_refused(bad: str, why: str) -> None:
    with pytest.raises(IdentityError, match=why):
        parse_identity([bad])


async def test_forget_by_exact_identity_everywhere_and_nobody_else(db: Database) -> None:
    hotel = await _seed(db)
    eve = parse_identity([f"+{EVE}", EVE_LID])
    before = await _everything(db)
    planned = await forget(db, eve, dry_run=True)
    assert await _everything(db) == before  # the dry run changed nothing
    done = await forget(db, eve)
    assert done.changed == planned.changed
    after = await _everything(db)
    assert "Eve-private" not in after and EVE_CHAT not in after and EVE_LID not in after
    assert "Eve" not in after.replace("Every", "")
    # Mallory's number starts with Eve's: all of Mallory is still there.
    assert MALLORY_TEXT in after and "Mallory in the group" in after
    assert f"junk {MALLORY_CHAT} y" in after
    assert after.count(MALLORY) == before.count(MALLORY)
    expected = {
        "messages": 3,  # E1, E2 (STOP) and the @lid one
        "messages.in_groups": 1,
        "messages.staff_alert_echoes": 1,
        "notifications": 3,
        "notifications.in_groups": 1,
        "notifications.staff_alert_echoes": 1,
        "outbox.staff_alerts": 1,
        "alerts": 1,
        "dead_letters": 1,
        "guests": 2,
        "conversations": 2,
        "optout_suppressions": 2,  # the STOP outlives the guest rows
    }
    for key, count in expected.items():
        assert done.changed.get(key) == count, (key, done.changed)
    async with db.read() as conn:
        assert len((await conn.execute(select(Alert.id))).all()) == 1  # Mallory's
        assert await suppressed(conn, hotel, [EVE_CHAT, EVE_LID, MALLORY_CHAT]) == {
            EVE_CHAT,
            EVE_LID,
        }
        facts = await load_guest_facts(conn, hotel, [EVE_CHAT, MALLORY_CHAT])
    # Mallory keeps what the processor knows of her (her language) and is not opted out.
    assert facts[EVE_CHAT].opted_out and not facts.get(MALLORY_CHAT, NO_FACTS).opted_out
    assert (await forget(db, eve)).total == 0  # idempotent


async def test_export_holds_the_same_rows(db: Database) -> None:
    await _seed(db)
    data = await export_guest(db, parse_identity([f"+{EVE}", EVE_LID]))
    dumped = json.dumps(data, ensure_ascii=False)
    assert "Eve-private in the group" in dumped and "Eve-private via lid" in dumped
    assert MALLORY_TEXT not in dumped and "Mallory in the group" not in dumped
    tables = data["tables"]
    assert {m["id_message"] for m in tables["messages"]} == {"E1", "E2", "L1", "G1"}
    assert len(tables["staff_alerts"]) == 1 and EVE in str(tables["staff_alerts"][0]["text"])
    assert {n["chat_id"] for n in tables["notifications"]} == {EVE_CHAT, EVE_LID, GROUP}
    assert [d["raw"] for d in tables["dead_letters"]] == [f"junk {EVE_CHAT} x"]


def test_export_json_is_safe_on_a_terminal_and_still_the_same_data() -> None:
    data = {"text": "Привет \x9b2J \u202eevil\u202c \x1b[31m\u2028"}
    out = json_for_terminal(data)
    assert not any(c in out for c in "\x9b\u202e\u202c\x1b\u2028")
    assert "Привет" in out and json.loads(out) == data


async def test_cli_shows_the_dry_run_then_erases(db: Database, db_url: str, tmp_path: Path) -> None:
    await _seed(db)
    env = _env(db_url, tmp_path)
    code, out = await _cli(env, "guest", "forget", f"+{EVE}", "--dry-run")
    assert code == 0 and "would erase" in out and "messages 2," in out
    assert EVE_TEXT in await _everything(db)
    code, out = await _cli(env, "guest", "forget", "1101000", "--yes")
    assert code == 1 and out.startswith("error:") and "neither a phone number" in out
    code, out = await _cli(env, "guest", "forget", f"+{EVE}", "--yes")
    assert code == 0 and "would erase" in out and "erased" in out
    code, out = await _cli(env, "guest", "forget", f"+{EVE}", "--yes")
    assert code == 0 and "nothing held" in out


async def test_a_forgotten_stop_is_honoured_after_a_re_import_and_lifted_by_start(
    db: Database,
) -> None:
    """Issue 18 5a: a guest said STOP and was forgotten; their stay is imported again and a
    trigger fires: they get nothing. Their own START later turns messages back on."""
    from hotelbot.daemon.scheduler import Scheduler
    from tests.scheduling_helpers import make_stay, make_trigger

    hotel = await _seed(db)
    await forget(db, parse_identity([f"+{EVE}"]))
    day = datetime(2026, 3, 28, tzinfo=UTC)
    await make_stay(
        db, hotel, phone=f"+{EVE}", check_in=day.date(), check_out=(day + timedelta(days=4)).date()
    )
    await make_trigger(db, hotel, "noon", "daily at 12:00 grace 1h")
    report = await Scheduler(db).run_once(day.replace(day=29, hour=12, minute=1))
    assert dict(report.outcomes) == {"skipped:opted_out": 1}
    async with db.read() as conn:
        queued = await conn.execute(
            select(OutboxMessage.id).where(OutboxMessage.chat_id == EVE_CHAT)
        )
        assert queued.first() is None
    await ingest(db, hotel, [shapes.incoming_text(INSTANCE, EVE_CHAT, "START", id_message="E9")])
    assert await Processor(db, FakeAnalyser()).run_once() == 1
    async with db.read() as conn:
        assert await suppressed(conn, hotel, [EVE_CHAT]) == set()
        assert (await conn.execute(text("SELECT count(*) FROM optout_suppressions"))).scalar() == 0
    report = await Scheduler(db).run_once(day.replace(day=30, hour=12, minute=1))
    assert dict(report.outcomes) == {"enqueued": 1}

"""No queue item can stall the ingest: normalisation in the adapter, per-item isolation of the
group commit, bounded tries then a dead letter. Real SQLite and PostgreSQL, real triggers."""

from __future__ import annotations

import asyncio
import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from hotelbot.domain.inbound import Delivery, MalformedDelivery
from hotelbot.greenapi.envelope import MAX_RESPONSE_BYTES, parse_receive_response
from hotelbot.greenapi.normalise import MAX_DEPTH
from hotelbot.storage.db import Database
from hotelbot.storage.ingest import IngestWriter, ItemNotStored, Stored, decode_raw
from hotelbot.storage.models import DeadLetter, Notification
from tests import shapes
from tests.hostile import HOSTILE, refuse_rows
from tests.processor_helpers import make_hotel

INSTANCE = "1101000001"


def _parse(raw: bytes) -> Delivery | MalformedDelivery:
    entry = parse_receive_response(raw)
    assert entry is not None
    return entry


def _good(receipt: int, text: str, chat: str = "37120000001@c.us") -> Delivery:
    body = shapes.incoming_text(INSTANCE, chat, text)
    entry = _parse(json.dumps({"receiptId": receipt, "body": body}).encode())
    assert isinstance(entry, Delivery)
    return entry


def _storable(value: str) -> bool:
    """What both databases accept in a text column."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in value


# -- the adapter: pure ---------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_every_hostile_item_parses_to_something_storable(name: str) -> None:
    entry = _parse(HOSTILE[name](INSTANCE, 7))
    if isinstance(entry, MalformedDelivery):
        assert entry.receipt_id in (7, None)
        assert _storable(entry.error)
        return
    assert entry.receipt_id == 7
    body = json.loads(entry.body_json)
    assert _storable(entry.body_json) and _storable(json.dumps(body, ensure_ascii=False))
    for value in _strings(body):
        assert _storable(value)
        assert not any(
            0x7F <= ord(c) <= 0x9F or (ord(c) < 0x20 and c not in "\t\n\r") for c in value
        )
    assert len(entry.type_webhook) <= 64 and len(entry.dedupe_key) <= 300
    assert entry.chat_id is None or len(entry.chat_id) <= 64
    assert entry.id_message is None or len(entry.id_message) <= 128


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (k, *_strings(v))]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def test_cut_emoji_becomes_a_replacement_character() -> None:
    entry = _parse(HOSTILE["lone_surrogate_escape"](INSTANCE, 1))
    assert isinstance(entry, Delivery)
    assert (
        "half an emoji \ufffd"
        in json.loads(entry.body_json)["messageData"]["textMessageData"]["textMessage"]
    )


def test_deep_and_oversized_items_are_refused_with_their_receipt() -> None:
    for name in ("deep_nesting", "moderately_deep", "oversized"):
        entry = _parse(HOSTILE[name](INSTANCE, 9))
        assert isinstance(entry, MalformedDelivery), name
        assert entry.receipt_id == 9 and not entry.retryable
    assert len(HOSTILE["oversized"](INSTANCE, 9)) > MAX_RESPONSE_BYTES
    levels = MAX_DEPTH - 1  # the body object itself is one level
    nested = '{"typeWebhook": "x", "a": ' + "[" * levels + "]" * levels + "}"
    assert isinstance(_parse(b'{"receiptId": 1, "body": %s}' % nested.encode()), Delivery)
    deeper = '{"typeWebhook": "x", "a": ' + "[" * (levels + 1) + "]" * (levels + 1) + "}"
    assert isinstance(_parse(b'{"receiptId": 1, "body": %s}' % deeper.encode()), MalformedDelivery)


def test_distinct_long_ids_keep_distinct_keys() -> None:
    a = _parse(HOSTILE["long_id_message"](INSTANCE, 1))
    body = shapes.incoming_text(INSTANCE, "37120000001@c.us", "x", id_message="X" * 4999 + "Y")
    b = _parse(json.dumps({"receiptId": 2, "body": body}).encode())
    assert isinstance(a, Delivery) and isinstance(b, Delivery)
    assert a.id_message == b.id_message  # both cut to the column
    assert a.dedupe_key != b.dedupe_key  # still two events


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(raw=st.binary(max_size=300) | st.builds(lambda v: json.dumps(v).encode(), _json_values))
def test_the_parser_never_raises_and_always_yields_storable_values(raw: bytes) -> None:
    entry = parse_receive_response(raw)
    if isinstance(entry, Delivery):
        assert _storable(entry.body_json) and _storable(entry.dedupe_key)
    elif isinstance(entry, MalformedDelivery):
        assert _storable(entry.error)


# -- the writer: real databases --------------------------------------------------------------


async def _run_writer(db: Database, **kwargs: Any) -> tuple[IngestWriter, asyncio.Task[None]]:
    writer = IngestWriter(db, **kwargs)
    return writer, asyncio.create_task(writer.run())


async def _stop(writer: IngestWriter, task: asyncio.Task[None]) -> None:
    await writer.close()
    await task


async def test_every_hostile_item_is_stored_or_dead_lettered(db: Database) -> None:
    hotel = await make_hotel(db)
    writer, task = await _run_writer(db)
    try:
        results = await asyncio.gather(
            *(
                writer.store(hotel, _parse(build(INSTANCE, i + 1)))
                for i, build in enumerate(HOSTILE.values())
            ),
            return_exceptions=True,
        )
    finally:
        await _stop(writer, task)
    assert all(isinstance(r, Stored) for r in results), results
    async with db.read() as conn:
        notes = (await conn.execute(select(Notification.receipt_id))).scalars().all()
        dead = (await conn.execute(select(DeadLetter.receipt_id))).scalars().all()
    assert sorted(r or 0 for r in [*notes, *dead]) == list(range(1, len(HOSTILE) + 1))


async def test_a_refused_item_does_not_hold_back_its_batch_and_ends_as_a_dead_letter(
    db: Database,
) -> None:
    hotel = await make_hotel(db)
    other = await make_hotel(db, slug="other", instance_id="1101000002")
    await refuse_rows(db, "notifications", "body", "POISON")
    writer, task = await _run_writer(db)
    poison = _good(100, "POISON my room code is 4711")
    try:
        for attempt in (1, 2):
            results = await asyncio.gather(
                writer.store(hotel, _good(attempt * 10 + 1, f"fine {attempt}")),
                writer.store(hotel, poison),
                writer.store(other, _good(attempt * 10 + 2, f"other {attempt}")),
                return_exceptions=True,
            )
            assert results[0] is Stored.STORED and results[2] is Stored.STORED
            assert isinstance(results[1], ItemNotStored)
            assert "POISON" not in str(results[1]) and "4711" not in str(results[1])
        assert await writer.store(hotel, poison) is Stored.DEAD_LETTERED
    finally:
        await _stop(writer, task)
    assert writer.isolated_batches >= 2 and writer.dead_lettered == 1
    async with db.read() as conn:
        texts = (await conn.execute(select(Notification.body))).scalars().all()
        (letter,) = (await conn.execute(select(DeadLetter))).all()
    assert len(texts) == 4 and not any("POISON" in t for t in texts)
    assert letter.receipt_id == 100 and letter.hotel_id == hotel
    assert decode_raw(letter.raw, letter.raw_encoding) == poison.raw
    assert "POISON" not in letter.error and "4711" not in letter.error
    assert letter.error.startswith("not stored after 3 attempts")


async def test_dead_letter_keeps_invalid_bytes_exactly(db: Database) -> None:
    hotel = await make_hotel(db)
    raw = b'{"receiptId": 5, "body": "\xff\x00\xfe not an object"}'
    entry = _parse(raw)
    assert isinstance(entry, MalformedDelivery)
    writer, task = await _run_writer(db)
    try:
        assert await writer.store(hotel, entry) is Stored.DEAD_LETTERED
    finally:
        await _stop(writer, task)
    async with db.read() as conn:
        (letter,) = (await conn.execute(select(DeadLetter))).all()
    assert letter.raw_encoding == "base64" and letter.raw_bytes == len(raw)
    assert decode_raw(letter.raw, letter.raw_encoding) == raw


async def test_an_unwritable_dead_letter_keeps_the_item_upstream(db: Database) -> None:
    hotel = await make_hotel(db)
    await refuse_rows(db, "notifications", "body", "POISON")
    await refuse_rows(db, "dead_letters", "raw", "POISON")
    writer, task = await _run_writer(db)
    poison = _good(1, "POISON")
    try:
        for _ in range(4):
            with pytest.raises(ItemNotStored):
                await writer.store(hotel, poison)
        assert await writer.store(hotel, _good(2, "next")) is Stored.STORED
    finally:
        await _stop(writer, task)
    assert writer.dead_lettered == 0


_bodies = st.lists(
    st.dictionaries(
        st.sampled_from(["typeWebhook", "idMessage", "chatId", "senderData", "x", "\x00"]),
        _json_values,
        min_size=1,
        max_size=5,
    ),
    min_size=1,
    max_size=6,
)


async def test_arbitrary_json_is_stored_or_dead_lettered_on_both_databases(db: Database) -> None:
    """Arbitrary bodies (keys that mimic the real ones, odd values) through the real parser
    and writer into the real database: every item settles, none raises. Hypothesis runs in a
    thread and hands each example to this test's event loop (where the database lives)."""
    hotel = await make_hotel(db)
    loop = asyncio.get_running_loop()
    writer, task = await _run_writer(db)
    receipts = itertools.count(1)

    async def store_all(bodies: list[dict[str, Any]]) -> list[object]:
        entries = [
            _parse(json.dumps({"receiptId": next(receipts), "body": b}).encode()) for b in bodies
        ]
        return await asyncio.gather(
            *(writer.store(hotel, e) for e in entries), return_exceptions=True
        )

    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(bodies=_bodies)
    def check(bodies: list[dict[str, Any]]) -> None:
        results = asyncio.run_coroutine_threadsafe(store_all(bodies), loop).result(60)
        assert all(isinstance(r, Stored) for r in results), results

    try:
        await asyncio.to_thread(check)
    finally:
        await _stop(writer, task)


async def test_dead_letters_show_in_status_doctor_and_their_own_command(
    db: Database, db_url: str, tmp_path: Path
) -> None:
    """A hotel whose items were set aside says so in `hotelbot status` and `doctor`; the
    operator can list them and read one, made safe for the terminal."""
    from tests.test_doctor_privacy import _cli, _env

    hotel = await make_hotel(db)
    writer, task = await _run_writer(db)
    raw = b'{"receiptId": 77, "body": ["\x1b[2J\x00 wipe the screen"]}'
    try:
        assert await writer.store(hotel, _parse(raw)) is Stored.DEAD_LETTERED
    finally:
        await _stop(writer, task)
    env = _env(db_url, tmp_path)
    code, out = await _cli(env, "status")
    assert code == 0 and "1 dead letter(s) in 24 h" in out and "dead-letters list" in out
    code, out = await _cli(env, "doctor")
    assert "WARN hotel seaside: 1 queue item(s) could not be stored in the last 24 h" in out
    code, out = await _cli(env, "dead-letters", "list")
    assert code == 0 and "not JSON" in out and " 77 " in out
    code, out = await _cli(env, "dead-letters", "show", "1")
    assert code == 0 and "wipe the screen" in out and "\x1b" not in out


def test_a_long_message_is_capped_and_kept_whole_in_the_raw_body() -> None:
    from hotelbot.domain.events import IncomingMessage
    from hotelbot.greenapi.normalise import MAX_MESSAGE_TEXT_CHARS
    from hotelbot.greenapi.wire import interpret

    entry = _good(1, "x" * 50_000)
    event = interpret(entry.body_json)
    assert isinstance(event, IncomingMessage) and event.text is not None
    assert len(event.text) == MAX_MESSAGE_TEXT_CHARS and event.text.endswith("\u2026")
    assert "x" * 50_000 in entry.body_json


@pytest.mark.parametrize("chat", ["not-a-chat", "status@broadcast", "123@newsletter", "@c.us"])
def test_a_chat_id_of_the_wrong_form_is_no_guest_conversation(chat: str) -> None:
    from hotelbot.domain.events import UnknownNotification
    from hotelbot.greenapi.wire import interpret

    event = interpret(_good(1, "hello", chat=chat).body_json)
    assert isinstance(event, UnknownNotification) and "not a chat id" in (event.problem or "")

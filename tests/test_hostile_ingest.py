"""Hostile queue items against the running daemon over real HTTP, on SQLite and PostgreSQL.

Whatever a queue serves (arbitrary JSON, bytes that are not UTF-8, deep nesting, huge or odd
fields, rows the database refuses), every item ends stored or dead-lettered, every item is
deleted upstream, the next good message is stored, the daemon stays up, and the poller does
not spin (receive calls are counted by the fake, per item).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from hotelbot.daemon.supervisor import status_line
from hotelbot.fakes.greenapi import FakeGreenApi, FakeInstance
from hotelbot.storage.db import Database
from hotelbot.storage.models import DeadLetter, HotelStatus, Notification
from tests import shapes
from tests.helpers import add_hotels, fast_settings, running_daemon, wait_for
from tests.hostile import CHAT, HOSTILE, allow_rows, deep, refuse_rows

INSTANCE = "1101000001"

_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text()
    | st.sampled_from(["\ud83d", "\x00", "\x1b[2J", "\u202e", "\x9b", "A" * 3000])
)
_json_values = st.recursive(
    _scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=25,
)
_keys = st.sampled_from(
    ["typeWebhook", "idMessage", "timestamp", "senderData", "messageData", "chatId", "x"]
)


def _body_text(value: dict[str, Any]) -> bytes:
    return json.dumps(value, ensure_ascii=True).encode()


_hostile_bodies: st.SearchStrategy[bytes] = st.one_of(
    # arbitrary JSON whose keys look like a notification's
    st.dictionaries(_keys, _json_values, min_size=1, max_size=6).map(_body_text),
    # a real message shape with an odd text, chat id or idMessage
    st.builds(
        lambda text, chat, mid: _body_text(
            shapes.incoming_text(INSTANCE, chat, text, id_message=mid)
        ),
        _scalars.filter(lambda v: isinstance(v, str) and v != "").map(str),
        st.sampled_from([CHAT, "", "x" * 200, "not-a-chat", "\x00@c.us", "1@lid"]),
        st.text(min_size=1, max_size=300),
    ),
    # bytes that are not UTF-8, inside a JSON string
    st.binary(min_size=1, max_size=40).map(
        lambda b: b'{"typeWebhook": "incomingMessageReceived", "t": "' + b + b'"}'
    ),
    st.integers(min_value=33, max_value=3000).map(
        lambda n: b'{"typeWebhook": "x", "d": ' + deep(n).encode() + b"}"
    ),
)
# ("body", bytes): served inside a real envelope; ("named", kind): a whole HOSTILE item.
_hostile_items = st.one_of(
    _hostile_bodies.map(lambda raw: ("body", raw)),
    st.sampled_from(sorted(HOSTILE)).map(lambda name: ("named", name)),
)


async def _stored_ids(db: Database) -> set[str]:
    async with db.read() as conn:
        rows = await conn.execute(select(Notification.id_message))
        return {r[0] for r in rows if r[0] is not None}


async def _settled(db: Database, receipt: int) -> bool:
    async with db.read() as conn:
        note = await conn.execute(select(Notification.id).where(Notification.receipt_id == receipt))
        dead = await conn.execute(select(DeadLetter.id).where(DeadLetter.receipt_id == receipt))
        return note.first() is not None or dead.first() is not None


def push_named(inst: FakeInstance, instance: str, kind: str) -> int:
    """Queue a whole HOSTILE item, built with the receipt id the fake assigns."""
    receipt = inst.push_raw(b"", wrap=False)
    inst.notifications[receipt].payload_bytes = HOSTILE[kind](instance, receipt)
    return receipt


def _push_hostile(inst: FakeInstance, item: tuple[str, Any]) -> int:
    kind, payload = item
    if kind == "named":
        return push_named(inst, INSTANCE, payload)
    return inst.push_raw(payload, wrap=True)


async def test_hypothesis_hostile_items_over_http_never_stall_the_hotel(
    db: Database, db_url: str
) -> None:
    async with FakeGreenApi() as fake:
        inst = fake.add_instance(INSTANCE, "tok")
        await add_hotels(db, fake.url, [(INSTANCE, "tok")])
        loop = asyncio.get_running_loop()
        good_ids = itertools.count(1)
        worst_receives = 0
        async with running_daemon(fast_settings(db_url)) as daemon:

            async def one(item: tuple[str, Any]) -> None:
                nonlocal worst_receives
                before = inst.request_counts.get("receiveNotification", 0)
                receipt = _push_hostile(inst, item)
                good = f"GOOD{next(good_ids)}"
                inst.push(shapes.incoming_text(INSTANCE, CHAT, "next", id_message=good))
                await inst.wait_drained(30)
                await wait_for(lambda: _settled(db, receipt), 10)
                assert good in await _stored_ids(db)
                assert receipt in inst.deleted
                assert daemon.parts is not None
                workers = daemon.parts.workers.workers
                assert not workers[next(iter(workers))].done(), "the hotel's worker ended"
                receives = inst.request_counts.get("receiveNotification", 0) - before
                worst_receives = max(worst_receives, receives)
                # hostile + good item, at most 3 receives each (malformed retries or
                # store attempts) and a few empty long polls: no hot loop
                assert receives <= 10, receives

            @settings(
                max_examples=30,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
            )
            @given(item=_hostile_items)
            def check(item: tuple[str, Any]) -> None:
                asyncio.run_coroutine_threadsafe(one(item), loop).result(60)

            await asyncio.to_thread(check)
        print(f"\nhostile over HTTP ({db.dialect}): worst receives per example {worst_receives}")


async def test_five_hotels_with_one_hostile_item_in_four(db: Database, db_url: str) -> None:
    """200 notifications over 5 hotels, every 4th hostile (every kind in HOSTILE, plus rows
    the database refuses): all deleted, all 150 good ones stored once."""
    await refuse_rows(db, "notifications", "body", "POISON")
    rng = random.Random(12)
    kinds = [*sorted(HOSTILE), "refused_by_database"]
    async with FakeGreenApi() as fake:
        ids = [(f"110100000{i}", f"tok{i}") for i in range(5)]
        good: set[str] = set()
        hostile: list[tuple[FakeInstance, int]] = []
        n = 0
        for instance, token in ids:
            inst = fake.add_instance(instance, token)
            for i in range(40):
                if i % 4 == 3:
                    kind = kinds[n % len(kinds)]
                    n += 1
                    if kind == "refused_by_database":
                        body = shapes.incoming_text(instance, CHAT, f"POISON {rng.random()}")
                        hostile.append((inst, inst.push(body)))
                    else:
                        hostile.append((inst, push_named(inst, instance, kind)))
                else:
                    mid = f"G{instance}-{i}"
                    inst.push(shapes.incoming_text(instance, CHAT, f"hello {i}", id_message=mid))
                    good.add(mid)
        await add_hotels(db, fake.url, ids)
        async with running_daemon(fast_settings(db_url)) as daemon:
            for instance, _ in ids:
                await fake.instance(instance).wait_drained(60)
            line = status_line(list(daemon.health.values()), backlog=None)
        deleted = sum(len(fake.instance(i).deleted) for i, _ in ids)
        stored = await _stored_ids(db)
        async with db.read() as conn:
            dead = len((await conn.execute(select(DeadLetter.id))).all())
            notes = len((await conn.execute(select(Notification.id))).all())
        print(
            f"\n5 hotels, 1 hostile in 4 ({db.dialect}): {deleted}/200 deleted, "
            f"{len(good & stored)}/150 good stored, {notes} notifications, {dead} dead letters"
        )
        assert deleted == 200
        assert good <= stored
        for inst, receipt in hostile:
            assert receipt in inst.deleted
            assert await _settled(db, receipt)
        assert notes + dead == 200
        assert "dead-lettered:" in line


async def test_a_head_that_cannot_be_stored_or_set_aside_marks_the_hotel_unhealthy(
    db: Database, db_url: str
) -> None:
    await refuse_rows(db, "notifications", "body", "POISON")
    await refuse_rows(db, "dead_letters", "raw", "POISON")
    async with FakeGreenApi() as fake:
        stuck = fake.add_instance("1101000001", "a")
        other = fake.add_instance("1101000002", "b")
        receipt = stuck.push(shapes.incoming_text("1101000001", CHAT, "POISON secret 4711"))
        stuck.push(shapes.incoming_text("1101000001", CHAT, "behind it", id_message="BEHIND"))
        other.push_many(
            [
                shapes.incoming_text("1101000002", CHAT, f"m{i}", id_message=f"O{i}")
                for i in range(5)
            ]
        )
        await add_hotels(db, fake.url, [("1101000001", "a"), ("1101000002", "b")])
        async with running_daemon(fast_settings(db_url)) as daemon:
            await other.wait_drained(15)
            health = next(h for h in daemon.health.values() if h.slug == "h1101000001")

            async def unhealthy() -> bool:
                return not health.healthy

            await wait_for(unhealthy, 20)
            assert f"queue head {receipt} failed" in (health.unhealthy_reason or "")
            assert "4711" not in (health.unhealthy_reason or "")
            assert "unhealthy: h1101000001 (queue head" in status_line(
                list(daemon.health.values()), backlog=None
            )

            async def status_row_unhealthy() -> bool:
                async with db.read() as conn:
                    row = (
                        await conn.execute(
                            select(HotelStatus.healthy, HotelStatus.unhealthy_reason).where(
                                HotelStatus.hotel_id == health.hotel_id
                            )
                        )
                    ).first()
                return row is not None and not row[0] and "queue head" in str(row[1])

            await wait_for(status_row_unhealthy, 10)
            assert stuck.pending_count == 2
            # The operator fixes the database: the head is set aside, the queue moves on.
            await allow_rows(db, "dead_letters")
            await stuck.wait_drained(20)
            await wait_for(lambda: _settled(db, receipt), 10)
            assert "BEHIND" in await _stored_ids(db)
            assert health.healthy and health.dead_lettered_total == 1

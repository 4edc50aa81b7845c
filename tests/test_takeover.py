"""No frozen transaction can block a takeover (three real daemons on PostgreSQL).

Daemon "a" stops itself with SIGSTOP (HOTELBOT_PAUSE_AT) at the worst moment: inside the
outbox sender's claim transaction, and (separately) inside the scheduler's decision
transaction, both right after the fence took the lease-row lock. Before the session time
limits (storage/db.py PgSessionLimits) such a frozen transaction kept the lease rows locked,
so no other daemon could claim them for as long as the freeze lasted.

Checked: every hotel of "a" is polled by another daemon within 30 s of the freeze; every
message is sent exactly once, by another daemon; after SIGCONT "a" sends nothing and deletes
(stores) nothing that belonged to the hotels it lost. Figures are printed (run with -s).
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from hotelbot.domain.stay_input import StayInput
from hotelbot.domain.templates import Template, validate
from hotelbot.domain.triggers import parse_trigger
from hotelbot.storage.models import Hotel, Notification
from hotelbot.storage.models_triggers import TriggerFire
from hotelbot.storage.outbox import enqueue
from hotelbot.storage.stays import upsert_stay
from hotelbot.storage.triggers import add_trigger
from tests.test_scale_out import (
    CHAT,
    TTL_S,
    Cluster,
    DaemonProc,
    cluster_on,
    first_poll_after,
    wait_for,
)
from tests.test_scale_out import pg_available as pg_available
from tests.test_scale_out import pg_url as pg_url

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.timeout(180)]

TAKEOVER_LIMIT_S = 30.0
FAST = {"HOTELBOT_DAEMON__SCHEDULER_TICK_S": "1"}


def _stopped(daemon: DaemonProc) -> bool:
    """The process is in state T (stopped by a signal)."""
    stat = Path(f"/proc/{daemon.proc.pid}/stat").read_text()
    return stat.rsplit(")", 1)[1].split()[0] == "T"


async def _three_daemons(cluster: Cluster, pause_at: str) -> tuple[DaemonProc, list[str]]:
    """Start a (which will pause at `pause_at`), b and c; wait for 2/2/2; return a and the
    instance ids of a's hotels."""
    frozen = cluster.spawn("a", HOTELBOT_PAUSE_AT=pause_at, **FAST)
    cluster.spawn("b", **FAST)
    cluster.spawn("c", **FAST)

    async def balanced() -> bool:
        return sorted((await cluster.per_owner()).values()) == [2, 2, 2]

    await wait_for("an even split", balanced, 60, cluster)
    owners = await cluster.owners()
    mine = [i for i, h in cluster.hotel_ids.items() if owners.get(h) == "a"]
    assert len(mine) == 2
    return frozen, mine


async def _freeze_and_takeover(
    cluster: Cluster, frozen: DaemonProc, mine: list[str]
) -> tuple[float, list[tuple[str, int]]]:
    """Wait until `frozen` stopped itself; push one message to each of its hotels; wait until
    each was polled by another daemon. Returns (worst takeover seconds, items pushed)."""

    async def paused() -> bool:
        return _stopped(frozen)

    await wait_for("a to stop itself at the pause point", paused, 30, cluster)
    frozen_at = time.monotonic()
    pushed = []
    for instance_id in mine:  # may be answered into a's frozen long polls: never a's to delete
        cluster.push(instance_id)
        pushed.append((instance_id, cluster.fake.instance(instance_id).pending_receipt_ids[-1]))

    async def polled_by_others() -> bool:
        return all(first_poll_after(cluster, i, frozen_at, "a") is not None for i in mine)

    await wait_for("another daemon polling a's hotels", polled_by_others, 40, cluster)
    worst = max(
        (first_poll_after(cluster, i, frozen_at, "a") or frozen_at) - frozen_at for i in mine
    )
    return worst, pushed


async def _resume_and_settle(
    cluster: Cluster, frozen: DaemonProc, pushed: list[tuple[str, int]]
) -> None:
    os.kill(frozen.proc.pid, signal.SIGCONT)

    async def drained() -> bool:
        return cluster.pending() == 0

    await wait_for("every queue drained after the resume", drained, 60, cluster)
    # Whatever the resumed daemon still held from before the freeze (a claim, long-poll
    # answers) acts within its first round; give it a TTL to show.
    await asyncio.sleep(TTL_S)
    # What reached a's hotels while a was frozen was stored and deleted by the others only.
    for instance_id, receipt in pushed:
        item = cluster.fake.instance(instance_id).notifications[receipt]
        assert item.deleted is not None and item.deleted_by not in (None, "a"), item
    async with cluster.db.read() as conn:
        rows = (
            await conn.execute(
                select(Notification.id_message).where(Notification.id_message.in_(cluster.pushed))
            )
        ).all()
    assert sorted(str(r[0]) for r in rows) == sorted(cluster.pushed)  # each stored exactly once
    assert cluster.overlaps() == 0


@pytest.mark.parametrize("pause_at", ["sender_claim_locked", "sender_claimed_before_send"])
async def test_frozen_in_the_middle_of_an_outbox_send_blocks_no_takeover(
    pg_url: str, pause_at: str
) -> None:
    """Frozen inside the claim transaction (holding the lease-row lock), or after the claim
    committed and before the HTTP call: the claimed messages are sent once, by another
    daemon (in the second case after the resumed daemon gives them back unsent)."""
    async with cluster_on(pg_url, 6) as cluster:
        frozen, mine = await _three_daemons(cluster, pause_at)
        hotel_id = cluster.hotel_ids[mine[0]]
        texts = [f"Your taxi {n} is here" for n in range(3)]
        async with cluster.db.write() as conn:
            for n, text in enumerate(texts):
                await enqueue(
                    conn,
                    hotel_id=hotel_id,
                    idempotency_key=f"manual:takeover:{n}",
                    kind="manual",
                    chat_id=CHAT,
                    text=text,
                )
        takeover_s, pushed = await _freeze_and_takeover(cluster, frozen, mine)
        inst = cluster.fake.instance(mine[0])

        async def all_sent() -> bool:
            return {m.message for m in inst.sent} >= set(texts)

        if pause_at == "sender_claim_locked":  # the frozen claim was rolled back
            sent_s = await wait_for("the claimed messages sent by others", all_sent, 40, cluster)
            await _resume_and_settle(cluster, frozen, pushed)
        else:  # claimed (sending) by a: only a's own give-back after its resume frees them
            await _resume_and_settle(cluster, frozen, pushed)
            sent_s = await wait_for("the claimed messages sent by others", all_sent, 40, cluster)
        by_text = {t: [m.client_id for m in inst.sent if m.message == t] for t in texts}
        senders = sorted({c for cs in by_text.values() for c in cs})
        print(
            f"\nSIGSTOP at {pause_at}: a's hotels polled by others after "
            f"{takeover_s:.1f} s (limit {TAKEOVER_LIMIT_S:.0f}); the 3 claimed messages sent "
            + (
                f"{takeover_s + sent_s:.1f} s after the freeze"
                if pause_at == "sender_claim_locked"
                else "after a's resume gave them back unsent"
            )
            + f", by {senders}"
        )
        assert takeover_s <= TAKEOVER_LIMIT_S
        assert all(len(clients) == 1 and clients[0] != "a" for clients in by_text.values()), by_text


async def test_frozen_inside_a_trigger_decision_blocks_no_takeover(pg_url: str) -> None:
    async with cluster_on(pg_url, 6) as cluster:
        frozen, mine = await _three_daemons(cluster, "scheduler_decision_locked")
        hotel_id = cluster.hotel_ids[mine[0]]
        now = datetime.now(UTC)
        due = now - timedelta(minutes=1)
        template = Template({"en": "Good day, {first_name}: breakfast is served"})
        validate(template)
        async with cluster.db.write() as conn:
            await conn.execute(
                update(Hotel).where(Hotel.id == hotel_id).values(quiet_hours="", timezone="UTC")
            )
            await upsert_stay(
                conn,
                hotel_id,
                StayInput(
                    chat_id=CHAT,
                    guest_name="Anna Berzina",
                    check_in=(now - timedelta(days=2)).date(),
                    check_out=(now + timedelta(days=2)).date(),
                ),
                now=now,
            )
            await add_trigger(
                conn,
                hotel_id=hotel_id,
                name="breakfast",
                spec=parse_trigger(f"daily at {due:%H:%M} grace 1h"),
                template=template,
                now=now,
            )
        takeover_s, pushed = await _freeze_and_takeover(cluster, frozen, mine)
        inst = cluster.fake.instance(mine[0])

        async def sent() -> bool:
            return any("breakfast is served" in m.message for m in inst.sent)

        sent_s = await wait_for("the fire decided and sent by another daemon", sent, 40, cluster)
        await _resume_and_settle(cluster, frozen, pushed)
        async with cluster.db.read() as conn:
            fires = (
                await conn.execute(
                    select(TriggerFire.decided_by, func.count()).group_by(TriggerFire.decided_by)
                )
            ).all()
        sends = [m.client_id for m in inst.sent if "breakfast is served" in m.message]
        print(
            f"\nSIGSTOP inside a trigger decision: a's hotels polled by others after "
            f"{takeover_s:.1f} s; the fire decided by {[f[0] for f in fires]} and sent "
            f"{takeover_s + sent_s:.1f} s after the freeze; sends {sends}"
        )
        assert takeover_s <= TAKEOVER_LIMIT_S
        assert len(sends) == 1 and sends[0] != "a"
        assert [(str(who), int(n)) for who, n in fires] in ([("b", 1)], [("c", 1)])

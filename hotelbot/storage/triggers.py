"""Trigger rows <-> TriggerRecord (spec and template parsed), and the fire log.

Every edit bumps `version`. The fire log's unique key (trigger, stay, scheduled instant) is
the exactly-once guarantee of the scheduler: `record_fire` inserts with ON CONFLICT DO
NOTHING and tells the caller whether it won.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, insert, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hotelbot.domain.attachments import FileAttachment
from hotelbot.domain.conditions import Conditions
from hotelbot.domain.fire_times import StayStatus, resolve_local
from hotelbot.domain.outbox import AUTOMATED_KINDS, Lane, OutboxState
from hotelbot.domain.records import TriggerRecord as TriggerRecord
from hotelbot.domain.templates import Template
from hotelbot.domain.triggers import (
    EventKind,
    EventTrigger,
    TriggerSpec,
    trigger_from_dict,
    trigger_to_dict,
)
from hotelbot.storage.dialect import insert_for
from hotelbot.storage.guest_facts import GuestFactsSource
from hotelbot.storage.models import OutboxMessage
from hotelbot.storage.models_stays import Stay
from hotelbot.storage.models_triggers import Trigger, TriggerFire
from hotelbot.storage.outbox import enqueue, mark_cancelled, move
from hotelbot.storage.stays import StayRecord, has_earlier_stay
from hotelbot.storage.types import utcnow

_COLUMNS = [
    Trigger.id, Trigger.hotel_id, Trigger.name, Trigger.spec, Trigger.template,
    Trigger.enabled, Trigger.version, Trigger.created_at, Trigger.updated_at,
    Trigger.attachment, Trigger.conditions,
]  # fmt: skip


def _record(row: Any) -> TriggerRecord:
    return TriggerRecord(
        id=int(row[0]),
        hotel_id=int(row[1]),
        name=row[2],
        spec=trigger_from_dict(json.loads(row[3])),
        template=Template.from_dict(json.loads(row[4])),
        enabled=bool(row[5]),
        version=int(row[6]),
        created_at=row[7],
        updated_at=row[8],
        attachment=None if row[9] is None else FileAttachment.from_dict(json.loads(row[9])),
        conditions=Conditions() if row[10] is None else Conditions.from_dict(json.loads(row[10])),
    )


def _spec_json(spec: TriggerSpec) -> str:
    return json.dumps(trigger_to_dict(spec), sort_keys=True)


def _template_json(template: Template) -> str:
    return json.dumps(template.to_dict(), sort_keys=True, ensure_ascii=False)


def _conditions_json(conditions: Conditions | None) -> str | None:
    if conditions is None or not conditions.clauses:
        return None
    return json.dumps(conditions.to_dict(), ensure_ascii=False)


def _attachment_json(attachment: FileAttachment | None) -> str | None:
    if attachment is None:
        return None
    return json.dumps(attachment.to_dict(), sort_keys=True, ensure_ascii=False)


async def add_trigger(
    conn: AsyncConnection,
    *,
    hotel_id: int,
    name: str,
    spec: TriggerSpec,
    template: Template,
    enabled: bool = True,
    now: datetime | None = None,
    attachment: FileAttachment | None = None,
    conditions: Conditions | None = None,
) -> int:
    """Insert a trigger (validate spec and template before). Raises IntegrityError when the
    hotel already has a trigger with that name."""
    now = now or utcnow()
    new_id = (
        await conn.execute(
            insert(Trigger)
            .values(
                hotel_id=hotel_id,
                name=name,
                spec=_spec_json(spec),
                template=_template_json(template),
                attachment=_attachment_json(attachment),
                conditions=_conditions_json(conditions),
                grace_s=spec.grace_s,
                enabled=enabled,
                version=1,
                created_at=now,
                updated_at=now,
            )
            .returning(Trigger.id)
        )
    ).scalar_one()
    return int(new_id)


async def add_trigger_if_absent(
    conn: AsyncConnection,
    *,
    hotel_id: int,
    name: str,
    spec: TriggerSpec,
    template: Template,
    enabled: bool = True,
    now: datetime | None = None,
    attachment: FileAttachment | None = None,
    conditions: Conditions | None = None,
) -> int | None:
    """Insert a trigger unless the hotel has one of that name; returns the new id, or None
    when the name was taken (the existing trigger is left exactly as it is). Idempotent by
    the unique key (hotel, name): two concurrent callers add it once."""
    now = now or utcnow()
    stmt = (
        insert_for(conn, Trigger)
        .values(
            hotel_id=hotel_id,
            name=name,
            spec=_spec_json(spec),
            template=_template_json(template),
            attachment=_attachment_json(attachment),
            conditions=_conditions_json(conditions),
            grace_s=spec.grace_s,
            enabled=enabled,
            version=1,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=[Trigger.hotel_id, Trigger.name])
        .returning(Trigger.id)
    )
    row = (await conn.execute(stmt)).first()
    return None if row is None else int(row[0])


async def edit_trigger(
    conn: AsyncConnection,
    trigger_id: int,
    *,
    spec: TriggerSpec | None = None,
    template: Template | None = None,
    enabled: bool | None = None,
    now: datetime | None = None,
    attachment: FileAttachment | None = None,
    remove_attachment: bool = False,
    conditions: Conditions | None = None,
) -> bool:
    """Change what is given and bump the version. False for an unknown id. The scheduler
    reads triggers on every tick, so the change applies to fires not yet decided.
    `remove_attachment` drops the trigger's file (a new `attachment` replaces it);
    `conditions` replace the trigger's (an empty Conditions() removes them)."""
    values: dict[str, Any] = {"version": Trigger.version + 1, "updated_at": now or utcnow()}
    if spec is not None:
        values["spec"] = _spec_json(spec)
        values["grace_s"] = spec.grace_s
    if template is not None:
        values["template"] = _template_json(template)
    if enabled is not None:
        values["enabled"] = enabled
    if attachment is not None or remove_attachment:
        values["attachment"] = _attachment_json(attachment)
    if conditions is not None:
        values["conditions"] = _conditions_json(conditions)
    result = await conn.execute(update(Trigger).where(Trigger.id == trigger_id).values(**values))
    return bool(result.rowcount)


async def remove_trigger(conn: AsyncConnection, trigger_id: int) -> bool:
    """Delete a trigger and its fire log. Its messages still waiting in the outbox (e.g.
    deferred by quiet hours) are cancelled; sent ones stay as they are."""
    for column in (TriggerFire.outbox_id, TriggerFire.file_outbox_id):
        fired = select(column).where(TriggerFire.trigger_id == trigger_id, column.is_not(None))
        await conn.execute(
            move(
                (OutboxState.PENDING,),
                OutboxState.CANCELLED,
                last_error="trigger removed",
                updated_at=utcnow(),
            ).where(OutboxMessage.id.in_(fired))
        )
    await conn.execute(delete(TriggerFire).where(TriggerFire.trigger_id == trigger_id))
    result = await conn.execute(delete(Trigger).where(Trigger.id == trigger_id))
    return bool(result.rowcount)


async def list_triggers(
    conn: AsyncConnection, *, hotel_id: int | None = None, enabled_only: bool = False
) -> list[TriggerRecord]:
    query = select(*_COLUMNS).order_by(Trigger.hotel_id, Trigger.name)
    if hotel_id is not None:
        query = query.where(Trigger.hotel_id == hotel_id)
    if enabled_only:
        query = query.where(Trigger.enabled.is_(True))
    return [_record(row) for row in await conn.execute(query)]


async def schedulable_hotel_ids(conn: AsyncConnection, *, check_out_from: date) -> set[int]:
    """Hotels with at least one enabled trigger and at least one stay checking out on or after
    `check_out_from`: the only hotels a scheduler tick can find a fire for. One query (the
    stays index on (hotel_id, check_out) answers the EXISTS), so hotels without triggers or
    current stays cost nothing per tick."""
    has_stay = (
        select(Stay.id)
        .where(Stay.hotel_id == Trigger.hotel_id, Stay.check_out >= check_out_from)
        .exists()
    )
    query = select(Trigger.hotel_id).where(Trigger.enabled.is_(True), has_stay).distinct()
    return {int(hotel_id) for hotel_id in (await conn.execute(query)).scalars()}


async def get_trigger(conn: AsyncConnection, hotel_id: int, name: str) -> TriggerRecord | None:
    row = (
        await conn.execute(
            select(*_COLUMNS).where(Trigger.hotel_id == hotel_id, Trigger.name == name)
        )
    ).first()
    return None if row is None else _record(row)


# --- fire log ------------------------------------------------------------------------------

ADVISORY_NAMESPACE = 7401
"""The first key of the fire decisions' advisory lock, pg_advisory_xact_lock(7401, hotel id)."""


async def lock_fire_decisions(conn: AsyncConnection, hotel_id: int) -> None:
    """Serialise, until the caller's write transaction ends, the fire decisions for one hotel
    across processes, so two daemons deciding the same hotel see each other's fires and
    daily-cap counts. PostgreSQL: a transaction-level advisory lock
    (pg_advisory_xact_lock(ADVISORY_NAMESPACE, hotel_id)), released by the commit or rollback
    itself (never held by a session, so safe behind PgBouncer in transaction mode); waits
    while another transaction holds it. SQLite: a no-op, as BEGIN IMMEDIATE already
    serialises writers."""
    if conn.dialect.name == "postgresql":
        await conn.execute(
            text("SELECT pg_advisory_xact_lock(:ns, :hotel)"),
            {"ns": ADVISORY_NAMESPACE, "hotel": hotel_id},
        )


FireKey = tuple[int, int, datetime]
"""(trigger id, stay id, scheduled_for in UTC)."""


async def decided_fires(conn: AsyncConnection, hotel_id: int, *, since: datetime) -> set[FireKey]:
    """Keys of fires already decided for this hotel, scheduled at or after `since`."""
    rows = await conn.execute(
        select(TriggerFire.trigger_id, TriggerFire.stay_id, TriggerFire.scheduled_for).where(
            TriggerFire.hotel_id == hotel_id, TriggerFire.scheduled_for >= since
        )
    )
    return {(int(r[0]), int(r[1]), r[2]) for r in rows}


async def record_fire(
    conn: AsyncConnection,
    *,
    hotel_id: int,
    trigger_id: int,
    stay_id: int,
    scheduled_for: datetime,
    outcome: str,
    trigger_version: int,
    decided_at: datetime,
    decided_by: str | None = None,
) -> int | None:
    """Claim a fire: returns the new fire-log id, or None when another process (or an
    earlier run) decided it already. Call in the transaction that also writes the outbox
    row; on None, write nothing else."""
    stmt = (
        insert_for(conn, TriggerFire)
        .values(
            hotel_id=hotel_id,
            trigger_id=trigger_id,
            stay_id=stay_id,
            scheduled_for=scheduled_for,
            decided_at=decided_at,
            outcome=outcome,
            trigger_version=trigger_version,
            decided_by=decided_by,
        )
        .on_conflict_do_nothing(
            index_elements=[TriggerFire.trigger_id, TriggerFire.stay_id, TriggerFire.scheduled_for]
        )
        .returning(TriggerFire.id)
    )
    row = (await conn.execute(stmt)).first()
    return None if row is None else int(row[0])


async def set_fire_outcome(
    conn: AsyncConnection,
    fire_id: int,
    *,
    outcome: str,
    outbox_id: int | None,
    file_outbox_id: int | None = None,
) -> None:
    await conn.execute(
        update(TriggerFire)
        .where(TriggerFire.id == fire_id)
        .values(outcome=outcome, outbox_id=outbox_id, file_outbox_id=file_outbox_id)
    )


@dataclass(frozen=True, slots=True)
class FireRecord:
    trigger_id: int
    stay_id: int
    scheduled_for: datetime
    decided_at: datetime
    outcome: str
    outbox_id: int | None


async def list_fires(
    conn: AsyncConnection,
    *,
    hotel_id: int | None = None,
    trigger_id: int | None = None,
    stay_id: int | None = None,
) -> list[FireRecord]:
    query = select(
        TriggerFire.trigger_id,
        TriggerFire.stay_id,
        TriggerFire.scheduled_for,
        TriggerFire.decided_at,
        TriggerFire.outcome,
        TriggerFire.outbox_id,
    ).order_by(TriggerFire.scheduled_for, TriggerFire.id)
    if hotel_id is not None:
        query = query.where(TriggerFire.hotel_id == hotel_id)
    if trigger_id is not None:
        query = query.where(TriggerFire.trigger_id == trigger_id)
    if stay_id is not None:
        query = query.where(TriggerFire.stay_id == stay_id)
    return [FireRecord(*row) for row in await conn.execute(query)]


async def withdrawn_messages(conn: AsyncConnection, outbox_ids: list[int]) -> dict[int, str]:
    """Which of these outbox rows belong to fires that should no longer be sent, with why:
    the stay was cancelled or the trigger disabled after the message was enqueued (a
    deferred message waits hours). A message about the cancellation itself ("on
    cancellation") is not withdrawn by it. Rows not from a trigger fire are never listed."""
    if not outbox_ids:
        return {}
    rows = await conn.execute(
        select(
            TriggerFire.outbox_id,
            TriggerFire.file_outbox_id,
            Stay.status,
            Trigger.enabled,
            Trigger.spec,
        )
        .join(Stay, Stay.id == TriggerFire.stay_id)
        .join(Trigger, Trigger.id == TriggerFire.trigger_id)
        .where(
            or_(
                TriggerFire.outbox_id.in_(outbox_ids),
                TriggerFire.file_outbox_id.in_(outbox_ids),
            )
        )
    )
    wanted = set(outbox_ids)
    withdrawn: dict[int, str] = {}
    for text_id, file_id, status, enabled, spec_json in rows:
        reason = None
        if status == StayStatus.CANCELLED and not _about_cancellation(spec_json):
            reason = "stay cancelled"
        elif not enabled:
            reason = "trigger disabled"
        for outbox_id in (text_id, file_id):
            if reason is not None and outbox_id is not None and int(outbox_id) in wanted:
                withdrawn[int(outbox_id)] = reason
    return withdrawn


def _about_cancellation(spec_json: str) -> bool:
    try:
        spec = trigger_from_dict(json.loads(spec_json))
    except (ValueError, TypeError):
        return False
    return isinstance(spec, EventTrigger) and spec.event is EventKind.CANCELLATION


async def count_automated_today(
    conn: AsyncConnection, *, hotel_id: int, chat_id: str, now: datetime, tz: ZoneInfo
) -> int:
    """Automated messages to this chat going out on the local day of `now`: outbox rows of an
    automated kind with available_at inside that day, not failed or cancelled (rows still
    pending count: the cap is about what the guest will receive today)."""
    day = now.astimezone(tz).date()
    start = resolve_local(day, time(0), tz)
    end = resolve_local(day + timedelta(days=1), time(0), tz)
    query = select(func.count()).where(
        OutboxMessage.hotel_id == hotel_id,
        OutboxMessage.chat_id == chat_id,
        OutboxMessage.kind.in_(AUTOMATED_KINDS),
        # A trigger's file goes with its text: together they are one message to the guest.
        OutboxMessage.file_url.is_(None),
        OutboxMessage.available_at >= start,
        OutboxMessage.available_at < end,
        OutboxMessage.state.not_in((OutboxState.FAILED, OutboxState.CANCELLED)),
    )
    return int((await conn.execute(query)).scalar_one())


class SqlFireStore:
    """`hotelbot.app.trigger_fire.FireStore` on one connection (the caller's transaction)."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def automated_today(
        self, *, hotel_id: int, chat_id: str, now: datetime, tz: ZoneInfo
    ) -> int:
        return await count_automated_today(
            self._conn, hotel_id=hotel_id, chat_id=chat_id, now=now, tz=tz
        )

    async def has_earlier_stay(self, stay: StayRecord) -> bool:
        return await has_earlier_stay(self._conn, stay)

    async def record_fire(
        self,
        *,
        hotel_id: int,
        trigger_id: int,
        stay_id: int,
        scheduled_for: datetime,
        outcome: str,
        trigger_version: int,
        decided_at: datetime,
        decided_by: str | None = None,
    ) -> int | None:
        return await record_fire(
            self._conn,
            hotel_id=hotel_id,
            trigger_id=trigger_id,
            stay_id=stay_id,
            scheduled_for=scheduled_for,
            outcome=outcome,
            trigger_version=trigger_version,
            decided_at=decided_at,
            decided_by=decided_by,
        )

    async def enqueue(
        self,
        *,
        hotel_id: int,
        idempotency_key: str,
        kind: str,
        chat_id: str,
        text: str,
        available_at: datetime | None = None,
        lane: Lane | None = None,
        file_url: str | None = None,
        file_name: str | None = None,
    ) -> int | None:
        return await enqueue(
            self._conn,
            hotel_id=hotel_id,
            idempotency_key=idempotency_key,
            kind=kind,
            chat_id=chat_id,
            text=text,
            available_at=available_at,
            lane=lane,
            file_url=file_url,
            file_name=file_name,
        )

    async def set_fire_outcome(
        self, fire_id: int, *, outcome: str, outbox_id: int | None, file_outbox_id: int | None
    ) -> None:
        await set_fire_outcome(
            self._conn, fire_id, outcome=outcome, outbox_id=outbox_id, file_outbox_id=file_outbox_id
        )


class SqlWithdrawals:
    """`hotelbot.app.outbox_step.Withdrawals` on the claim's connection; guest opt-outs
    from `guest_facts` (storage/guest_facts.py, replaceable in tests)."""

    def __init__(self, conn: AsyncConnection, guest_facts: GuestFactsSource) -> None:
        self.conn = conn
        self.guest_facts = guest_facts

    async def withdrawn(self, outbox_ids: Sequence[int]) -> dict[int, str]:
        return await withdrawn_messages(self.conn, list(outbox_ids))

    async def opted_out(self, hotel_id: int, chat_ids: Sequence[str]) -> set[str]:
        facts = await self.guest_facts(self.conn, hotel_id, chat_ids)
        return {chat for chat, fact in facts.items() if fact.opted_out}

    async def cancel(self, outbox_id: int, *, reason: str, now: datetime) -> bool:
        return await mark_cancelled(self.conn, outbox_id, reason=reason, now=now)

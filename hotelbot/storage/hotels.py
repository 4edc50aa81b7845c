"""Hotel rows <-> HotelSpec / HotelRecord; upserts by slug."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hotelbot.domain.signals import SignalKind
from hotelbot.hotel_spec import HotelSpec
from hotelbot.storage.models import Hotel, Notification
from hotelbot.storage.types import fit, utcnow


@dataclass(frozen=True, slots=True)
class HotelRecord:
    """A hotel as stored. `api_token` is kept out of repr."""

    id: int
    slug: str
    name: str
    instance_id: str
    api_url: str
    api_token_env: str | None
    timezone: str
    staff_chat_id: str | None
    default_language: str
    enabled: bool
    quiet_hours: str
    max_automated_per_day: int
    alert_cooldown_min: int
    staff_pause_h: float
    groups_as_guests: bool
    check_in_time: str
    check_out_time: str
    signal_call: str
    signal_voice_note: str
    signal_photo: str
    signal_video: str
    signal_document: str
    signal_location: str
    signal_sticker: str
    staff_language: str | None
    escalation_chat_id: str | None
    escalate_after_min: float
    staff_email: str | None
    report_schedule: str
    manager_chat_id: str | None
    instance_state: str | None
    api_token: str | None = field(default=None, repr=False)

    def spec_dict(self) -> dict[str, Any]:
        """The operator-facing fields, as in hotels TOML (token only as a flag)."""
        return {
            "slug": self.slug,
            "name": self.name,
            "instance_id": self.instance_id,
            "api_url": self.api_url,
            "api_token": "(inline, hidden)" if self.api_token else None,
            "api_token_env": self.api_token_env,
            "timezone": self.timezone,
            "staff_chat_id": self.staff_chat_id,
            "default_language": self.default_language,
            "enabled": self.enabled,
            "quiet_hours": self.quiet_hours or "off",
            "max_automated_per_day": self.max_automated_per_day,
            "alert_cooldown_min": self.alert_cooldown_min,
            "staff_pause_h": self.staff_pause_h,
            "groups_as_guests": self.groups_as_guests,
            "check_in_time": self.check_in_time,
            "check_out_time": self.check_out_time,
            **{kind.column: getattr(self, kind.column) for kind in SignalKind},
            "staff_language": self.staff_language,
            "escalation_chat_id": self.escalation_chat_id,
            "escalate_after_min": self.escalate_after_min,
            "staff_email": self.staff_email,
            "report_schedule": self.report_schedule,
            "manager_chat_id": self.manager_chat_id,
        }


_COLUMNS = [
    Hotel.id, Hotel.slug, Hotel.name, Hotel.instance_id, Hotel.api_url, Hotel.api_token_env,
    Hotel.timezone, Hotel.staff_chat_id, Hotel.default_language, Hotel.enabled,
    Hotel.quiet_hours, Hotel.max_automated_per_day, Hotel.alert_cooldown_min,
    Hotel.staff_pause_h, Hotel.groups_as_guests, Hotel.check_in_time, Hotel.check_out_time,
    *(getattr(Hotel, kind.column) for kind in SignalKind),
    Hotel.staff_language, Hotel.escalation_chat_id, Hotel.escalate_after_min,
    Hotel.staff_email, Hotel.report_schedule, Hotel.manager_chat_id,
    Hotel.instance_state, Hotel.api_token,
]  # fmt: skip


def _record(row: Any) -> HotelRecord:
    return HotelRecord(*row)


def spec_values(spec: HotelSpec) -> dict[str, Any]:
    values = spec.model_dump(exclude={"api_token"})
    values["api_token"] = spec.api_token.get_secret_value() if spec.api_token else None
    return values


async def list_hotels(conn: AsyncConnection, *, enabled_only: bool = False) -> list[HotelRecord]:
    query = select(*_COLUMNS).order_by(Hotel.slug)
    if enabled_only:
        query = query.where(Hotel.enabled.is_(True))
    return [_record(row) for row in await conn.execute(query)]


async def get_hotel_by_id(conn: AsyncConnection, hotel_id: int) -> HotelRecord | None:
    """One hotel by primary key (None if it does not exist)."""
    row = (await conn.execute(select(*_COLUMNS).where(Hotel.id == hotel_id))).first()
    return None if row is None else _record(row)


async def get_hotel(conn: AsyncConnection, slug: str) -> HotelRecord | None:
    row = (await conn.execute(select(*_COLUMNS).where(Hotel.slug == slug))).first()
    return None if row is None else _record(row)


HotelOutcome = Literal["added", "updated", "unchanged"]
# The token has two mutually exclusive sources: stating one clears the other.
_TOKEN_SOURCES = ("api_token", "api_token_env")


@dataclass(frozen=True, slots=True)
class HotelChange:
    """What applying a hotel spec does: the outcome and, per changed column, (old, new).
    Token values never appear here: an inline token shows as "(inline)"."""

    slug: str
    outcome: HotelOutcome
    changes: dict[str, tuple[Any, Any]]

    def describe(self) -> str:
        """ "timezone: Europe/Riga -> Europe/Tallinn; quiet_hours: 22:00-09:00 -> off" """
        return "; ".join(
            f"{k}: {_shown(k, a)} -> {_shown(k, b)}" for k, (a, b) in self.changes.items()
        )


def _shown(key: str, value: Any) -> str:
    if key == "api_token":
        return "(inline)" if value else "(none)"
    if key == "quiet_hours" and not value:
        return "off"
    return "(none)" if value is None else str(value)


def plan_hotel(existing: HotelRecord | None, spec: HotelSpec, *, replace: bool) -> HotelChange:
    """The change applying `spec` makes (pure). A new hotel gets every value of the spec.
    For an existing one only what the spec states changes (keys it leaves out keep their
    stored values, so a re-import never undoes `hotel edit`), unless `replace`: then keys
    it leaves out go back to their defaults. `enabled` changes only when stated, even with
    `replace` (disabling a hotel is an operator's decision, not configuration)."""
    values = spec_values(spec)
    if existing is None:
        return HotelChange(spec.slug, "added", {k: (None, v) for k, v in values.items()})
    stated = set(spec.model_fields_set)
    if stated & set(_TOKEN_SOURCES):
        stated |= set(_TOKEN_SOURCES)  # one source stated: the other one is cleared
    keys = set(values) - {"enabled"} if replace else stated
    if "enabled" in spec.model_fields_set:
        keys.add("enabled")
    changes = {
        k: (getattr(existing, k), values[k])
        for k in values
        if k in keys and k != "slug" and getattr(existing, k) != values[k]
    }
    return HotelChange(spec.slug, "updated" if changes else "unchanged", changes)


async def apply_hotel(
    conn: AsyncConnection, spec: HotelSpec, *, replace: bool = False, now: datetime | None = None
) -> HotelChange:
    """Insert or update the hotel `spec.slug` as `plan_hotel` says, in the caller's
    transaction. Idempotent: applying the same spec again is "unchanged"."""
    change = plan_hotel(await get_hotel(conn, spec.slug), spec, replace=replace)
    now = now or utcnow()
    if change.outcome == "added":
        values = spec_values(spec)
        await conn.execute(insert(Hotel).values(**values, created_at=now, updated_at=now))
    elif change.outcome == "updated":
        new_values = {k: new for k, (_, new) in change.changes.items()}
        await conn.execute(
            update(Hotel).where(Hotel.slug == spec.slug).values(**new_values, updated_at=now)
        )
    return change


async def upsert_hotel(conn: AsyncConnection, spec: HotelSpec) -> str:
    """Insert or update by slug, changing only what `spec` states (see `plan_hotel`).
    Returns "added", "updated" or "unchanged". Idempotent."""
    return (await apply_hotel(conn, spec)).outcome


async def set_enabled(conn: AsyncConnection, slug: str, enabled: bool) -> bool:
    result = await conn.execute(
        update(Hotel).where(Hotel.slug == slug).values(enabled=enabled, updated_at=utcnow())
    )
    return bool(result.rowcount)


async def remove_hotel(conn: AsyncConnection, slug: str) -> bool:
    """Delete a hotel and (by cascade) everything stored for it."""
    hotel_id = (await conn.execute(select(Hotel.id).where(Hotel.slug == slug))).scalar()
    if hotel_id is None:
        return False
    # Explicit child delete too: SQLite enforces ON DELETE CASCADE only with foreign_keys=ON,
    # which an external sqlite3 shell may not have set.
    await conn.execute(delete(Notification).where(Notification.hotel_id == hotel_id))
    await conn.execute(delete(Hotel).where(Hotel.id == hotel_id))
    return True


async def set_instance_state(conn: AsyncConnection, hotel_id: int, state: str) -> None:
    """Store the state a stateInstanceChanged notification carried, seen now. Idempotent."""
    await conn.execute(
        update(Hotel)
        .where(Hotel.id == hotel_id)
        .values(instance_state=fit(state, Hotel.instance_state), instance_state_at=utcnow())
    )


async def instance_state_of(conn: AsyncConnection, hotel_id: int) -> str | None:
    """The hotel's stored instance state (None: never seen, or no such hotel). Read-only."""
    query = select(Hotel.instance_state).where(Hotel.id == hotel_id)
    return (await conn.execute(query)).scalar()


async def record_instance_state(conn: AsyncConnection, hotel_id: int, state: str) -> bool:
    """Store a polled instance state only if it differs from the stored one, so
    `instance_state_at` keeps saying since when the hotel is in it (the operator watch counts
    from there). True when the row changed. Idempotent: a second call changes nothing."""
    fitted = fit(state, Hotel.instance_state)
    result = await conn.execute(
        update(Hotel)
        .where(Hotel.id == hotel_id, Hotel.instance_state.is_distinct_from(fitted))
        .values(instance_state=fitted, instance_state_at=utcnow())
    )
    return bool(result.rowcount)


@dataclass(frozen=True, slots=True)
class HotelInstanceState:
    """An enabled hotel's WhatsApp instance state as last seen, with whom to tell about it."""

    id: int
    slug: str
    name: str
    instance_state: str | None  # None: not seen yet
    instance_state_at: datetime | None  # when it was seen
    staff_email: str | None


async def enabled_instance_states(conn: AsyncConnection) -> dict[int, HotelInstanceState]:
    """Every enabled hotel's instance state, by hotel id. Read-only."""
    rows = await conn.execute(
        select(
            Hotel.id,
            Hotel.slug,
            Hotel.name,
            Hotel.instance_state,
            Hotel.instance_state_at,
            Hotel.staff_email,
        ).where(Hotel.enabled)
    )
    return {
        int(i): HotelInstanceState(int(i), slug, name, state, state_at, email)
        for i, slug, name, state, state_at, email in rows
    }


async def instance_states(
    conn: AsyncConnection, hotel_ids: Collection[int]
) -> dict[int, str | None]:
    """The WhatsApp instance state last seen for each of `hotel_ids` that exists, enabled or
    not, by hotel id (None: not seen yet); ids with no hotel row are left out. Read-only."""
    if not hotel_ids:
        return {}
    rows = await conn.execute(
        select(Hotel.id, Hotel.instance_state).where(Hotel.id.in_(sorted(set(hotel_ids))))
    )
    return {int(hotel_id): state for hotel_id, state in rows}


async def count_hotels(conn: AsyncConnection) -> int:
    return int((await conn.execute(select(func.count()).select_from(Hotel))).scalar_one())

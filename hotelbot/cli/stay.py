"""`hotelbot stay ...`: guests' stays (bookings) that scheduled messages are about."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from hotelbot.cli import common
from hotelbot.cli.output import JsonOpt, UtcOpt, WideOpt, show_time
from hotelbot.domain.display import for_people
from hotelbot.domain.fire_times import StayStatus
from hotelbot.errors import UserError

if TYPE_CHECKING:
    from hotelbot.domain.stay_input import StayInput
    from hotelbot.storage.db import Connection, Database
    from hotelbot.storage.hotels import HotelRecord
    from hotelbot.storage.stays import StayChange, StayRecord

_IMPORT_HELP = """Add or update stays from a CSV file (UTF-8, header row).

Columns (any order; names case-insensitive):
phone, name, check_in, check_out (required);
room, language, check_in_time, check_out_time, status, external_ref, source, room_tags,
hotel (optional).
Dates YYYY-MM-DD, times HH:MM (hotel local), status booked|in_house|checked_out|cancelled,
phone like +371 2000 0000. `hotel` (a slug) is needed in each row unless --hotel is given.

Every row is validated first; bad rows are listed by line number and nothing is imported
(unless --skip-bad). A stay is matched by external_ref when given, else by
(hotel, phone, check_in): importing the same file again changes nothing.

A stay that exists changes only where the file states something: a column that is missing
or a cell that is empty keeps the stored value (a room set with `stay edit` survives the next
export of your PMS); --replace makes the stay exactly its row instead. An import never
un-cancels a cancelled stay (`stay edit ID --status booked` does). Every added or changed
stay is listed with its changed fields and the scheduled messages that move; --dry-run
shows the same and changes nothing. A changed status fires the "on check-in", "on
check-out" and "on cancellation" triggers (once per stay); they are listed too.
"""

app = typer.Typer(help="Guests' stays (bookings).", no_args_is_help=True)

Slug = Annotated[str, typer.Argument(help="The hotel's slug.")]
StayId = Annotated[int, typer.Argument(help="Stay id (see `hotelbot stay list`).")]


async def _hotel(db: Database, slug: str) -> HotelRecord:
    from hotelbot.storage.hotels import get_hotel

    async with db.read() as conn:
        record = await get_hotel(conn, slug)
    if record is None:
        raise UserError(f"no hotel with slug {slug!r} (see `hotelbot hotel list`)")
    return record


async def status_event_lines(
    conn: Connection, hotel_id: int, stay_id: int, old: str, new: str
) -> list[str]:
    """Decide the status-event triggers for a status change made in this transaction (see
    scheduler.fire_stay_status_triggers) and describe what they did, one line each."""
    from hotelbot.daemon.scheduler import fire_stay_status_triggers
    from hotelbot.files import running_as

    decided = await fire_stay_status_triggers(
        conn,
        hotel_id=hotel_id,
        stay_id=stay_id,
        old_status=old,
        new_status=new,
        decided_by=f"cli:{running_as()}",
    )
    return [f"  trigger {name}: {outcome}" for name, outcome in decided]


def _status_change(change: StayChange) -> tuple[str, str] | None:
    if change.outcome != "updated" or "status" not in change.changes:
        return None
    old, new = change.changes["status"]
    return str(old), str(new)


def _parse(row: dict[str, str | None]) -> StayInput:
    from hotelbot.domain.stay_input import StayInputError, parse_stay_row

    try:
        return parse_stay_row(row)
    except StayInputError as exc:
        raise UserError(str(exc)) from None


def _opt_row(**values: Any) -> dict[str, str | None]:
    return {k: None if v is None else str(v) for k, v in values.items()}


@app.command("add")
def add(
    slug: Slug,
    phone: Annotated[str, typer.Option(help="Guest phone, e.g. +371 2000 0000.")],
    name: Annotated[str, typer.Option(help="Guest name.")],
    check_in: Annotated[str, typer.Option(help="Check-in date YYYY-MM-DD (hotel local).")],
    check_out: Annotated[str, typer.Option(help="Check-out date YYYY-MM-DD.")],
    room: Annotated[str | None, typer.Option(help="Room number.")] = None,
    language: Annotated[str | None, typer.Option(help="Guest language (en, ru, ...).")] = None,
    check_in_time: Annotated[str | None, typer.Option(help="HH:MM; default: hotel's.")] = None,
    check_out_time: Annotated[str | None, typer.Option(help="HH:MM; default: hotel's.")] = None,
    status: Annotated[
        str | None, typer.Option(help="booked|in_house|checked_out|cancelled.")
    ] = None,
    external_ref: Annotated[
        str | None, typer.Option(help="Booking id in your PMS (unique per hotel).")
    ] = None,
    ref: Annotated[str | None, common.deprecated_option("--ref")] = None,
    source: Annotated[
        str | None, typer.Option(help="Booking source (booking.com, direct, ...).")
    ] = None,
    room_tags: Annotated[
        str | None, typer.Option(help="The room's tags, space-separated: 'suite sea-view'.")
    ] = None,
) -> None:
    """Add a stay. If the same booking id (or phone + check-in) is stored already, the
    options given update it and the others keep their values; a cancelled stay stays
    cancelled (`stay edit ID --status booked` un-cancels it)."""
    from hotelbot.storage.stays import apply_stay

    external_ref = common.renamed("--ref", ref, "--external-ref", external_ref)
    stay = _parse(
        _opt_row(
            phone=phone,
            name=name,
            check_in=check_in,
            check_out=check_out,
            room=room,
            language=language,
            check_in_time=check_in_time,
            check_out_time=check_out_time,
            status=status,
            external_ref=external_ref,
            source=source,
            room_tags=room_tags,
        )
    )

    async def go(db: Database) -> tuple[StayChange, list[str]]:
        hotel = await _hotel(db, slug)
        async with db.write() as conn:
            change = await apply_stay(conn, hotel.id, stay)
            moved = _status_change(change)
            lines = []
            if moved is not None and change.stay_id is not None:
                lines = await status_event_lines(conn, hotel.id, change.stay_id, *moved)
            return change, lines

    change, lines = common.with_db(go)
    typer.echo(f"stay {change.stay_id}: {change.outcome}" + _details(change))
    for line in lines:
        typer.echo(line)


def _details(change: StayChange) -> str:
    details = f" ({change.describe()})" if change.outcome == "updated" else ""
    if change.kept_cancelled:
        details += (
            f"; kept cancelled (un-cancel with `hotelbot stay edit {change.stay_id} "
            "--status booked`)"
        )
    return details


@app.command("edit")
def edit(
    stay_id: StayId,
    phone: Annotated[str | None, typer.Option(help="Guest phone.")] = None,
    name: Annotated[str | None, typer.Option(help="Guest name.")] = None,
    check_in: Annotated[str | None, typer.Option(help="YYYY-MM-DD.")] = None,
    check_out: Annotated[str | None, typer.Option(help="YYYY-MM-DD.")] = None,
    room: Annotated[str | None, typer.Option(help="Room number.")] = None,
    language: Annotated[str | None, typer.Option(help="Guest language.")] = None,
    check_in_time: Annotated[str | None, typer.Option(help="HH:MM.")] = None,
    check_out_time: Annotated[str | None, typer.Option(help="HH:MM.")] = None,
    status: Annotated[
        str | None, typer.Option(help="booked|in_house|checked_out|cancelled.")
    ] = None,
    external_ref: Annotated[str | None, typer.Option(help="Booking id.")] = None,
    ref: Annotated[str | None, common.deprecated_option("--ref")] = None,
    source: Annotated[str | None, typer.Option(help="Booking source (booking.com, ...).")] = None,
    room_tags: Annotated[
        str | None, typer.Option(help="The room's tags, space-separated ('' for none).")
    ] = None,
) -> None:
    """Change fields of a stay. Scheduled messages follow on the scheduler's next tick; a
    new status fires the "on check-in" / "on check-out" / "on cancellation" triggers now
    (once per stay)."""
    from hotelbot.storage.stays import get_stay, update_stay

    ref = common.renamed("--ref", ref, "--external-ref", external_ref)
    given = {
        "phone": phone,
        "name": name,
        "check_in": check_in,
        "check_out": check_out,
        "room": room,
        "language": language,
        "check_in_time": check_in_time,
        "check_out_time": check_out_time,
        "status": status,
        "ref": ref,
        "source": source,
        "room_tags": room_tags,
    }
    if all(v is None for v in given.values()):
        raise UserError("nothing to change: give at least one option (see --help)")

    async def go(db: Database) -> list[str]:
        async with db.write() as conn:
            current = await get_stay(conn, stay_id)
            if current is None:
                raise UserError(f"no stay {stay_id}")
            merged = _opt_row(
                phone=phone or current.chat_id,
                name=name or current.guest_name,
                check_in=check_in or current.check_in,
                check_out=check_out or current.check_out,
                room=room if room is not None else current.room,
                language=language or current.language,
                check_in_time=check_in_time or current.check_in_time,
                check_out_time=check_out_time or current.check_out_time,
                status=status or current.status,
                external_ref=ref or current.external_ref,
                source=source or current.source,
                room_tags=room_tags if room_tags is not None else current.room_tags,
            )
            stay = _parse(merged)
            changes = {
                "chat_id": stay.chat_id,
                "guest_name": stay.guest_name,
                "room": stay.room,
                "check_in": stay.check_in,
                "check_out": stay.check_out,
                "check_in_time": _hhmm(stay.check_in_time),
                "check_out_time": _hhmm(stay.check_out_time),
                "language": stay.language,
                "status": stay.status.value,
                "external_ref": stay.external_ref,
                "source": stay.source,
                "room_tags": stay.room_tags,
            }
            await update_stay(conn, stay_id, changes)
            return await status_event_lines(
                conn, current.hotel_id, stay_id, current.status, stay.status.value
            )

    lines = common.with_db(go)
    typer.echo(f"stay {stay_id}: updated")
    for line in lines:
        typer.echo(line)


def _hhmm(value: Any) -> str | None:
    return None if value is None else str(value.strftime("%H:%M"))


@app.command("cancel")
def cancel(stay_id: StayId) -> None:
    """Mark a stay cancelled: no more automated messages for it."""
    from hotelbot.storage.stays import get_stay, update_stay

    async def go(db: Database) -> list[str] | None:
        async with db.write() as conn:
            current = await get_stay(conn, stay_id)
            if current is None:
                return None
            await update_stay(conn, stay_id, {"status": StayStatus.CANCELLED})
            return await status_event_lines(
                conn, current.hotel_id, stay_id, current.status, StayStatus.CANCELLED
            )

    lines = common.with_db(go)
    if lines is None:
        raise UserError(f"no stay {stay_id}")
    typer.echo(f"stay {stay_id}: cancelled")
    for line in lines:
        typer.echo(line)


@app.command("list")
def list_(
    hotel: Annotated[str | None, typer.Option(help="Only this hotel (slug).")] = None,
    status: Annotated[str | None, typer.Option(help="Only this status.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Include stays that ended.")] = False,
    wide: WideOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """List stays (by default those not yet ended); dates are the hotel's local dates."""
    from hotelbot.storage.hotels import list_hotels
    from hotelbot.storage.stays import list_stays

    async def go(db: Database) -> tuple[list[StayRecord], dict[int, str]]:
        hotel_id = (await _hotel(db, hotel)).id if hotel else None
        async with db.read() as conn:
            slugs = {h.id: h.slug for h in await list_hotels(conn)}
            stays = await list_stays(
                conn,
                hotel_id=hotel_id,
                status=status,
                check_out_from=None if all_ else (datetime.now(UTC) - timedelta(days=1)).date(),
            )
        return stays, slugs

    stays, slugs = common.with_db(go)
    rows = [
        (
            s.id,
            slugs.get(s.hotel_id),
            s.guest_name,
            s.chat_id,
            s.room,
            s.check_in,
            s.check_out,
            s.status,
            s.external_ref,
        )
        for s in stays
    ]
    headers = ("id", "hotel", "guest", "chat", "room", "in", "out", "status", "external_ref")
    common.emit_table(headers, rows, as_json=as_json, empty="no stays", wide=wide, shrink=[2, 8])


@app.command("show")
def show(stay_id: StayId, utc: UtcOpt = False, wide: WideOpt = False) -> None:
    """Show one stay and the decisions taken for its scheduled messages (times in the
    hotel's local time)."""
    from hotelbot.domain.triggers import EventTrigger
    from hotelbot.storage.hotels import get_hotel_by_id
    from hotelbot.storage.stays import get_stay
    from hotelbot.storage.triggers import list_fires, list_triggers

    async def go(
        db: Database,
    ) -> tuple[StayRecord | None, list[Any], str, dict[int, str], set[int]]:
        async with db.read() as conn:
            stay = await get_stay(conn, stay_id)
            if stay is None:
                return None, [], "UTC", {}, set()
            fires = await list_fires(conn, stay_id=stay_id)
            hotel = await get_hotel_by_id(conn, stay.hotel_id)
            triggers = await list_triggers(conn, hotel_id=stay.hotel_id)
        names = {t.id: t.name for t in triggers}
        # A status event's fire is keyed by the stay's creation; when it happened is
        # when it was decided.
        events = {
            t.id
            for t in triggers
            if isinstance(t.spec, EventTrigger) and t.spec.event.is_stay_status
        }
        return stay, fires, hotel.timezone if hotel else "UTC", names, events

    stay, fires, tz, names, events = common.with_db(go)
    if stay is None:
        raise UserError(f"no stay {stay_id}")
    fields = (
        "id",
        "hotel_id",
        "guest_name",
        "chat_id",
        "room",
        "check_in",
        "check_out",
        "check_in_time",
        "check_out_time",
        "language",
        "status",
        "external_ref",
        "source",
        "room_tags",
    )
    for key in fields:
        typer.echo(f"{key:15} {for_people(str(getattr(stay, key)))}")
    for key in ("created_at", "updated_at"):
        typer.echo(f"{key:15} {show_time(getattr(stay, key), tz, utc=utc)}")
    if fires:
        typer.echo("")
        rows = [
            (
                names.get(f.trigger_id, f.trigger_id),
                show_time(f.decided_at if f.trigger_id in events else f.scheduled_for, tz, utc=utc),
                f.outcome,
                f.outbox_id,
            )
            for f in fires
        ]
        typer.echo(common.table(("trigger", "scheduled for", "outcome", "outbox"), rows, wide=wide))


def read_stay_csv(
    path: Path, default_hotel: str | None
) -> tuple[list[tuple[int, StayInput]], list[str]]:
    """(line number, stay) for good rows and "line N: problem" for bad ones. Raises UserError
    for an unreadable file or a bad header."""
    from hotelbot.domain.stay_input import StayInputError, check_columns, parse_stay_row

    text = _read_csv_text(path)
    good: list[tuple[int, StayInput]] = []
    bad: list[str] = []
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None:
            raise UserError(f"{path}: empty file (a header row is required)")
        problems = check_columns(header)
        if problems:
            raise UserError(f"{path}: line 1: " + "; ".join(problems))
        names = [h.strip().lower() for h in header]
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(names):
                bad.append(f"line {line}: {len(row)} fields, the header has {len(names)}")
                continue
            unprintable = [n for n, cell in zip(names, row, strict=True) if _CONTROL.search(cell)]
            if unprintable:
                bad.append(f"line {line}: {', '.join(unprintable)}: control characters")
                continue
            try:
                stay = parse_stay_row(dict(zip(names, row, strict=True)))
            except StayInputError as exc:
                bad.append(f"line {line}: {exc}")
                continue
            if stay.hotel is None:
                if default_hotel is None:
                    bad.append(f"line {line}: no hotel column value and no --hotel given")
                    continue
                stay = replace(stay, hotel=default_hotel)
            good.append((line, stay))
    except csv.Error as exc:
        # e.g. "field larger than field limit (131072)": the reader cannot go on.
        raise UserError(f"{path}: line {reader.line_num}: not valid CSV ({exc})") from None
    return good, bad


# Tab, CR and LF are fine inside a quoted CSV field; other controls (NUL: PostgreSQL refuses
# it) are never part of a name, room or reference.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_MAX_CSV_BYTES = 50 * 1024 * 1024


def _read_csv_text(path: Path) -> str:
    """The file as text (UTF-8, a BOM allowed). Raises UserError naming the line of the first
    byte that is not UTF-8, or when the file cannot be read or is implausibly large."""
    try:
        with path.open("rb") as handle:
            data = handle.read(_MAX_CSV_BYTES + 1)
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror}") from None
    if len(data) > _MAX_CSV_BYTES:
        raise UserError(f"{path}: larger than {_MAX_CSV_BYTES // 2**20} MiB; split it")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise UserError(
            f"{path}: line {line}: not UTF-8 (byte 0x{data[exc.start]:02x}); save the file as "
            "UTF-8 (e.g. `iconv -f cp1252 -t utf-8 in.csv > out.csv`)"
        ) from None


@dataclass
class _Imported:
    line: int
    stay: StayInput
    change: StayChange
    messages: list[str]
    events: list[str]


class _DryRun(Exception):
    """Raised inside the import transaction to roll it back after a dry run."""

    def __init__(self, result: tuple[list[_Imported], list[str]]) -> None:
        self.result = result


@app.command("import", help=_IMPORT_HELP)
def import_(
    file: Annotated[Path, typer.Argument(help="CSV file.", readable=False)],
    hotel: Annotated[str | None, typer.Option(help="Hotel slug for rows without one.")] = None,
    skip_bad: Annotated[
        bool, typer.Option(help="Import the good rows even if some are bad.")
    ] = False,
    replace: Annotated[
        bool,
        typer.Option(
            "--replace",
            help="A stay the file matches becomes exactly its row: empty and missing cells "
            "go back to their defaults (never un-cancels).",
        ),
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Show the fields and scheduled messages that would change; change nothing.",
        ),
    ] = False,
) -> None:
    from hotelbot.cli.schedule_view import changed_messages, upcoming
    from hotelbot.storage.hotel_policy import hotel_policy
    from hotelbot.storage.hotels import list_hotels
    from hotelbot.storage.stays import apply_stay_unless_conflict, find_existing, get_stay
    from hotelbot.storage.triggers import list_triggers
    from hotelbot.storage.types import utcnow

    good, bad = read_stay_csv(file, hotel)

    async def go(db: Database) -> tuple[list[_Imported], list[str]]:
        async with db.read() as conn:
            hotels = {h.slug: h for h in await list_hotels(conn)}
        for line, stay in good:
            if stay.hotel not in hotels:
                bad.append(f"line {line}: no hotel with slug {stay.hotel!r}")
        bad.sort(key=lambda text: int(text.split(":")[0].split()[1]))
        for problem in bad:
            typer.echo(problem, err=True)
        if bad and not skip_bad:
            raise UserError(f"{len(bad)} bad row(s): nothing imported (fix them or use --skip-bad)")
        policies = {slug: hotel_policy(record) for slug, record in hotels.items()}
        done: list[_Imported] = []
        conflicts: list[str] = []
        now = utcnow()
        try:
            async with db.write() as conn:
                for line, stay in good:
                    if stay.hotel not in hotels:
                        continue
                    policy = policies[stay.hotel or ""]
                    triggers = await list_triggers(conn, hotel_id=policy.id, enabled_only=True)
                    before = upcoming(
                        triggers, policy, await find_existing(conn, policy.id, stay), now
                    )
                    change = await apply_stay_unless_conflict(
                        conn, policy.id, stay, replace=replace
                    )
                    if change is None:
                        conflicts.append(
                            f"line {line}: same phone and check-in as another stay with a "
                            "different external_ref"
                        )
                        continue
                    after_record = await get_stay(conn, change.stay_id or 0)
                    after = upcoming(triggers, policy, after_record, now)
                    messages = changed_messages(before, after)
                    moved = _status_change(change)
                    events: list[str] = []
                    if moved is not None and change.stay_id is not None:
                        events = await status_event_lines(conn, policy.id, change.stay_id, *moved)
                    done.append(_Imported(line, stay, change, messages, events))
                for problem in conflicts:
                    typer.echo(problem, err=True)
                if conflicts and not skip_bad:
                    raise UserError(f"{len(conflicts)} conflicting row(s): nothing imported")
                if dry_run:
                    raise _DryRun((done, conflicts))
        except _DryRun as rolled_back:
            return rolled_back.result
        return done, conflicts

    done, conflicts = common.with_db(go)
    would = "would be " if dry_run else ""
    for item in done:
        if item.change.outcome == "unchanged" and not item.change.kept_cancelled:
            continue
        who = f"{for_people(item.stay.guest_name, max_chars=40)} ({item.stay.chat_id})"
        where = "a new stay" if item.change.outcome == "added" else f"stay {item.change.stay_id}"
        verb = f"{would}{item.change.outcome}"
        typer.echo(f"line {item.line}: {where} for {who}: {verb}" + _details(item.change))
        for message in item.messages:
            typer.echo(f"  next message {message}")
        for event in item.events:
            typer.echo(event)
    counts = {"added": 0, "updated": 0, "unchanged": 0}
    for item in done:
        counts[item.change.outcome] += 1
    summary = ", ".join(f"{k}: {v}" for k, v in counts.items())
    summary += f", skipped: {len(bad) + len(conflicts)}"
    kept = sum(1 for item in done if item.change.kept_cancelled)
    if kept:
        summary += f", kept cancelled: {kept}"
    typer.echo(f"dry run, nothing was changed; {summary}" if dry_run else summary)

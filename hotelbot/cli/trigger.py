"""`hotelbot trigger ...`: automated guest messages (when + what), per hotel.

The running daemon re-reads triggers on every scheduler tick (about every 20 s): changes
apply without a restart, to fires not yet decided.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from hotelbot.cli import common
from hotelbot.errors import UserError

if TYPE_CHECKING:
    from hotelbot.domain.templates import Template
    from hotelbot.domain.triggers import TriggerSpec
    from hotelbot.storage.db import Database
    from hotelbot.storage.hotels import HotelRecord
    from hotelbot.storage.triggers import TriggerRecord

_WHEN_HELP = (
    "When to send: '1d before check-in at 10:00', '2h after check-in', 'at check-out', "
    "'daily at 09:00', 'mon,wed,fri at 18:00', 'on stay created', 'on first message', "
    "'on keyword wifi, password'; optional suffix 'grace 30m' (catch-up window, default 15m)."
)
_TEXT_HELP = (
    "Message text, optionally prefixed by a language: 'en=Hello {first_name}'. Repeat for "
    "more languages. Variables: {guest_name} {first_name} {hotel_name} {room} {check_in} "
    "{check_out} {check_in_time} {check_out_time} {nights}."
)

app = typer.Typer(help="Automated guest messages (triggers).", no_args_is_help=True)

Slug = Annotated[str, typer.Argument(help="The hotel's slug.")]
Name = Annotated[str, typer.Argument(help="Trigger name, unique per hotel (e.g. welcome).")]
_LANG_PREFIX = re.compile(r"^([a-z]{2}(?:-[a-z0-9]{2,8})?)=(.*)$", re.DOTALL)


def parse_texts(texts: list[str], default_language: str, fallback: str | None) -> Template:
    """Build and validate a Template from "lang=text" options. Raises UserError listing every
    problem (unknown variables included)."""
    from hotelbot.domain.templates import Template, TemplateError, validate

    by_language: dict[str, str] = {}
    for raw in texts:
        match = _LANG_PREFIX.match(raw)
        language, body = (match.group(1), match.group(2)) if match else (default_language, raw)
        if language in by_language:
            raise UserError(f"two texts for language {language!r}")
        by_language[language] = body
    if not by_language:
        raise UserError("give at least one --text")
    try:
        template = Template(by_language, fallback or next(iter(by_language)))
        validate(template)
    except TemplateError as exc:
        raise UserError("template: " + "; ".join(exc.problems)) from None
    return template


def parse_when(when: str, grace: str | None) -> TriggerSpec:
    from hotelbot.domain.triggers import (
        DEFAULT_GRACE_S,
        TriggerSpecError,
        parse_duration_s,
        parse_trigger,
    )

    try:
        grace_s = DEFAULT_GRACE_S if grace is None else parse_duration_s(grace)
        return parse_trigger(when, grace_s=grace_s)
    except TriggerSpecError as exc:
        raise UserError(f"--when: {exc}") from None


async def _hotel(db: Database, slug: str) -> HotelRecord:
    from hotelbot.storage.hotels import get_hotel

    async with db.read() as conn:
        record = await get_hotel(conn, slug)
    if record is None:
        raise UserError(f"no hotel with slug {slug!r} (see `hotelbot hotel list`)")
    return record


async def _trigger(db: Database, slug: str, name: str) -> tuple[HotelRecord, TriggerRecord]:
    from hotelbot.storage.triggers import get_trigger

    hotel = await _hotel(db, slug)
    async with db.read() as conn:
        trigger = await get_trigger(conn, hotel.id, name)
    if trigger is None:
        raise UserError(f"hotel {slug!r} has no trigger {name!r} (see `hotelbot trigger list`)")
    return hotel, trigger


@app.command("add")
def add(
    slug: Slug,
    name: Name,
    when: Annotated[str, typer.Option(help=_WHEN_HELP)],
    text: Annotated[list[str], typer.Option(help=_TEXT_HELP)],
    fallback: Annotated[
        str | None, typer.Option(help="Language used when the guest's has no text.")
    ] = None,
    grace: Annotated[str | None, typer.Option(help="Catch-up window, e.g. 30m.")] = None,
    disabled: Annotated[bool, typer.Option(help="Add it switched off.")] = False,
) -> None:
    """Add a trigger. The spec and template are checked now (unknown variable = error)."""
    from hotelbot.storage.triggers import add_trigger, get_trigger

    spec = parse_when(when, grace)

    async def go(db: Database) -> int:
        hotel = await _hotel(db, slug)
        template = parse_texts(text, hotel.default_language, fallback)
        async with db.write() as conn:
            if await get_trigger(conn, hotel.id, name) is not None:
                raise UserError(f"trigger {name!r} exists (use `hotelbot trigger edit`)")
            return await add_trigger(
                conn, hotel_id=hotel.id, name=name, spec=spec, template=template,
                enabled=not disabled,
            )  # fmt: skip

    trigger_id = common.with_db(go)
    typer.echo(f"trigger {trigger_id} ({name}): added")


@app.command("edit")
def edit(
    slug: Slug,
    name: Name,
    when: Annotated[str | None, typer.Option(help=_WHEN_HELP)] = None,
    text: Annotated[
        list[str] | None, typer.Option(help=_TEXT_HELP + " Replaces all texts.")
    ] = None,
    fallback: Annotated[str | None, typer.Option(help="Fallback language.")] = None,
    grace: Annotated[str | None, typer.Option(help="Catch-up window, e.g. 30m.")] = None,
) -> None:
    """Change a trigger's spec and/or texts (bumps its version)."""
    from hotelbot.storage.triggers import edit_trigger

    async def go(db: Database) -> int:
        hotel, trigger = await _trigger(db, slug, name)
        spec = None
        if when is not None or grace is not None:
            from hotelbot.domain.triggers import format_trigger

            base = (
                when if when is not None else format_trigger(trigger.spec).rsplit(" grace ", 1)[0]
            )
            spec = parse_when(base, grace if grace is not None else f"{trigger.grace_s}s")
        template = None
        if text:
            template = parse_texts(text, hotel.default_language, fallback)
        elif fallback is not None:
            template = parse_texts(
                [f"{k}={v}" for k, v in trigger.template.texts.items()], hotel.default_language,
                fallback,
            )  # fmt: skip
        if spec is None and template is None:
            raise UserError("nothing to change: give --when, --text, --fallback or --grace")
        async with db.write() as conn:
            await edit_trigger(conn, trigger.id, spec=spec, template=template)
        return trigger.version + 1

    version = common.with_db(go)
    typer.echo(f"{name}: updated (version {version})")


def _set_enabled(slug: str, name: str, enabled: bool) -> None:
    from hotelbot.storage.triggers import edit_trigger

    async def go(db: Database) -> None:
        _, trigger = await _trigger(db, slug, name)
        async with db.write() as conn:
            await edit_trigger(conn, trigger.id, enabled=enabled)

    common.with_db(go)
    typer.echo(f"{name}: {'enabled' if enabled else 'disabled'}")


@app.command("enable")
def enable(slug: Slug, name: Name) -> None:
    """Switch a trigger on (fires from now on; missed ones older than its grace are not sent)."""
    _set_enabled(slug, name, True)


@app.command("disable")
def disable(slug: Slug, name: Name) -> None:
    """Switch a trigger off (messages already queued in the outbox are not recalled)."""
    _set_enabled(slug, name, False)


@app.command("remove")
def remove(slug: Slug, name: Name) -> None:
    """Delete a trigger and its fire log."""
    from hotelbot.storage.triggers import remove_trigger

    async def go(db: Database) -> None:
        _, trigger = await _trigger(db, slug, name)
        async with db.write() as conn:
            await remove_trigger(conn, trigger.id)

    common.with_db(go)
    typer.echo(f"{name}: removed")


@app.command("list")
def list_(
    hotel: Annotated[str | None, typer.Option(help="Only this hotel (slug).")] = None,
) -> None:
    """List triggers."""
    from hotelbot.domain.triggers import format_trigger
    from hotelbot.storage.hotels import list_hotels
    from hotelbot.storage.triggers import list_triggers

    async def go(db: Database) -> tuple[list[TriggerRecord], dict[int, str]]:
        hotel_id = (await _hotel(db, hotel)).id if hotel else None
        async with db.read() as conn:
            slugs = {h.id: h.slug for h in await list_hotels(conn)}
            return await list_triggers(conn, hotel_id=hotel_id), slugs

    triggers, slugs = common.with_db(go)
    if not triggers:
        typer.echo("no triggers yet: add one with `hotelbot trigger add`")
        return
    rows = [
        (t.id, slugs.get(t.hotel_id), t.name, format_trigger(t.spec),
         ",".join(sorted(t.template.texts)), "yes" if t.enabled else "no", t.version)
        for t in triggers
    ]  # fmt: skip
    typer.echo(common.table(("id", "hotel", "name", "when", "languages", "on", "ver"), rows))


@app.command("show")
def show(slug: Slug, name: Name) -> None:
    """Show a trigger: spec, texts, and its recent decisions."""
    from hotelbot.domain.triggers import format_trigger
    from hotelbot.storage.triggers import list_fires

    async def go(db: Database) -> tuple[TriggerRecord, list[Any]]:
        _, trigger = await _trigger(db, slug, name)
        async with db.read() as conn:
            return trigger, await list_fires(conn, trigger_id=trigger.id)

    trigger, fires = common.with_db(go)
    typer.echo(f"id        {trigger.id}")
    typer.echo(f"when      {format_trigger(trigger.spec)}")
    typer.echo(f"enabled   {'yes' if trigger.enabled else 'no'} (version {trigger.version})")
    typer.echo(f"fallback  {trigger.template.fallback_language}")
    for language, body in sorted(trigger.template.texts.items()):
        typer.echo(f"text[{language}]  {body}")
    if fires:
        typer.echo("")
        rows = [
            (f.stay_id, f.scheduled_for.isoformat(), f.outcome, f.outbox_id) for f in fires[-20:]
        ]
        typer.echo(common.table(("stay", "scheduled_for (UTC)", "outcome", "outbox"), rows))


@app.command("preview")
def preview(
    slug: Slug,
    name: Name,
    stay: Annotated[int, typer.Option(help="Render for this stay id.")],
    count: Annotated[int, typer.Option(help="How many upcoming fire times to show.")] = 5,
    from_: Annotated[
        str | None, typer.Option("--from", help="Start instant (ISO; default now).")
    ] = None,
) -> None:
    """Render the message for a stay and show its next fire times in the hotel's local time."""
    for line in common.with_db(lambda db: preview_lines(db, slug, name, stay, count, from_)):
        typer.echo(line)


async def preview_lines(
    db: Database, slug: str, name: str, stay_id: int, count: int, start: str | None
) -> list[str]:
    """The preview text (separate from the command for tests)."""
    from zoneinfo import ZoneInfo

    from hotelbot.daemon.scheduler import HotelPolicy
    from hotelbot.domain.fire_times import next_fire_after
    from hotelbot.domain.templates import MissingValueError, render, stay_values
    from hotelbot.domain.triggers import EventTrigger, format_trigger
    from hotelbot.storage.stays import get_stay

    hotel, trigger = await _trigger(db, slug, name)
    async with db.read() as conn:
        record = await get_stay(conn, stay_id)
    if record is None or record.hotel_id != hotel.id:
        raise UserError(f"hotel {slug!r} has no stay {stay_id}")
    policy = HotelPolicy.of(hotel)
    facts = record.facts(policy.tz, default_language=policy.default_language)
    values = stay_values(
        facts, hotel_name=hotel.name, default_check_in=policy.default_check_in,
        default_check_out=policy.default_check_out,
    )  # fmt: skip
    language = trigger.template.pick_language(facts.language)
    lines = [f"{name}: {format_trigger(trigger.spec)}", f"language: {language}"]
    try:
        lines.append("text: " + render(trigger.template, facts.language, values))
    except MissingValueError as exc:
        lines.append(f"text: NOT SENDABLE for this stay: {exc}")
    if isinstance(trigger.spec, EventTrigger) and trigger.spec.event.value != "stay_created":
        lines.append("fires on guest messages, not at clock times")
        return lines
    at = datetime.now(UTC)
    if start is not None:
        try:
            at = datetime.fromisoformat(start)
        except ValueError:
            raise UserError(f"--from {start!r}: expected an ISO date/time") from None
        at = at if at.tzinfo else at.replace(tzinfo=ZoneInfo(hotel.timezone))
    lines.append(f"next fire times ({hotel.timezone}):")
    shown = 0
    while shown < count:
        nxt = next_fire_after(
            trigger.spec, facts, at, default_check_in=policy.default_check_in,
            default_check_out=policy.default_check_out,
        )  # fmt: skip
        if nxt is None:
            break
        lines.append("  " + nxt.astimezone(policy.tz).strftime("%Y-%m-%d %H:%M %Z (%a)"))
        at = nxt
        shown += 1
    if shown == 0:
        lines.append("  none (the stay's dates are past)")
    return lines

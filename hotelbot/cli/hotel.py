"""`hotelbot hotel ...`: manage hotels (import a TOML file, add, edit, enable, check ...)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from hotelbot.cli import common
from hotelbot.cli.facts import app as facts_app
from hotelbot.cli.output import JsonOpt, WideOpt
from hotelbot.errors import UserError

if TYPE_CHECKING:
    from hotelbot.storage.db import Database
    from hotelbot.storage.hotels import HotelChange, HotelRecord

app = typer.Typer(help="Manage hotels (one Green API instance each).", no_args_is_help=True)
app.add_typer(facts_app, name="facts")

Slug = Annotated[str, typer.Argument(help="The hotel's slug, e.g. grand-riga.")]


async def _require(db: Database, slug: str) -> HotelRecord:
    from hotelbot.storage.hotels import get_hotel

    async with db.read() as conn:
        record = await get_hotel(conn, slug)
    if record is None:
        raise UserError(f"no hotel with slug {slug!r} (see `hotelbot hotel list`)")
    return record


@app.command("import")
def import_(
    # readable=False: an unreadable file is reported by the reader (one line, exit 78).
    file: Annotated[
        Path, typer.Argument(help="Hotels TOML file ([[hotels]] tables).", readable=False)
    ],
    replace: Annotated[
        bool,
        typer.Option(
            "--replace",
            help="Keys a hotel's table leaves out go back to their defaults (without it they "
            "keep their stored values, e.g. edits made with `hotel edit`).",
        ),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would change; change nothing.")
    ] = False,
) -> None:
    """Add or update hotels from a TOML file (by slug; idempotent).

    Every entry is validated first: if any is bad, nothing is changed. For a hotel that
    exists, only the keys its table states change (so re-importing never undoes `hotel
    edit`), or with --replace every key (defaults for the missing ones). `enabled` changes
    only when stated. Hotels that are not in the file are left alone. Each changed key is
    listed (tokens are never shown).
    """
    from hotelbot.hotel_spec import load_hotels_file
    from hotelbot.storage.hotels import apply_hotel, get_hotel, plan_hotel

    specs = load_hotels_file(file)

    async def go(db: Database) -> list[HotelChange]:
        if dry_run:
            async with db.read() as conn:
                return [
                    plan_hotel(await get_hotel(conn, spec.slug), spec, replace=replace)
                    for spec in specs
                ]
        async with db.write() as conn:
            return [await apply_hotel(conn, spec, replace=replace) for spec in specs]

    for change in common.with_db(go):
        typer.echo(_change_line(change, dry_run=dry_run))
    if dry_run:
        typer.echo("dry run: nothing was changed")
    for spec in specs:
        if spec.api_token_env and not _env_set(spec.api_token_env):
            typer.echo(
                f"warning: {spec.slug}: {spec.api_token_env} is not set in this shell; "
                "the daemon needs it in its environment",
                err=True,
            )


def _change_line(change: HotelChange, *, dry_run: bool) -> str:
    if change.outcome == "unchanged":
        return f"{change.slug}: unchanged"
    verb = {"added": "add", "updated": "update"}[change.outcome] if dry_run else change.outcome
    prefix = f"{change.slug}: {'would ' if dry_run else ''}{verb}"
    return prefix if change.outcome == "added" else f"{prefix} ({change.describe()})"


def _env_set(name: str) -> bool:
    import os

    return bool(os.environ.get(name))


@app.command("add")
def add(
    slug: Annotated[
        str | None,
        typer.Argument(help="Stable id used by the CLI, e.g. grand-riga.", show_default=False),
    ] = None,
    name: Annotated[str, typer.Option(help="Display name.")] = "",
    instance_id: Annotated[str, typer.Option(help="Green API idInstance.")] = "",
    slug_old: Annotated[str | None, common.deprecated_option("--slug")] = None,
    api_token_env: Annotated[
        str | None, typer.Option(help="Environment variable holding the API token.")
    ] = None,
    api_token_stdin: Annotated[
        bool, typer.Option(help="Read the API token from standard input (kept out of `ps`).")
    ] = False,
    api_url: Annotated[
        str, typer.Option(help="Per-instance API host.")
    ] = "https://api.green-api.com",
    timezone: Annotated[str, typer.Option(help="IANA time zone, e.g. Europe/Riga.")] = "UTC",
    staff_chat_id: Annotated[str | None, typer.Option(help="Chat id for staff alerts.")] = None,
    default_language: Annotated[str, typer.Option(help="Guest language default.")] = "en",
) -> None:
    """Add one hotel: `hotel add SLUG --name ... --instance-id ...` (fails if the slug
    exists; use `hotel edit` to change one)."""
    from hotelbot.hotel_spec import validate_hotels
    from hotelbot.storage.hotels import get_hotel, upsert_hotel

    slug = common.renamed("--slug", slug_old, "SLUG", slug)
    missing = [
        o for o, v in (("SLUG", slug), ("--name", name), ("--instance-id", instance_id)) if not v
    ]
    if missing:
        raise UserError(
            f"hotel add: {', '.join(missing)} required (see `hotelbot hotel add --help`)"
        )
    assert slug is not None
    entry: dict[str, Any] = {
        "slug": slug,
        "name": name,
        "instance_id": instance_id,
        "api_url": api_url,
        "timezone": timezone,
        "default_language": default_language,
    }
    if staff_chat_id:
        entry["staff_chat_id"] = staff_chat_id
    if api_token_stdin:
        entry["api_token"] = sys.stdin.readline().strip()
    if api_token_env:
        entry["api_token_env"] = api_token_env
    (spec,) = validate_hotels([entry], "hotel add")

    async def go(db: Database) -> None:
        async with db.write() as conn:
            if await get_hotel(conn, slug) is not None:
                raise UserError(f"hotel {slug!r} exists already (use `hotelbot hotel edit`)")
            await upsert_hotel(conn, spec)

    common.with_db(go)
    typer.echo(f"{slug}: added")


@app.command("list")
def list_(wide: WideOpt = False, as_json: JsonOpt = False) -> None:
    """List hotels."""
    from hotelbot.storage.hotels import list_hotels

    async def go(db: Database) -> list[HotelRecord]:
        async with db.read() as conn:
            return await list_hotels(conn)

    hotels = common.with_db(go)
    rows = [
        [
            h.slug,
            h.name,
            h.instance_id,
            "yes" if h.enabled else "no",
            h.timezone,
            h.instance_state or "?",
        ]
        for h in hotels
    ]
    headers = ["SLUG", "NAME", "INSTANCE", "ENABLED", "TIMEZONE", "STATE"]
    empty = "no hotels yet: add some with `hotelbot hotel import FILE`"
    common.emit_table(headers, rows, as_json=as_json, empty=empty, wide=wide, shrink=[1])


@app.command("show")
def show(
    slug: Slug,
    show_token: Annotated[bool, typer.Option(help="Also print the inline API token.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Show one hotel's settings (the API token is hidden unless --show-token)."""

    record = common.with_db(lambda db: _require(db, slug))
    if as_json:
        values = record.spec_dict()
        if show_token and record.api_token:
            values["api_token"] = record.api_token
        common.print_json({**values, "instance_state": record.instance_state})
        return
    for key, value in record.spec_dict().items():
        if key == "api_token" and show_token and record.api_token:
            value = record.api_token
        typer.echo(f"{key:22} {'' if value is None else value}")
    typer.echo(f"{'instance_state':22} {record.instance_state or 'unknown'}")


_EDITABLE = (
    "name", "instance_id", "api_url", "api_token_env", "timezone", "staff_chat_id",
    "default_language", "quiet_hours", "max_automated_per_day", "alert_cooldown_min",
    "staff_pause_h", "groups_as_guests", "check_in_time", "check_out_time",
    "signal_call", "signal_voice_note", "signal_photo", "signal_video", "signal_document",
    "signal_location", "signal_sticker", "staff_language", "escalation_chat_id",
    "escalate_after_min", "staff_email", "report_schedule", "manager_chat_id",
)  # fmt: skip


@app.command("edit")
def edit(
    slug: Slug,
    set_: Annotated[
        list[str],
        typer.Option("--set", help=f"KEY=VALUE to change; keys: {', '.join(_EDITABLE)}."),
    ],
    api_token_stdin: Annotated[
        bool, typer.Option(help="Replace the inline API token with one read from stdin.")
    ] = False,
) -> None:
    """Change settings of a hotel, e.g. `hotel edit grand-riga --set timezone=Europe/Tallinn`."""
    from hotelbot.hotel_spec import validate_hotels
    from hotelbot.storage.hotels import upsert_hotel

    changes: dict[str, Any] = {}
    for item in set_:
        key, sep, value = item.partition("=")
        if not sep or key not in _EDITABLE:
            raise UserError(
                f"--set {item!r}: expected KEY=VALUE with KEY one of {', '.join(_EDITABLE)}"
            )
        changes[key] = value
        if key in ("staff_language", "escalation_chat_id") and not value.strip():
            changes[key] = None  # "--set escalation_chat_id=" clears it
        if key in ("groups_as_guests",):
            changes[key] = value.lower() in ("1", "true", "yes", "on")

    async def go(db: Database) -> str:
        record = await _require(db, slug)
        entry = {k: v for k, v in record.spec_dict().items() if k != "api_token" and v is not None}
        entry["quiet_hours"] = record.quiet_hours or "off"
        if record.api_token:
            entry["api_token"] = record.api_token
        entry.update(changes)
        if changes.get("api_token_env"):
            entry.pop("api_token", None)
        if api_token_stdin:
            entry["api_token"] = sys.stdin.readline().strip()
            entry.pop("api_token_env", None)
        (spec,) = validate_hotels([entry], "hotel edit")
        async with db.write() as conn:
            return await upsert_hotel(conn, spec)

    typer.echo(f"{slug}: {common.with_db(go)}")


def _set_enabled(slug: str, enabled: bool) -> None:
    from hotelbot.storage.hotels import set_enabled

    async def go(db: Database) -> bool:
        async with db.write() as conn:
            return await set_enabled(conn, slug, enabled)

    if not common.with_db(go):
        raise UserError(f"no hotel with slug {slug!r}")
    typer.echo(
        f"{slug}: {'enabled' if enabled else 'disabled'} (the daemon applies it within a minute)"
    )


@app.command("enable")
def enable(slug: Slug) -> None:
    """Start polling this hotel."""
    _set_enabled(slug, True)


@app.command("disable")
def disable(slug: Slug) -> None:
    """Stop polling this hotel (its data is kept)."""
    _set_enabled(slug, False)


@app.command("remove")
def remove(
    slug: Slug,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete a hotel and everything stored for it."""
    from hotelbot.storage.hotels import remove_hotel

    common.confirm(
        f"Delete hotel {slug} and all its messages, stays and triggers?",
        yes=yes,
        refusal=f"removing hotel {slug} deletes everything stored for it: add --yes to confirm "
        "(or `hotelbot hotel disable` to stop polling it)",
    )

    async def go(db: Database) -> bool:
        async with db.write() as conn:
            return await remove_hotel(conn, slug)

    if not common.with_db(go):
        raise UserError(f"no hotel with slug {slug!r}")
    typer.echo(f"{slug}: removed")


@app.command("check")
def check(
    slug: Slug,
    fix: Annotated[
        bool, typer.Option(help="Apply the settings hotelbot needs (restarts the instance).")
    ] = False,
) -> None:
    """Ask Green API for the instance state and settings; say whether notifications can reach
    the HTTP queue (webhookUrl empty, incomingWebhook on). Exit 0 only when all is well."""
    from hotelbot.cli.hotel_check import run_check

    ok = common.with_db(lambda db: run_check(db, slug, fix=fix, echo=typer.echo))
    if not ok:
        raise typer.Exit(1)

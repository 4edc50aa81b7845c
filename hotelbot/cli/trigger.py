"""`hotelbot trigger ...`: automated guest messages (when + what), per hotel.

The running daemon re-reads triggers on every scheduler tick (about every 20 s): changes
apply without a restart, to fires not yet decided.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from hotelbot.cli import common
from hotelbot.cli.output import JsonOpt, UtcOpt, WideOpt, show_time
from hotelbot.domain.display import for_people
from hotelbot.errors import UserError
from hotelbot.files import running_as

if TYPE_CHECKING:
    from hotelbot.daemon.scheduler import DueNow
    from hotelbot.domain.attachments import FileAttachment
    from hotelbot.domain.conditions import Conditions
    from hotelbot.domain.templates import Template
    from hotelbot.domain.triggers import TriggerSpec
    from hotelbot.storage.db import Connection, Database
    from hotelbot.storage.hotels import HotelRecord
    from hotelbot.storage.triggers import TriggerRecord

_WHEN_HELP = (
    "When to send: '1d before check-in at 10:00', '2h after check-in', 'at check-out', "
    "'daily at 09:00', 'mon,wed,fri at 18:00', 'on stay created', 'on first message', "
    "'on keyword wifi, password', 'on check-in', 'on check-out', 'on cancellation' (status "
    "changes); optional suffix 'grace 30m' (catch-up window, default 15m)."
)
_TEXT_HELP = (
    "Message text, optionally prefixed by a language: 'en=Hello {first_name}'. Repeat for "
    "more languages. Variables: {guest_name} {first_name} {hotel_name} {room} {check_in} "
    "{check_out} {check_in_time} {check_out_time} {nights}."
)

_FILE_URL_HELP = (
    "A file sent after the text (menu, map, check-in form): an https:// URL Green API can "
    "fetch. Needs --file-name."
)
_FILE_NAME_HELP = (
    "The file name the guest sees; its extension decides how WhatsApp shows it (menu.pdf, map.jpg)."
)
_IF_HELP = (
    "Only for stays that meet this (repeat: all must hold): 'nights >= 3', 'language = ru', "
    "'language in en,de', 'room tag = suite', 'source = booking.com', 'guest = first', "
    "'guest = returning'."
)
_CAPTION_HELP = (
    "Caption under the file, optionally per language like --text: 'ru=Меню ресторана'. "
    "Repeat for more languages; same variables as --text."
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


def parse_attachment(
    file_url: str | None,
    file_name: str | None,
    captions: list[str] | None,
    default_language: str,
) -> FileAttachment | None:
    """Build and validate a trigger's file from the options (None when no file is given).
    Raises UserError with one line saying what to fix."""
    from hotelbot.domain.attachments import AttachmentError, FileAttachment

    if file_url is None and file_name is None:
        if captions:
            raise UserError("--caption needs a file: give --file-url and --file-name too")
        return None
    if file_url is None or file_name is None:
        raise UserError("give --file-url and --file-name together (e.g. --file-name menu.pdf)")
    by_language: dict[str, str] = {}
    for raw in captions or []:
        match = _LANG_PREFIX.match(raw)
        language, body = (match.group(1), match.group(2)) if match else (default_language, raw)
        if language in by_language:
            raise UserError(f"--caption: two captions for language {language!r}")
        by_language[language] = body
    try:
        return FileAttachment(file_url.strip(), file_name.strip(), by_language)
    except AttachmentError as exc:
        raise UserError(f"file: {exc}") from None


def parse_if(conditions: list[str] | None) -> Conditions | None:
    """The --if options as a typed value (None when none given). Raises UserError."""
    from hotelbot.domain.conditions import ConditionError, parse_conditions

    if not conditions:
        return None
    try:
        return parse_conditions(conditions)
    except ConditionError as exc:
        raise UserError(f"--if: {exc}") from None


def attachment_lines(attachment: FileAttachment | None) -> list[str]:
    """How `trigger show` and `preview` describe a trigger's file."""
    if attachment is None:
        return []
    lines = [f"file      {attachment.file_name} <{attachment.url}>"]
    for language, caption in sorted(attachment.captions.items()):
        lines.append(f"caption[{language}]  {caption}")
    return lines


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


async def _hotel_in(conn: Connection, slug: str) -> HotelRecord:
    from hotelbot.storage.hotels import get_hotel

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


YesOpt = Annotated[
    bool, typer.Option("--yes", "-y", help="Do not ask; for scripts (the messages are sent).")
]
NoCatchUpOpt = Annotated[
    bool,
    typer.Option(
        "--no-catch-up",
        help="Do not send the messages that are due right now (recorded as skipped); start "
        "with the next scheduled time.",
    ),
]
DryRunOpt = Annotated[
    bool, typer.Option("--dry-run", help="Show what would be sent now; change nothing.")
]


class _Rollback(Exception):
    def __init__(self, result: tuple[TriggerRecord, list[DueNow]]) -> None:
        self.result = result


Change = Callable[["Connection", datetime], Awaitable["TriggerRecord"]]


async def _activate(
    db: Database,
    hotel: HotelRecord,
    change: Change,
    *,
    now: datetime,
    catch_up: bool,
    commit: bool,
) -> tuple[TriggerRecord, list[DueNow]]:
    """Apply `change` (add, enable, re-time a trigger) and decide what it sends at once, in
    one write transaction; committed, or rolled back for a preview. The same `now` for the
    preview and the commit gives the same decisions (see decide_trigger_now)."""
    from hotelbot.daemon.scheduler import decide_trigger_now
    from hotelbot.storage.hotel_policy import hotel_policy

    try:
        async with db.write() as conn:
            trigger = await change(conn, now)
            due = []
            if trigger.enabled:
                due = await decide_trigger_now(
                    conn,
                    hotel_policy(hotel),
                    trigger,
                    now=now,
                    catch_up=catch_up,
                    decided_by=f"cli:{running_as()}",
                )
            if not commit:
                raise _Rollback((trigger, due))
            return trigger, due
    except _Rollback as preview:
        return preview.result


def _due_lines(due: list[DueNow], hotel: HotelRecord) -> list[str]:
    from hotelbot.cli.schedule_view import local
    from hotelbot.storage.hotel_policy import hotel_policy

    policy = hotel_policy(hotel)
    lines = []
    for item in due:
        who = f"{for_people(item.stay.guest_name, max_chars=40)} ({item.stay.chat_id})"
        when = local(item.scheduled_for, policy)
        decision = item.decision
        if decision.body is None:
            lines.append(f"  {who}, due {when}: not sent ({decision.outcome})")
            continue
        if decision.outcome.deferred:
            how = f"held until {local(decision.available_at, policy)} ({decision.outcome.reason})"
        else:
            how = "sent now"
        lines.append(f"  {who}, due {when}: {how}: {for_people(decision.body, max_chars=70)}")
    return lines


def _activate_with_confirmation(
    slug: str, what: str, change: Change, *, yes: bool, catch_up: bool, dry_run: bool
) -> tuple[TriggerRecord, list[DueNow], HotelRecord]:
    """Show what activating a trigger sends at once; ask before sending anything (unless
    --yes); then commit. Raises UserError without a terminal to ask on."""
    from hotelbot.storage.types import utcnow

    now = utcnow()

    async def preview(db: Database) -> tuple[HotelRecord, TriggerRecord, list[DueNow]]:
        hotel = await _hotel(db, slug)
        trigger, due = await _activate(db, hotel, change, now=now, catch_up=catch_up, commit=False)
        return hotel, trigger, due

    hotel, trigger, due = common.with_db(preview)
    queued = [d for d in due if d.decision.queued]
    if due:
        verb = "would queue" if queued else "queues nothing now, but decides"
        typer.echo(f"{what} {verb} {len(queued) if queued else len(due)} fire(s) due now:")
        for line in _due_lines(due, hotel):
            typer.echo(line)
    if dry_run:
        typer.echo("dry run: nothing was changed")
        raise typer.Exit(0)
    if queued:
        common.confirm(
            f"Send these {len(queued)} message(s) now? (no: nothing changes; --no-catch-up "
            "starts it without them)",
            yes=yes,
            refusal=f"{what} would send {len(queued)} message(s) to guests at once: add --yes "
            "to send them, or --no-catch-up to start with the next scheduled time",
        )

    async def apply(db: Database) -> tuple[TriggerRecord, list[DueNow]]:
        return await _activate(db, hotel, change, now=now, catch_up=catch_up, commit=True)

    trigger, due = common.with_db(apply)
    return trigger, due, hotel


def _report(trigger: TriggerRecord, due: list[DueNow], hotel: HotelRecord) -> None:
    from collections import Counter

    counts = Counter(
        "queued now" if d.decision.queued else f"recorded {d.decision.outcome}" for d in due
    )
    if counts:
        typer.echo("  " + ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())))
    typer.echo("  " + _next_line(trigger, hotel))


def _next_line(trigger: TriggerRecord, hotel: HotelRecord) -> str:
    """The next scheduled message of `trigger` over the hotel's current stays."""
    from hotelbot.cli.schedule_view import clock_driven, local, next_message
    from hotelbot.storage.hotel_policy import hotel_policy
    from hotelbot.storage.stays import list_stays
    from hotelbot.storage.types import utcnow

    if not trigger.enabled:
        return "next: none (the trigger is disabled)"
    if not clock_driven(trigger):
        from hotelbot.domain.triggers import EventTrigger

        if isinstance(trigger.spec, EventTrigger) and trigger.spec.event.is_stay_status:
            return "next: when a stay's status changes (stay edit --status, a CSV import)"
        return "next: when a guest writes (it fires on guest messages)"
    policy = hotel_policy(hotel)
    now = utcnow()

    async def go(db: Database) -> list[tuple[datetime, str]]:
        async with db.read() as conn:
            stays = await list_stays(conn, hotel_id=hotel.id, check_out_from=now.date())
        upcoming = []
        for stay in stays:
            message = next_message(trigger, stay, policy, now)
            if message.at is not None:
                upcoming.append((message.at, for_people(stay.guest_name, max_chars=40)))
        return sorted(upcoming)

    upcoming = common.with_db(go)
    if not upcoming:
        return "next: none for the stays stored now"
    at, who = upcoming[0]
    more = f" (and {len(upcoming) - 1} more stay(s))" if len(upcoming) > 1 else ""
    return f"next: {local(at, policy)} to {who}{more}"


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
    file_url: Annotated[str | None, typer.Option(help=_FILE_URL_HELP)] = None,
    file_name: Annotated[str | None, typer.Option(help=_FILE_NAME_HELP)] = None,
    caption: Annotated[list[str] | None, typer.Option(help=_CAPTION_HELP)] = None,
    if_: Annotated[list[str] | None, typer.Option("--if", help=_IF_HELP)] = None,
    yes: YesOpt = False,
    no_catch_up: NoCatchUpOpt = False,
    dry_run: DryRunOpt = False,
) -> None:
    """Add a trigger. The spec and template are checked now (unknown variable = error).

    A new trigger catches up fires due within its grace (a "1d before check-in at 10:00"
    added at 10:05, an "on stay created" for stays created minutes ago): those messages are
    listed and sent only after you confirm (--yes for scripts; --no-catch-up skips them)."""
    from hotelbot.storage.triggers import add_trigger, get_trigger

    spec = parse_when(when, grace)

    async def hotel_of(db: Database) -> HotelRecord:
        return await _hotel(db, slug)

    default_language = common.with_db(hotel_of).default_language
    template = parse_texts(text, default_language, fallback)
    attachment = parse_attachment(file_url, file_name, caption, default_language)
    conditions = parse_if(if_)

    async def change(conn: Connection, now: datetime) -> TriggerRecord:
        hotel = await _hotel_in(conn, slug)
        if await get_trigger(conn, hotel.id, name) is not None:
            raise UserError(f"trigger {name!r} exists (use `hotelbot trigger edit`)")
        await add_trigger(
            conn,
            hotel_id=hotel.id,
            name=name,
            spec=spec,
            template=template,
            enabled=not disabled,
            now=now,
            attachment=attachment,
            conditions=conditions,
        )
        record = await get_trigger(conn, hotel.id, name)
        assert record is not None
        return record

    trigger, due, hotel = _activate_with_confirmation(
        slug, f"Adding {name}", change, yes=yes, catch_up=not no_catch_up, dry_run=dry_run
    )
    typer.echo(f"trigger {trigger.id} ({name}): added" + ("" if trigger.enabled else ", disabled"))
    _report(trigger, due, hotel)


@app.command("add-defaults")
def add_defaults(
    slug: Slug,
    language: Annotated[
        list[str] | None,
        typer.Option(
            "--language",
            help="Only these languages (repeat; default: every language of the set, en and ru).",
        ),
    ] = None,
) -> None:
    """Add the starter set (welcome, mid-stay check, checkout reminder, review request),
    switched off. Shows each text as a guest would read it; adapt with `trigger edit`,
    check with `trigger preview`, then `trigger enable` each one. Running it again adds
    nothing twice and never changes a trigger that exists."""
    for line in common.with_db(lambda db: add_defaults_lines(db, slug, language)):
        typer.echo(line)


async def add_defaults_lines(db: Database, slug: str, languages: list[str] | None) -> list[str]:
    """Add the missing starter triggers to the hotel (disabled) in one write transaction and
    return the report (separate from the command for tests). Idempotent: the unique key
    (hotel, name) makes a second run, or a run racing another, add nothing. Raises UserError
    for an unknown hotel or a language the set has no texts in (then nothing is added)."""
    from datetime import timedelta

    from hotelbot.domain.fire_times import StayFacts, StayStatus
    from hotelbot.domain.starter_set import (
        STARTER_LANGUAGES,
        STARTER_SET,
        StarterSetError,
        starter_template,
    )
    from hotelbot.domain.templates import render, stay_values
    from hotelbot.domain.triggers import format_trigger
    from hotelbot.storage.hotel_policy import hotel_policy
    from hotelbot.storage.triggers import add_trigger_if_absent
    from hotelbot.storage.types import utcnow

    hotel = await _hotel(db, slug)
    policy = hotel_policy(hotel)
    wanted = languages or list(STARTER_LANGUAGES)
    try:
        planned = [
            (
                item,
                parse_when(item.when, None),
                starter_template(item, wanted, policy.default_language),
            )
            for item in STARTER_SET
        ]
        conditions = {item.name: parse_if(list(item.conditions)) for item in STARTER_SET}
    except StarterSetError as exc:
        raise UserError(f"--language: {exc}") from None
    now = utcnow()
    added: dict[str, bool] = {}
    async with db.write() as conn:
        for item, spec, template in planned:
            new_id = await add_trigger_if_absent(
                conn,
                hotel_id=hotel.id,
                name=item.name,
                spec=spec,
                template=template,
                enabled=False,
                now=now,
                conditions=conditions[item.name],
            )
            added[item.name] = new_id is not None
    # A sample guest arriving tomorrow for three nights, to show each text as it reads.
    today = now.astimezone(policy.tz).date()
    sample = StayFacts(
        hotel_tz=policy.tz,
        check_in=today + timedelta(days=1),
        check_out=today + timedelta(days=4),
        status=StayStatus.BOOKED,
        language=policy.default_language,
        guest_name="Anna Example",
        room="101",
        created_at=now,
    )
    lines: list[str] = []
    for item, spec, template in planned:
        if not added[item.name]:
            lines.append(f"{item.name}: exists, left unchanged")
            continue
        only = f" if {' and '.join(item.conditions)}" if item.conditions else ""
        lines.append(f"{item.name}: added, disabled ({item.purpose}): {format_trigger(spec)}{only}")
        for code in sorted(template.texts):
            values = stay_values(
                sample,
                hotel_name=policy.name,
                language=code,
                default_check_in=policy.default_check_in,
                default_check_out=policy.default_check_out,
            )
            lines.append(f"  [{code}] {for_people(render(template, code, values))}")
    if any(added.values()):
        lines += [
            "Nothing is sent until you enable them. For each one:",
            f"  hotelbot trigger preview {slug} NAME --stay ID   # text and times for a real stay",
            f"  hotelbot trigger edit {slug} NAME --text 'en=...' --when '...'   # adapt",
            f"  hotelbot trigger enable {slug} NAME",
        ]
    else:
        lines.append("nothing added: the hotel has every trigger of the starter set")
    return lines


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
    file_url: Annotated[str | None, typer.Option(help=_FILE_URL_HELP)] = None,
    file_name: Annotated[str | None, typer.Option(help=_FILE_NAME_HELP)] = None,
    caption: Annotated[
        list[str] | None, typer.Option(help=_CAPTION_HELP + " Replaces all captions.")
    ] = None,
    no_file: Annotated[
        bool, typer.Option("--no-file", help="Stop sending the trigger's file.")
    ] = False,
    if_: Annotated[
        list[str] | None, typer.Option("--if", help=_IF_HELP + " Replaces all conditions.")
    ] = None,
    no_conditions: Annotated[
        bool, typer.Option("--no-conditions", help="Apply the trigger to every stay.")
    ] = False,
    yes: YesOpt = False,
    no_catch_up: NoCatchUpOpt = False,
    dry_run: DryRunOpt = False,
) -> None:
    """Change a trigger's spec and/or texts (bumps its version). A new --when or --grace can
    make fires due at once: they are listed and sent only after you confirm, as for `add`."""
    from hotelbot.storage.triggers import edit_trigger, get_trigger

    async def current(db: Database) -> tuple[HotelRecord, TriggerRecord]:
        return await _trigger(db, slug, name)

    hotel, trigger = common.with_db(current)
    spec = None
    if when is not None or grace is not None:
        from hotelbot.domain.triggers import format_trigger

        base = when if when is not None else format_trigger(trigger.spec).rsplit(" grace ", 1)[0]
        spec = parse_when(base, grace if grace is not None else f"{trigger.grace_s}s")
    template = None
    if text:
        template = parse_texts(text, hotel.default_language, fallback)
    elif fallback is not None:
        template = parse_texts(
            [f"{k}={v}" for k, v in trigger.template.texts.items()],
            hotel.default_language,
            fallback,
        )
    attachment = None
    if no_file and (file_url or file_name or caption):
        raise UserError("--no-file cannot go with --file-url, --file-name or --caption")
    if file_url or file_name or caption:
        current_file = trigger.attachment
        attachment = parse_attachment(
            file_url or (current_file.url if current_file else None),
            file_name or (current_file.file_name if current_file else None),
            caption
            if caption is not None
            else [f"{k}={v}" for k, v in (current_file.captions if current_file else {}).items()],
            hotel.default_language,
        )
    if no_conditions and if_:
        raise UserError("--no-conditions cannot go with --if")
    conditions = parse_if(if_)
    if no_conditions:
        from hotelbot.domain.conditions import Conditions

        conditions = Conditions()
    if (
        spec is None
        and template is None
        and attachment is None
        and not no_file
        and conditions is None
    ):
        raise UserError(
            "nothing to change: give --when, --text, --fallback, --grace, --file-url, "
            "--file-name, --caption, --no-file, --if or --no-conditions"
        )

    async def change(conn: Connection, now: datetime) -> TriggerRecord:
        await edit_trigger(
            conn,
            trigger.id,
            spec=spec,
            template=template,
            now=now,
            attachment=attachment,
            remove_attachment=no_file,
            conditions=conditions,
        )
        record = await get_trigger(conn, trigger.hotel_id, name)
        assert record is not None
        return record

    if spec is None:  # texts or file only: when it fires does not change

        async def apply(db: Database) -> TriggerRecord:
            async with db.write() as conn:
                from hotelbot.storage.types import utcnow

                return await change(conn, utcnow())

        updated = common.with_db(apply)
        typer.echo(f"{name}: updated (version {updated.version})")
        return
    updated, due, hotel = _activate_with_confirmation(
        slug, f"Changing {name}", change, yes=yes, catch_up=not no_catch_up, dry_run=dry_run
    )
    typer.echo(f"{name}: updated (version {updated.version})")
    _report(updated, due, hotel)


def _set_enabled(
    slug: str, name: str, enabled: bool, *, yes: bool, catch_up: bool, dry_run: bool
) -> None:
    from hotelbot.storage.triggers import edit_trigger, get_trigger

    async def find(db: Database) -> tuple[HotelRecord, TriggerRecord]:
        return await _trigger(db, slug, name)

    _, trigger = common.with_db(find)

    async def change(conn: Connection, now: datetime) -> TriggerRecord:
        await edit_trigger(conn, trigger.id, enabled=enabled, now=now)
        record = await get_trigger(conn, trigger.hotel_id, name)
        assert record is not None
        return record

    if not enabled:

        async def apply(db: Database) -> None:
            from hotelbot.storage.types import utcnow

            async with db.write() as conn:
                await change(conn, utcnow())

        common.with_db(apply)
        typer.echo(f"{name}: disabled (messages already queued that have not left are withdrawn)")
        return
    updated, due, hotel = _activate_with_confirmation(
        slug, f"Enabling {name}", change, yes=yes, catch_up=catch_up, dry_run=dry_run
    )
    typer.echo(f"{name}: enabled")
    _report(updated, due, hotel)


@app.command("enable")
def enable(
    slug: Slug,
    name: Name,
    yes: YesOpt = False,
    no_catch_up: NoCatchUpOpt = False,
    dry_run: DryRunOpt = False,
) -> None:
    """Switch a trigger on. Fires due within its grace are caught up: they are listed and
    sent only after you confirm (--yes for scripts; --no-catch-up skips them). Older missed
    ones are recorded as missed, never sent."""
    _set_enabled(slug, name, True, yes=yes, catch_up=not no_catch_up, dry_run=dry_run)


@app.command("disable")
def disable(slug: Slug, name: Name) -> None:
    """Switch a trigger off (its messages still waiting in the outbox are not sent)."""
    _set_enabled(slug, name, False, yes=True, catch_up=True, dry_run=False)


@app.command("remove")
def remove(
    slug: Slug,
    name: Name,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask (for scripts).")] = False,
) -> None:
    """Delete a trigger and its fire log; its messages still waiting in the outbox are
    cancelled. Asks first (--yes for scripts); `trigger disable` keeps it for later."""
    from hotelbot.storage.triggers import remove_trigger

    async def find(db: Database) -> TriggerRecord:
        return (await _trigger(db, slug, name))[1]

    trigger = common.with_db(find)
    common.confirm(
        f"Remove trigger {name} of {slug} and its history?",
        yes=yes,
        refusal=f"removing trigger {name} cannot be undone: add --yes to confirm "
        "(or `hotelbot trigger disable` to switch it off)",
    )

    async def go(db: Database) -> None:
        async with db.write() as conn:
            await remove_trigger(conn, trigger.id)

    common.with_db(go)
    typer.echo(f"{name}: removed")


@app.command("list")
def list_(
    hotel: Annotated[str | None, typer.Option(help="Only this hotel (slug).")] = None,
    as_json: JsonOpt = False,
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
    rows = [
        (
            t.id,
            slugs.get(t.hotel_id),
            t.name,
            format_trigger(t.spec),
            ",".join(sorted(t.template.texts)),
            "yes" if t.enabled else "no",
            t.version,
            _extras(t),
        )
        for t in triggers
    ]
    common.emit_table(
        ("id", "hotel", "name", "when", "languages", "on", "ver", "with"),
        rows,
        as_json=as_json,
        empty="no triggers yet: add one with `hotelbot trigger add`",
    )


def _extras(trigger: TriggerRecord) -> str:
    """What `trigger list` says about a trigger beyond its time: a file, conditions."""
    parts = []
    if trigger.attachment is not None:
        parts.append(f"file {trigger.attachment.file_name}")
    if trigger.conditions.clauses:
        parts.append(f"if {trigger.conditions.text()}")
    return "; ".join(parts)


@app.command("show")
def show(slug: Slug, name: Name, utc: UtcOpt = False, wide: WideOpt = False) -> None:
    """Show a trigger: spec, texts, and its last 20 decisions (times in the hotel's local
    time)."""
    from hotelbot.domain.triggers import format_trigger
    from hotelbot.storage.triggers import list_fires

    async def go(db: Database) -> tuple[HotelRecord, TriggerRecord, list[Any]]:
        hotel, trigger = await _trigger(db, slug, name)
        async with db.read() as conn:
            return hotel, trigger, await list_fires(conn, trigger_id=trigger.id)

    hotel, trigger, fires = common.with_db(go)
    typer.echo(f"id        {trigger.id}")
    typer.echo(f"when      {format_trigger(trigger.spec)}")
    if trigger.conditions.clauses:
        typer.echo(f"if        {trigger.conditions.text()}")
    typer.echo(f"enabled   {'yes' if trigger.enabled else 'no'} (version {trigger.version})")
    typer.echo(f"fallback  {trigger.template.fallback_language}")
    for language, body in sorted(trigger.template.texts.items()):
        typer.echo(f"text[{language}]  {body}")
    for line in attachment_lines(trigger.attachment):
        typer.echo(line)
    if fires:
        typer.echo("")
        rows = [
            (f.stay_id, show_time(f.scheduled_for, hotel.timezone, utc=utc), f.outcome, f.outbox_id)
            for f in fires[-20:]
        ]
        typer.echo(common.table(("stay", "scheduled for", "outcome", "outbox"), rows, wide=wide))


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
    """The preview text (separate from the command for tests): the rendered message, the
    fires already decided for this stay, the next fire times in the hotel's local time with
    what the send policy would do at each (quiet hours, opt-out, cancelled stay), and when
    there is no next fire, the true reason."""
    from dataclasses import replace
    from zoneinfo import ZoneInfo

    from hotelbot.cli.schedule_view import local
    from hotelbot.domain.conditions import StayContext, tags_of
    from hotelbot.domain.fire_times import check_out_at, next_fire_after, why_no_next_fire
    from hotelbot.domain.guest_language import message_language
    from hotelbot.domain.send_policy import Defer, Skip, decide
    from hotelbot.domain.templates import MissingValueError, render, stay_values
    from hotelbot.domain.triggers import STATUS_EVENTS, EventKind, EventTrigger, format_trigger
    from hotelbot.storage.guest_facts import NO_FACTS, load_guest_facts
    from hotelbot.storage.hotel_policy import hotel_policy
    from hotelbot.storage.stays import get_stay, has_earlier_stay
    from hotelbot.storage.triggers import list_fires

    hotel, trigger = await _trigger(db, slug, name)
    async with db.read() as conn:
        record = await get_stay(conn, stay_id)
        if record is None or record.hotel_id != hotel.id:
            raise UserError(f"hotel {slug!r} has no stay {stay_id}")
        fires = await list_fires(conn, trigger_id=trigger.id, stay_id=stay_id)
        returning = trigger.conditions.needs_history and await has_earlier_stay(conn, record)
        guest = (await load_guest_facts(conn, hotel.id, [record.chat_id])).get(
            record.chat_id, NO_FACTS
        )
    policy = hotel_policy(hotel)
    choice = message_language(
        stay_language=record.language,
        guest=guest.language,
        hotel_default=policy.default_language,
    )
    facts = replace(
        record.facts(policy.tz, default_language=policy.default_language), language=choice.code
    )
    values = stay_values(
        facts,
        hotel_name=hotel.name,
        default_check_in=policy.default_check_in,
        default_check_out=policy.default_check_out,
    )
    language = trigger.template.pick_language(facts.language, policy.default_language)
    lines = [
        f"{name}: {format_trigger(trigger.spec)}",
        f"language: {language} (guest's language {choice.code}: {choice.reason})",
    ]
    if not trigger.template.has_text_for(choice.code):
        lines.append(
            f"warning: no {choice.code} text: this guest gets the {language} text "
            f"(add one with `hotelbot trigger edit {slug} {name} --text {choice.code}=...`)"
        )
    try:
        lines.append(
            "text: "
            + for_people(
                render(
                    trigger.template,
                    facts.language,
                    values,
                    default_language=policy.default_language,
                )
            )
        )
    except MissingValueError as exc:
        lines.append(f"text: NOT SENDABLE for this stay: {exc}")
    if trigger.attachment is not None:
        file = trigger.attachment
        captions = file.caption_template(trigger.template.fallback_language)
        caption = ""
        if captions is not None:
            try:
                caption = ": " + for_people(render(captions, language, values))
            except MissingValueError as exc:
                caption = f": caption NOT SENDABLE for this stay: {exc}"
        lines.append(f"then file: {file.file_name} <{file.url}>{caption}")
    if trigger.conditions.clauses:
        context = StayContext(
            nights=facts.nights,
            language=facts.language,
            room_tags=tags_of(record.room_tags),
            source=record.source,
            returning_guest=returning,
        )
        failing = trigger.conditions.failing(context)
        if failing:
            lines.append(
                f"if {trigger.conditions.text()}: NOT MET for this stay ({'; '.join(failing)}): "
                "nothing is sent to it"
            )
        else:
            lines.append(f"if {trigger.conditions.text()}: met")
    if not trigger.enabled:
        lines.append("the trigger is disabled: nothing is sent until `hotelbot trigger enable`")
    spec = trigger.spec
    status_event = isinstance(spec, EventTrigger) and spec.event.is_stay_status
    for fire in fires:
        # A status event's key instant is the stay's creation; when it happened is decided_at.
        at = fire.decided_at if status_event else fire.scheduled_for
        lines.append(f"decided: {local(at, policy)}: {fire.outcome}")
    if isinstance(spec, EventTrigger) and status_event:
        status = next(name for name, event in STATUS_EVENTS.items() if event is spec.event)
        lines.append(
            f"fires once, when the stay's status changes to {status} (`hotelbot stay edit "
            f"{stay_id} --status {status}` or a CSV import)"
        )
        return lines
    if isinstance(spec, EventTrigger) and spec.event is not EventKind.STAY_CREATED:
        lines.append("fires on guest messages, not at clock times")
        return lines
    at = datetime.now(UTC)
    if start is not None:
        try:
            at = datetime.fromisoformat(start)
        except ValueError:
            raise UserError(f"--from {start!r}: expected an ISO date/time") from None
        at = at if at.tzinfo else at.replace(tzinfo=ZoneInfo(hotel.timezone))
    check_in, check_out = policy.default_check_in, policy.default_check_out
    co_at = check_out_at(facts, default_check_out=policy.default_check_out)
    lines.append(f"next fire times ({hotel.timezone}):")
    shown = 0
    after = at
    while shown < count:
        nxt = next_fire_after(
            trigger.spec, facts, after, default_check_in=check_in, default_check_out=check_out
        )
        if nxt is None:
            break
        decision = decide(
            nxt,
            nxt,
            stay_status=facts.status,
            is_welcome_like=isinstance(trigger.spec, EventTrigger) or nxt < co_at,
            check_out_at=co_at,
            opted_out=guest.opted_out,
            staff_paused_until=guest.staff_paused_until,
            sent_today_count=0,
            daily_cap=None,
            quiet_hours=policy.quiet_hours,
            tz=policy.tz,
            grace_s=trigger.grace_s,
        )
        note = ""
        if isinstance(decision, Skip):
            note = f": not sent ({decision.reason})"
        elif isinstance(decision, Defer):
            note = f": held until {local(decision.until, policy)} ({decision.reason})"
        lines.append("  " + nxt.astimezone(policy.tz).strftime("%Y-%m-%d %H:%M %Z (%a)") + note)
        after = nxt
        shown += 1
    if shown == 0:
        reason = why_no_next_fire(
            trigger.spec, facts, at, default_check_in=check_in, default_check_out=check_out
        )
        lines.append(f"  none: {reason}")
    return lines

"""`hotelbot doctor`: every check an operator would otherwise do by hand, one line each.

Checks, in order: settings file; database reachable and schema current; private state
directory; clock (system vs PostgreSQL); time zone data; per enabled hotel: time zone,
token, Green API state and queue settings; the LLM when enabled (one tiny call).
Each check yields OK, WARN or FAIL with advice for anything not OK. Network checks are
bounded by short timeouts and hotels are checked concurrently. Never prints a token or key.
"""

from __future__ import annotations

import asyncio
import os
import stat
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hotelbot.domain.events import InstanceState
from hotelbot.errors import ConfigError

if TYPE_CHECKING:
    from hotelbot.settings import Settings
    from hotelbot.storage.db import Database
    from hotelbot.storage.hotels import HotelRecord

# Clock skew against the database that starts to matter (leases and schedules use both).
CLOCK_WARN_S = 2.0
CLOCK_FAIL_S = 30.0
_NETWORK_TIMEOUT_S = 10.0
_HOTEL_CONCURRENCY = 8
T = TypeVar("T")


class Level(StrEnum):
    OK = "OK"
    WARN = "WARN"
    FAIL = "FAIL"


@dataclass(frozen=True, slots=True)
class Check:
    level: Level
    name: str
    detail: str
    advice: str | None = None

    def lines(self) -> list[str]:
        out = [f"{self.level.value:<4} {self.name}: {self.detail}"]
        if self.advice and self.level is not Level.OK:
            out.append(f"     -> {self.advice}")
        return out


def exit_code(checks: list[Check]) -> int:
    """0 when everything is OK, 1 when anything failed, 2 when there are only warnings."""
    levels = {c.level for c in checks}
    if Level.FAIL in levels:
        return 1
    return 2 if Level.WARN in levels else 0


Echo = Callable[[Check], None]


async def run_doctor(environ: Mapping[str, str], echo: Echo) -> list[Check]:
    """Run every check, reporting each through `echo` as soon as it is known."""
    checks: list[Check] = []

    def report(check: Check) -> None:
        checks.append(check)
        echo(check)

    from hotelbot.settings import load_settings

    try:
        settings, path = load_settings(None, environ)
    except ConfigError as exc:
        report(Check(Level.FAIL, "settings", str(exc), "fix the named key, then run doctor again"))
        return checks
    report(Check(Level.OK, "settings", str(path) if path else "no settings file: defaults"))
    report(_check_tzdata())
    db = await _open_database(settings, path, environ, report)
    if db is None:
        return checks
    try:
        if not await _check_schema(db, report):
            return checks
        _check_state_dir(db, report)
        await _check_clock(db, report)
        from hotelbot.storage.hotels import list_hotels

        async with db.read() as conn:
            hotels = await list_hotels(conn, enabled_only=True)
        if not hotels:
            report(Check(Level.WARN, "hotels", "no enabled hotel", "add one: `hotelbot hotel add`"))
        limit = asyncio.Semaphore(_HOTEL_CONCURRENCY)

        async def one(record: HotelRecord) -> list[Check]:
            async with limit:
                return await _check_hotel(record, settings, environ)

        for results in await asyncio.gather(*(one(h) for h in hotels)):
            for check in results:
                report(check)
        await _check_dead_letters(db, hotels, report)
        await _check_llm(settings, environ, report)
        await _check_llm_limits(db, settings, report)
        await _check_languages(db, hotels, settings, environ, report)
    finally:
        await db.dispose()
    return checks


def _check_tzdata() -> Check:
    try:
        ZoneInfo("Europe/Riga")
    except ZoneInfoNotFoundError:
        return Check(
            Level.FAIL,
            "time zones",
            "no time zone data",
            "install the tzdata package (system or `pip install tzdata`)",
        )
    return Check(Level.OK, "time zones", "time zone data available")


async def _open_database(
    settings: Settings, settings_path: Path | None, environ: Mapping[str, str], report: Echo
) -> Database | None:
    from hotelbot.settings import database_choice
    from hotelbot.storage.db import Database
    from hotelbot.storage.introspect import ping

    choice = database_choice(settings, settings_path, environ)
    url, shown = choice.url, choice.location
    try:
        db = Database.open(url, pool_size=2, create=False)
    except ConfigError as exc:
        report(Check(Level.FAIL, "database", str(exc), f"database chosen by {choice.origin}"))
        return None
    except Exception as exc:
        report(Check(Level.FAIL, "database", f"{shown}: {type(exc).__name__}: {exc}"))
        return None
    try:
        async with asyncio.timeout(_NETWORK_TIMEOUT_S), db.read() as conn:
            await ping(conn)
    except Exception as exc:
        await db.dispose()
        advice = (
            "is PostgreSQL running and the URL/credential right? (`[database] url`, pg_password)"
            if url.startswith("postgresql")
            else "does the state directory exist and belong to this user?"
        )
        report(Check(Level.FAIL, "database", f"{shown}: cannot connect ({_short(exc)})", advice))
        return None
    report(Check(Level.OK, "database", f"{shown} reachable (chosen by {choice.origin})"))
    return db


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:160]}" if text else type(exc).__name__


async def _check_schema(db: Database, report: Echo) -> bool:
    from hotelbot.storage.schema import SCHEMA_HEAD, current_revision

    current = await current_revision(db)
    if current == SCHEMA_HEAD:
        report(Check(Level.OK, "schema", f"up to date ({current})"))
        return True
    if current is None:
        report(Check(Level.FAIL, "schema", "not initialised", "run `hotelbot db upgrade`"))
    else:
        report(
            Check(
                Level.FAIL,
                "schema",
                f"at {current}, this hotelbot needs {SCHEMA_HEAD}",
                "run `hotelbot db upgrade` (if the database is newer, upgrade hotelbot instead)",
            )
        )
    return False


def _check_state_dir(db: Database, report: Echo) -> None:
    path = db.sqlite_file
    if path is None:  # PostgreSQL, or an in-memory SQLite database
        return
    loose = [p for p in (path.parent, path) if p.exists() and os.stat(p).st_mode & 0o077]
    if loose:
        modes = ", ".join(f"{p} {stat.filemode(os.stat(p).st_mode)}" for p in loose)
        report(
            Check(
                Level.WARN,
                "privacy",
                f"readable by others: {modes}",
                f"chmod 700 {path.parent} && chmod 600 {path}*",
            )
        )
    else:
        report(Check(Level.OK, "privacy", f"{path} is private to its owner"))


async def _check_clock(db: Database, report: Echo) -> None:
    if db.is_sqlite:
        report(Check(Level.OK, "clock", "SQLite: the system clock is the only clock"))
        return
    from hotelbot.storage.introspect import database_clock

    before = time.time()
    async with db.read() as conn:
        db_now = await database_clock(conn)
    after = time.time()
    skew_s = db_now - (before + after) / 2
    detail = f"system clock vs PostgreSQL: {skew_s:+.2f} s"
    if abs(skew_s) >= CLOCK_FAIL_S:
        report(Check(Level.FAIL, "clock", detail, "enable NTP on both hosts (timedatectl)"))
    elif abs(skew_s) >= CLOCK_WARN_S:
        report(Check(Level.WARN, "clock", detail, "enable NTP on both hosts (timedatectl)"))
    else:
        report(Check(Level.OK, "clock", detail))


async def _check_hotel(
    record: HotelRecord, settings: Settings, environ: Mapping[str, str]
) -> list[Check]:
    from hotelbot.domain.zones import unknown_zone_warning
    from hotelbot.greenapi.client import GreenApiClient, InstanceCredentials
    from hotelbot.greenapi.errors import GreenApiError
    from hotelbot.greenapi.retry import INSTANCE_READ
    from hotelbot.greenapi.transport import HttpxTransport
    from hotelbot.hotel_credentials import resolve_token
    from hotelbot.redact import register_secret

    name = f"hotel {record.slug}"
    checks = []
    zone_warning = unknown_zone_warning(record.timezone)
    if zone_warning is not None:
        checks.append(
            Check(
                Level.WARN,
                name,
                f"{zone_warning} (quiet hours, scheduled messages)",
                f"`hotelbot hotel edit {record.slug} --set timezone=Europe/Riga` (an IANA "
                "name), or update tzdata on this host (`pip install -U tzdata`)",
            )
        )
    token = resolve_token(record, environ)
    if token is None:
        checks.append(
            Check(
                Level.FAIL,
                name,
                f"no API token: ${record.api_token_env} is not set here",
                f"set {record.api_token_env} in the daemon's environment (and in this shell "
                "for doctor), or store the token with `hotelbot hotel edit --api-token-stdin`",
            )
        )
        return checks
    register_secret(token)
    transport = HttpxTransport(connect_timeout_s=min(5.0, settings.greenapi.connect_timeout_s))
    client = GreenApiClient(
        InstanceCredentials(record.api_url, record.instance_id, token),
        transport,
        request_timeout_s=_NETWORK_TIMEOUT_S,
    )
    try:
        async with asyncio.timeout(2 * _NETWORK_TIMEOUT_S + 5):
            state = await INSTANCE_READ.call(client.get_state_instance)
            instance_settings = await INSTANCE_READ.call(client.get_settings)
    except (GreenApiError, TimeoutError) as exc:
        checks.append(
            Check(
                Level.FAIL,
                name,
                f"Green API instance {record.instance_id}: {_short(exc)}",
                "check api_url/instance_id/token in the Green API console "
                "(401/403 = wrong token; timeouts = network or Green API down)",
            )
        )
        return checks
    finally:
        await transport.aclose()
    if state != InstanceState.AUTHORIZED:
        checks.append(
            Check(
                Level.FAIL,
                name,
                f"instance state {state}",
                "scan the QR code in the Green API console (WhatsApp > Linked devices)"
                if state == InstanceState.NOT_AUTHORIZED
                else "wait for the instance to start, or restart it in the console",
            )
        )
    problems = instance_settings.problems()
    blocking = [p for p in problems if "recommended" not in p]
    if blocking:
        checks.append(
            Check(
                Level.FAIL,
                name,
                "notifications miss the HTTP queue: " + "; ".join(blocking),
                f"`hotelbot hotel check {record.slug} --fix`",
            )
        )
    elif problems:
        checks.append(
            Check(
                Level.WARN, name, "; ".join(problems), f"`hotelbot hotel check {record.slug} --fix`"
            )
        )
    if state == InstanceState.AUTHORIZED and not problems:
        checks.append(Check(Level.OK, name, "authorized; notifications reach the HTTP queue"))
    return checks


async def _check_dead_letters(db: Database, hotels: list[HotelRecord], report: Echo) -> None:
    """Queue items set aside in the last 24 h (they could not be parsed or stored): the
    hotel's queue kept flowing, but what they carried reached nobody."""
    from datetime import timedelta

    from hotelbot.storage.status_report import dead_letter_counts
    from hotelbot.storage.types import utcnow

    async with db.read() as conn:
        counts = await dead_letter_counts(conn, since=utcnow() - timedelta(hours=24))
    for hotel in hotels:
        n = counts.get(hotel.id, 0)
        if n:
            report(
                Check(
                    Level.WARN,
                    f"hotel {hotel.slug}",
                    f"{n} queue item(s) could not be stored in the last 24 h (set aside)",
                    f"`hotelbot dead-letters list --hotel {hotel.slug}`; if it keeps "
                    "happening, report it with the `why` column",
                )
            )


async def _check_llm(settings: Settings, environ: Mapping[str, str], report: Echo) -> None:
    llm = settings.llm
    from hotelbot.redact import register_secret
    from hotelbot.sentiment.settings import resolve_api_key

    if not llm.enabled:
        if resolve_api_key(llm, environ):
            report(
                Check(
                    Level.WARN,
                    "llm",
                    "disabled, but an API key is present: the key is not used",
                    "to use the LLM, set enabled = true under [llm] in the settings file (guest "
                    "messages then go to its API) and restart; or remove the key",
                )
            )
        else:
            report(Check(Level.OK, "llm", "disabled: rule-based sentiment only"))
        return

    key = resolve_api_key(llm, environ)
    if key is None:
        report(
            Check(
                Level.FAIL,
                "llm",
                "enabled but no API key found",
                f"provide the deepseek_api_key credential or set ${llm.api_key_env}",
            )
        )
        return
    register_secret(key)
    from hotelbot.sentiment.llm import build_llm_analyser

    analyser = build_llm_analyser(llm, key)
    started = time.monotonic()
    try:
        verdict = await _bounded(analyser.analyse("Thank you, everything is fine."), llm.deadline_s)
    except Exception as exc:
        report(
            Check(
                Level.FAIL,
                "llm",
                f"{llm.model} at {llm.base_url}: {_short(exc)}",
                "check base_url, model and key; hotelbot falls back to rules meanwhile",
            )
        )
        return
    finally:
        await analyser.aclose()
    elapsed_ms = (time.monotonic() - started) * 1000
    report(
        Check(
            Level.OK,
            "llm",
            f"{llm.model} answered in {elapsed_ms:.0f} ms (test verdict: {verdict.sentiment})",
        )
    )


async def _check_llm_limits(db: Database, settings: Settings, report: Echo) -> None:
    """One warning when `[llm.hotel_limits.<slug>]` names a hotel that does not exist (a
    typo leaves the real hotel on the default limits without a word)."""
    if not settings.llm.hotel_limits:
        return
    from hotelbot.storage.hotels import list_hotels

    async with db.read() as conn:
        known = {h.slug for h in await list_hotels(conn)}
    unknown = sorted(set(settings.llm.hotel_limits) - known)
    if unknown:
        report(
            Check(
                Level.WARN,
                "llm limits",
                f"[llm.hotel_limits] names no hotel: {', '.join(unknown)}",
                "use a slug from `hotelbot hotel list`; until then those limits apply to no "
                "hotel (each hotel has the [llm.limits] defaults)",
            )
        )


async def _bounded(awaitable: Awaitable[T], timeout_s: float) -> T:
    async with asyncio.timeout(timeout_s + 1):
        return await awaitable


async def _check_languages(
    db: Database,
    hotels: list[HotelRecord],
    settings: Settings,
    environ: Mapping[str, str],
    report: Echo,
) -> None:
    """Per hotel: do the guests write in languages something here understands?"""
    from hotelbot.domain.languages import names
    from hotelbot.domain.unreadable import rules_languages
    from hotelbot.ops.languages import WINDOW_DAYS, language_report, llm_configured
    from hotelbot.storage.types import utcnow

    covered = rules_languages()
    llm = llm_configured(settings.llm, environ)
    async with db.read() as conn:
        hotels_languages = await language_report(
            conn, hotels, covered=covered, llm=llm, now=utcnow()
        )
    advice = (
        "enable the LLM, which reads every language: the deepseek_api_key credential and "
        "[llm] enabled = true (docs/systemd.md §4); until then such messages alert staff only "
        "on signs of trouble (!!, angry emoji, capitals, repeated messages)"
    )
    problems = [h for h in hotels_languages if not h.ok]
    for item in problems:
        parts = []
        if item.gaps:
            gaps = "; ".join(gap.describe() for gap in item.gaps)
            parts.append(f"guests write in {gaps} in the last {WINDOW_DAYS} days")
        if item.default_uncovered:
            parts.append("its default_language is one the rules do not read")
        detail = "; ".join(parts) + f"; the rules read {names(covered)} only"
        report(Check(Level.WARN, f"languages {item.slug}", detail, advice))
    if not problems and hotels_languages:
        why = "the LLM reads every language" if llm else f"the rules read {names(covered)}"
        report(Check(Level.OK, "languages", f"guests write in languages understood here ({why})"))

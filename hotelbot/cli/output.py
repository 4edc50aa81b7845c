"""How the CLI shows times and fits tables: one place, so every command reads the same.

Times: in each hotel's local time with the zone's abbreviation ("2026-03-27 10:00 EET"),
or in UTC with `--utc`. `--since` takes a duration ("2h"), a date or a date and time; without
an offset a date/time is read in the hotel's local time (in UTC with `--utc`).

Tables: cut to the terminal's width (free-text columns give way first, cut with "…") when
the output is a terminal; `--wide`, a pipe or a file get every cell in full. Widths count
what a terminal shows: wide CJK characters and emoji take two columns, combining marks and
joiners none.
"""

from __future__ import annotations

import os
import re
import sys
import unicodedata
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Annotated
from zoneinfo import ZoneInfo

import typer

from hotelbot.errors import UserError

UtcOpt = Annotated[
    bool, typer.Option("--utc", help="Show times in UTC instead of each hotel's local time.")
]
WideOpt = Annotated[
    bool,
    typer.Option("--wide", help="Show every column in full instead of fitting the terminal."),
]
JsonOpt = Annotated[
    bool,
    typer.Option(
        "--json",
        help="Print JSON for scripts instead of the table (same rows, same times and --utc).",
    ),
]
ELLIPSIS = "…"
_MIN_SHRUNK = 8  # a shrinkable column keeps at least this many columns (or its header)


@lru_cache(maxsize=256)
def zone(name: str | None) -> ZoneInfo:
    """The ZoneInfo of a hotel's time zone name (UTC for an unknown one, as everywhere:
    `domain.zones`; `status` and `doctor` warn about it)."""
    from hotelbot.domain.zones import zone_or_utc

    return zone_or_utc(name)[0]


def show_time(
    value: datetime | None, tz: str | ZoneInfo | None, *, utc: bool, seconds: bool = False
) -> str:
    """ "2026-03-27 10:00 EET" in `tz` (a hotel's zone), or "... UTC" with `utc`; "" for None."""
    if value is None:
        return ""
    if value.tzinfo is None:  # stored values are UTC
        value = value.replace(tzinfo=UTC)
    where = ZoneInfo("UTC") if utc else (tz if isinstance(tz, ZoneInfo) else zone(tz))
    pattern = "%Y-%m-%d %H:%M:%S %Z" if seconds else "%Y-%m-%d %H:%M %Z"
    return value.astimezone(where).strftime(pattern)


_RELATIVE = re.compile(r"^(\d+)\s*([mhdw])$")


def parse_since(value: str, tz: ZoneInfo, *, now: datetime | None = None) -> datetime:
    """`--since`: "30m", "2h", "3d", "1w", or an ISO date / date and time. A date or time
    without an offset is local time in `tz` (a hotel's zone, or UTC for --utc). Raises
    UserError with the accepted forms."""
    now = now or datetime.now(UTC)
    text = value.strip().lower()
    match = _RELATIVE.match(text)
    if match:
        unit = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}[match.group(2)]
        return now - timedelta(**{unit: int(match.group(1))})
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise UserError(
            f"--since {value!r}: use 30m, 2h, 3d, 1w, a date (2026-03-27) or a local date and "
            "time (2026-03-27 14:00)"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)


def display_width(text: str) -> int:
    """Columns `text` takes on a terminal (wide characters 2, combining marks 0)."""
    width = 0
    for ch in text:
        if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
            continue
        width += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return width


def cut(text: str, width: int) -> str:
    """`text` cut to at most `width` columns, ending in "…" when cut."""
    if display_width(text) <= width:
        return text
    out, used = [], 0
    for ch in text:
        w = display_width(ch)
        if used + w > width - 1:
            break
        out.append(ch)
        used += w
    return "".join(out) + ELLIPSIS


def _pad(text: str, width: int) -> str:
    return text + " " * (width - display_width(text))


def terminal_width() -> int | None:
    """The width to fit when stdout is a terminal: $COLUMNS, else the terminal's size.
    None for a pipe or a file: scripts and `grep` get every cell in full."""
    if not sys.stdout.isatty():
        return None
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    try:
        return os.get_terminal_size(sys.stdout.fileno()).columns
    except OSError:
        return None


def fit_widths(
    natural: list[int], headers: Sequence[str], shrink: Sequence[int], limit: int | None
) -> list[int]:
    """Column widths that fit `limit` (with two spaces between columns), narrowing the
    `shrink` columns, widest first, down to a minimum. Pure."""
    widths = list(natural)
    if limit is None:
        return widths
    gaps = 2 * (len(widths) - 1)
    floors = {i: max(display_width(headers[i]), min(natural[i], _MIN_SHRUNK)) for i in shrink}
    while sum(widths) + gaps > limit:
        candidates = [i for i in shrink if widths[i] > floors[i]]
        if not candidates:
            break
        widest = max(candidates, key=lambda i: widths[i])
        widths[widest] -= 1
    return widths


def render_table(
    headers: Sequence[str],
    cells: Sequence[Sequence[str]],
    *,
    wide: bool = False,
    shrink: Sequence[int] | None = None,
    limit: int | None = None,
) -> str:
    """An aligned table of already sanitised cells. `shrink`: the columns that may be cut to
    fit (default: the last one); `limit`: the width to fit (default: `terminal_width()`);
    `wide`: never cut. A table that was cut ends with a line saying how to see it whole."""
    natural = [display_width(h) for h in headers]
    for row in cells:
        for i, cell in enumerate(row):
            natural[i] = max(natural[i], display_width(cell))
    shrinkable = [len(headers) - 1] if shrink is None else list(shrink)
    width = None if wide else (limit if limit is not None else terminal_width())
    widths = fit_widths(natural, headers, shrinkable, width)
    cut_any = widths != natural

    def line(values: Sequence[str]) -> str:
        parts = [_pad(cut(v, widths[i]), widths[i]) for i, v in enumerate(values)]
        return "  ".join(parts).rstrip()

    out = [line(headers), "  ".join("-" * w for w in widths)]
    out += [line(row) for row in cells]
    if cut_any:
        out.append("(text cut to fit: --wide shows all)")
    return "\n".join(out)

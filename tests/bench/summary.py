"""The closing table of `python -m tests.bench`: issue 16's rows, each as hotelbot next to
its reference measured in the same run (the bare aiohttp loop, or `python -c pass` for the
CLI), the ratio between them, and the goal.

The machine is shared, so absolute figures move with the other load; the ratio to the
reference measured minutes earlier on the same machine is the figure to compare between
runs. "met" compares the figure the goal names (a ratio or an absolute value) with the goal.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tests.bench.cli_startup import CliFigures
from tests.bench.runner import Scenario, ScenarioResult, SubjectResult


@dataclass(frozen=True)
class Row:
    measure: str
    hotelbot: float | None
    reference: float | None
    goal: str
    met: bool | None  # None: not measured in this run
    digits: int = 0
    unit: str = ""

    @property
    def ratio(self) -> float | None:
        if self.hotelbot is None or not self.reference:
            return None
        return self.hotelbot / self.reference


def _ratio_at_least(goal: float) -> Callable[[float, float], bool]:
    return lambda hb, ref: bool(ref) and hb / ref >= goal


def _at_most(goal: float) -> Callable[[float, float], bool]:
    return lambda hb, _ref: hb <= goal


# (hotels, messages, label, attribute, digits, goal text, test)
_SCENARIO_ROWS: tuple[tuple[int, int, str, str, int, str, Callable[[float, float], bool]], ...] = (
    (100, 40, "acks/s", "acks_per_s", 0, ">= 0.8x bare", _ratio_at_least(0.8)),
    (100, 40, "p99 available->deleted ms", "p99_ms", 0, "<= 100 ms", _at_most(100.0)),
    (100, 40, "CPU ms/msg, whole pipeline", "cpu_ms_per_msg_total", 2, "<= 1.0 ms", _at_most(1.0)),
    (1000, 1, "p99 available->deleted ms", "p99_ms", 0, "<= 500 ms", _at_most(500.0)),
    (1000, 1, "start-up s, spawn -> all polling", "startup_s", 1, "<= 2 s", _at_most(2.0)),
)


def _find(results: list[ScenarioResult], hotels: int, messages: int) -> ScenarioResult | None:
    for result in results:
        s = result.scenario
        if (s.hotels, s.messages) == (hotels, messages) and s.with_bare and _default_setup(s):
            return result
    return None


def _default_setup(scenario: Scenario) -> bool:
    """The issue's rows are for one daemon on SQLite (the default installation)."""
    return scenario.database == "sqlite" and scenario.daemons == 1


def _value(subject: SubjectResult, attribute: str) -> float | None:
    value = getattr(subject, attribute)
    return None if value is None else float(value)


def summary_rows(results: list[ScenarioResult], cli: CliFigures | None) -> list[Row]:
    """Issue 16's rows for what ran. The scenario rows need the default suite's scenarios
    (100 x 40 and 1,000 x 1, each with its bare loop); other scenarios add their own
    acks/s, p99 and CPU rows without a goal."""
    rows: list[Row] = []
    for hotels, messages, label, attribute, digits, goal, test in _SCENARIO_ROWS:
        result = _find(results, hotels, messages)
        measure = f"{hotels:,} x {messages}: {label}"
        if result is None:
            rows.append(Row(measure, None, None, goal, None, digits))
            continue
        hb = _value(result.hotelbot, attribute)
        ref = _value(result.bare, attribute)
        met = None if hb is None or ref is None else test(hb, ref)
        rows.append(Row(measure, hb, ref, goal, met, digits))
    issue_scenarios = {(h, m) for h, m, *_ in _SCENARIO_ROWS}
    for result in results:
        s = result.scenario
        if (s.hotels, s.messages) in issue_scenarios and _default_setup(s):
            continue
        prefix = f"{s.hotels:,} x {s.messages}"
        if not _default_setup(s):
            prefix += f" ({s.setup})"
        for label, attribute, digits in (
            ("acks/s", "acks_per_s", 0),
            ("p99 available->deleted ms", "p99_ms", 0),
            ("CPU ms/msg, whole pipeline", "cpu_ms_per_msg_total", 2),
            ("start-up s, spawn -> all polling", "startup_s", 1),
        ):
            rows.append(
                Row(
                    f"{prefix}: {label}",
                    _value(result.hotelbot, attribute),
                    _value(result.bare, attribute) if s.with_bare else None,
                    "-",
                    None,
                    digits,
                )
            )
    if cli is None:
        rows.append(Row("`hotelbot --help` CPU ms", None, None, "<= 6x python", None))
        rows.append(Row("`hotelbot status` CPU ms", None, None, "<= 250 ms", None))
    else:
        help_ms, python_ms = cli.help.cpu_median_ms, cli.python.cpu_median_ms
        rows.append(
            Row(
                "`hotelbot --help` CPU ms",
                help_ms,
                python_ms,
                "<= 6x python",
                cli.help_ratio() <= 6.0,
            )
        )
        status_ms = cli.status.cpu_median_ms
        rows.append(
            Row("`hotelbot status` CPU ms", status_ms, python_ms, "<= 250 ms", status_ms <= 250.0)
        )
    return rows


def _fmt(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def summary_table(results: list[ScenarioResult], cli: CliFigures | None) -> str:
    rows = summary_rows(results, cli)
    w = max([44, *(len(row.measure) + 1 for row in rows if row.hotelbot is not None)])
    header = (
        f"{'measure (issue 16)':{w}}{'hotelbot':>10}{'reference':>11}{'ratio':>9}"
        f"  {'goal':<14}{'met':<4}"
    )
    lines = [
        "== summary: hotelbot vs the bare loop (CLI: vs python -c pass), same run",
        header,
    ]
    missing = [row.measure for row in rows if row.hotelbot is None]
    for row in rows:
        if row.hotelbot is None:
            continue
        ratio = "-" if row.ratio is None else f"{row.ratio:.2f}x"
        met = "-" if row.met is None else ("yes" if row.met else "no")
        lines.append(
            f"{row.measure:{w}}{_fmt(row.hotelbot, row.digits):>10}"
            f"{_fmt(row.reference, row.digits):>11}{ratio:>9}  {row.goal:<14}{met:<4}"
        )
    if missing:
        lines.append(f"  not measured in this run: {'; '.join(missing)}")
    lines.append(
        "  CLI figures are CPU medians (wall time on a shared machine mostly measures the "
        "other processes); the wall times are in the cli_startup block above."
    )
    return "\n".join(lines)

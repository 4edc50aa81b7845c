"""`python -m tests.bench` (`make bench`): throughput, latency, CPU and memory of the real
daemon against the fake Green API, next to a bare aiohttp loop measured in the same run.

Without --hotels it runs the default suite: 100 hotels x 40 queued messages, then 1,000
hotels x 1 message followed by an idle window, then the staff-alert latency rows (below), then
the micro-benchmarks that exist (rule analyser, CLI start-up). With --hotels it runs that one
scenario; with --alerts only the staff-alert rows.

Staff-alert rows (hotelbot alone, 10% of the messages are complaints the rules recognise, each
from its own guest): `--alert-hotels` (100) hotels x 2 messages; the same hotels x 40 at
once (a burst); and x 4 with an LLM answering in 2 s. Latency is from the moment the
complaint became available at the fake Green API to the moment the fake accepted the staff
chat's sendMessage, both on the fake's clock. The goals (issue 11) are printed next to them.
`--json` prints one JSON document instead of tables. Figures are printed, never asserted:
the machine is shared.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
from dataclasses import asdict, replace
from typing import Any

from tests.bench import cli_startup
from tests.bench.procs import python_module
from tests.bench.runner import (
    Scenario,
    ScenarioResult,
    SubjectResult,
    run_scenario,
    run_subjects,
)
from tests.bench.summary import summary_table

MICRO_BENCHMARKS = (
    "tests.bench.transport_bench",
    "tests.bench.rules_bench",
)


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.bench", description=__doc__)
    parser.add_argument("--hotels", type=int, help="hotels (instances); omit for the suite")
    parser.add_argument("--messages", type=int, default=40, help="queued messages per hotel")
    parser.add_argument(
        "--llm-latency-s",
        type=float,
        default=None,
        help="start the fake OpenAI server with this latency and enable [llm]",
    )
    parser.add_argument("--error-rate-500", type=float, default=0.0)
    parser.add_argument("--error-rate-429", type=float, default=0.0)
    parser.add_argument("--drop-rate", type=float, default=0.0)
    parser.add_argument(
        "--complaint-share",
        type=float,
        default=0.1,
        help="share of messages that are complaints (alert staff)",
    )
    parser.add_argument(
        "--idle", action="store_true", help="after draining, measure idle CPU and requests/s"
    )
    parser.add_argument("--idle-window-s", type=float, default=20.0)
    parser.add_argument("--transport", choices=("httpx", "aiohttp"), default="aiohttp")
    parser.add_argument("--receive-timeout-s", type=int, default=20)
    parser.add_argument("--no-micro", action="store_true", help="skip the micro-benchmarks")
    parser.add_argument("--cli-runs", type=int, default=10, help="runs per CLI command line")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (db, log)")
    parser.add_argument("--profile", metavar="SVG", help="py-spy flame graph of the daemon")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument(
        "--metrics",
        choices=("on", "off"),
        default="on",
        help="serve /metrics (scraped every 2 s while measuring) or turn it off",
    )
    parser.add_argument(
        "--workers",
        type=int,
        choices=(0, 1),
        default=None,
        help="[processing] workers for the daemon (default: the daemon's default)",
    )
    parser.add_argument("--alerts", action="store_true", help="only the staff-alert latency rows")
    parser.add_argument("--alert-hotels", type=int, default=100, help="hotels in the alert rows")
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="scale-out rows: one daemon on SQLite, one on PostgreSQL and --daemons on "
        "PostgreSQL, next to one bare loop (--hotels/--messages, default 100 x 40)",
    )
    parser.add_argument(
        "--daemons",
        type=int,
        default=None,
        help="daemons sharing the hotels with --postgres (default 2)",
    )
    parser.add_argument(
        "--pin",
        choices=("off", "shared", "split"),
        default="off",
        help="CPU placement: fake and daemon both on CPU 0 (shared) or on CPUs 1 and 0 "
        "(split, as on a real host where Green API runs elsewhere); default: the OS decides",
    )
    parser.add_argument(
        "--fake-in-driver",
        action="store_true",
        help="run the fake Green API in a thread of this process instead of its own process "
        "(as a load driver hosting its fake does; docs/scaling.md compares the two)",
    )
    return parser.parse_args(argv)


# (label, messages per hotel, LLM latency s or None, goal p99 ms)
ALERT_ROWS: tuple[tuple[str, int, float | None, float], ...] = (
    ("x 2", 2, None, 1000.0),
    ("x 40 burst", 40, None, 2000.0),
    ("x 4, LLM 2 s", 4, 2.0, 1000.0),
)


def _alert_scenarios(args: argparse.Namespace) -> list[tuple[str, float, Scenario]]:
    hotels = args.alert_hotels
    return [
        (
            f"{hotels} hotels {label}",
            goal_ms,
            Scenario(
                hotels,
                messages,
                llm_latency_s=llm_s,
                transport=args.transport,
                receive_timeout_s=args.receive_timeout_s,
                alert_wait_s=60.0,
                keep_dir=args.keep,
                with_bare=False,
                metrics=args.metrics == "on",
                workers=args.workers,
            ),
        )
        for label, messages, llm_s, goal_ms in ALERT_ROWS
    ]


def _alert_table(rows: list[tuple[str, float, ScenarioResult]]) -> str:
    lines = [
        "== staff-alert latency (complaint available -> sendMessage to the staff chat)",
        f"{'scenario':34}{'alerts':>10}{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}{'goal p99':>10}",
    ]
    for label, goal_ms, result in rows:
        hb = result.hotelbot
        lines.append(
            f"{label:34}{f'{hb.alerts}/{hb.complaints}':>10}{_fmt(hb.alert_p50_ms, 0):>10}"
            f"{_fmt(hb.alert_p95_ms, 0):>10}{_fmt(hb.alert_p99_ms, 0):>10}{_fmt(goal_ms, 0):>10}"
        )
        lines.extend(f"  note ({label}): {note}" for note in hb.notes)
    return "\n".join(lines)


def _scenarios(args: argparse.Namespace) -> list[Scenario]:
    common: dict[str, Any] = {
        "complaint_share": args.complaint_share,
        "error_rate_500": args.error_rate_500,
        "error_rate_429": args.error_rate_429,
        "drop_rate": args.drop_rate,
        "llm_latency_s": args.llm_latency_s,
        "transport": args.transport,
        "receive_timeout_s": args.receive_timeout_s,
        "keep_dir": args.keep,
        "profile_svg": args.profile,
        "metrics": args.metrics == "on",
        "fake_in_driver": args.fake_in_driver,
        "pin": args.pin,
        "workers": args.workers,
    }
    if args.hotels is not None:
        idle = args.idle_window_s if args.idle else 0.0
        return [Scenario(args.hotels, args.messages, idle_window_s=idle, **common)]
    return [
        Scenario(100, 40, **common),
        Scenario(1000, 1, idle_window_s=args.idle_window_s, **common),
    ]


def _groups(args: argparse.Namespace) -> list[list[Scenario]]:
    """Scenarios measured against one bare-loop run each. --postgres: one group, the same
    load on SQLite (1 daemon), PostgreSQL (1 daemon) and PostgreSQL (--daemons)."""
    if args.alerts:
        return []
    if not args.postgres:
        return [[scenario] for scenario in _scenarios(args)]
    hotels = 100 if args.hotels is None else args.hotels
    base = replace(_scenarios(args)[0], hotels=hotels, messages=args.messages, idle_window_s=0.0)
    group = [base, replace(base, database="postgres")]
    if args.daemons > 1:
        group.append(replace(base, database="postgres", daemons=args.daemons))
    return [group]


def _scale_out_table(results: list[ScenarioResult]) -> str:
    """One column per set-up, the ratios to the bare loop and to one daemon on SQLite."""
    sqlite = results[0].hotelbot
    width = 22
    lines = [
        f"== scale-out: {results[0].scenario.name}, the same bare loop for every column",
        f"{'':34}{'bare loop':>{width}}" + "".join(f"{r.scenario.setup:>{width}}" for r in results),
    ]
    rows = (
        ("acks/s", "acks_per_s", 0),
        ("p99 available->deleted ms", "p99_ms", 0),
        ("CPU ms/msg incl. processing", "cpu_ms_per_msg_total", 2),
        ("staff alert p99 ms", "alert_p99_ms", 0),
        ("start-up s (spawn -> all polling)", "startup_s", 1),
    )
    for label, key, digits in rows:
        bare = getattr(results[0].bare, key) if key != "alert_p99_ms" else None
        cells = "".join(f"{_fmt(getattr(r.hotelbot, key), digits):>{width}}" for r in results)
        lines.append(f"{label:34}{_fmt(bare, digits):>{width}}{cells}")

    def versus(reference: float) -> str:
        return "".join(
            f"{_ratio(r.hotelbot.acks_per_s / reference if reference else None):>{width}}"
            for r in results
        )

    bare_acks = results[0].bare.acks_per_s
    lines.append(f"{'acks/s vs bare loop':34}{'1.00x':>{width}}" + versus(bare_acks))
    lines.append(f"{'acks/s vs 1 daemon on SQLite':34}{'':>{width}}" + versus(sqlite.acks_per_s))
    return "\n".join(lines)


def _fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


_ROWS: tuple[tuple[str, str, int], ...] = (
    ("messages acked", "messages", 0),
    ("acks/s", "acks_per_s", 0),
    ("p50 available->deleted ms", "p50_ms", 1),
    ("p95 available->deleted ms", "p95_ms", 1),
    ("p99 available->deleted ms", "p99_ms", 1),
    ("max available->deleted ms", "max_ms", 1),
    ("CPU ms/msg until deleted", "cpu_ms_per_msg", 3),
    ("CPU ms/msg incl. processing", "cpu_ms_per_msg_total", 3),
    ("requests per message", "requests_per_msg", 2),
    ("peak RSS MB (VmHWM)", "peak_rss_mb", 1),
    ("open fds", "open_fds", 0),
    ("start-up s (spawn -> all polling)", "startup_s", 1),
    ("fake server CPU % (its core)", "fake_cpu_pct", 0),
)
_RATIO_KEYS = {"acks_per_s", "p99_ms", "cpu_ms_per_msg", "cpu_ms_per_msg_total", "peak_rss_mb"}


def _table(result: ScenarioResult) -> str:
    s = result.scenario
    ratios = result.ratios()
    title = f"== {s.name}, {s.setup} (transport {s.transport}, "
    title += f"receiveTimeout {s.receive_timeout_s} s"
    if s.llm_latency_s is not None:
        title += f", LLM {s.llm_latency_s} s"
    title += ", metrics " + ("on" if s.metrics else "off")
    if s.fake_in_driver:
        title += ", fake in the driver's process"
    if s.pin != "off":
        title += f", pinned: {s.pin}"
    faults = [
        f"{k} {v}"
        for k, v in (("5xx", s.error_rate_500), ("429", s.error_rate_429), ("drop", s.drop_rate))
        if v
    ]
    if faults:
        title += ", faults " + ", ".join(faults)
    lines = [title + ")"]
    lines.append(f"{'':32}{'hotelbot':>14}{'bare loop':>14}{'ratio':>9}")
    for label, key, digits in _ROWS:
        hb = getattr(result.hotelbot, key)
        bare = getattr(result.bare, key)
        ratio = _ratio(ratios.get(key)) if key in _RATIO_KEYS else ""
        lines.append(f"{label:32}{_fmt(hb, digits):>14}{_fmt(bare, digits):>14}{ratio:>9}")
    hb = result.hotelbot
    if hb.complaints:
        lines.append(
            f"{'staff alerts (complaints)':32}{f'{hb.alerts}/{hb.complaints}':>14}"
            f"   p50 {_fmt(hb.alert_p50_ms)} ms, p95 {_fmt(hb.alert_p95_ms)} ms, "
            f"p99 {_fmt(hb.alert_p99_ms)} ms (available -> sendMessage to staff)"
        )
    if hb.idle_cpu_pct is not None:
        lines.append(
            f"{'idle (' + _fmt(hb.idle_window_s, 0) + ' s window)':32}"
            f"{_fmt(hb.idle_cpu_pct, 2) + ' % CPU':>14}"
            f"   {_fmt(hb.idle_requests_per_s, 1)} requests/s"
        )
    for subject in (result.hotelbot, result.bare):
        for note in subject.notes:
            lines.append(f"  note ({subject.subject}): {note}")
    return "\n".join(lines)


def _out(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _micro(as_json: bool) -> dict[str, Any]:
    outputs: dict[str, Any] = {}
    for module in MICRO_BENCHMARKS:
        if importlib.util.find_spec(module) is None:
            outputs[module] = None
            if not as_json:
                _out(f"== {module}: not present in this tree (skipped)")
            continue
        done = subprocess.run(python_module(module), capture_output=True, text=True, check=False)
        outputs[module] = {"status": done.returncode, "output": done.stdout}
        if not as_json:
            _out(f"== {module}")
            _out(done.stdout.rstrip())
            if done.returncode:
                _out(f"(exit status {done.returncode}) {done.stderr[-500:]}")
    return outputs


def _subject_dict(subject: SubjectResult) -> dict[str, Any]:
    return asdict(subject)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    results: list[dict[str, Any]] = []
    if args.daemons is not None and not args.postgres:
        raise SystemExit("--daemons needs --postgres (SQLite serves one daemon)")
    if args.daemons is None:
        args.daemons = 2
    measured: list[ScenarioResult] = []
    for result in [r for group in _groups(args) for r in run_subjects(group)]:
        measured.append(result)
        if args.json:
            results.append(
                {
                    "scenario": asdict(result.scenario),
                    "hotelbot": _subject_dict(result.hotelbot),
                    "bare": _subject_dict(result.bare),
                    "ratios": result.ratios(),
                }
            )
        else:
            _out(_table(result) + "\n")
    if args.postgres and not args.json:
        _out(_scale_out_table(measured) + "\n")
    if args.alerts or (args.hotels is None and not args.postgres):
        rows = [(label, goal, run_scenario(s)) for label, goal, s in _alert_scenarios(args)]
        if args.json:
            results.extend(
                {
                    "alert_row": label,
                    "goal_p99_ms": goal,
                    "scenario": asdict(r.scenario),
                    "hotelbot": _subject_dict(r.hotelbot),
                }
                for label, goal, r in rows
            )
        else:
            _out(_alert_table(rows) + "\n")
    no_micro = args.no_micro or args.alerts or args.hotels is not None or args.postgres
    micro = {} if no_micro else _micro(args.json)
    cli = None if no_micro else cli_startup.measure(args.cli_runs)
    if cli is not None:
        micro["tests.bench.cli_startup"] = asdict(cli)
        if not args.json:
            _out("== tests.bench.cli_startup")
            _out(cli_startup.report(cli))
    if args.json:
        _out(json.dumps({"scenarios": results, "micro": micro}, indent=2))
    elif measured or cli is not None:
        _out("\n" + summary_table(measured, cli))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Benchmark (not a test): how fast the `hotelbot` CLI starts.

Runs `python -c pass` (the interpreter floor), `hotelbot --help` and `hotelbot status`
(against a fresh, migrated SQLite database in a temporary directory) several times each as
subprocesses, and prints min/median/max wall time and the median CPU time (user + system of
the child), plus the `-X importtime` cumulative import time of the heaviest top-level modules
(`--help` must not import sqlalchemy, httpx, openai, loguru or aiohttp).

    python -m tests.bench.cli_startup [--runs 10]

`measure()` returns the same figures for the summary of `python -m tests.bench`.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HEAVY = ("sqlalchemy", "httpx", "openai", "loguru", "aiohttp", "pydantic", "alembic", "rich")


@dataclass
class Timing:
    """Wall and CPU milliseconds of repeated runs of one command line."""

    label: str
    wall_ms: list[float]
    cpu_ms: list[float]

    @property
    def wall_median_ms(self) -> float:
        return statistics.median(self.wall_ms)

    @property
    def cpu_median_ms(self) -> float:
        return statistics.median(self.cpu_ms)

    def line(self) -> str:
        return (
            f"{self.label:<16} runs={len(self.wall_ms)} min {min(self.wall_ms):.0f} ms, "
            f"median {self.wall_median_ms:.0f} ms, max {max(self.wall_ms):.0f} ms; "
            f"CPU median {self.cpu_median_ms:.0f} ms"
        )


@dataclass
class CliFigures:
    """What `measure()` found: the interpreter floor, `--help` and `status`, and the
    import profile of each command (top-level module -> cumulative ms; heavy packages)."""

    python: Timing
    help: Timing
    status: Timing
    imports: dict[str, dict[str, float]] = field(default_factory=dict)
    heavy: dict[str, list[str]] = field(default_factory=dict)

    def help_ratio(self) -> float:
        """`hotelbot --help` CPU over `python -c pass` CPU (medians): the machine's other
        load inflates wall time far more than CPU time."""
        return self.help.cpu_median_ms / max(self.python.cpu_median_ms, 1e-9)

    def help_wall_ratio(self) -> float:
        return self.help.wall_median_ms / max(self.python.wall_median_ms, 1e-9)


def _time_runs(label: str, argv: list[str], env: dict[str, str], runs: int) -> Timing:
    """CPU time (user + system of the child) is the figure to trust on a busy machine,
    where wall time mostly measures the other processes."""
    times, cpu = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run(
            argv, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        times.append((time.perf_counter() - started) * 1000)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        used_s = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
        cpu.append(used_s * 1000)
    return Timing(label, times, cpu)


def _out(line: str) -> None:
    sys.stdout.write(line + "\n")


def _import_profile(args: list[str], env: dict[str, str]) -> tuple[dict[str, int], set[str]]:
    """(top-level module -> cumulative import µs, every package imported), from
    `python -X importtime`."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "hotelbot", *args],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    top: dict[str, int] = {}
    packages: set[str] = set()
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, raw_name = line[len("import time:") :].split("|")
        name = raw_name.strip()
        packages.add(name.split(".")[0])
        if not raw_name.startswith("  "):  # one leading space = imported at top level
            top[name] = int(cumulative)
    return top, packages


def measure(runs: int = 10) -> CliFigures:
    """Time the three command lines `runs` times each (after one warm-up run that writes
    the bytecode cache) and profile the imports of `--help` and `status`."""
    with tempfile.TemporaryDirectory(prefix="hb-bench-") as tmp:
        # Bytecode is cached as on any installed system: with PYTHONDONTWRITEBYTECODE set,
        # every run would compile hotelbot's modules from source (~10 % of `status`).
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("HOTELBOT_") and k != "PYTHONDONTWRITEBYTECODE"
        }
        env.update(HOME=tmp, HOTELBOT_DATABASE_URL=f"sqlite+aiosqlite:///{Path(tmp, 'b.sqlite3')}")
        subprocess.run(
            [sys.executable, "-m", "hotelbot", "db", "upgrade"],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        timings: list[Timing] = []
        for label, argv in (
            ("python -c pass", [sys.executable, "-c", "pass"]),
            ("hotelbot --help", [sys.executable, "-m", "hotelbot", "--help"]),
            ("hotelbot status", [sys.executable, "-m", "hotelbot", "status"]),
        ):
            _time_runs(label, argv, env, 1)  # warm-up: writes the bytecode cache
            timings.append(_time_runs(label, argv, env, runs))
        figures = CliFigures(timings[0], timings[1], timings[2])
        for args in (["--help"], ["status"]):
            top, packages = _import_profile(args, env)
            biggest = sorted(top.items(), key=lambda kv: -kv[1])[:5]
            figures.imports[args[0]] = {name: us / 1000 for name, us in biggest}
            figures.heavy[args[0]] = sorted(packages & set(HEAVY))
    return figures


def report(figures: CliFigures) -> str:
    lines = [
        figures.python.line() + " (interpreter floor)",
        figures.help.line(),
        figures.status.line(),
        f"`hotelbot --help` / `python -c pass`: {figures.help_ratio():.1f}x CPU, "
        f"{figures.help_wall_ratio():.1f}x wall (medians)",
    ]
    for command, top in figures.imports.items():
        shown = ", ".join(f"{name} {ms:.0f} ms" for name, ms in top.items())
        lines.append(f"imports for `hotelbot {command}`: {shown}")
        heavy = figures.heavy.get(command, [])
        lines.append(f"  heavy modules imported: {', '.join(heavy) if heavy else 'none'}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    _out(report(measure(parser.parse_args().runs)))


if __name__ == "__main__":
    main()

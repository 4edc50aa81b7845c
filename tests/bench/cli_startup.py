"""Benchmark (not a test): how fast the `hotelbot` CLI starts.

Runs `hotelbot --help` and `hotelbot status` (against a fresh, migrated SQLite database in a
temporary directory) several times each as subprocesses, and prints min/median/max wall
time, plus the `-X importtime` cumulative import time of the heaviest top-level modules on
the `--help` path (which must not include sqlalchemy, httpx, openai, loguru or aiohttp).

    python -m tests.bench.cli_startup [--runs 10]
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
from pathlib import Path

HEAVY = ("sqlalchemy", "httpx", "openai", "loguru", "aiohttp", "pydantic", "alembic")


def _time_runs(args: list[str], env: dict[str, str], runs: int) -> tuple[list[float], list[float]]:
    """(wall ms, CPU ms) of each run. CPU time (user + system of the child) is the figure to
    trust on a busy machine, where wall time mostly measures the other processes."""
    times, cpu = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "hotelbot", *args],
            env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        times.append((time.perf_counter() - started) * 1000)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        used_s = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
        cpu.append(used_s * 1000)
    return times, cpu


def _out(line: str) -> None:
    sys.stdout.write(line + "\n")


def _import_profile(args: list[str], env: dict[str, str]) -> tuple[dict[str, int], set[str]]:
    """(top-level module -> cumulative import µs, every package imported), from
    `python -X importtime`."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "hotelbot", *args],
        env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    runs = parser.parse_args().runs
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
            env=env, check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        baseline = _time_runs_python(env, runs)
        _out(f"python -c pass (interpreter floor): median {statistics.median(baseline):.0f} ms")
        for args in (["--help"], ["status"]):
            _time_runs(args, env, 1)  # warm-up: writes the bytecode cache
            times, cpu = _time_runs(args, env, runs)
            _out(
                f"hotelbot {' '.join(args):<7} runs={runs} min {min(times):.0f} ms, "
                f"median {statistics.median(times):.0f} ms, max {max(times):.0f} ms; "
                f"CPU median {statistics.median(cpu):.0f} ms"
            )
        for args in (["--help"], ["status"]):
            top, packages = _import_profile(args, env)
            heavy = sorted(packages & set(HEAVY))
            biggest = sorted(top.items(), key=lambda kv: -kv[1])[:5]
            shown = ", ".join(f"{name} {us / 1000:.0f} ms" for name, us in biggest)
            _out(f"imports for `hotelbot {args[0]}`: {shown}")
            _out(f"  heavy modules imported: {', '.join(heavy) if heavy else 'none'}")


def _time_runs_python(env: dict[str, str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], env=env, check=True)
        times.append((time.perf_counter() - started) * 1000)
    return times


if __name__ == "__main__":
    main()

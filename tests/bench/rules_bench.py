"""Throughput of the rule analyser over labelled guest texts (a benchmark, not a test).

Run: ``python -m tests.bench.rules_bench [--data DIR_OR_FILE] [--rounds N]``. The texts are
the repository's labelled guest messages (tests/data/guest_messages/, found relative to this
checkout) unless ``--data`` names another folder of ``*.jsonl`` files or one file. Prints messages
per second on one CPU (pinned with ``os.sched_setaffinity`` where the OS has it), for a cold
per-token cache (first pass) and a warm one (the median of the later passes), both per
wall-clock second and per CPU second of this process.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

from hotelbot.domain.rules import RuleAnalyser

# This checkout's labelled guest messages (tests/bench/ -> the repository root).
DEFAULT_DATA = Path(__file__).resolve().parents[1] / "data" / "guest_messages"


def _texts(source: Path) -> list[str]:
    files = sorted(source.glob("*.jsonl")) if source.is_dir() else [source]
    texts: list[str] = []
    for path in files:
        with path.open(encoding="utf-8") as handle:
            texts.extend(json.loads(line)["text"] for line in handle if line.strip())
    return texts


def _pin_one_cpu() -> str:
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned (no sched_setaffinity)"
    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    return f"pinned to cpu {cpu}"


def _rates(analyser: RuleAnalyser, texts: list[str]) -> tuple[float, float]:
    """Messages per wall-clock second and per CPU second of this process. The second figure
    is the one to trust on a busy machine, where other processes share the pinned core."""
    wall_started = time.perf_counter()
    cpu_started = time.process_time()
    for text in texts:
        analyser.analyse(text)
    wall_s = time.perf_counter() - wall_started
    cpu_s = time.process_time() - cpu_started
    return len(texts) / wall_s, len(texts) / max(cpu_s, 1e-9)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="eval folder or file")
    parser.add_argument("--rounds", type=int, default=5, help="warm passes (median reported)")
    args = parser.parse_args(argv)
    if not args.data.exists():
        sys.stderr.write(f"no eval data at {args.data}\n")
        return 2
    texts = _texts(args.data)
    pinning = _pin_one_cpu()
    load_started = time.perf_counter()
    analyser = RuleAnalyser()
    load_ms = (time.perf_counter() - load_started) * 1000
    cold_wall, cold_cpu = _rates(analyser, texts)
    warm = [_rates(analyser, texts) for _ in range(max(1, args.rounds))]
    warm_wall = statistics.median(w for w, _ in warm)
    warm_cpu = statistics.median(c for _, c in warm)
    out = sys.stdout
    out.write(f"rules analyser: {len(texts)} messages, {pinning}, lexicon load {load_ms:.0f} ms\n")
    out.write(f"cold cache: {cold_wall:,.0f} messages/s wall, {cold_cpu:,.0f} per CPU second\n")
    out.write(
        f"warm cache: {warm_wall:,.0f} messages/s wall, {warm_cpu:,.0f} per CPU second"
        f" (median of {len(warm)})\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

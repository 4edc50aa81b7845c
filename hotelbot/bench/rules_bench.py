"""Throughput of the rule analyser over the shared eval texts (a benchmark, not a test).

Run: ``python -m hotelbot.bench.rules_bench [--data DIR_OR_FILE] [--rounds N]``. Prints messages
per second on one CPU (pinned with ``os.sched_setaffinity`` where the OS has it), for a cold
per-token cache (first pass) and a warm one (the median of the later passes).
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

DEFAULT_DATA = Path("/work/shared/eval")


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


def _rate(analyser: RuleAnalyser, texts: list[str]) -> float:
    started = time.perf_counter()
    for text in texts:
        analyser.analyse(text)
    return len(texts) / (time.perf_counter() - started)


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
    cold = _rate(analyser, texts)
    warm = statistics.median(_rate(analyser, texts) for _ in range(max(1, args.rounds)))
    out = sys.stdout
    out.write(f"rules analyser: {len(texts)} messages, {pinning}, lexicon load {load_ms:.0f} ms\n")
    out.write(f"cold cache: {cold:,.0f} messages/s\n")
    out.write(f"warm cache: {warm:,.0f} messages/s (median of {args.rounds})\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

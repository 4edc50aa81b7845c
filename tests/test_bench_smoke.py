"""Smoke test: the benchmark harness runs end to end and prints its table.

It starts real processes (fake Green API, bare loop, daemon); figures are not asserted.
"""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_bench_runs_and_prints_its_table() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tests.bench", "--hotels", "3", "--messages", "5"],
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout
    assert "== 3 hotels x 5 msg" in out
    assert "acks/s" in out and "p99 available->deleted ms" in out
    # Every message was acked by both subjects.
    acked = next(line for line in out.splitlines() if line.startswith("messages acked"))
    assert acked.split()[2:4] == ["15", "15"], acked
    # The closing summary names the scenario's rows next to the bare loop, as ratios.
    summary = out[out.index("== summary") :]
    row = next(line for line in summary.splitlines() if line.startswith("3 x 5: acks/s"))
    assert row.split()[-3].endswith("x"), row


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_bench_prints_the_staff_alert_rows() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tests.bench", "--alerts", "--alert-hotels", "3"],
        capture_output=True,
        text=True,
        timeout=170,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout
    assert "== staff-alert latency" in out
    rows = {
        label: line.split()
        for line in out.splitlines()
        for label in ("3 hotels x 2 ", "3 hotels x 40 burst", "3 hotels x 4, LLM 2 s")
        if line.startswith(label)
    }
    assert len(rows) == 3, out
    for fields in rows.values():
        alerted, complaints = fields[-5].split("/")
        assert alerted == complaints, out  # every complaint's alert reached the staff chat

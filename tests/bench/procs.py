"""Child processes of the benchmark and what /proc says about them (Linux only).

CPU time comes from /proc/PID/stat (utime + stime) and peak RSS from VmHWM in
/proc/PID/status, so no psutil is needed and the figures are the kernel's own.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

_CLK_TCK = os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    kids: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            kids.extend(int(c) for c in (task / "children").read_text().split())
    except (FileNotFoundError, ProcessLookupError):
        pass
    return kids


def _own_cpu_s(pid: int, *, reaped: bool) -> float:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return 0.0
    fields = text[text.rindex(")") + 2 :].split()
    # After "pid (comm) ": state=0 ... utime=11, stime=12, cutime=13, cstime=14 (proc(5)).
    ticks = int(fields[11]) + int(fields[12])
    if reaped:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / _CLK_TCK


def cpu_s(pid: int) -> float:
    """User + system CPU seconds used so far by process `pid` (its threads included) and its
    descendants: the live ones (the daemon's processing worker) and the ones it reaped."""
    total = _own_cpu_s(pid, reaped=True)
    for child in _children(pid):
        total += cpu_s(child)
    return total


def peak_rss_mb(pid: int) -> float:
    """VmHWM (peak resident set size) of `pid` in MiB, plus that of its live children."""
    total = 0.0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            total = int(line.split()[1]) / 1024
            break
    else:
        raise RuntimeError(f"no VmHWM for pid {pid}")
    for child in _children(pid):
        with contextlib.suppress(FileNotFoundError, RuntimeError):
            total += peak_rss_mb(child)
    return total


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def python_module(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]


def stop(proc: subprocess.Popen[Any], timeout_s: float = 15.0) -> int | None:
    """SIGTERM, wait, then SIGKILL. Returns the exit status (None if it had to be killed)."""
    if proc.poll() is not None:
        return proc.returncode
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return None


class FakeProcess:
    """The fake Green API in its own process (`tests.bench.fake_proc`), driven by JSON
    lines. Every method blocks until the fake answers."""

    def __init__(self, instances: int, *, long_poll_scale: float = 1.0) -> None:
        self.proc = subprocess.Popen(
            python_module(
                "tests.bench.fake_proc",
                "--instances",
                str(instances),
                "--long-poll-scale",
                str(long_poll_scale),
            ),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        first = self._read()
        self.url = str(first["url"])

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _read(self) -> dict[str, Any]:
        stdout: IO[str] | None = self.proc.stdout
        assert stdout is not None
        line = stdout.readline()
        if not line:
            raise RuntimeError(f"fake Green API exited (status {self.proc.poll()})")
        data: dict[str, Any] = json.loads(line)
        return data

    def call(self, cmd: str, **args: Any) -> dict[str, Any]:
        stdin = self.proc.stdin
        assert stdin is not None
        stdin.write(json.dumps({"cmd": cmd, **args}) + "\n")
        stdin.flush()
        return self._read()

    def wait_drained(self, expected_deleted: int, timeout_s: float) -> bool:
        """Poll until nothing is pending and at least `expected_deleted` items were deleted."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            state = self.call("pending")
            if state["pending"] == 0 and state["deleted"] >= expected_deleted:
                return True
            time.sleep(0.05)
        return False

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.call("quit")
                self.proc.wait(timeout=10)
            except (OSError, RuntimeError, subprocess.TimeoutExpired):
                stop(self.proc)
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()

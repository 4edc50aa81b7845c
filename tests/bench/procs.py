"""Child processes of the benchmark and what /proc says about them (Linux only).

CPU time comes from /proc/PID/stat (utime + stime) and peak RSS from VmHWM in
/proc/PID/status, so no psutil is needed and the figures are the kernel's own.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

_CLK_TCK = os.sysconf("SC_CLK_TCK")


def descendants(pid: int) -> list[int]:
    """The live child processes of `pid`, their children, and so on (e.g. the daemon's
    processing worker), from /proc/PID/task/TID/children."""
    found: list[int] = []
    stack = [pid]
    while stack:
        parent = stack.pop()
        try:
            tasks = os.listdir(f"/proc/{parent}/task")
        except OSError:
            continue
        for tid in tasks:
            try:
                children = Path(f"/proc/{parent}/task/{tid}/children").read_text().split()
            except OSError:
                continue
            for child in map(int, children):
                found.append(child)
                stack.append(child)
    return found


def _own_cpu_s(pid: int) -> float:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0  # ended meanwhile: its time moves to the parent's cutime once reaped
    fields = text[text.rindex(")") + 2 :].split()
    # After "pid (comm) ": state=0 ... utime=11, stime=12, cutime=13, cstime=14 (fields 14-17
    # of proc(5)); cutime/cstime hold the children that ended and were waited for.
    return sum(int(f) for f in fields[11:15]) / _CLK_TCK


def own_cpu_s(pid: int) -> float:
    """User + system CPU seconds of `pid` and its threads alone (no child processes)."""
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text[text.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _CLK_TCK


def cpu_s(pid: int) -> float:
    """User + system CPU seconds used so far by process `pid`, its threads and its child
    processes (live ones read directly, ended ones through cutime/cstime)."""
    return sum(_own_cpu_s(p) for p in (pid, *descendants(pid)))


def _status_kb(pid: int, key: str) -> int:
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return 0
    for line in lines:
        if line.startswith(key):
            return int(line.split()[1])
    return 0


def peak_rss_mb(pid: int) -> float:
    """VmHWM (peak resident set size) of `pid` in MiB, plus that of its live child
    processes (the sum of peaks: an upper bound of the peak of the sum)."""
    if not Path(f"/proc/{pid}/status").exists():
        raise RuntimeError(f"no process {pid}")
    return sum(_status_kb(p, "VmHWM:") for p in (pid, *descendants(pid))) / 1024


def open_fds(pid: int) -> int:
    """Open descriptors of `pid` and its live child processes."""
    total = 0
    for p in (pid, *descendants(pid)):
        try:
            total += len(os.listdir(f"/proc/{p}/fd"))
        except OSError:
            continue
    return total


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


class _Drained:
    def call(self, cmd: str, **args: Any) -> dict[str, Any]:
        raise NotImplementedError

    def wait_drained(self, expected_deleted: int, timeout_s: float) -> bool:
        """Poll until nothing is pending and at least `expected_deleted` items were deleted."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            state = self.call("pending")
            if state["pending"] == 0 and state["deleted"] >= expected_deleted:
                return True
            time.sleep(0.05)
        return False


class FakeInDriver(_Drained):
    """The fake Green API on an event loop in a thread of the benchmark's own process, as
    in a load driver that hosts its fake: the fake then shares the driver's process (one
    GIL) instead of having a process, and so potentially a core, of its own. Same commands
    as `FakeProcess`; `pid` is the driver's."""

    def __init__(self, instances: int, *, long_poll_scale: float = 1.0) -> None:
        import asyncio
        import threading

        from tests.bench.fake_proc import new_state

        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._state = new_state(instances, long_poll_scale=long_poll_scale)
        self._run(self._state.server.start())
        self.url = self._state.server.url

    def _run(self, coro: Any) -> Any:
        import asyncio

        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    @property
    def pid(self) -> int:
        return os.getpid()

    def call(self, cmd: str, **args: Any) -> dict[str, Any]:
        from tests.bench.fake_proc import handle

        result: dict[str, Any] = self._run(handle(self._state, {"cmd": cmd, **args}))
        return result

    def close(self) -> None:
        self._run(self._state.server.stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()


class FakeProcess(_Drained):
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

"""Named fault points for fault-injection tests, read once at import (one attribute check per
call in production):

* HOTELBOT_CRASH_AT=<name>: the process dies with os._exit(137) (like a SIGKILL) the first
  time execution reaches `crash_point(name)`;
* HOTELBOT_PAUSE_AT=<name>: the process stops itself with SIGSTOP (like a frozen VM or a
  debugger) the first time it reaches `pause_point(name)`; the test resumes it with SIGCONT;
* HOTELBOT_FAIL_AT=<name>: `fail_point(name)` raises InjectedFault the first time it is
  reached (a bug in one task of a live process: how the daemon notices and stops).
"""

from __future__ import annotations

import os
import signal

# A daemon's processing worker child inherits these once: a restarted child runs clean.
FAULT_VARIABLES = ("HOTELBOT_CRASH_AT", "HOTELBOT_PAUSE_AT", "HOTELBOT_FAIL_AT")

_TARGET = os.environ.get("HOTELBOT_CRASH_AT", "")
_PAUSE = os.environ.get("HOTELBOT_PAUSE_AT", "")
_FAIL = os.environ.get("HOTELBOT_FAIL_AT", "")
_paused: set[str] = set()
_failed: set[str] = set()


class InjectedFault(RuntimeError):
    """Raised by `fail_point`: stands for an unexpected bug in the code around it."""


def crash_point(name: str) -> None:
    """Dies here under HOTELBOT_CRASH_AT=name; a crash point is a pause point too (a test can
    freeze the process there and kill it with a real SIGKILL)."""
    if _TARGET and name == _TARGET:
        os._exit(137)
    pause_point(name)


def pause_point(name: str) -> None:
    if _PAUSE and name == _PAUSE and name not in _paused:
        _paused.add(name)
        os.kill(os.getpid(), signal.SIGSTOP)


def fail_point(name: str) -> None:
    if _FAIL and name == _FAIL and name not in _failed:
        _failed.add(name)
        raise InjectedFault(f"fault injected at {name}")

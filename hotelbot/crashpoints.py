"""Named fault points for fault-injection tests, read once at import (one attribute check per
call in production):

* HOTELBOT_CRASH_AT=<name>: the process dies with os._exit(137) (like a SIGKILL) the first
  time execution reaches `crash_point(name)`;
* HOTELBOT_PAUSE_AT=<name>: the process stops itself with SIGSTOP (like a frozen VM or a
  debugger) the first time it reaches `pause_point(name)`; the test resumes it with SIGCONT.
"""

from __future__ import annotations

import os
import signal

_TARGET = os.environ.get("HOTELBOT_CRASH_AT", "")
_PAUSE = os.environ.get("HOTELBOT_PAUSE_AT", "")
_paused: set[str] = set()


def crash_point(name: str) -> None:
    if _TARGET and name == _TARGET:
        os._exit(137)


def pause_point(name: str) -> None:
    if _PAUSE and name == _PAUSE and name not in _paused:
        _paused.add(name)
        os.kill(os.getpid(), signal.SIGSTOP)

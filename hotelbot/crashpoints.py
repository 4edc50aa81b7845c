"""Named crash points for fault-injection tests: HOTELBOT_CRASH_AT=<name> makes the process
die with os._exit(137) (like a SIGKILL) the first time execution reaches that point.

Read once at import; costs one attribute check per call in production.
"""

from __future__ import annotations

import os

_TARGET = os.environ.get("HOTELBOT_CRASH_AT", "")


def crash_point(name: str) -> None:
    if _TARGET and name == _TARGET:
        os._exit(137)

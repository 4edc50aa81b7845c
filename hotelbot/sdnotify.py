"""sd_notify(3) for a Type=notify service, stdlib only.

The protocol is one datagram of newline-separated ``KEY=VALUE`` fields sent to the AF_UNIX
socket named in ``$NOTIFY_SOCKET`` (a path, or ``@name`` for the abstract namespace).
Outside systemd the variable is unset and every call is a cheap no-op that returns False,
so the daemon calls these functions unconditionally.

Every function here is safe to call from the event loop: the send is bounded by a short
socket timeout and errors are swallowed and reported as ``False``. Losing one status update
or watchdog ping is harmless; stalling or crashing the daemon because of it is not.
"""

from __future__ import annotations

import os
import socket
import time

__all__ = [
    "extend_timeout",
    "notify",
    "ready",
    "reloading",
    "status",
    "stopping",
    "watchdog",
    "watchdog_interval_s",
]

# systemd reads its notify socket promptly; if the receive queue is full anyway, give up
# after this long rather than hold the event loop.
_SEND_TIMEOUT_S = 0.25


def _socket_address(raw: str) -> str | None:
    """Map ``$NOTIFY_SOCKET`` to a connectable AF_UNIX address, or None if unsupported."""
    if raw.startswith("@"):
        return "\0" + raw[1:]  # Linux abstract namespace
    if raw.startswith("/"):
        return raw
    return None  # vsock: and other forms only matter inside VMs


def _one_line(text: str) -> str:
    # A newline inside a value would start a new KEY=VALUE assignment.
    return " ".join(text.splitlines())


def notify(*fields: str) -> bool:
    """Send ``fields`` (each ``KEY=VALUE``) as one notification datagram.

    Returns True when the datagram was handed to the kernel, False when not running under
    systemd (``NOTIFY_SOCKET`` unset or of an unsupported form), when no fields were given,
    or when sending failed. Never raises ``OSError``; blocks for at most ~0.25 s.
    Callers must not put newlines inside a field; the helpers below flatten them.
    """
    raw = os.environ.get("NOTIFY_SOCKET")
    if not raw or not fields:
        return False
    address = _socket_address(raw)
    if address is None:
        return False
    payload = "\n".join(fields).encode()
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.settimeout(_SEND_TIMEOUT_S)
            sock.connect(address)
            sock.sendall(payload)
    except OSError:
        return False
    return True


def watchdog_interval_s() -> float | None:
    """Seconds between watchdog pings, or None when the watchdog is off for this process.

    Half of ``$WATCHDOG_USEC`` (the interval systemd recommends). None when the variable is
    unset, invalid or zero, or when ``$WATCHDOG_PID`` names another process (the variables
    were inherited by a child that should not ping on the daemon's behalf).
    """
    usec_raw = os.environ.get("WATCHDOG_USEC")
    if not usec_raw:
        return None
    try:
        usec = int(usec_raw)
    except ValueError:
        return None
    if usec <= 0:
        return None
    pid_raw = os.environ.get("WATCHDOG_PID")
    if pid_raw:
        try:
            if int(pid_raw) != os.getpid():
                return None
        except ValueError:
            return None
    return usec / 2_000_000


def _with_status(fields: list[str], text: str | None) -> tuple[str, ...]:
    if text is not None:
        fields.append(f"STATUS={_one_line(text)}")
    return tuple(fields)


def ready(status_text: str | None = None) -> bool:
    """Start-up (or a reload) finished: ``READY=1`` plus an optional ``STATUS=``."""
    return notify(*_with_status(["READY=1"], status_text))


def status(text: str) -> bool:
    """Set the one-line status shown by ``systemctl status`` (newlines become spaces)."""
    return notify(f"STATUS={_one_line(text)}")


def watchdog() -> bool:
    """Watchdog keep-alive ping (``WATCHDOG=1``)."""
    return notify("WATCHDOG=1")


def reloading(status_text: str | None = None) -> bool:
    """A reload began: ``RELOADING=1`` with ``MONOTONIC_USEC=`` (CLOCK_MONOTONIC, µs).

    systemd >= 253 uses the timestamp to match the reload with its later ``READY=1``;
    older versions ignore the unknown key. Follow with :func:`ready` when done.
    """
    now_usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    return notify(*_with_status(["RELOADING=1", f"MONOTONIC_USEC={now_usec}"], status_text))


def stopping(status_text: str | None = None) -> bool:
    """Shutdown began (``STOPPING=1``); since systemd 259 the service must then exit."""
    return notify(*_with_status(["STOPPING=1"], status_text))


def extend_timeout(timeout_s: float) -> bool:
    """Ask for ``timeout_s`` more seconds of start-up/shutdown time (slow migrations)."""
    return notify(f"EXTEND_TIMEOUT_USEC={max(0, round(timeout_s * 1_000_000))}")

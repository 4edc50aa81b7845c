#!/usr/bin/python3
"""A stand-in for `systemctl` in the install test's throwaway root (no systemd as PID 1).

It plays the service manager for units installed under /etc/systemd/system: `start` forks a
small manager process that binds a notification socket, runs the unit's main process through
`hotelbot-admin --exec-start` (the unit's user, umask, environment, state directory and
credentials; sandboxing is not reproduced), records every sd_notify field, and writes the
exit status when the process ends. Deliberately stricter than systemd, because it checks a
document: `start` fails unless READY=1 arrives, `reload` unless RELOADING=1 and a new
READY=1 arrive, and `stop` unless the daemon exits 0 within TimeoutStopSec=.

Verbs: start, stop, restart, reload, status, is-active, enable/disable [--now],
daemon-reload, reset-failed, cat. `edit` is interactive and refused. Standard library only
(it runs on the system Python of the throwaway root).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

UNIT_DIR = Path("/etc/systemd/system")
STATE = Path("/run/fake-systemd")
JOURNAL = Path("/var/log/fake-journal")
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def _unit_name(arg: str) -> str:
    return arg if "." in arg else f"{arg}.service"


def _unit_lines(name: str) -> list[tuple[str, str, str]]:
    """(section, key, value) of the unit and its drop-ins, in the order systemd applies them."""
    files = [UNIT_DIR / name]
    drop_dir = UNIT_DIR / f"{name}.d"
    if drop_dir.is_dir():
        files += sorted(drop_dir.glob("*.conf"))
    found = []
    for path in files:
        section = ""
        for raw in path.read_text().splitlines():
            line = raw.strip()
            if not line or line.startswith(("#", ";")):
                continue
            if line.startswith("["):
                section = line.strip("[]")
                continue
            key, _, value = line.partition("=")
            found.append((section, key.strip(), value.strip()))
    return found


def _last(name: str, section: str, key: str, default: str = "") -> str:
    values = [v for s, k, v in _unit_lines(name) if s == section and k == key]
    return values[-1] if values else default


def _dir(name: str) -> Path:
    return STATE / name


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except OSError:
        return None


def _running(name: str) -> int | None:
    """The main process id while the service runs, else None."""
    pid_text = _read(_dir(name) / "main.pid")
    if pid_text is None or _read(_dir(name) / "exit") is not None:
        return None
    pid = int(pid_text)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    return pid


def _notify_fields(name: str) -> list[str]:
    return (_read(_dir(name) / "notify.log") or "").splitlines()


def _manager(name: str) -> None:
    """The forked manager: run the main process, record notifications and the exit code."""
    os.setsid()
    state = _dir(name)
    sock_path = state / "notify"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(sock_path))
    os.chmod(sock_path, 0o777)  # the service user must be able to send
    sock.settimeout(0.2)
    program = _last(name, "Service", "ExecStart").split()[0].lstrip("@-:+!")
    admin = str(Path(program).with_name("hotelbot-admin"))
    JOURNAL.mkdir(parents=True, exist_ok=True)
    with (
        open(JOURNAL / f"{name.removesuffix('.service')}.log", "ab") as journal,
        open(state / "notify.log", "a") as notify_log,
    ):
        env = {"PATH": PATH, "LANG": "C.UTF-8", "NOTIFY_SOCKET": str(sock_path)}
        proc = subprocess.Popen(
            [admin, "--exec-start"],
            stdin=subprocess.DEVNULL,
            stdout=journal,
            stderr=subprocess.STDOUT,
            env=env,
        )
        (state / "main.pid").write_text(str(proc.pid))
        while True:
            with contextlib.suppress(TimeoutError):
                data = sock.recv(65536)
                for field in data.decode(errors="replace").splitlines():
                    notify_log.write(field + "\n")
                notify_log.flush()
            code = proc.poll()
            if code is not None:
                (state / "exit").write_text(str(code))
                return


def start(name: str) -> int:
    if not (UNIT_DIR / name).is_file():
        print(f"Failed to start {name}: Unit {name} not found.", file=sys.stderr)
        return 5
    if _running(name) is not None:
        return 0
    state = _dir(name)
    state.mkdir(parents=True, exist_ok=True)
    for leftover in ("main.pid", "exit", "notify.log", "notify"):
        (state / leftover).unlink(missing_ok=True)
    if os.fork() == 0:
        try:
            devnull = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(devnull, fd)
            _manager(name)
        finally:
            os._exit(0)
    timeout_s = float(_last(name, "Service", "TimeoutStartSec", "90"))
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if "READY=1" in _notify_fields(name):
            return 0
        code = _read(state / "exit")
        if code is not None:
            print(
                f"Job for {name} failed because the control process exited with error code "
                f"(status={code}).\n--- journal (last lines) ---\n" + _journal_tail(name),
                file=sys.stderr,
            )
            return 1
        time.sleep(0.1)
    print(f"Job for {name} failed: no READY=1 within {timeout_s:.0f} s", file=sys.stderr)
    return 1


def _journal_tail(name: str, lines: int = 30) -> str:
    text = _read(JOURNAL / f"{name.removesuffix('.service')}.log") or ""
    return "\n".join(text.splitlines()[-lines:])


def stop(name: str) -> int:
    pid = _running(name)
    if pid is None:
        return 0
    os.kill(pid, signal.SIGTERM)
    timeout_s = float(_last(name, "Service", "TimeoutStopSec", "90"))
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        code = _read(_dir(name) / "exit")
        if code is not None:
            if int(code) != 0:
                print(
                    f"{name}: main process exited, status={code}\n" + _journal_tail(name),
                    file=sys.stderr,
                )
                return 1
            return 0
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)
    print(f"{name}: stop timed out after {timeout_s:.0f} s; killed", file=sys.stderr)
    return 1


def reload(name: str) -> int:
    pid = _running(name)
    if pid is None:
        print(f"Job for {name} failed: the unit is not active.", file=sys.stderr)
        return 1
    seen = len(_notify_fields(name))
    os.kill(pid, signal.SIGHUP)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        fields = _notify_fields(name)[seen:]
        if "RELOADING=1" in fields and "READY=1" in fields[fields.index("RELOADING=1") :]:
            return 0
        time.sleep(0.1)
    print(f"Job for {name} failed: no RELOADING=1/READY=1 after SIGHUP", file=sys.stderr)
    return 1


def status(name: str) -> int:
    description = _last(name, "Unit", "Description", name)
    pid = _running(name)
    statuses = [f for f in _notify_fields(name) if f.startswith("STATUS=")]
    print(f"* {name} - {description}")
    if pid is None:
        code = _read(_dir(name) / "exit")
        state = "inactive (dead)" if code in (None, "0") else f"failed (status={code})"
        print(f"     Active: {state}")
        return 3
    print(f"     Active: active (running)\n   Main PID: {pid}")
    if statuses:
        print(f'     Status: "{statuses[-1].removeprefix("STATUS=")}"')
    return 0


def _wants_links(name: str) -> list[Path]:
    targets = [v for s, k, v in _unit_lines(name) if s == "Install" and k == "WantedBy"]
    return [UNIT_DIR / f"{target}.wants" / name for t in targets for target in t.split()]


def enable(name: str, now: bool) -> int:
    if not (UNIT_DIR / name).is_file():
        print(f"Failed to enable unit: Unit file {name} does not exist.", file=sys.stderr)
        return 1
    for link in _wants_links(name):
        link.parent.mkdir(parents=True, exist_ok=True)
        if not link.is_symlink():
            link.symlink_to(UNIT_DIR / name)
            print(f"Created symlink {link} -> {UNIT_DIR / name}.")
    return start(name) if now else 0


def disable(name: str, now: bool) -> int:
    code = stop(name) if now else 0
    for folder in UNIT_DIR.glob("*.wants"):
        link = folder / name
        if link.is_symlink():
            link.unlink()
            print(f"Removed {link}.")
    return code


def main(argv: list[str]) -> int:
    now = "--now" in argv
    args = [a for a in argv if not a.startswith("-")]
    if not args:
        print("fake systemctl: no verb", file=sys.stderr)
        return 1
    verb, units = args[0], [_unit_name(a) for a in args[1:]]
    if verb == "daemon-reload":
        return 0
    if verb == "edit":
        print(
            "fake systemctl: `edit` is interactive; documented steps must write drop-in "
            "files instead",
            file=sys.stderr,
        )
        return 1

    def restart(n: str) -> int:
        return stop(n) or start(n)

    def is_active(n: str) -> int:
        active = _running(n) is not None
        print("active" if active else "inactive")
        return 0 if active else 3

    def reset_failed(n: str) -> int:
        (_dir(n) / "exit").unlink(missing_ok=True)
        return 0

    def cat(n: str) -> int:
        print((UNIT_DIR / n).read_text())
        return 0

    actions: dict[str, Callable[[str], int]] = {
        "start": start,
        "stop": stop,
        "restart": restart,
        "reload": reload,
        "status": status,
        "is-active": is_active,
        "enable": lambda n: enable(n, now),
        "disable": lambda n: disable(n, now),
        "reset-failed": reset_failed,
        "cat": cat,
    }
    if verb not in actions or not units:
        print(f"fake systemctl: unsupported: {' '.join(argv)}", file=sys.stderr)
        return 1
    code = 0
    for unit in units:
        code = actions[verb](unit) or code
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

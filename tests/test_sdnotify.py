"""sdnotify against real AF_UNIX datagram sockets (path and abstract), as systemd listens."""

from __future__ import annotations

import os
import socket
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from hotelbot import sdnotify


def _recv(sock: socket.socket) -> list[str]:
    return sock.recv(4096).decode().split("\n")


@pytest.fixture
def path_socket(monkeypatch: pytest.MonkeyPatch) -> Iterator[socket.socket]:
    # tempfile under /tmp keeps the path below the 108-byte AF_UNIX limit.
    with tempfile.TemporaryDirectory(prefix="hb-") as tmp:
        path = str(Path(tmp, "notify.sock"))
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.bind(path)
            sock.settimeout(2.0)
            monkeypatch.setenv("NOTIFY_SOCKET", path)
            yield sock


@pytest.fixture
def abstract_socket(monkeypatch: pytest.MonkeyPatch) -> Iterator[socket.socket]:
    name = f"hb-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(2.0)
        monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
        yield sock


def test_path_socket_receives_ready_and_status(path_socket: socket.socket) -> None:
    assert sdnotify.ready("polling 2 hotels") is True
    assert _recv(path_socket) == ["READY=1", "STATUS=polling 2 hotels"]


def test_abstract_socket_receives_fields(abstract_socket: socket.socket) -> None:
    assert sdnotify.notify("READY=1", "STATUS=x") is True
    assert _recv(abstract_socket) == ["READY=1", "STATUS=x"]


def test_lifecycle_order(abstract_socket: socket.socket) -> None:
    before_usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    assert sdnotify.ready()
    assert sdnotify.status("2/2 hotels ok")
    assert sdnotify.watchdog()
    assert sdnotify.reloading()
    assert sdnotify.ready("reloaded")
    assert sdnotify.stopping("stopping")
    got = [_recv(abstract_socket) for _ in range(6)]

    assert got[0] == ["READY=1"]
    assert got[1] == ["STATUS=2/2 hotels ok"]
    assert got[2] == ["WATCHDOG=1"]
    assert got[3][0] == "RELOADING=1"
    key, _, value = got[3][1].partition("=")
    assert key == "MONOTONIC_USEC"
    after_usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    assert before_usec <= int(value) <= after_usec
    assert got[4] == ["READY=1", "STATUS=reloaded"]
    assert got[5] == ["STOPPING=1", "STATUS=stopping"]


def test_status_newlines_cannot_inject_fields(path_socket: socket.socket) -> None:
    assert sdnotify.status("line one\nREADY=1")
    assert _recv(path_socket) == ["STATUS=line one READY=1"]


def test_extend_timeout_in_microseconds(path_socket: socket.socket) -> None:
    assert sdnotify.extend_timeout(1.5)
    assert _recv(path_socket) == ["EXTEND_TIMEOUT_USEC=1500000"]


def test_unset_socket_is_a_noop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert sdnotify.notify("READY=1") is False
    assert sdnotify.ready() is False


@pytest.mark.parametrize("value", ["", "vsock:2:1234", "relative/path"])
def test_unsupported_socket_forms_return_false(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("NOTIFY_SOCKET", value)
    assert sdnotify.notify("READY=1") is False


def test_missing_listener_is_swallowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTIFY_SOCKET", f"@hb-nobody-{uuid.uuid4().hex}")
    assert sdnotify.watchdog() is False
    with tempfile.TemporaryDirectory(prefix="hb-") as tmp:
        monkeypatch.setenv("NOTIFY_SOCKET", str(Path(tmp, "absent.sock")))
        assert sdnotify.watchdog() is False


def test_no_fields_sends_nothing(path_socket: socket.socket) -> None:
    assert sdnotify.notify() is False
    path_socket.settimeout(0.05)
    with pytest.raises(TimeoutError):
        path_socket.recv(4096)


def test_watchdog_interval_is_half_the_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATCHDOG_USEC", "60000000")
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    assert sdnotify.watchdog_interval_s() == 30.0
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    assert sdnotify.watchdog_interval_s() == 30.0


def test_watchdog_interval_for_another_pid_is_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATCHDOG_USEC", "60000000")
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid() + 1))
    assert sdnotify.watchdog_interval_s() is None


@pytest.mark.parametrize("usec", [None, "", "0", "-5", "sixty"])
def test_watchdog_interval_off(monkeypatch: pytest.MonkeyPatch, usec: str | None) -> None:
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    if usec is None:
        monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    else:
        monkeypatch.setenv("WATCHDOG_USEC", usec)
    assert sdnotify.watchdog_interval_s() is None

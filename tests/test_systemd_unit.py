"""The shipped systemd files: directive contract, systemd-analyze verify/security, sysusers.

The systemd-analyze checks need the binary (Debian: package `systemd`); they are skipped with
a reason otherwise. `verify` insists that ExecStart= exists, so it runs on a temporary copy
whose ExecStart= points at the `hotelbot` console script of the environment running the
tests (the same program, installed under a different prefix); every other line is unchanged.
`verify` exits 0 even for unknown or unparsable directives, so its output must be empty too.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hotelbot.settings import DaemonSettings

SYSTEMD_DIR = Path(__file__).resolve().parent.parent / "systemd"
UNIT = SYSTEMD_DIR / "hotelbot.service"
SYSUSERS = SYSTEMD_DIR / "hotelbot.sysusers"
TMPFILES = SYSTEMD_DIR / "hotelbot.tmpfiles"
ENV_EXAMPLE = SYSTEMD_DIR / "hotelbot.env.example"

MAX_EXPOSURE = 2.0
DAEMON_DRAIN_S = DaemonSettings().drain_timeout_s  # the daemon's whole drain after SIGTERM

needs_analyze = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None,
    reason="systemd-analyze not installed (apt-get install systemd); CI installs it",
)


def _directives(text: str) -> list[tuple[str, str, str]]:
    """(section, key, value) for every assignment; repeated keys are kept in order."""
    section, out = "", []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, sep, value = line.partition("=")
        assert sep, f"not an assignment: {raw!r}"
        out.append((section, key.strip(), value.strip()))
    return out


def _service(key: str) -> list[str]:
    return [v for s, k, v in _directives(UNIT.read_text()) if s == "Service" and k == key]


def _analyze(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["systemd-analyze", *args], capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("Type", "notify"),
        ("NotifyAccess", "main"),
        ("ExecStart", "/opt/hotelbot/.venv/bin/hotelbot run"),
        ("ExecReload", "/bin/kill -HUP $MAINPID"),
        ("WatchdogSec", "60"),
        ("TimeoutStartSec", "120"),
        ("KillMode", "mixed"),
        ("Restart", "on-failure"),
        ("RestartSec", "5"),
        ("RestartPreventExitStatus", "78"),
        ("User", "hotelbot"),
        ("Group", "hotelbot"),
        ("StateDirectory", "hotelbot"),
        ("StateDirectoryMode", "0700"),
        ("ConfigurationDirectory", "hotelbot"),
        ("ConfigurationDirectoryMode", "0750"),
        ("UMask", "0077"),
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
        ("MemoryDenyWriteExecute", "yes"),
        ("CapabilityBoundingSet", ""),
    ],
)
def test_unit_directive(key: str, value: str) -> None:
    assert _service(key) == [value]


def test_unit_environment_and_credentials() -> None:
    assert "HOTELBOT_CONFIG=/etc/hotelbot/hotelbot.toml" in _service("Environment")
    assert _service("LoadCredential") == [
        "deepseek_api_key:/etc/hotelbot/credentials/deepseek_api_key"
    ]
    # The fallback that keeps the unit startable without an LLM key (see docs/systemd.md).
    assert _service("SetCredential") == ["deepseek_api_key:\\n"]
    assert "#LoadCredential=pg_password:/etc/hotelbot/credentials/pg_password" in (
        UNIT.read_text().splitlines()
    )


def test_stop_timeout_covers_the_drain() -> None:
    (stop_s,) = _service("TimeoutStopSec")
    assert int(stop_s) >= 2 * DAEMON_DRAIN_S


def test_sysusers_line() -> None:
    lines = [
        line
        for line in SYSUSERS.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines == ['u hotelbot - "hotelbot daemon" /var/lib/hotelbot']


def test_env_example_holds_no_values() -> None:
    assignments = [
        line
        for line in ENV_EXAMPLE.read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert assignments, "the example should name the variables"
    for line in assignments:
        key, sep, value = line.partition("=")
        assert sep and re.fullmatch(r"HOTELBOT_[A-Z0-9_]+", key), line
        assert value == "", f"example must not carry a secret: {line}"


@needs_analyze
def test_security_exposure_within_budget() -> None:
    # --threshold is on the 0-100 internal scale: 20 fails anything above 2.0.
    result = _analyze("security", "--offline=yes", "--threshold=20", str(UNIT))
    match = re.search(r"Overall exposure level for hotelbot\.service: (\d+\.\d+)", result.stdout)
    assert match, result.stdout[-2000:] + result.stderr
    exposure = float(match.group(1))
    print(f"systemd-analyze security exposure: {exposure}")
    assert exposure <= MAX_EXPOSURE
    assert result.returncode == 0, result.stderr


def _unit_copy(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "hotelbot.service"
    path.write_text(text)
    return path


def _runnable_unit_text() -> str:
    script = Path(sys.executable).parent / "hotelbot"
    if not os.access(script, os.X_OK):
        pytest.skip(f"no hotelbot console script at {script}; pip install -e . first")
    text, count = re.subn(
        r"^ExecStart=/opt/hotelbot/\.venv/bin/hotelbot ",
        f"ExecStart={script} ",
        UNIT.read_text(),
        flags=re.MULTILINE,
    )
    assert count == 1
    return text


@needs_analyze
def test_verify_is_clean(tmp_path: Path) -> None:
    result = _analyze("verify", "--man=no", str(_unit_copy(tmp_path, _runnable_unit_text())))
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert result.stderr == ""  # any warning (unknown key, invalid syntax) is a failure


@needs_analyze
def test_verify_reports_a_broken_directive(tmp_path: Path) -> None:
    broken = _runnable_unit_text().replace("KillMode=mixed", "KillMode=mixd")
    result = _analyze("verify", "--man=no", str(_unit_copy(tmp_path, broken)))
    assert "hotelbot.service:" in result.stderr
    assert "mixd" in result.stderr


@pytest.mark.skipif(
    shutil.which("systemd-sysusers") is None or shutil.which("systemd-tmpfiles") is None,
    reason="systemd-sysusers/systemd-tmpfiles not installed",
)
@pytest.mark.skipif(os.geteuid() != 0, reason="tmpfiles must chown: needs root")
def test_sysusers_and_tmpfiles_apply_to_an_empty_root(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    subprocess.run(
        ["systemd-sysusers", f"--root={tmp_path}", str(SYSUSERS)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    passwd = (tmp_path / "etc/passwd").read_text()
    (entry,) = [line for line in passwd.splitlines() if line.startswith("hotelbot:")]
    _, _, uid, gid, gecos, home, _shell = entry.split(":")
    assert (gecos, home) == ("hotelbot daemon", "/var/lib/hotelbot")
    assert int(uid) < 1000  # a system user

    subprocess.run(
        ["systemd-tmpfiles", f"--root={tmp_path}", "--create", str(TMPFILES)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    config = (tmp_path / "etc/hotelbot").stat()
    creds = (tmp_path / "etc/hotelbot/credentials").stat()
    state = (tmp_path / "var/lib/hotelbot").stat()
    assert (config.st_mode & 0o7777, config.st_uid, config.st_gid) == (0o750, 0, int(gid))
    assert (creds.st_mode & 0o7777, creds.st_uid, creds.st_gid) == (0o700, 0, 0)
    assert (state.st_mode & 0o7777, state.st_uid, state.st_gid) == (0o700, int(uid), int(gid))

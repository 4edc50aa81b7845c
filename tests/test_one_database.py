"""One database, named everywhere; one-line exit-78 errors for files that cannot be used;
`hotelbot-admin` running commands and the daemon with a unit's user, environment and
credentials; one drain time.

Real processes (`python -m hotelbot`, the `hotelbot-admin` entry point, the daemon) against
real SQLite files. Unreadable files are made real for root by running without the
DAC-override capabilities (`setpriv --bounding-set`), as a root process with a hardened
bounding set or any other user would.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from hotelbot.fakes.greenapi import FakeGreenApi
from hotelbot.settings import DaemonSettings
from tests import shapes

REPO = Path(__file__).resolve().parent.parent
ADMIN = Path(sys.executable).with_name("hotelbot-admin")
NO_DAC = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--"]

needs_root = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None,
    reason="needs root and setpriv (util-linux) to make files unreadable for the test",
)


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("HOTELBOT_", "STATE_DIRECTORY", "CONFIGURATION_DIRECTORY", "XDG_"))
    }
    env.update(HOME=str(tmp_path / "home"), **extra)
    return env


def _cli(env: dict[str, str], *args: str, prefix: list[str] | None = None) -> tuple[int, str, str]:
    proc = subprocess.run(
        [*(prefix or []), sys.executable, "-m", "hotelbot", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return proc.returncode, proc.stdout, proc.stderr


def _one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


def test_db_upgrade_names_the_file_and_other_commands_never_create_one(tmp_path: Path) -> None:
    path = tmp_path / "state" / "hotelbot.sqlite3"
    env = _env(tmp_path, HOTELBOT_DATABASE_URL=f"sqlite+aiosqlite:///{path}")
    code, _, err = _cli(env, "status")
    assert code == 78
    assert _one_error_line(err) == (
        f"error: no database at {path}: run `hotelbot db upgrade` to create it, or check "
        "which database the settings select (`hotelbot db info`)"
    )
    assert not path.exists() and not path.parent.exists()
    code, out, _ = _cli(env, "db", "upgrade")
    assert code == 0
    assert re.search(rf"upgraded: empty -> \S+: SQLite file {re.escape(str(path))}$", out, re.M)
    assert "(database chosen by environment variable HOTELBOT_DATABASE_URL)" in out
    assert (path.stat().st_mode & 0o777, path.parent.stat().st_mode & 0o777) == (0o600, 0o700)
    code, out, _ = _cli(env, "db", "info")
    assert code == 0
    assert f"database    SQLite file {path}" in out
    assert "schema      " in out and "(up to date)" in out
    code, out, _ = _cli(env, "db", "info", "--path")
    assert out == f"{path}\n"


def test_db_info_says_why_the_default_database_was_chosen(tmp_path: Path) -> None:
    env = _env(tmp_path, STATE_DIRECTORY=str(tmp_path / "state"))
    code, out, _ = _cli(env, "db", "info")
    assert code == 0
    assert f"database    SQLite file {tmp_path / 'state' / 'hotelbot.sqlite3'}" in out
    assert "chosen by   default: hotelbot.sqlite3 in the state directory $STATE_DIRECTORY" in out
    assert "file        does not exist (`hotelbot db upgrade` creates it)" in out
    config = tmp_path / "hotelbot.toml"
    config.write_text(f'[database]\nurl = "sqlite+aiosqlite:///{tmp_path / "named.sqlite3"}"\n')
    code, out, _ = _cli(dict(env, HOTELBOT_CONFIG=str(config)), "db", "info")
    assert f"chosen by   {config} ([database] url)" in out
    assert f"SQLite file {tmp_path / 'named.sqlite3'}" in out


def test_db_backup_copies_the_sqlite_file_and_points_postgresql_to_pg_dump(
    db_url: str, backend: str, tmp_path: Path
) -> None:
    env = _env(tmp_path, HOTELBOT_DATABASE_URL=db_url)
    assert _cli(env, "db", "upgrade")[0] == 0
    dest = tmp_path / "copy.sqlite3"
    code, out, err = _cli(env, "db", "backup", str(dest))
    if backend == "postgresql":
        assert code == 1 and not dest.exists()
        assert _one_error_line(err) == (
            f"error: the database is {db_url}: back it up with pg_dump (docs/systemd.md, Backup)"
        )
        return
    source = db_url.split("///", 1)[1]
    assert code == 0, err
    assert re.fullmatch(
        rf"backup of {re.escape(source)} written to {re.escape(str(dest))} "
        r"\(\d+\.\d MiB, mode 0600\)\n",
        out,
    )
    assert dest.stat().st_mode & 0o777 == 0o600
    copied = _cli(dict(env, HOTELBOT_DATABASE_URL=f"sqlite+aiosqlite:///{dest}"), "db", "current")
    assert copied[0] == 0 and "(up to date)" in copied[1]
    code, _, err = _cli(env, "db", "backup", str(dest))
    assert code == 1
    assert _one_error_line(err) == f"error: {dest} exists already: backups are never overwritten"


def test_a_refused_change_is_one_line_naming_the_constraint_in_words(
    db_url: str, tmp_path: Path
) -> None:
    env = _env(tmp_path, HOTELBOT_DATABASE_URL=db_url)
    assert _cli(env, "db", "upgrade")[0] == 0
    hotels = tmp_path / "hotels.toml"
    hotels.write_text(
        '[[hotels]]\nslug = "riga"\nname = "Riga"\ninstance_id = "1101000001"\n'
        'api_token = "secret-token"\n'
    )
    assert _cli(env, "hotel", "import", str(hotels))[0] == 0
    stay = ["stay", "add", "riga", "--phone", "+37120000001", "--name", "Anna"]
    stay += ["--check-in", "2030-05-01", "--check-out", "2030-05-03"]
    assert _cli(env, *stay, "--external-ref", "A1")[0] == 0
    code, _, err = _cli(env, *stay, "--external-ref", "A2")
    assert code == 1
    assert _one_error_line(err) == (
        "error: the database refused the change: this guest already has a stay from that day"
        " (uq_stays_hotel_id_chat_id_check_in)"
    )


def test_a_locked_or_broken_sqlite_database_is_one_line(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "hotelbot.sqlite3"
    env = _env(
        tmp_path,
        HOTELBOT_DATABASE_URL=f"sqlite+aiosqlite:///{path}",
        HOTELBOT_DATABASE__BUSY_TIMEOUT_MS="50",
    )
    assert _cli(env, "db", "upgrade")[0] == 0
    hotels = tmp_path / "hotels.toml"
    hotels.write_text('[[hotels]]\nslug = "riga"\nname = "R"\ninstance_id = "1"\napi_token = "t"\n')
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")  # another writer holds the lock past the timeout
        code, _, err = _cli(env, "hotel", "import", str(hotels))
    finally:
        holder.close()
    assert code == 1
    assert _one_error_line(err) == (
        "error: database unavailable: OperationalError (OperationalError, SQLITE_BUSY)"
        " (is it running and reachable?)"
    )
    broken = tmp_path / "broken.sqlite3"
    broken.write_bytes(b"not a database " * 100)
    broken.chmod(0o600)
    code, _, err = _cli(
        dict(env, HOTELBOT_DATABASE_URL=f"sqlite+aiosqlite:///{broken}"), "db", "current"
    )
    assert code == 1
    assert _one_error_line(err) == (
        "error: database error: DatabaseError (DatabaseError, SQLITE_NOTADB)"
        " (is the schema upgraded? `hotelbot db upgrade`)"
    )


def test_a_relative_sqlite_path_is_refused(tmp_path: Path) -> None:
    env = _env(tmp_path, HOTELBOT_DATABASE_URL="sqlite+aiosqlite:///hotelbot.sqlite3")
    code, _, err = _cli(env, "db", "upgrade")
    assert code == 78
    assert "environment HOTELBOT_DATABASE_URL: database.url" in err
    assert "a SQLite path must be absolute" in err and "Traceback" not in err


def test_shipped_settings_and_unit_agree_on_the_database() -> None:
    """The example settings file installed as /etc/hotelbot/hotelbot.toml names the database
    inside the unit's StateDirectory=, so the daemon and every command reading the file open
    the same database whatever their environment."""
    import tomllib

    unit = (REPO / "systemd" / "hotelbot.service").read_text()
    (state,) = re.findall(r"^StateDirectory=(\S+)$", unit, re.M)
    (config,) = re.findall(r"^Environment=HOTELBOT_CONFIG=(\S+)$", unit, re.M)
    assert config == "/etc/hotelbot/hotelbot.toml"
    url = tomllib.loads((REPO / "config" / "hotelbot.toml").read_text())["database"]["url"]
    assert url == f"sqlite+aiosqlite:////var/lib/{state}/hotelbot.sqlite3"


def test_one_drain_time_everywhere() -> None:
    """The drain time is the setting's default wherever it is written down."""
    drain_s = DaemonSettings().drain_timeout_s
    config = (REPO / "config" / "hotelbot.toml").read_text()
    assert re.search(rf"^drain_timeout_s = {drain_s}\b", config, re.M)
    for path in ("README.md", "docs/systemd.md", "systemd/hotelbot.service"):
        text = (REPO / path).read_text()
        values = set()
        for match in re.finditer(r"drain", text):
            number = re.search(r"(\d+) s\b", text[match.end() : match.end() + 40])
            if number:
                values.add(int(number.group(1)))
        assert values == {int(drain_s)}, (path, values)


@needs_root
def test_unreadable_settings_hotels_and_database_exit_78_naming_the_path(tmp_path: Path) -> None:
    db = tmp_path / "db" / "hotelbot.sqlite3"
    env = _env(tmp_path, HOTELBOT_DATABASE_URL=f"sqlite+aiosqlite:///{db}")
    assert _cli(env, "db", "upgrade")[0] == 0

    settings = tmp_path / "hotelbot.toml"
    settings.write_text("[logging]\nlevel = 'INFO'\n")
    os.chown(settings, 65534, 65534)
    settings.chmod(0o600)
    for args in (["status"], ["run"]):
        code, _, err = _cli(dict(env, HOTELBOT_CONFIG=str(settings)), *args, prefix=NO_DAC)
        assert code == 78, (args, err)
        line = _one_error_line(err)
        assert line.startswith(f"error: cannot read settings file {settings}: Permission denied")
        assert "nobody:nogroup 0600" in line

    # A default settings file that exists but cannot be read is an error, not "defaults".
    default = tmp_path / "xdg" / "hotelbot" / "hotelbot.toml"
    default.parent.mkdir(parents=True)
    default.write_text("")
    default.parent.chmod(0o700)
    os.chown(default.parent, 65534, 65534)
    code, _, err = _cli(dict(env, XDG_CONFIG_HOME=str(tmp_path / "xdg")), "status", prefix=NO_DAC)
    assert code == 78
    assert f"cannot read settings file {default}" in _one_error_line(err)

    hotels = tmp_path / "hotels.toml"
    hotels.write_text("")
    os.chown(hotels, 65534, 65534)
    hotels.chmod(0o600)
    code, _, err = _cli(env, "hotel", "import", str(hotels), prefix=NO_DAC)
    assert code == 78
    assert _one_error_line(err).startswith(f"error: cannot read hotels file {hotels}")

    db.chmod(0o000)
    for args in (["status"], ["db", "upgrade"]):
        code, _, err = _cli(env, *args, prefix=NO_DAC)
        assert code == 78, (args, err)
        line = _one_error_line(err)
        assert line.startswith(f"error: cannot open database {db} as root: no read/write access")
        assert "root:root 0000" in line and "hotelbot-admin" in line


def _foreign_file(path: Path) -> None:
    """An empty file of mode 0600 that belongs to nobody."""
    path.write_bytes(b"")
    os.chown(path, 65534, 65534)
    path.chmod(0o600)


def _open_files_of_child(pid: int) -> set[str]:
    """What the only child of `pid` has open (hotelbot-admin's child is the daemon)."""
    (child,) = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return {os.readlink(fd) for fd in Path(f"/proc/{child}/fd").iterdir()}


@needs_root
async def test_the_daemon_exits_78_with_one_line_naming_an_unusable_database(
    tmp_path: Path,
) -> None:
    db = tmp_path / "hotelbot.sqlite3"
    env = _env(
        tmp_path, HOTELBOT_DATABASE_URL=f"sqlite+aiosqlite:///{db}", HOTELBOT_LOG_FORMAT="text"
    )
    code, _, err = _cli(env, "run")
    assert code == 78
    errors = [line for line in err.splitlines() if "ERROR" in line]
    assert len(errors) == 1 and f"no database at {db}" in errors[0], err
    assert not db.exists()
    assert _cli(env, "db", "upgrade")[0] == 0
    _foreign_file(Path(f"{db}-wal"))
    code, _, err = _cli(env, "run", prefix=NO_DAC)
    assert code == 78
    errors = [line for line in err.splitlines() if "ERROR" in line]
    assert len(errors) == 1 and f"{db}-wal (nobody:nogroup 0600)" in errors[0], err


@needs_root
def test_root_is_refused_a_database_that_belongs_to_the_service(tmp_path: Path) -> None:
    db = tmp_path / "hotelbot.sqlite3"
    env = _env(tmp_path, HOTELBOT_DATABASE_URL=f"sqlite+aiosqlite:///{db}")
    assert _cli(env, "db", "upgrade")[0] == 0
    os.chown(db, 65534, 65534)
    code, _, err = _cli(env, "status")
    assert code == 78
    assert _one_error_line(err).startswith(
        f"error: refusing to open {db} as root: it belongs to nobody"
    )
    assert not Path(f"{db}-wal").exists() and not Path(f"{db}-shm").exists()


# -- hotelbot-admin ---------------------------------------------------------------------------


def _unit(tmp_path: Path, exec_start: str, extra: str = "") -> Path:
    unit = tmp_path / "units" / "hotelbot.service"
    unit.parent.mkdir(parents=True, exist_ok=True)
    unit.write_text(
        "[Unit]\nDescription=test\n[Service]\nType=notify\n"
        f"ExecStart={exec_start}\nUser=root\nGroup=root\nUMask=0027\n"
        'Environment=HOTELBOT_CONFIG=/nonexistent A=1 "B=two words"\n'
        f"LoadCredential=present:{tmp_path / 'secret'}\n"
        f"LoadCredential=missing:{tmp_path / 'missing'}\nSetCredential=missing:fallback\\n\n"
        f"{extra}[Install]\nWantedBy=multi-user.target\n"
    )
    (tmp_path / "secret").write_text("s3cret\n")
    (tmp_path / "secret").chmod(0o600)
    return unit


def _admin(unit: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    proc = subprocess.run(
        [str(ADMIN), "--unit", str(unit), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env if env is not None else dict(os.environ, HOTELBOT_LOG_LEVEL="DEBUG"),
        check=False,
    )
    return proc.returncode, proc.stdout, proc.stderr


@needs_root
def test_admin_gives_the_command_the_units_environment_and_credentials(tmp_path: Path) -> None:
    script = (
        'echo "umask $(umask)"; env | sort; '
        'for f in "$CREDENTIALS_DIRECTORY"/*; do echo "cred $(basename $f)=$(cat $f)"; done'
    )
    unit = _unit(tmp_path, f"/bin/sh -c '{script}'")
    drop_in = unit.parent / "hotelbot.service.d"
    drop_in.mkdir()
    (tmp_path / "env").write_text("# secrets\nA=from-file\nC='quoted'\n")
    (drop_in / "10-env.conf").write_text(
        f"[Service]\nEnvironmentFile={tmp_path / 'env'}\nEnvironmentFile=-/nonexistent\n"
    )
    code, out, err = _admin(unit, "--exec-start")
    assert code == 0, err
    lines = out.splitlines()
    assert "umask 0027" in lines
    # Environment=, then EnvironmentFile= on top; the caller's HOTELBOT_* are not passed on.
    for expected in ("A=from-file", "B=two words", "C=quoted", "HOTELBOT_CONFIG=/nonexistent"):
        assert expected in lines, out
    assert not any(line.startswith("HOTELBOT_LOG_LEVEL") for line in lines)
    assert "cred present=s3cret" in lines and "cred missing=fallback" in lines
    (credentials_dir,) = [x.split("=", 1)[1] for x in lines if x.startswith("CREDENTIALS_DIR")]
    assert not Path(credentials_dir).exists(), "the private credential copy is removed"
    code, out, _ = _admin(unit, "--show")
    assert "env          A=(set, from an environment file)" in out
    assert "s3cret" not in out


@needs_root
def test_admin_refuses_a_unit_whose_credential_is_missing(tmp_path: Path) -> None:
    unit = _unit(tmp_path, "/bin/true", f"LoadCredential=pg_password:{tmp_path / 'nope'}\n")
    code, _, err = _admin(unit, "status")
    assert code == 78
    assert _one_error_line(err) == (
        f"hotelbot-admin: error: credential(s) pg_password ({tmp_path / 'nope'}) missing and "
        "without a SetCredential= fallback: systemd would refuse to start the service too"
    )


@needs_root
async def test_admin_db_upgrade_and_the_daemon_run_as_the_unit_use_one_file(
    tmp_path: Path,
) -> None:
    """The bug this fixes: `db upgrade` run by an admin and the daemon run by systemd opened
    different files. Here `db upgrade` runs through hotelbot-admin, the daemon through the
    unit's ExecStart= (hotelbot-admin --exec-start, as the install test's service manager
    does, with a notify socket): the daemon reports READY=1, holds exactly the file db
    upgrade created open, and stores what a guest sends where `messages list` finds it."""
    db = tmp_path / "state" / "hotelbot.sqlite3"
    config = tmp_path / "hotelbot.toml"
    config.write_text(
        f'[database]\nurl = "sqlite+aiosqlite:///{db}"\n[daemon]\nhotels_refresh_s = 1\n'
    )
    hotelbot = Path(sys.executable).with_name("hotelbot")
    unit = _unit(tmp_path, f"{hotelbot} run")
    unit.write_text(
        unit.read_text().replace("HOTELBOT_CONFIG=/nonexistent", f"HOTELBOT_CONFIG={config}")
    )
    env = {"PATH": os.environ["PATH"], "LANG": "C.UTF-8"}
    code, out, err = _admin(unit, "db", "upgrade", env=env)
    assert code == 0, err
    assert f"SQLite file {db}" in out and f"chosen by {config} ([database] url)" in out
    async with FakeGreenApi(long_poll_scale=0.05) as fake:
        instance = fake.add_instance("1101000001", "tok")
        hotels = tmp_path / "hotels.toml"
        hotels.write_text(
            f'[[hotels]]\nslug = "riga"\nname = "Riga"\ninstance_id = "1101000001"\n'
            f'api_token = "tok"\napi_url = "{fake.url}"\ntimezone = "Europe/Riga"\n'
        )
        assert _admin(unit, "hotel", "import", str(hotels), env=env)[0] == 0
        notify_path = tmp_path / "notify"
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(str(notify_path))
        sock.setblocking(False)
        daemon = await asyncio.create_subprocess_exec(
            str(ADMIN),
            "--unit",
            str(unit),
            "--exec-start",
            env=dict(env, NOTIFY_SOCKET=str(notify_path)),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            loop = asyncio.get_running_loop()
            fields = ""
            async with asyncio.timeout(30):
                while "READY=1" not in fields:
                    fields += (await loop.sock_recv(sock, 65536)).decode()
            instance.push(shapes.incoming_text("1101000001", "37120000001@c.us", "Hello there"))
            await instance.wait_drained(20)
            open_files = _open_files_of_child(daemon.pid)
            assert str(db) in open_files
            assert not any(f.endswith(".sqlite3") and f != str(db) for f in open_files)
            # Deleted from the queue means committed as a notification; the message row is
            # the processing stage's (a worker process by default), a moment later.
            async with asyncio.timeout(20):
                while True:
                    code, out, _ = _admin(unit, "messages", "list", env=env)
                    assert code == 0, out
                    if "Hello there" in out:
                        break
                    await asyncio.sleep(0.2)
        finally:
            daemon.send_signal(signal.SIGTERM)  # the wrapper passes it on; the daemon drains
            assert await asyncio.wait_for(daemon.wait(), 30) == 0
            sock.close()

"""`hotelbot-admin`: run a `hotelbot` command the way the systemd service runs the daemon.

    hotelbot-admin db upgrade
    hotelbot-admin hotel import /etc/hotelbot/hotels.toml
    hotelbot-admin run                      # the daemon in the foreground, for debugging

It reads the installed unit (`hotelbot.service` and its drop-ins) and runs the unit's
ExecStart= program with the given arguments as the unit's User=/Group=, with its UMask=, its
Environment= and EnvironmentFile= variables, STATE_DIRECTORY/CONFIGURATION_DIRECTORY, and its
credentials (LoadCredential=, SetCredential= fallbacks) copied into a private directory that
is removed afterwards. So an admin command opens the same database with the same settings
as the daemon, and files SQLite creates keep the service's owner. No sudo needed: run it as
root (it switches user itself) or as the service user (then root-only credential files are
not available and it says so). Sandboxing directives (ProtectSystem= ...) are not applied.
The caller's HOTELBOT_* variables are not passed on: the unit's settings are the truth.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from hotelbot.errors import EXIT_CONFIG, ConfigError
from hotelbot.ops.unitfile import (
    UNIT_DIRS,
    Credentials,
    ServiceContext,
    collect_credentials,
    drop_ins,
    load_service,
    parse_service,
    read_environment_file,
)

UNIT_NAME = "hotelbot.service"


def _out(text: str) -> None:
    sys.stdout.write(text)


def _err(text: str) -> None:
    sys.stderr.write(text)


_USAGE = """usage: hotelbot-admin [--unit FILE] [--show] HOTELBOT-ARGS...
       hotelbot-admin [--unit FILE] --exec-start

Run `hotelbot HOTELBOT-ARGS` as the hotelbot service runs: its user, umask, environment,
settings file, state directory and credentials, taken from the installed unit
(/etc/systemd/system/hotelbot.service and its drop-ins).

  --unit FILE   read this unit file (and FILE.d/*.conf) instead of the installed one
  --show        print what would be run (user, program, environment names) and exit
  --exec-start  run the unit's ExecStart= command line (the daemon) in the foreground,
                without systemd's sandboxing: for debugging a service that will not start

Examples: hotelbot-admin db upgrade; hotelbot-admin doctor; hotelbot-admin status
"""
# Variables of the caller worth keeping: the terminal (table width, language) and, when a
# service manager runs `--exec-start`, its notification socket.
_PASS_THROUGH = ("TERM", "COLUMNS", "LINES", "LANG", "LANGUAGE", "TZ", "NOTIFY_SOCKET")
_SAFE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def service_environment(
    context: ServiceContext,
    caller: Mapping[str, str],
    *,
    home: str,
    user: str,
    shell: str,
    credentials_dir: str | None,
) -> dict[str, str]:
    """The environment the unit gives its main process (systemd.exec(5), "Environment
    variables in spawned processes"): a clean base, then Environment=, then the
    EnvironmentFile= files (they override Environment=), then the directory variables."""
    env = {"PATH": _SAFE_PATH, "HOME": home, "USER": user, "LOGNAME": user, "SHELL": shell}
    for name in _PASS_THROUGH:
        if name in caller:
            env[name] = caller[name]
    env.update({k: v for k, v in caller.items() if k.startswith("LC_")})
    env.update(context.environment)
    for spec in context.environment_files:
        optional = spec.startswith("-")
        path = Path(spec.lstrip("-"))
        if optional and not path.exists():
            continue
        env.update(read_environment_file(path))
    if context.state_directory is not None:
        env["STATE_DIRECTORY"] = str(context.state_directory)
    if context.configuration_directory is not None:
        env["CONFIGURATION_DIRECTORY"] = str(context.configuration_directory)
    if credentials_dir is not None:
        env["CREDENTIALS_DIRECTORY"] = credentials_dir
    return env


def _write_credentials(found: Credentials, uid: int, gid: int) -> str:
    """A private directory holding the credentials, readable by the service user only."""
    base = "/run" if os.access("/run", os.W_OK) else None
    directory = tempfile.mkdtemp(prefix="hotelbot-admin-credentials.", dir=base)
    for cred_id, value in found.values.items():
        path = Path(directory) / cred_id
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o400)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(value)
        os.chown(path, uid, gid)
    os.chown(directory, uid, gid)
    os.chmod(directory, 0o500)
    return directory


def _ensure_state_directory(context: ServiceContext, uid: int, gid: int) -> None:
    """Create the StateDirectory= as systemd does before starting the service (owned by
    the service user, StateDirectoryMode=); an existing one is left as it is."""
    path = context.state_directory
    if path is None or path.exists():
        return
    path.mkdir(parents=True, mode=context.state_directory_mode)
    os.chmod(path, context.state_directory_mode)
    os.chown(path, uid, gid)


def _identity(context: ServiceContext) -> tuple[str, int, int, str, str]:
    import grp
    import pwd

    name = context.user or "root"
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        raise ConfigError(
            f"the unit's User={name} does not exist: create it first (docs/systemd.md §2)"
        ) from None
    gid = entry.pw_gid
    if context.group:
        try:
            gid = grp.getgrnam(context.group).gr_gid
        except KeyError:
            raise ConfigError(f"the unit's Group={context.group} does not exist") from None
    return name, entry.pw_uid, gid, entry.pw_dir, entry.pw_shell


def _load(unit: str | None) -> ServiceContext:
    if unit is None:
        return load_service(UNIT_NAME, UNIT_DIRS)
    path = Path(unit)
    return parse_service(path, drop_ins(path.name, (path.parent,)))


def _show(context: ServiceContext, env: Mapping[str, str], found: Credentials, user: str) -> None:
    from_files = {k for spec in context.environment_files for k, _ in _env_file_pairs(spec)}
    _out(f"unit files   {', '.join(str(p) for p in context.unit_files)}\n")
    _out(f"program      {context.program}\n")
    _out(f"user         {user} (group {context.group or '-'}), umask {context.umask:04o}\n")
    for key in sorted(env):
        shown = "(set, from an environment file)" if key in from_files else env[key]
        _out(f"env          {key}={shown}\n")
    for cred_id in sorted(found.values):
        _out(f"credential   {cred_id}\n")
    for item in found.missing:
        _out(f"credential   {item}: NOT AVAILABLE\n")


def _env_file_pairs(spec: str) -> list[tuple[str, str]]:
    path = Path(spec.lstrip("-"))
    try:
        return read_environment_file(path)
    except ConfigError:
        return []


def run(argv: Sequence[str], caller: Mapping[str, str]) -> int:
    """Parse hotelbot-admin's own options, then run the command; returns its exit status."""
    args = list(argv)
    unit: str | None = None
    show = exec_start = False
    while args and args[0].startswith("-"):
        option = args.pop(0)
        if option in ("-h", "--help"):
            _out(_USAGE)
            return 0
        if option == "--show":
            show = True
        elif option == "--exec-start":
            exec_start = True
        elif option == "--unit" and args:
            unit = args.pop(0)
        elif option.startswith("--unit="):
            unit = option.partition("=")[2]
        elif option == "--":
            break
        else:  # the first option of the hotelbot command (e.g. --config)
            args.insert(0, option)
            break
    if not args and not show and not exec_start:
        _err(_USAGE)
        return 2
    context = _load(unit)
    if exec_start:
        args = list(context.exec_start[1:])
    user, uid, gid, home, shell = _identity(context)
    euid = os.geteuid()
    if euid not in (0, uid):
        raise ConfigError(f"run hotelbot-admin as root (it switches to {user} itself) or as {user}")
    found = collect_credentials(context)
    if euid != 0 and found.missing:
        _err(
            f"hotelbot-admin: running as {user}: credential(s) {', '.join(found.missing)} "
            "not readable; run hotelbot-admin as root to use them\n"
        )
    elif found.missing:
        raise ConfigError(
            f"credential(s) {', '.join(found.missing)} missing and without a SetCredential= "
            "fallback: systemd would refuse to start the service too"
        )
    if show:
        env = service_environment(
            context, caller, home=home, user=user, shell=shell, credentials_dir="(private)"
        )
        _show(context, env, found, user)
        return 0
    if euid == 0:
        _ensure_state_directory(context, uid, gid)
    credentials_dir = _write_credentials(found, uid, gid) if euid == 0 else None
    env = service_environment(
        context, caller, home=home, user=user, shell=shell, credentials_dir=credentials_dir
    )
    try:
        return _spawn(context, args, env, user=user, uid=uid, gid=gid)
    finally:
        if credentials_dir is not None:
            os.chmod(credentials_dir, 0o700)
            shutil.rmtree(credentials_dir, ignore_errors=True)


def _spawn(
    context: ServiceContext, args: list[str], env: dict[str, str], *, user: str, uid: int, gid: int
) -> int:
    """Fork, switch identity in the child and exec the program; wait and return its status
    (128 + N when signal N ended it). SIGTERM and SIGHUP sent to this process are passed on
    to the child; SIGINT is ignored here, because a terminal's Ctrl+C reaches the child
    directly (passing it on too would count as a second Ctrl+C)."""
    pid = os.fork()
    if pid == 0:  # child
        try:
            if os.geteuid() == 0:
                os.initgroups(user, gid)
                os.setgid(gid)
                os.setuid(uid)
            os.umask(context.umask)
            if not os.access(".", os.X_OK):
                os.chdir("/")
                _err(
                    f"hotelbot-admin: {user} cannot enter the current directory; running in /"
                    " (give files with absolute paths)\n"
                )
            os.execve(context.program, [context.program, *args], env)
        except OSError as exc:
            _err(f"hotelbot-admin: cannot run {context.program}: {exc.strerror}\n")
        os._exit(127)

    def forward(signum: int, _frame: object) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)

    previous = {
        signal.SIGINT: signal.signal(signal.SIGINT, signal.SIG_IGN),
        signal.SIGTERM: signal.signal(signal.SIGTERM, forward),
        signal.SIGHUP: signal.signal(signal.SIGHUP, forward),
    }
    try:
        while True:
            try:
                _, status = os.waitpid(pid, 0)
                break
            except InterruptedError:  # pragma: no cover - PEP 475 retries waitpid itself
                continue
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code


def main() -> None:
    """Console entry point: one-line errors, exit 78 for configuration problems."""
    try:
        code = run(sys.argv[1:], dict(os.environ))
    except ConfigError as exc:
        _err(f"hotelbot-admin: error: {exc}\n")
        code = EXIT_CONFIG
    with contextlib.suppress(Exception):
        sys.stdout.flush()
    sys.exit(code)

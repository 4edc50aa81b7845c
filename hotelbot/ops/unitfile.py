"""The parts of an installed systemd service unit that decide what the service sees.

`load_service(name)` reads `<name>` from the unit search path plus its drop-ins
(`<name>.d/*.conf`) the way systemd merges them, and returns the identity, environment,
credentials and directories of the service (`ServiceContext`). `hotelbot-admin` runs admin
commands in that context, so they open the same database with the same settings as the
daemon. Only the directives below are read; sandboxing (ProtectSystem= ...) is not
reproduced. Pure parsing apart from reading the unit files and environment files.
"""

from __future__ import annotations

import shlex
import string
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from hotelbot import files
from hotelbot.errors import ConfigError

# systemd's system unit search path, highest priority first (systemd.unit(5)).
UNIT_DIRS: tuple[Path, ...] = (
    Path("/etc/systemd/system"),
    Path("/run/systemd/system"),
    Path("/usr/local/lib/systemd/system"),
    Path("/usr/lib/systemd/system"),
    Path("/lib/systemd/system"),
)

# Directives whose assignments accumulate; an empty assignment resets the list.
_LISTS = frozenset({"Environment", "EnvironmentFile", "LoadCredential", "SetCredential"})
_READ = _LISTS | {
    "ExecStart",
    "User",
    "Group",
    "UMask",
    "StateDirectory",
    "StateDirectoryMode",
    "ConfigurationDirectory",
    "WorkingDirectory",
}


@dataclass(frozen=True, slots=True)
class ServiceContext:
    """What the service's main process gets from its unit (the directives hotelbot uses).

    `environment` holds the Environment= assignments in order (later wins);
    `environment_files` the EnvironmentFile= paths (a leading "-" = optional); credentials
    map id -> source file (LoadCredential=) and id -> fallback value (SetCredential=).
    """

    unit_files: tuple[Path, ...]
    exec_start: tuple[str, ...]
    user: str | None = None
    group: str | None = None
    umask: int = 0o022
    environment: tuple[tuple[str, str], ...] = ()
    environment_files: tuple[str, ...] = ()
    load_credentials: tuple[tuple[str, str], ...] = ()
    set_credentials: tuple[tuple[str, str], ...] = ()
    state_directory: Path | None = None
    state_directory_mode: int = 0o755
    configuration_directory: Path | None = None

    @property
    def program(self) -> str:
        """The executable of ExecStart= (the `hotelbot` the service runs)."""
        return self.exec_start[0]


def find_unit(name: str, dirs: Sequence[Path] = UNIT_DIRS) -> Path:
    """The unit file systemd would load for `name` (first in the search path)."""
    for directory in dirs:
        candidate = directory / name
        if candidate.is_file():
            return candidate
    searched = ", ".join(str(d) for d in dirs)
    raise ConfigError(f"unit {name} is not installed (looked in {searched}; docs/systemd.md §2)")


def drop_ins(name: str, dirs: Sequence[Path] = UNIT_DIRS) -> list[Path]:
    """`<name>.d/*.conf` from every directory of the search path, in the order systemd
    applies them: sorted by file name; a file masks one of the same name further down."""
    chosen: dict[str, Path] = {}
    for directory in dirs:
        folder = directory / f"{name}.d"
        if folder.is_dir():
            for conf in folder.glob("*.conf"):
                chosen.setdefault(conf.name, conf)
    return [chosen[key] for key in sorted(chosen)]


def _logical_lines(text: str) -> Iterable[str]:
    """Lines with comments removed and backslash continuations joined."""
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and line.startswith(("#", ";")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        yield pending + line
        pending = ""
    if pending:
        yield pending


def _assignments(path: Path) -> list[tuple[str, str]]:
    section = ""
    found = []
    for line in _logical_lines(files.read_text(path, "unit file")):
        if not line:
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            continue
        key, sep, value = line.partition("=")
        if sep and section == "Service" and key.strip() in _READ:
            found.append((key.strip(), value.strip()))
    return found


def _unescape(value: str) -> str:
    """C-style escapes as systemd accepts them in SetCredential= (\\n, \\t, \\\\, \\xNN)."""
    out, i = [], 0
    simple = {"n": "\n", "t": "\t", "\\": "\\", '"': '"', "'": "'", "r": "\r", "0": "\0"}
    while i < len(value):
        char = value[i]
        if char == "\\" and i + 1 < len(value):
            nxt = value[i + 1]
            if nxt in simple:
                out.append(simple[nxt])
                i += 2
                continue
            digits = value[i + 2 : i + 4]
            if nxt == "x" and len(digits) == 2 and all(c in string.hexdigits for c in digits):
                out.append(chr(int(digits, 16)))
                i += 4
                continue
        out.append(char)
        i += 1
    return "".join(out)


def _environment_words(value: str) -> list[tuple[str, str]]:
    pairs = []
    for word in shlex.split(value):
        key, sep, val = word.partition("=")
        if sep and key:
            pairs.append((key, val))
    return pairs


def parse_service(unit: Path, extra: Sequence[Path] = ()) -> ServiceContext:
    """Merge `unit` and the drop-ins `extra` (in order) into a ServiceContext. Raises
    ConfigError naming the file for an unreadable file or a missing ExecStart=."""
    values: dict[str, str] = {}
    lists: dict[str, list[str]] = {key: [] for key in _LISTS}
    exec_start = ""
    for path in (unit, *extra):
        for key, value in _assignments(path):
            if key in _LISTS:
                if value:
                    lists[key].append(value)
                else:
                    lists[key].clear()
            elif key == "ExecStart":
                exec_start = value  # an empty ExecStart= in a drop-in resets it
            else:
                values[key] = value
    if not exec_start:
        raise ConfigError(f"{unit}: no ExecStart= (is this hotelbot's unit?)")
    words = shlex.split(exec_start)
    words[0] = words[0].lstrip("@-:+!")
    environment = [pair for value in lists["Environment"] for pair in _environment_words(value)]
    credentials = []
    for value in lists["LoadCredential"]:
        cred_id, _, source = value.partition(":")
        credentials.append((cred_id, source or cred_id))
    fallbacks = []
    for value in lists["SetCredential"]:
        cred_id, _, literal = value.partition(":")
        fallbacks.append((cred_id, _unescape(literal)))
    state = values.get("StateDirectory", "").split()
    config_dir = values.get("ConfigurationDirectory", "").split()
    return ServiceContext(
        unit_files=(unit, *extra),
        exec_start=tuple(words),
        user=values.get("User") or None,
        group=values.get("Group") or None,
        umask=int(values.get("UMask", "0022"), 8),
        environment=tuple(environment),
        environment_files=tuple(lists["EnvironmentFile"]),
        load_credentials=tuple(credentials),
        set_credentials=tuple(fallbacks),
        state_directory=Path("/var/lib") / state[0] if state else None,
        state_directory_mode=int(values.get("StateDirectoryMode", "0755"), 8),
        configuration_directory=Path("/etc") / config_dir[0] if config_dir else None,
    )


def load_service(name: str, dirs: Sequence[Path] = UNIT_DIRS) -> ServiceContext:
    """The installed unit `name` with its drop-ins, merged as systemd does."""
    return parse_service(find_unit(name, dirs), drop_ins(name, dirs))


def read_environment_file(path: Path) -> list[tuple[str, str]]:
    """KEY=VALUE lines of an EnvironmentFile= (comments, blank lines and quotes as systemd
    reads them). Raises ConfigError naming the file when it cannot be read."""
    pairs = []
    for line in _logical_lines(files.read_text(path, "environment file")):
        if not line or "=" not in line:
            continue
        key, _, value = line.partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        pairs.append((key.strip(), value))
    return pairs


@dataclass
class Credentials:
    """Credential id -> content, as systemd would hand them to the service."""

    values: dict[str, str] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)


def collect_credentials(context: ServiceContext) -> Credentials:
    """Read every LoadCredential= source (as the caller: root can, the service user usually
    cannot); a missing or unreadable source falls back to the SetCredential= value of the
    same id, else it is listed in `missing` (systemd would refuse to start then)."""
    found = Credentials()
    fallbacks = dict(context.set_credentials)
    for cred_id, source in context.load_credentials:
        try:
            found.values[cred_id] = Path(source).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            if cred_id in fallbacks:
                found.values[cred_id] = fallbacks[cred_id]
            else:
                found.missing.append(f"{cred_id} ({source})")
    for cred_id, value in context.set_credentials:
        found.values.setdefault(cred_id, value)
    return found

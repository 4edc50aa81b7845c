"""Where hotelbot keeps its state and looks for its settings file by default."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

STATE_HELP = (
    "State directory: $STATE_DIRECTORY (set by systemd's StateDirectory=), else "
    "$XDG_STATE_HOME/hotelbot, else ~/.local/state/hotelbot. The default database is "
    "hotelbot.sqlite3 in it."
)
CONFIG_HELP = (
    "Settings file: --config, else $HOTELBOT_CONFIG, else $CONFIGURATION_DIRECTORY/hotelbot.toml "
    "(systemd), else /etc/hotelbot/hotelbot.toml, else ~/.config/hotelbot/hotelbot.toml; "
    "a missing default file just means built-in defaults."
)


def state_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """The directory for the SQLite database and other state (not created here)."""
    systemd_dirs = environ.get("STATE_DIRECTORY")
    if systemd_dirs:
        # systemd passes a colon-separated list when several StateDirectory= are set.
        return Path(systemd_dirs.split(":")[0])
    xdg = environ.get("XDG_STATE_HOME")
    base = Path(xdg) if xdg else Path(environ.get("HOME", "~")).expanduser() / ".local" / "state"
    return base / "hotelbot"


def state_dir_origin(environ: Mapping[str, str] = os.environ) -> str:
    """Which rule chose `state_dir()`, for messages ("$STATE_DIRECTORY", ...)."""
    if environ.get("STATE_DIRECTORY"):
        return "$STATE_DIRECTORY"
    if environ.get("XDG_STATE_HOME"):
        return "$XDG_STATE_HOME/hotelbot"
    return "~/.local/state/hotelbot"


def default_database_url(environ: Mapping[str, str] = os.environ) -> str:
    return f"sqlite+aiosqlite:///{state_dir(environ) / 'hotelbot.sqlite3'}"


def default_config_candidates(environ: Mapping[str, str] = os.environ) -> list[Path]:
    """Default settings files, most specific first; the first that exists is used."""
    found: list[Path] = []
    conf_dir = environ.get("CONFIGURATION_DIRECTORY")
    if conf_dir:
        found.append(Path(conf_dir.split(":")[0]) / "hotelbot.toml")
    found.append(Path("/etc/hotelbot/hotelbot.toml"))
    xdg = environ.get("XDG_CONFIG_HOME")
    base = Path(xdg) if xdg else Path(environ.get("HOME", "~")).expanduser() / ".config"
    found.append(base / "hotelbot" / "hotelbot.toml")
    return found


def ensure_private_dir(path: Path) -> None:
    """Create `path` (and parents) owner-only (0700) if missing; existing dirs are left alone."""
    if not path.exists():
        path.mkdir(mode=0o700, parents=True, exist_ok=True)

"""What a SIGHUP may change in a running daemon, and what only a restart can (pure).

Live on reload: `[logging]` (re-configured at once), `[daemon]` intervals and drain timeout,
`[greenapi]` (pollers are restarted gracefully: long polls cancelled, in-flight items
finished), `[privacy]`. Everything else (database URL and pool, daemon name, sentiment and
LLM settings, sections added later) is kept as it was and reported as needing a restart:
those values are baked into open engines, running stages and leases.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hotelbot.settings import Settings

LIVE_SECTIONS = frozenset({"logging", "daemon", "greenapi", "privacy"})
# Keys inside a live section that still need a restart.
_RESTART_KEYS = frozenset({"daemon.name"})


@dataclass(frozen=True)
class ReloadPlan:
    settings: Settings  # what the daemon runs with after the reload
    applied: tuple[str, ...]  # dotted keys that changed and take effect now
    needs_restart: tuple[str, ...]  # dotted keys that changed but are kept until a restart

    @property
    def logging_changed(self) -> bool:
        return any(key.startswith("logging.") for key in self.applied)

    @property
    def greenapi_changed(self) -> bool:
        return any(key.startswith("greenapi.") for key in self.applied)


def _changed_keys(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    keys = []
    for section in sorted(set(old) | set(new)):
        before, after = old.get(section), new.get(section)
        if isinstance(before, dict) and isinstance(after, dict):
            for key in sorted(set(before) | set(after)):
                if before.get(key) != after.get(key):
                    keys.append(f"{section}.{key}")
        elif before != after:
            keys.append(section)
    return keys


def plan_reload(running: Settings, loaded: Settings) -> ReloadPlan:
    """Merge freshly loaded settings into the running ones. Never raises."""
    changed = _changed_keys(running.model_dump(), loaded.model_dump())
    applied = tuple(
        k for k in changed if k.split(".")[0] in LIVE_SECTIONS and k not in _RESTART_KEYS
    )
    needs_restart = tuple(k for k in changed if k not in applied)
    keep: dict[str, Any] = {
        section: getattr(running, section)
        for section in type(running).model_fields
        if section not in LIVE_SECTIONS
    }
    keep["daemon"] = loaded.daemon.model_copy(update={"name": running.daemon.name})
    return ReloadPlan(loaded.model_copy(update=keep), applied, needs_restart)

"""What erasing personal data leaves behind, shared by the retention purge and forgetting a
guest: the marker that replaces a text that quoted someone, and the count of rows changed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

ERASED_TEXT = "[erased]"


@dataclass
class PurgeResult:
    """Rows changed per `table.column group`, e.g. {"messages.text": 120}."""

    changed: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.changed.values())

    def add(self, counts: Mapping[str, int]) -> None:
        """Add `counts` (key -> rows) to what was changed so far."""
        for key, rows in counts.items():
            self.changed[key] = self.changed.get(key, 0) + rows

    def summary(self) -> str:
        return ", ".join(f"{k} {v}" for k, v in sorted(self.changed.items()) if v) or "nothing"

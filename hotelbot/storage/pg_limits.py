"""The time bounds of a PostgreSQL session (storage/db.py applies them to every session of a
Database). Apart from db.py, which imports SQLAlchemy, so that `hotelbot status` can apply
the same bounds to its one direct asyncpg query (storage/status_report.py)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PgSessionLimits:
    """Time bounds every PostgreSQL session of a Database carries (seconds; 0 = none).

    `statement_timeout_s` ends a statement (also one waiting for a lock), `lock_timeout_s` a
    lock wait, `idle_in_transaction_s` a session whose transaction sits idle: its locks go
    with it. `keepalive_idle_s` is when TCP keepalives start probing a silent peer; the
    client additionally gives up on a query after statement_timeout_s + `client_margin_s`
    (asyncpg's command_timeout), so a server that vanished mid-query cannot hang the caller.
    """

    statement_timeout_s: float = 60.0
    lock_timeout_s: float = 30.0
    idle_in_transaction_s: float = 60.0
    keepalive_idle_s: float = 30.0
    client_margin_s: float = 5.0

    @classmethod
    def for_lease_ttl(cls, ttl_s: float) -> PgSessionLimits:
        """Bounds well below a lease TTL: a frozen daemon's locks are gone long before its
        lease expires, so the takeover waits for the TTL only."""
        return cls(
            statement_timeout_s=max(2.0, ttl_s / 2),
            lock_timeout_s=max(1.0, ttl_s / 4),
            idle_in_transaction_s=max(1.0, ttl_s / 4),
            keepalive_idle_s=max(1.0, ttl_s / 4),
        )

    def server_settings(self) -> dict[str, str]:
        """Run-time parameters (milliseconds / seconds as PostgreSQL spells them)."""
        keepalive_s = max(1, int(self.keepalive_idle_s))
        return {
            "statement_timeout": str(int(self.statement_timeout_s * 1000)),
            "lock_timeout": str(int(self.lock_timeout_s * 1000)),
            "idle_in_transaction_session_timeout": str(int(self.idle_in_transaction_s * 1000)),
            "tcp_keepalives_idle": str(keepalive_s),
            "tcp_keepalives_interval": str(max(1, keepalive_s // 3)),
            "tcp_keepalives_count": "3",
        }

    @property
    def command_timeout_s(self) -> float | None:
        if self.statement_timeout_s <= 0:
            return None
        return self.statement_timeout_s + self.client_margin_s

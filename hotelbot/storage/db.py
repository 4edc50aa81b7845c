"""Engine set-up and transaction helpers for SQLite and PostgreSQL.

SQLite is configured for a daemon that deletes upstream data after committing it:
WAL (readers never block the writer), synchronous=FULL (a commit survives power loss; NORMAL
could roll back a commit whose notification we already deleted at Green API), busy_timeout,
foreign keys on. Write transactions start with BEGIN IMMEDIATE so a transaction that reads
then writes cannot fail with "database is locked" half-way (the lock is taken up front and
the busy handler applies), and writers inside one process queue on an asyncio lock instead of
spinning in SQLite's busy handler. Read transactions use a separate engine with a plain BEGIN.

PostgreSQL sessions carry time limits (`PgSessionLimits`): a statement, a lock wait and a
transaction left idle (the process frozen with SIGSTOP, a hung host, a network partition)
all end after a bound, so no session can keep lease-row locks and block a takeover; server
and client side TCP keepalives notice a peer that vanished. The daemon derives the bounds
from the lease TTL (well below it); other commands use `PgSessionLimits()`'s defaults.

Every engine hides statement parameters from its error messages (`hide_parameters`): they
hold guest text, phone numbers and tokens, and an error message reaches logs and terminals.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

# Re-exported: callers name it as part of Database.open's interface.
from hotelbot.storage.pg_limits import PgSessionLimits as PgSessionLimits
from hotelbot.storage.sqlite_driver import one_hop_module
from hotelbot.storage.sqlite_file import check_sqlite_file


def _install_sqlite_hooks(engine: AsyncEngine, *, busy_timeout_ms: int, immediate: bool) -> None:
    begin_sql = "BEGIN IMMEDIATE" if immediate else "BEGIN"

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # Take over transaction control from the driver (it would skip BEGIN for SELECTs).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in (
            "PRAGMA journal_mode=WAL",
            "PRAGMA synchronous=FULL",
            f"PRAGMA busy_timeout={busy_timeout_ms}",
            "PRAGMA foreign_keys=ON",
            "PRAGMA journal_size_limit=67108864",
        ):
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql(begin_sql)


_PER_TRANSACTION = ("statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout")


def _install_pg_limits_per_transaction(engine: AsyncEngine, limits: PgSessionLimits) -> None:
    """Behind PgBouncer in transaction mode a session setting would land on whichever server
    connection serves the next transaction (and PgBouncer refuses unknown start-up
    parameters): set the limits for each transaction instead, one statement per BEGIN."""
    settings = limits.server_settings()
    sql = "SELECT " + ", ".join(
        f"set_config('{name}', '{settings[name]}', true)" for name in _PER_TRANSACTION
    )

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql(sql)


def _unique_statement_name() -> str:
    # Behind PgBouncer a backend may already hold asyncpg's counter-based name from
    # another client.
    return f"__hb_{uuid.uuid4().hex}__"


class Gate(Protocol):
    """What `Database.write()` takes before a SQLite write transaction: `WriteGate` in the
    process that owns the gate; a processing worker process borrows its parent's gate
    through a pipe (daemon/worker_child.py), so both processes queue on one fair gate
    instead of racing in SQLite's busy handler."""

    async def acquire(self, *, priority: bool = False) -> None: ...

    def release(self) -> None: ...


class WriteGate:
    """The in-process SQLite write lock, with a fast lane.

    Plain waiters are served in arrival order. `priority` waiters (the ingest writer: a
    guest message is deleted upstream only after its commit, so its commit latency is the
    poll loop's latency) go before plain ones, but at most `max_priority_run` times in a
    row while plain waiters wait: with the default 1, ingest and background writers
    alternate under contention, so an ingest commit waits for at most one background
    transaction (not the whole queue of them) and background stages are never starved.
    Cancellation-safe: a waiter cancelled after being handed the lock passes it on.
    """

    def __init__(self, max_priority_run: int = 1) -> None:
        self._locked = False
        self._priority: deque[asyncio.Future[None]] = deque()
        self._plain: deque[asyncio.Future[None]] = deque()
        self._max_run = max_priority_run
        self._run = 0

    async def acquire(self, *, priority: bool = False) -> None:
        if not self._locked:  # unlocked = no live waiters (a hand-over keeps it locked)
            self._priority.clear()  # only cancelled waiters can be left here
            self._plain.clear()
            self._locked = True
            self._run = self._run + 1 if priority else 0
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        (self._priority if priority else self._plain).append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._hand_over()  # we were given the lock but will not use it
            raise

    def release(self) -> None:
        self._hand_over()

    def _hand_over(self) -> None:
        plain_waiting = any(not w.done() for w in self._plain)
        queues = (self._priority, self._plain)
        if plain_waiting and self._run >= self._max_run:
            queues = (self._plain, self._priority)
        for queue in queues:
            while queue:
                waiter = queue.popleft()
                if not waiter.done():
                    self._run = self._run + 1 if queue is self._priority else 0
                    waiter.set_result(None)  # the lock stays taken, now by that waiter
                    return
        self._locked = False


Connection = AsyncConnection
"""One open transaction, as `Database.read()` and `Database.write()` yield it. Layers
outside storage name it by this alias and only hand it to storage functions (and to use
cases' stores): they never run statements on it themselves."""


def url_password(url: str) -> str | None:
    """The password a database URL carries (percent-decoded), None when it has none: for
    registering it as a secret to scrub from logs before the first query. Pure; raises
    SQLAlchemy's ArgumentError for a string that is not a database URL."""
    password = make_url(url).password
    return str(password) if password else None


class Database:
    """Owns the engines of one database. `write()` and `read()` each yield one transaction.

    Contract: `write()` commits when the block exits normally and rolls back on an exception;
    on SQLite it holds the database write lock for the whole block, so keep blocks short.
    Create with `Database.open(url)`; always `await db.dispose()` (aiosqlite threads otherwise
    keep the interpreter alive).
    """

    def __init__(self, url: str, write_engine: AsyncEngine, read_engine: AsyncEngine) -> None:
        self.url = url  # may hold a password: never log it (make_url(...).render hides it)
        self.dialect = write_engine.dialect.name
        self.engine = write_engine
        self.read_engine = read_engine
        self._write_gate: Gate | None = WriteGate() if self.dialect == "sqlite" else None

    @classmethod
    def open(
        cls,
        url: str,
        *,
        pool_size: int = 5,
        busy_timeout_ms: int = 5000,
        pgbouncer: bool = False,
        pg_limits: PgSessionLimits | None = None,
        create: bool = True,
    ) -> Database:
        """`pgbouncer=True`: the server is reached through PgBouncer in transaction pooling
        mode (before 1.21, or without max_prepared_statements): no prepared statement
        survives a transaction, so asyncpg's and SQLAlchemy's statement caches are off and
        every prepared statement gets a unique name (docs/scale-out.md). `pg_limits`:
        session time bounds on PostgreSQL (default `PgSessionLimits()`).

        SQLite: the file is checked first (`check_sqlite_file`); `create=False` makes a
        missing file a ConfigError naming it instead of creating an empty database (every
        command but `db upgrade`, and the daemon). Raises ConfigError for a file this
        process cannot use; opens no connection yet."""
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                check_sqlite_file(Path(parsed.database), create=create)
            sqlite_options: dict[str, Any] = {
                "pool_size": pool_size,
                "max_overflow": pool_size,
                "hide_parameters": True,
            }
            module = one_hop_module() if parsed.get_driver_name() == "aiosqlite" else None
            if module is not None:
                sqlite_options["module"] = module  # one thread hop per statement
            write = create_async_engine(url, **sqlite_options)
            read = create_async_engine(url, **sqlite_options)
            _install_sqlite_hooks(write, busy_timeout_ms=busy_timeout_ms, immediate=True)
            _install_sqlite_hooks(read, busy_timeout_ms=busy_timeout_ms, immediate=False)
        elif parsed.get_backend_name() == "postgresql":
            options: dict[str, Any] = {
                "pool_size": pool_size,
                "max_overflow": pool_size,
                # A PostgreSQL restart leaves dead connections in the pool; test them first.
                "pool_pre_ping": True,
                "pool_recycle": 1800,
                "hide_parameters": True,
            }
            limits = pg_limits or PgSessionLimits()
            connect_args: dict[str, Any] = {"command_timeout": limits.command_timeout_s}
            if pgbouncer:
                connect_args.update(
                    statement_cache_size=0,
                    prepared_statement_cache_size=0,
                    prepared_statement_name_func=_unique_statement_name,
                )
            else:
                connect_args["server_settings"] = limits.server_settings()
            options["connect_args"] = connect_args
            write = create_async_engine(url, **options)
            if pgbouncer:
                _install_pg_limits_per_transaction(write, limits)
            read = write
        else:
            raise ValueError(f"unsupported database backend {parsed.get_backend_name()!r}")
        return cls(url, write, read)

    @property
    def write_gate(self) -> Gate | None:
        """The gate every write transaction takes on SQLite (None on PostgreSQL)."""
        return self._write_gate

    def use_write_gate(self, gate: Gate) -> None:
        """SQLite: take `gate` instead of this process's own before each write (a worker
        process borrowing its parent's gate). Call before the first write."""
        if self._write_gate is None:
            raise ValueError("only a SQLite database has a write gate")
        self._write_gate = gate

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @property
    def sqlite_file(self) -> Path | None:
        """The SQLite database file as its URL names it; None on PostgreSQL (and for an
        in-memory SQLite database, which has no file)."""
        if not self.is_sqlite:
            return None
        name = make_url(self.url).database
        return Path(name) if name and name != ":memory:" else None

    @property
    def location(self) -> str:
        """Which database this is, for people: "SQLite file /var/lib/hotelbot/hotelbot.sqlite3"
        or the URL with the password hidden."""
        from urllib.parse import unquote

        parsed = make_url(self.url)
        if self.is_sqlite:
            return f"SQLite file {parsed.database}"
        return unquote(parsed.render_as_string(hide_password=True))

    @asynccontextmanager
    async def write(self, *, priority: bool = False) -> AsyncIterator[AsyncConnection]:
        """One write transaction. `priority` (SQLite): jump the queue of writers waiting
        in this process (see WriteGate); for latency-critical short transactions only."""
        if self._write_gate is None:
            async with self.engine.begin() as conn:
                yield conn
            return
        await self._write_gate.acquire(priority=priority)
        try:
            async with self.engine.begin() as conn:
                yield conn
        finally:
            self._write_gate.release()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        async with self.read_engine.connect() as conn:
            yield conn

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.read_engine is not self.engine:
            await self.read_engine.dispose()

"""SQLAlchemy's aiosqlite driver with one thread hop per statement instead of four.

aiosqlite runs each SQLite connection on a thread of its own; every call it makes is a round
trip to that thread (a queue put, the thread taking the GIL, `call_soon_threadsafe`, a wake-up
of the event loop). SQLAlchemy's adapter makes four per statement: open a cursor, execute,
fetch the rows, close the cursor. Here the four run as one function on the connection's
thread, so a statement costs one round trip (bench: a `SELECT 1` through SQLAlchemy went from
~157 to ~60 microseconds of CPU; the ingest writer, the processor and the sender run dozens of
statements per message).

Same results, same errors, same transaction boundaries: the statement runs on the same
sqlite3 connection, on the same thread, in the same order (SQLAlchemy's per-connection mutex
still serialises them). Server-side cursors (`stream()`) keep the stock cursor.

`one_hop_module()` returns the DBAPI module to hand to `create_async_engine(url, module=...)`;
None when the installed SQLAlchemy does not have the adapter classes this builds on (the stock
driver is then used, unchanged).
"""

from __future__ import annotations

import collections
import functools
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

_Run = tuple[Any, list[Any], int, int | None]


def _statement(operation: str, parameters: Any, many: bool) -> Callable[[sqlite3.Connection], _Run]:
    """The work of one statement on the connection's thread: (description, rows, rowcount,
    lastrowid)."""

    def run(connection: sqlite3.Connection) -> _Run:
        cursor = connection.cursor()
        try:
            if many:
                cursor.executemany(operation, parameters)
            elif parameters is None:
                cursor.execute(operation)
            else:
                cursor.execute(operation, parameters)
            description = cursor.description
            rows = cursor.fetchall() if description else []
            return description, rows, cursor.rowcount, cursor.lastrowid
        finally:
            cursor.close()

    return run


@functools.cache
def one_hop_module() -> Any | None:
    """The aiosqlite DBAPI module with the one-hop cursor (see the module docstring); one
    per process."""
    try:
        import aiosqlite
        from sqlalchemy.dialects.sqlite import aiosqlite as sa_aiosqlite
    except ImportError:  # pragma: no cover - both are dependencies
        return None
    base_cursor = getattr(sa_aiosqlite, "AsyncAdapt_aiosqlite_cursor", None)
    base_connection = getattr(sa_aiosqlite, "AsyncAdapt_aiosqlite_connection", None)
    base_dbapi = getattr(sa_aiosqlite, "AsyncAdapt_aiosqlite_dbapi", None)
    if (
        base_cursor is None
        or base_connection is None
        or base_dbapi is None
        or getattr(base_connection, "_cursor_cls", None) is not base_cursor
        or not hasattr(aiosqlite.Connection, "_execute")
    ):
        return None

    class OneHopCursor(base_cursor):  # type: ignore[misc, valid-type]
        """A cursor that keeps no driver cursor: each statement opens, runs, fetches and
        closes one on the connection's thread, in one trip."""

        def __init__(self, adapt_connection: Any) -> None:
            self._adapt_connection = adapt_connection
            self._connection = adapt_connection._connection
            self._cursor = None
            self._soft_closed_memoized: dict[str, Any] = {}
            self._rows: collections.deque[Any] = collections.deque()
            self._description: Any = None
            self._rowcount = -1
            self._lastrowid: int | None = None

        @property
        def description(self) -> Any:
            return self._description

        @property
        def rowcount(self) -> int:
            return self._rowcount

        @property
        def lastrowid(self) -> int | None:
            return self._lastrowid

        @property
        def arraysize(self) -> int:
            return 1

        @arraysize.setter
        def arraysize(self, value: int) -> None:
            return None

        async def _async_soft_close(self) -> None:
            return None  # nothing left open on the thread

        def close(self) -> None:
            self._rows.clear()

        async def _run(self, work: Callable[[sqlite3.Connection], _Run]) -> Any:
            connection = self._connection  # aiosqlite.Connection
            async with self._adapt_connection._execute_mutex:
                result: _Run = await connection._execute(lambda: work(connection._conn))
            self._description, rows, self._rowcount, self._lastrowid = result
            self._rows = collections.deque(rows)
            return None

        async def _execute_async(self, operation: Any, parameters: Any) -> Any:
            return await self._run(_statement(operation, parameters, many=False))

        async def _executemany_async(self, operation: Any, seq_of_parameters: Sequence[Any]) -> Any:
            return await self._run(_statement(operation, seq_of_parameters, many=True))

    class OneHopConnection(base_connection):  # type: ignore[misc, valid-type]
        __slots__ = ()
        _cursor_cls = OneHopCursor

    class OneHopDbapi(base_dbapi):  # type: ignore[misc, valid-type]
        def connect(self, *arg: Any, **kw: Any) -> Any:
            stock = super().connect(*arg, **kw)
            return OneHopConnection(self, stock._connection)

    return OneHopDbapi(aiosqlite, sqlite3)

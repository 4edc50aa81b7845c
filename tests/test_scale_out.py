"""Several real daemon processes on one PostgreSQL, against the fake Green API in this loop.

What is measured: overlap (receiveNotification calls of two daemons in flight on one instance
at once, counted by the fake from the X-Hotelbot-Client header), load per daemon, takeover time
after SIGKILL, writes of a daemon frozen with SIGSTOP past its lease, recovery after a
PostgreSQL restart (on a private cluster, so other users of the shared server are not hit).
Every pushed message must be stored exactly once. Figures are printed (run with -s).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select

from hotelbot.fakes.greenapi import FakeGreenApi
from hotelbot.hotel_spec import HotelSpec
from hotelbot.storage.db import Database
from hotelbot.storage.hotels import upsert_hotel
from hotelbot.storage.models import Hotel, Notification
from hotelbot.storage.models_leases import HotelLease
from hotelbot.storage.schema import upgrade
from tests import shapes
from tests.conftest import create_pg_database, drop_pg_database, require_postgres

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.timeout(90)]

TTL_S = 6.0
RENEW_S = 2.0  # ttl / 3 (default)
INSTANCE_BASE = 1101000000
CHAT = "79001234568@c.us"


@dataclass
class DaemonProc:
    name: str
    proc: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@dataclass
class Cluster:
    """The fake, the database and the daemon processes of one test."""

    fake: FakeGreenApi
    db: Database
    db_url: str
    tmp: Path
    hotel_ids: dict[str, int] = field(default_factory=dict)  # instance id -> hotel id
    daemons: dict[str, DaemonProc] = field(default_factory=dict)
    pushed: list[str] = field(default_factory=list)  # id_message of every pushed message

    def spawn(self, name: str, **env_extra: str) -> DaemonProc:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HOTELBOT_")}
        env.update(
            HOTELBOT_DATABASE_URL=self.db_url,
            HOTELBOT_DAEMON_NAME=name,
            HOTELBOT_LEASES__TTL_S=str(TTL_S),
            HOTELBOT_GREENAPI__RECEIVE_TIMEOUT_S="5",
            HOTELBOT_GREENAPI__BACKOFF_MAX_S="1",
            HOTELBOT_DAEMON__DRAIN_TIMEOUT_S="3",
            HOTELBOT_LOG_LEVEL="INFO",
            HOTELBOT_LOG_FORMAT="text",
            HOTELBOT_METRICS__LISTEN="127.0.0.1:0",
            HOME=str(self.tmp / "home"),
        )
        env.update(env_extra)
        log_path = self.tmp / f"{name}.log"
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "hotelbot", "run"],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=str(Path(__file__).resolve().parents[1]),
            )
        daemon = DaemonProc(name, proc, log_path)
        self.daemons[name] = daemon
        return daemon

    def push(self, instance_id: str) -> None:
        id_message = f"M{len(self.pushed):06d}"
        body = shapes.incoming_text(instance_id, CHAT, "hello", id_message=id_message)
        self.fake.instance(instance_id).push(body)
        self.pushed.append(id_message)

    def push_random(self, count: int, rng: random.Random, only: list[str] | None = None) -> None:
        instances = only or list(self.hotel_ids)
        for _ in range(count):
            self.push(rng.choice(instances))

    async def owners(self) -> dict[int, str]:
        """Hotel id -> owner of every unexpired lease."""
        async with self.db.read() as conn:
            rows = await conn.execute(
                select(HotelLease.hotel_id, HotelLease.owner).where(
                    HotelLease.owner.is_not(None), HotelLease.expires_at > func.now()
                )
            )
            return {int(r[0]): str(r[1]) for r in rows}

    async def per_owner(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for owner in (await self.owners()).values():
            counts[owner] = counts.get(owner, 0) + 1
        return counts

    def overlaps(self) -> int:
        return sum(inst.overlap_count for inst in self.fake.instances.values())

    def pending(self) -> int:
        return sum(inst.pending_count for inst in self.fake.instances.values())

    async def stored(self) -> tuple[int, int]:
        """(rows, distinct id_message) in notifications."""
        async with self.db.read() as conn:
            row = (
                await conn.execute(
                    select(func.count(), func.count(func.distinct(Notification.id_message)))
                )
            ).one()
        return int(row[0]), int(row[1])

    async def assert_exactly_once(self) -> None:
        rows, distinct = await self.stored()
        assert (rows, distinct) == (len(self.pushed), len(self.pushed)), (
            f"stored {rows} rows / {distinct} distinct for {len(self.pushed)} pushed"
        )

    def stop_all(self) -> None:
        for daemon in self.daemons.values():
            if daemon.proc.poll() is None:
                with _suppress_lookup():
                    os.kill(daemon.proc.pid, signal.SIGCONT)
                    daemon.proc.kill()
        for daemon in self.daemons.values():
            with _suppress_lookup():
                daemon.proc.wait(timeout=10)


def _suppress_lookup() -> contextlib.suppress:
    return contextlib.suppress(ProcessLookupError, subprocess.TimeoutExpired)


async def wait_for(
    what: str, predicate: Callable[[], Awaitable[bool]], timeout_s: float, cluster: Cluster
) -> float:
    """Poll until `predicate()`; returns the seconds waited. Fails with daemon log tails."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        try:
            if await predicate():
                return time.monotonic() - started
        except Exception:  # the database may be restarting
            pass
        await asyncio.sleep(0.1)
    tails = "\n".join(f"--- {d.name}\n{d.log()[-3000:]}" for d in cluster.daemons.values())
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}\n{tails}")


async def add_hotels(cluster: Cluster, count: int) -> None:
    async with cluster.db.write() as conn:
        for i in range(count):
            instance_id = str(INSTANCE_BASE + i)
            cluster.fake.add_instance(instance_id, f"token{i}")
            spec = HotelSpec(
                slug=f"h{i:02d}",
                name=f"Hotel {i}",
                instance_id=instance_id,
                api_token=SecretStr(f"token{i}"),
                api_url=cluster.fake.url,
            )
            await upsert_hotel(conn, spec)
    async with cluster.db.read() as conn:
        for hotel_id, instance_id in await conn.execute(select(Hotel.id, Hotel.instance_id)):
            cluster.hotel_ids[str(instance_id)] = int(hotel_id)


@asynccontextmanager
async def cluster_on(db_url: str, hotels: int, **fake_options: float) -> AsyncIterator[Cluster]:
    db = Database.open(db_url)
    await upgrade(db)
    tmp = Path(tempfile.mkdtemp(prefix="hb-scale-"))
    async with FakeGreenApi(**fake_options) as fake:  # type: ignore[arg-type]
        cluster = Cluster(fake, db, db_url, tmp)
        try:
            await add_hotels(cluster, hotels)
            yield cluster
        finally:
            cluster.stop_all()
            await db.dispose()
            shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture
def pg_available() -> None:
    require_postgres()  # runs asyncio.run(): must be a sync fixture


@pytest.fixture
async def pg_url(pg_available: None) -> AsyncIterator[str]:
    url = await create_pg_database()
    try:
        yield url
    finally:
        await drop_pg_database(url)


def first_poll_after(
    cluster: Cluster, instance_id: str, since: float, exclude: str
) -> float | None:
    starts = [
        p.started_mono
        for p in cluster.fake.instance(instance_id).poll_intervals
        if p.client_id != exclude and p.started_mono >= since
    ]
    return min(starts) if starts else None


# -- tests --------------------------------------------------------------------------------------


async def test_three_daemons_share_thirty_hotels_and_take_over_a_killed_one(pg_url: str) -> None:
    rng = random.Random(6)
    async with cluster_on(pg_url, 30) as cluster:
        for name in ("d1", "d2", "d3"):
            cluster.spawn(name)

        async def balanced() -> bool:
            counts = await cluster.per_owner()
            return sum(counts.values()) == 30 and len(counts) == 3 and max(counts.values()) <= 11

        balance_s = await wait_for("an even split", balanced, 30, cluster)
        await asyncio.sleep(1.0)  # pollers of the last claims start
        split = await cluster.per_owner()
        cluster.push_random(60, rng)
        await wait_for("drain", lambda: _true(cluster.pending() == 0), 15, cluster)
        overlaps_before_kill = cluster.overlaps()

        owners = await cluster.owners()
        victim = "d1"
        victim_hotels = [i for i, h in cluster.hotel_ids.items() if owners.get(h) == victim]
        killed_at = time.monotonic()
        cluster.daemons[victim].proc.send_signal(signal.SIGKILL)
        cluster.push_random(40, rng, only=victim_hotels)  # waiting for the takeover
        cluster.push_random(20, rng)

        async def taken_over() -> bool:
            now_owners = await cluster.owners()
            return all(
                now_owners.get(cluster.hotel_ids[i]) not in (None, victim) for i in victim_hotels
            )

        await wait_for("takeover", taken_over, TTL_S + RENEW_S + 10, cluster)
        await wait_for("drain after takeover", lambda: _true(cluster.pending() == 0), 15, cluster)
        takeover_s = max(
            (first_poll_after(cluster, i, killed_at, victim) or float("inf")) - killed_at
            for i in victim_hotels
        )
        await cluster.assert_exactly_once()
        after = await cluster.per_owner()
        print(
            f"\nscale-out: split {split} after {balance_s:.1f} s; after SIGKILL of {victim}: "
            f"{after}; takeover (first poll by the new owner) {takeover_s:.1f} s "
            f"(ttl {TTL_S} s, renew {RENEW_S} s); overlaps {cluster.overlaps()} "
            f"(before kill {overlaps_before_kill}); {len(cluster.pushed)} pushed, stored once"
        )
        assert all(9 <= n <= 11 for n in split.values()), split
        assert takeover_s <= TTL_S + RENEW_S + 3, takeover_s
        assert cluster.overlaps() == 0
        assert sorted(after.values()) == [15, 15]


async def _true(value: bool) -> bool:
    return value


async def test_frozen_daemon_does_not_write_for_hotels_it_lost(pg_url: str) -> None:
    long_poll = {
        # Long polls outlive the freeze, so the frozen daemon holds answers it has not read.
        "HOTELBOT_GREENAPI__RECEIVE_TIMEOUT_S": "60",
        "HOTELBOT_GREENAPI__POLL_TIMEOUT_MARGIN_S": "60",
    }
    async with cluster_on(pg_url, 10) as cluster:
        frozen = cluster.spawn("a", **long_poll)
        cluster.spawn("b", **long_poll)

        async def balanced() -> bool:
            return sorted((await cluster.per_owner()).values()) == [5, 5]

        await wait_for("an even split", balanced, 30, cluster)
        await asyncio.sleep(1.5)  # every poller is inside a 60 s long poll now
        owners = await cluster.owners()
        lost = [i for i, h in cluster.hotel_ids.items() if owners.get(h) == "a"]
        os.kill(frozen.proc.pid, signal.SIGSTOP)
        stopped_at = time.monotonic()
        for instance_id in lost:  # answered into a's open long polls while it is frozen
            cluster.push(instance_id)

        async def b_has_everything() -> bool:
            return cluster.pending() == 0 and set((await cluster.owners()).values()) == {"b"}

        await wait_for("takeover by b", b_has_everything, TTL_S + RENEW_S + 15, cluster)
        frozen_for_s = time.monotonic() - stopped_at
        await cluster.assert_exactly_once()
        stale = sum(cluster.fake.instance(i).notifications[1].receive_count >= 2 for i in lost)
        os.kill(frozen.proc.pid, signal.SIGCONT)

        async def rebalanced() -> bool:
            return sorted((await cluster.per_owner()).values()) == [5, 5]

        await wait_for("rebalance after resume", rebalanced, 20, cluster)
        rng = random.Random(7)
        cluster.push_random(30, rng)
        await wait_for("drain", lambda: _true(cluster.pending() == 0), 15, cluster)
        await cluster.assert_exactly_once()
        log = frozen.log()
        rejected = log.count("store rejected, lease lost")
        by_database = log.count("lease lost (database fence)")
        self_fenced = log.count("not renewed in time")
        print(
            f"\nSIGSTOP: a frozen {frozen_for_s:.1f} s; {stale}/{len(lost)} items were answered "
            f"into its frozen long polls and later re-received by b; after SIGCONT: "
            f"{rejected} stale store(s) rejected (LeaseLost; {by_database} by the database "
            f"fence), self-fence lines {self_fenced}; "
            f"overlaps {cluster.overlaps()}; {len(cluster.pushed)} pushed, stored once"
        )
        assert cluster.overlaps() == 0
        assert rejected + self_fenced >= 1, log[-3000:]


async def test_sigterm_releases_leases_for_an_immediate_handover(pg_url: str) -> None:
    async with cluster_on(pg_url, 6) as cluster:
        leaving = cluster.spawn("a")
        cluster.spawn("b")

        async def balanced() -> bool:
            return sorted((await cluster.per_owner()).values()) == [3, 3]

        await wait_for("an even split", balanced, 30, cluster)
        leaving.proc.send_signal(signal.SIGTERM)
        stopped_at = time.monotonic()
        exit_code = await asyncio.to_thread(leaving.proc.wait, 15)
        exited_s = time.monotonic() - stopped_at

        async def all_b() -> bool:
            return (await cluster.per_owner()) == {"b": 6}

        await wait_for("handover to b", all_b, RENEW_S + 5, cluster)
        handover_s = time.monotonic() - stopped_at
        cluster.push_random(12, random.Random(10))
        await wait_for("drain", lambda: _true(cluster.pending() == 0), 15, cluster)
        await cluster.assert_exactly_once()
        print(
            f"\nSIGTERM: a exited {exit_code} after {exited_s:.1f} s; all hotels with b "
            f"{handover_s:.1f} s after the signal (renew {RENEW_S} s, ttl {TTL_S} s)"
        )
        assert exit_code == 0
        assert "released 3 lease(s)" in leaving.log()
        assert cluster.overlaps() == 0


# -- PostgreSQL restart (private cluster: the shared server at :5432 is used by other tests) ----


def _pg_bin() -> Path:
    """Debian's server binaries (/usr/lib/postgresql/<major>/bin), newest major first."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0,
    )
    return found[-1].parent if found else Path("/nonexistent")


PG_BIN = _pg_bin()


class PrivatePostgres:
    """A throw-away PostgreSQL cluster in a temp dir, run as the `postgres` user (we are root
    in this environment); restartable without disturbing anyone else."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="hb-pg-"))
        self.data = self.dir / "data"
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        self.url = f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _as_postgres(self, *argv: str) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", *argv],
            check=True,
            capture_output=True,
            timeout=60,
        )

    def init(self) -> None:
        shutil.chown(self.dir, "postgres")
        self._as_postgres(
            str(PG_BIN / "initdb"),
            "-D",
            str(self.data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
            "-E",
            "UTF8",
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._as_postgres(
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-w",
            "-t",
            "30",
            "-l",
            str(self.dir / "server.log"),
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        self._as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def remove(self) -> None:
        with contextlib.suppress(Exception):
            self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    if os.geteuid() != 0 or not (PG_BIN / "initdb").exists() or not shutil.which("runuser"):
        pytest.skip("needs root and the PostgreSQL server binaries to run a private cluster")
    server = PrivatePostgres()
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.remove()


@pytest.mark.parametrize("down_s", [2.0, TTL_S + 2])  # shorter / longer than the lease ttl
async def test_daemons_recover_from_a_postgres_restart(
    private_postgres: PrivatePostgres, down_s: float
) -> None:
    rng = random.Random(8)
    async with cluster_on(private_postgres.url, 10) as cluster:
        cluster.spawn("a")
        cluster.spawn("b")

        async def balanced() -> bool:
            return sorted((await cluster.per_owner()).values()) == [5, 5]

        await wait_for("an even split", balanced, 30, cluster)
        cluster.push_random(20, rng)
        await wait_for("drain", lambda: _true(cluster.pending() == 0), 15, cluster)

        async def keep_pushing() -> None:
            while True:
                cluster.push_random(1, rng)
                await asyncio.sleep(0.1)

        pusher = asyncio.create_task(keep_pushing())
        try:
            await asyncio.sleep(0.5)
            down_at = time.monotonic()
            # Immediate stop = crash: no clean disconnects, in-flight transactions lost.
            await asyncio.to_thread(private_postgres.stop, "immediate")
            await asyncio.sleep(down_s)
            await asyncio.to_thread(private_postgres.start)
            measured_down_s = time.monotonic() - down_at
            await asyncio.sleep(1.0)
        finally:
            pusher.cancel()
            await asyncio.gather(pusher, return_exceptions=True)
        recovered_s = await wait_for("recovery", balanced, 30, cluster)
        await wait_for("drain after restart", lambda: _true(cluster.pending() == 0), 20, cluster)
        await cluster.assert_exactly_once()
        alive = [d.name for d in cluster.daemons.values() if d.proc.poll() is None]
        fenced = sum(d.log().count("not renewed in time") for d in cluster.daemons.values())
        print(
            f"\nPostgreSQL restart: down {measured_down_s:.1f} s, self-fence events {fenced}, "
            f"leases balanced again "
            f"{recovered_s:.1f} s later; overlaps {cluster.overlaps()}; "
            f"{len(cluster.pushed)} pushed, stored once; daemons alive: {alive}"
        )
        assert alive == ["a", "b"]
        assert cluster.overlaps() == 0


# -- behind PgBouncer in transaction pooling mode -----------------------------------------------


class PgBouncer:
    """PgBouncer in front of the shared server, transaction pooling, fewer server connections
    than clients (so consecutive transactions of one client land on different backends)."""

    def __init__(self, database: str) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="hb-pgb-"))
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        self.url = f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"
        (self.dir / "users.txt").write_text('"postgres" ""\n')
        (self.dir / "pgbouncer.ini").write_text(
            "[databases]\n"
            "* = host=127.0.0.1 port=5432\n"
            "[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {self.port}\nunix_socket_dir =\n"
            f"auth_type = trust\nauth_file = {self.dir / 'users.txt'}\n"
            "pool_mode = transaction\ndefault_pool_size = 3\nmax_client_conn = 100\n"
            "ignore_startup_parameters = extra_float_digits\n"
            f"logfile = {self.dir / 'pgbouncer.log'}\npidfile = {self.dir / 'pgbouncer.pid'}\n"
        )
        shutil.chown(self.dir, "postgres")
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        # PgBouncer refuses to run as root.
        self.proc = subprocess.Popen(
            ["runuser", "-u", "postgres", "--", "pgbouncer", str(self.dir / "pgbouncer.ini")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError("pgbouncer did not start")

    def remove(self) -> None:
        pid_file = self.dir / "pgbouncer.pid"
        if pid_file.exists():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid_file.read_text().strip()), signal.SIGTERM)
        if self.proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=5)
        shutil.rmtree(self.dir, ignore_errors=True)


async def test_daemons_behind_pgbouncer_transaction_pooling(pg_url: str) -> None:
    if not shutil.which("pgbouncer") or os.geteuid() != 0 or not shutil.which("runuser"):
        pytest.skip("needs the pgbouncer binary and root (to run it as postgres)")
    from sqlalchemy.engine import make_url

    bouncer = PgBouncer(str(make_url(pg_url).database))
    bouncer.start()
    rng = random.Random(9)
    try:
        async with cluster_on(pg_url, 10) as cluster:
            for name in ("a", "b"):
                cluster.spawn(
                    name,
                    HOTELBOT_DATABASE_URL=bouncer.url,
                    HOTELBOT_DATABASE__PGBOUNCER="true",
                )

            async def balanced() -> bool:
                return sorted((await cluster.per_owner()).values()) == [5, 5]

            await wait_for("an even split through PgBouncer", balanced, 30, cluster)
            cluster.push_random(40, rng)
            await wait_for("drain", lambda: _true(cluster.pending() == 0), 20, cluster)
            await cluster.assert_exactly_once()
            errors = sum(d.log().count("ERROR") for d in cluster.daemons.values())
            print(
                f"\nPgBouncer (transaction mode, 3 server connections): split 5/5, "
                f"{len(cluster.pushed)} pushed, stored once, overlaps {cluster.overlaps()}, "
                f"error lines {errors}"
            )
            assert cluster.overlaps() == 0
            assert errors == 0, "\n".join(d.log()[-2000:] for d in cluster.daemons.values())
    finally:
        bouncer.remove()

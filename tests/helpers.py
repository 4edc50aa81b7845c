"""Test helpers: settings for fast tests, hotels pointing at the fake, running the daemon."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from hotelbot.app.forget_guest import forget_guest
from hotelbot.daemon.app import Daemon
from hotelbot.domain.erasure import PurgeResult
from hotelbot.domain.guest_identity import GuestIdentity
from hotelbot.hotel_spec import validate_hotels
from hotelbot.settings import Settings
from hotelbot.storage.db import Database
from hotelbot.storage.hotels import upsert_hotel
from hotelbot.storage.models import DeadLetter, Notification
from hotelbot.storage.types import utcnow
from hotelbot.storage.unit_of_work import SqlUnitsOfWork

# Daemons in tests serve /metrics on a port the OS picks: parallel tests never collide.
FREE_PORT = "127.0.0.1:0"


def daemon_env(db_url: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of a `hotelbot` process in a test: this one's, minus any HOTELBOT_*
    setting of the developer's, with quick polls and hotel refreshes, text logs and /metrics
    on a free port; `extra` adds or overrides settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTELBOT_")}
    env.update(
        HOME=str(tmp_path),
        HOTELBOT_DATABASE_URL=db_url,
        HOTELBOT_GREENAPI__RECEIVE_TIMEOUT_S="5",
        HOTELBOT_GREENAPI__BACKOFF_MIN_S="0.05",
        HOTELBOT_DAEMON__HOTELS_REFRESH_S="1",
        HOTELBOT_LOG_FORMAT="text",
        HOTELBOT_METRICS__LISTEN=FREE_PORT,
    )
    env.update(extra)
    return env


def fast_settings(db_url: str, **sections: dict[str, Any]) -> Settings:
    data: dict[str, Any] = {
        "database": {"url": db_url},
        # state_check_s 0: no state probe call at a random moment eats a fault a test set up
        # for a receive or a send (tests/test_state_probe.py turns it on).
        "greenapi": {
            "receive_timeout_s": 5,
            "backoff_min_s": 0.05,
            "backoff_max_s": 0.5,
            "unhealthy_retry_s": 5,
            "state_check_s": 0,
        },
        "daemon": {"drain_timeout_s": 5, "hotels_refresh_s": 1, "status_interval_s": 1},
        "metrics": {"listen": FREE_PORT},
    }
    for key, value in sections.items():
        data.setdefault(key, {}).update(value)
    return Settings.model_validate(data)


async def add_hotels(
    db: Database, fake_url: str, ids_tokens: list[tuple[str, str]], **extra: Any
) -> None:
    entries = [
        {
            "slug": f"h{instance}",
            "name": f"Hotel {instance}",
            "instance_id": instance,
            "api_token": token,
            "api_url": fake_url,
            "timezone": "Europe/Riga",
            **extra,
        }
        for instance, token in ids_tokens
    ]
    async with db.write() as conn:
        for spec in validate_hotels(entries, "test"):
            await upsert_hotel(conn, spec)


@asynccontextmanager
async def running_daemon(settings: Settings) -> AsyncIterator[Daemon]:
    daemon = Daemon(settings, environ={}, install_signal_handlers=False)
    task = asyncio.create_task(daemon.run())
    try:
        await asyncio.wait_for(daemon.ready.wait(), 10)
        yield daemon
    finally:
        daemon.request_stop()
        code = await asyncio.wait_for(task, 20)
        assert code == 0


async def wait_for(predicate: Callable[[], Awaitable[bool]], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if await predicate():
            return
        await asyncio.sleep(0.05)
    raise TimeoutError("condition not met in time")


async def count(db: Database, model: Any, *where: Any) -> int:
    async with db.read() as conn:
        query = select(func.count()).select_from(model)
        for clause in where:
            query = query.where(clause)
        return int((await conn.execute(query)).scalar_one())


async def stored_notifications(db: Database) -> int:
    return await count(db, Notification)


async def dead_letters(db: Database) -> int:
    return await count(db, DeadLetter)


async def forget(
    db: Database, identity: GuestIdentity, *, hotel_slug: str | None = None, dry_run: bool = False
) -> PurgeResult:
    """The use case `hotelbot guest forget` runs, on unfenced units as the CLI opens them."""
    return await forget_guest(
        SqlUnitsOfWork(db), identity, now=utcnow(), hotel_slug=hotel_slug, dry_run=dry_run
    )

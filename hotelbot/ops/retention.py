"""Data protection: the retention purge (forgetting one guest: app/forget_guest.py).

What counts as personal data here: message text, guest and sender names, phone numbers,
raw notification bodies (they repeat all of it), stay names and rooms, outbox texts (alerts
quote guests), dead letters, and the free text an LLM wrote about a message (`reason`, it may
quote the guest). What the purge keeps: row counts, directions, timestamps, sentiment labels
and scores, so `hotelbot stats` still works on old periods.

Tables are found by introspection (`storage.introspect`): a database without the messaging
or stay tables is purged of what it has. Every function is idempotent (running twice
changes nothing the second time) and safe while the daemon runs: each batch is one short
write transaction. The SQL of each step is `storage/retention.py`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from hotelbot.domain.erasure import PurgeResult
from hotelbot.storage.db import Database
from hotelbot.storage.retention import PURGED_BODY as PURGED_BODY
from hotelbot.storage.retention import SqlRetentionPurge
from hotelbot.storage.types import utcnow


async def purge_expired(
    db: Database, *, retention_days: int, now: datetime | None = None
) -> PurgeResult:
    """Erase personal data older than `retention_days` (see the module docstring).

    Old = written before the cut-off and, where stays exist, no stay of that chat checked
    out on or after the cut-off day. Unprocessed notifications are left alone (the
    processor still needs them). Raises ValueError for retention_days < 1.
    """
    if retention_days < 1:
        raise ValueError("retention_days must be at least 1")
    cutoff = (now or utcnow()) - timedelta(days=retention_days)
    purge = await SqlRetentionPurge.open(db)
    # In this order; a key is absent when the database has no such table.
    steps: tuple[tuple[str, Callable[[datetime], Awaitable[int | None]]], ...] = (
        ("messages.text", purge.message_texts),
        ("alerts.reason", purge.alert_reasons),
        ("notifications.body", purge.notification_bodies),
        ("dead_letters.raw", purge.dead_letter_raws),
        ("outbox.text", purge.outbox_texts),
        ("stays.guest_name", purge.stay_names),
        ("guests.name", purge.guest_contacts),
    )
    result = PurgeResult()
    for key, step in steps:
        changed = await step(cutoff)
        if changed is not None:
            result.changed[key] = changed
    return result

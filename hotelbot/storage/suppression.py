"""The opt-out suppression list: a STOP that outlives `hotelbot guest forget`.

Forgetting a guest deletes the guest row that held `opted_out`, so a later stay import or
a trigger would message them again. Before the row goes, each of the guest's chat ids of
that hotel is recorded here as a keyed hash (HMAC-SHA256 with a random per-database key,
table `local_secrets`): no number is kept, and the hashes cannot be matched against another
installation or a table computed in advance. `load_guest_facts` treats a suppressed chat as
opted out; the guest's own START lifts it. All functions run in the caller's transaction.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from hotelbot.storage.dialect import insert_for
from hotelbot.storage.models_privacy import LocalSecret, OptOutSuppression

KEY_NAME = "optout_hash_key"


async def _key(conn: AsyncConnection) -> bytes:
    """The per-database key; created on first use if the migration's row is missing."""
    value = (
        await conn.execute(select(LocalSecret.value).where(LocalSecret.name == KEY_NAME))
    ).scalar()
    if value is None:
        insert = insert_for(conn, LocalSecret)
        await conn.execute(
            insert.values(name=KEY_NAME, value=secrets.token_hex(32)).on_conflict_do_nothing()
        )
        value = (
            await conn.execute(select(LocalSecret.value).where(LocalSecret.name == KEY_NAME))
        ).scalar_one()
    return bytes.fromhex(str(value))


def chat_hash(key: bytes, chat_id: str) -> str:
    return hmac.new(key, chat_id.encode("utf-8"), hashlib.sha256).hexdigest()


async def suppress(
    conn: AsyncConnection, pairs: Iterable[tuple[int, str]], *, now: datetime
) -> int:
    """Record (hotel id, chat id) pairs as opted out for good. Idempotent; returns how many
    were new."""
    wanted = sorted(set(pairs))
    if not wanted:
        return 0
    key = await _key(conn)
    rows = [{"hotel_id": h, "chat_hash": chat_hash(key, c), "created_at": now} for h, c in wanted]
    insert = insert_for(conn, OptOutSuppression)
    stmt = insert.on_conflict_do_nothing(
        index_elements=[OptOutSuppression.hotel_id, OptOutSuppression.chat_hash]
    ).returning(OptOutSuppression.id)
    return len((await conn.execute(stmt, rows)).all())


async def suppressed(conn: AsyncConnection, hotel_id: int, chat_ids: Iterable[str]) -> set[str]:
    """Those of `chat_ids` whose hash is on the hotel's suppression list."""
    chats = list(dict.fromkeys(chat_ids))
    if not chats:
        return set()
    if (await conn.execute(select(OptOutSuppression.id).limit(1))).first() is None:
        return set()  # nobody was ever forgotten after a STOP: skip the hashing
    key = await _key(conn)
    by_hash = {chat_hash(key, c): c for c in chats}
    rows = await conn.execute(
        select(OptOutSuppression.chat_hash).where(
            OptOutSuppression.hotel_id == hotel_id,
            OptOutSuppression.chat_hash.in_(list(by_hash)),
        )
    )
    return {by_hash[str(r[0])] for r in rows}


async def lift(conn: AsyncConnection, pairs: Iterable[tuple[int, str]]) -> int:
    """The guest sent START: remove (hotel id, chat id) pairs from the list. Idempotent."""
    wanted = sorted(set(pairs))
    if not wanted:
        return 0
    if (await conn.execute(select(OptOutSuppression.id).limit(1))).first() is None:
        return 0
    key = await _key(conn)
    result = await conn.execute(
        delete(OptOutSuppression).where(
            tuple_(OptOutSuppression.hotel_id, OptOutSuppression.chat_hash).in_(
                [(h, chat_hash(key, c)) for h, c in wanted]
            )
        )
    )
    return int(result.rowcount or 0)

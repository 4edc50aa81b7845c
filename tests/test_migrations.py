"""The migration chain: one head, the code's SCHEMA_HEAD, and a round trip down and up."""

from __future__ import annotations

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text

from hotelbot.storage.db import Database
from hotelbot.storage.schema import MIGRATIONS_DIR, SCHEMA_HEAD, current_revision, upgrade


def _script() -> ScriptDirectory:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return ScriptDirectory.from_config(config)


def test_one_head_and_it_is_what_the_code_expects() -> None:
    assert _script().get_heads() == [SCHEMA_HEAD]


def _downgrade(connection: Connection, target: str) -> None:
    from alembic import command

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    command.downgrade(config, target)


async def test_the_newest_migration_goes_down_and_up_again(db: Database) -> None:
    head = _script().get_revision(SCHEMA_HEAD)
    assert head is not None and isinstance(head.down_revision, str)
    async with db.write() as conn:
        await conn.execute(
            text(
                "INSERT INTO hotels (slug, name, instance_id, api_url, timezone, "
                "default_language, created_at, updated_at) VALUES ('h', 'H', '1101000001', "
                "'https://x', 'UTC', 'en', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            )
        )
    async with db.engine.begin() as conn:
        await conn.run_sync(_downgrade, head.down_revision)
    assert await current_revision(db) == head.down_revision
    await upgrade(db)
    assert await current_revision(db) == SCHEMA_HEAD
    async with db.read() as conn:
        row = (await conn.execute(text("SELECT slug FROM hotels"))).one()
    assert row[0] == "h"

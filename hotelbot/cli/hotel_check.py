"""`hotelbot hotel check`: the instance's state and settings, as an operator reads them."""

from __future__ import annotations

import os
from collections.abc import Callable

from hotelbot.domain.events import InstanceState
from hotelbot.errors import UserError
from hotelbot.greenapi.client import (
    REQUIRED_SETTINGS,
    GreenApiClient,
    InstanceCredentials,
)
from hotelbot.greenapi.errors import GreenApiError
from hotelbot.greenapi.retry import INSTANCE_READ, SETTINGS_WRITE
from hotelbot.greenapi.transport import HttpxTransport
from hotelbot.hotel_credentials import resolve_token
from hotelbot.redact import register_secret
from hotelbot.storage.db import Database
from hotelbot.storage.hotels import get_hotel, set_instance_state


async def run_check(db: Database, slug: str, *, fix: bool, echo: Callable[[str], None]) -> bool:
    async with db.read() as conn:
        record = await get_hotel(conn, slug)
    if record is None:
        raise UserError(f"no hotel with slug {slug!r}")
    token = resolve_token(record, os.environ)
    if token is None:
        raise UserError(f"{slug}: no API token ({record.api_token_env} is not set in this shell)")
    register_secret(token)
    transport = HttpxTransport(connect_timeout_s=5.0)
    client = GreenApiClient(
        InstanceCredentials(record.api_url, record.instance_id, token), transport
    )
    try:
        try:
            state = await INSTANCE_READ.call(client.get_state_instance)
            settings = await INSTANCE_READ.call(client.get_settings)
        except GreenApiError as exc:
            echo(f"{slug}: cannot reach the instance: {exc}")
            return False
        async with db.write() as conn:
            await set_instance_state(conn, record.id, state)
        echo(f"instance {record.instance_id} state: {state}")
        problems = settings.problems()
        queue_ok = settings.reaches_queue
        echo(f"notifications reach the HTTP queue: {'yes' if queue_ok else 'NO'}")
        for problem in problems:
            echo(f"  - {problem}")
        if problems and fix:
            echo(
                "applying the required settings; Green API restarts the instance to apply them "
                "(it can take up to 5 minutes; messages are queued meanwhile)"
            )
            await SETTINGS_WRITE.call(client.set_settings, REQUIRED_SETTINGS)
            echo("settings sent; run `hotelbot hotel check` again in a few minutes to verify")
        elif problems:
            echo("run with --fix to apply them (this restarts the instance)")
        return state == InstanceState.AUTHORIZED and queue_ok
    finally:
        await transport.aclose()

"""The instance state probe (daemon/state_probe.py) against the fake Green API over HTTP and
real databases: a logout is stored without any stateInstanceChanged notification, a quiet
check writes nothing, a stale daemon stores nothing, and a running daemon tells operators."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest

from hotelbot.daemon.app import Daemon
from hotelbot.daemon.state_probe import InstanceStateProbe
from hotelbot.fakes.greenapi import FakeGreenApi, FakeInstance
from hotelbot.greenapi.client import GreenApiClient, InstanceCredentials
from hotelbot.greenapi.transport import AiohttpTransport
from hotelbot.storage.db import Database
from hotelbot.storage.hotels import enabled_instance_states
from hotelbot.storage.schema import upgrade
from hotelbot.storage.unit_of_work import SqlUnitsOfWork
from tests.helpers import add_hotels, fast_settings, wait_for
from tests.processor_helpers import make_hotel
from tests.test_backup_channel import Inbox, email_settings, smtp, subject

__all__ = ["smtp"]  # the fixture, used by the daemon test below

INSTANCE = "1101000001"
TOKEN = "tok-probe-1"


class NotHeld:
    """A lease view of a daemon that holds no hotel (another daemon took them over)."""

    owner = "stale-daemon"

    def epoch_of(self, hotel_id: int) -> int | None:
        return None


@dataclass
class Rig:
    db: Database
    instance: FakeInstance
    client: GreenApiClient
    transport: AiohttpTransport
    hotel_id: int

    def probe(self, units: SqlUnitsOfWork | None = None) -> InstanceStateProbe:
        return InstanceStateProbe(
            self.hotel_id,
            "seaside",
            self.client,
            self.db,
            units or SqlUnitsOfWork(self.db),
            interval_s=60.0,
        )

    async def stored(self) -> tuple[str | None, datetime | None]:
        async with self.db.read() as conn:
            hotel = (await enabled_instance_states(conn))[self.hotel_id]
        return hotel.instance_state, hotel.instance_state_at


@pytest.fixture
async def rig(db: Database) -> AsyncIterator[Rig]:
    async with FakeGreenApi() as fake:
        instance = fake.add_instance(INSTANCE, TOKEN)  # stateWebhook is never asked here
        transport = AiohttpTransport(connect_timeout_s=2.0)
        client = GreenApiClient(InstanceCredentials(fake.url, INSTANCE, TOKEN), transport)
        hotel_id = await make_hotel(db, api_url=fake.url, instance_id=INSTANCE)
        try:
            yield Rig(db, instance, client, transport, hotel_id)
        finally:
            await transport.aclose()


async def test_a_logout_is_stored_once_and_a_quiet_check_writes_nothing(rig: Rig) -> None:
    probe = rig.probe()
    assert await probe.run_once() == "authorized"  # first sight: stored
    state, first_at = await rig.stored()
    assert state == "authorized" and first_at is not None
    assert await probe.run_once() is None  # unchanged: the row keeps its time
    assert await rig.stored() == ("authorized", first_at)

    rig.instance.set_state("notAuthorized")
    assert not rig.instance.pending  # no notification tells of it: only the probe can
    assert await probe.run_once() == "notAuthorized"
    state, logged_out_at = await rig.stored()
    assert state == "notAuthorized" and logged_out_at is not None and logged_out_at >= first_at
    assert await probe.run_once() is None
    assert await rig.stored() == ("notAuthorized", logged_out_at)

    rig.instance.set_state("authorized")
    assert await probe.run_once() == "authorized"
    assert (await rig.stored())[0] == "authorized"
    assert probe.checks == 5


async def test_a_daemon_without_the_lease_stores_nothing(rig: Rig) -> None:
    rig.instance.set_state("notAuthorized")
    stale = rig.probe(SqlUnitsOfWork(rig.db, NotHeld()))
    assert await stale.run_once() is None
    assert await rig.stored() == (None, None)
    assert stale.checks == 1  # it asked; it only may not write


async def test_a_failed_call_is_a_skipped_check(rig: Rig) -> None:
    wrong = GreenApiClient(
        InstanceCredentials(rig.client.credentials.api_url, INSTANCE, "wrong-token"),
        rig.transport,
    )
    probe = InstanceStateProbe(
        rig.hotel_id, "seaside", wrong, rig.db, SqlUnitsOfWork(rig.db), interval_s=60.0
    )
    assert await probe.run_once() is None
    assert probe.checks == 0
    assert await rig.stored() == (None, None)


async def test_run_checks_every_interval_and_zero_means_never(rig: Rig) -> None:
    probe = InstanceStateProbe(
        rig.hotel_id,
        "seaside",
        rig.client,
        rig.db,
        SqlUnitsOfWork(rig.db),
        interval_s=0.05,
        jitter=lambda upper: 0.0,
    )
    task = asyncio.create_task(probe.run())
    try:
        await wait_for(lambda: _true(probe.checks >= 3), 10)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert (await rig.stored())[0] == "authorized"

    never = InstanceStateProbe(
        rig.hotel_id, "seaside", rig.client, rig.db, SqlUnitsOfWork(rig.db), interval_s=0
    )
    await asyncio.wait_for(never.run(), 1)  # returns at once
    assert never.checks == 0


async def _true(value: bool) -> bool:
    return value


async def test_a_logout_without_state_webhooks_reaches_the_operators(
    db_url: str, tmp_path: Path, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    db = Database.open(db_url, create=True)
    async with FakeGreenApi() as fake:
        inst = fake.add_instance(INSTANCE, TOKEN)
        inst.settings["stateWebhook"] = "no"  # as on many instances set up by hand
        inst.emit_state_webhooks = True  # would queue one if the setting were on
        try:
            await upgrade(db)
            await add_hotels(db, fake.url, [(INSTANCE, TOKEN)])
        finally:
            await db.dispose()
        settings = fast_settings(
            db_url, greenapi={"state_check_s": 0.2}, email=email_settings(port)
        )
        daemon = Daemon(
            settings, environ={"STATE_DIRECTORY": str(tmp_path)}, install_signal_handlers=False
        )
        task = asyncio.create_task(daemon.run())
        try:
            await asyncio.wait_for(daemon.ready.wait(), 20)
            inst.set_state("notAuthorized")
            assert not inst.pending

            async def operators_told() -> bool:
                return bool(inbox.to("ops@hotelbot.example"))

            await wait_for(operators_told, 30)
            mail = inbox.to("ops@hotelbot.example")[0]
            assert f"h{INSTANCE}: WhatsApp instance is notAuthorized" in subject(mail)
        finally:
            daemon.request_stop()
            code = await asyncio.wait_for(task, 30)
        assert code == 0

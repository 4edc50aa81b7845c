"""The operators' e-mail backup channel against a real SMTP server on 127.0.0.1 (aiosmtpd)
and the fake Green API over HTTP, with a real daemon on both databases."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from hotelbot.daemon.app import Daemon
from hotelbot.daemon.operator_watch import marker_path
from hotelbot.domain.episodes import Change, EpisodeTracker
from hotelbot.fakes.greenapi import FakeGreenApi
from hotelbot.settings import EmailSettings
from hotelbot.storage.db import Database
from hotelbot.storage.schema import upgrade
from tests import shapes
from tests.helpers import add_hotels, fast_settings, wait_for

INSTANCE = "1101000001"
SLUG = f"h{INSTANCE}"
TOKEN = "tok-backup-1"
GUEST = "37120000001@c.us"
STAFF_CHAT = "37120000000@c.us"
STAFF_EMAIL = "reception@hotel.example"
OPERATOR = "ops@hotelbot.example"


class Inbox:
    """aiosmtpd handler: every accepted mail, parsed (the server runs in its own thread)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._mails: list[tuple[list[str], Message]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._lock:
            self._mails.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
        return "250 OK"

    def to(self, address: str) -> list[Message]:
        with self._lock:
            return [m for rcpts, m in self._mails if address in rcpts]


def subject(mail: Message) -> str:
    """The Subject: header unfolded (long ones are folded over lines on the wire)."""
    return " ".join(str(mail["Subject"]).split())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def email_settings(port: int, **extra: Any) -> dict[str, Any]:
    return {
        "enabled": True,
        "host": "127.0.0.1",
        "port": port,
        "security": "none",
        "sender": "hotelbot@hotelbot.example",
        "operators": [OPERATOR],
        "check_interval_s": 0.2,
        "instance_after_min": 0,
        "min_interval_s": 0,
        "alert_undeliverable_after_min": 0.1,
        **extra,
    }


async def test_logout_mails_operators_once_then_resolved_and_alert_reaches_staff_email(
    db_url: str, tmp_path: Path, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    db = Database.open(db_url, create=True)
    async with FakeGreenApi() as fake:
        inst = fake.add_instance(INSTANCE, TOKEN)
        inst.emit_state_webhooks = True  # a logout queues stateInstanceChanged, as upstream
        try:
            await upgrade(db)
            await add_hotels(
                db, fake.url, [(INSTANCE, TOKEN)], staff_chat_id=STAFF_CHAT, staff_email=STAFF_EMAIL
            )
        finally:
            await db.dispose()
        settings = fast_settings(db_url, email=email_settings(port))
        environ = {"STATE_DIRECTORY": str(tmp_path)}
        daemon = Daemon(settings, environ=environ, install_signal_handlers=False)
        task = asyncio.create_task(daemon.run())
        try:
            await asyncio.wait_for(daemon.ready.wait(), 20)
            inst.set_state("notAuthorized")

            async def operator_mails(n: int) -> bool:
                return len(inbox.to(OPERATOR)) >= n

            await wait_for(lambda: operator_mails(1), 30)
            first = inbox.to(OPERATOR)[0]
            assert f"{SLUG}: WhatsApp instance is notAuthorized" in subject(first)
            # A guest complains while WhatsApp is down: the alert cannot go to the staff
            # chat, so it goes to the hotel's staff e-mail.
            inst.push(shapes.incoming_text(INSTANCE, GUEST, "The shower is broken, no hot water!"))

            async def staff_mailed() -> bool:
                return bool(inbox.to(STAFF_EMAIL))

            await wait_for(staff_mailed, 40)
            staff = inbox.to(STAFF_EMAIL)
            assert len(staff) == 1
            body = staff[0].get_payload(decode=True)
            assert isinstance(body, bytes) and b"shower" in body
            assert not any(m.chat_id == STAFF_CHAT for m in inst.sent)  # really undelivered
            assert len(inbox.to(OPERATOR)) == 1  # the alert is part of the logout's episode
            inst.set_state("authorized")
            await wait_for(lambda: operator_mails(2), 30)
            resolved = inbox.to(OPERATOR)[1]
            assert subject(resolved).startswith("[hotelbot] resolved:")
            assert "authorized again" in subject(resolved)

            async def alert_on_whatsapp() -> bool:
                return any(m.chat_id == STAFF_CHAT for m in inst.sent)

            await wait_for(alert_on_whatsapp, 30)  # and WhatsApp delivers it once it can
            await asyncio.sleep(1.0)  # several more checks: nothing new to tell
            assert len(inbox.to(OPERATOR)) == 2
            assert len(inbox.to(STAFF_EMAIL)) == 1
            assert marker_path(tmp_path, "").exists()  # running
        finally:
            daemon.request_stop()
            code = await asyncio.wait_for(task, 30)
        assert code == 0
        assert not marker_path(tmp_path, "").exists()  # a clean stop removes it
        for mail in inbox.to(OPERATOR) + inbox.to(STAFF_EMAIL):
            assert TOKEN not in mail.as_string()


async def test_a_restart_after_a_crash_is_mailed(
    sqlite_url: str, tmp_path: Path, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    db = Database.open(sqlite_url, create=True)
    await upgrade(db)
    await db.dispose()
    marker_path(tmp_path, "night").write_text("running\n")  # what a killed run leaves
    settings = fast_settings(sqlite_url, email=email_settings(port), daemon={"name": "night"})
    daemon = Daemon(
        settings, environ={"STATE_DIRECTORY": str(tmp_path)}, install_signal_handlers=False
    )
    task = asyncio.create_task(daemon.run())
    try:
        await asyncio.wait_for(daemon.ready.wait(), 20)

        async def mailed() -> bool:
            return bool(inbox.to(OPERATOR))

        await wait_for(mailed, 20)
        assert "restarted after a crash" in subject(inbox.to(OPERATOR)[0])
    finally:
        daemon.request_stop()
        assert await asyncio.wait_for(task, 30) == 0


def test_episodes_tell_once_and_resolve_once() -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    hold = timedelta(minutes=5)
    episodes = EpisodeTracker()
    assert episodes.observe("poll:a", True, t0, hold) is None  # not long enough yet
    opened = episodes.observe("poll:a", True, t0 + hold, hold)
    assert opened is not None and opened.change is Change.OPENED and opened.since == t0
    episodes.confirm(opened)
    assert episodes.observe("poll:a", True, t0 + 2 * hold, hold) is None  # told already
    resolved = episodes.observe("poll:a", False, t0 + 3 * hold, hold)
    assert resolved is not None and resolved.change is Change.RESOLVED
    assert episodes.observe("poll:a", False, t0 + 4 * hold, hold) is None
    # A condition that clears before it was told leaves nothing to resolve.
    assert episodes.observe("poll:b", True, t0, hold) is None
    assert episodes.observe("poll:b", False, t0 + hold, hold) is None


def test_mail_settings_refuse_clear_text_off_loopback_and_need_recipients() -> None:
    with pytest.raises(ValueError, match="clear text"):
        EmailSettings(**email_settings(25, host="smtp.example.org"))
    with pytest.raises(ValueError, match="operators"):
        EmailSettings(**email_settings(25, operators=[]))
    assert EmailSettings().enabled is False


async def test_a_killed_daemon_is_reported_after_its_restart(
    db_url: str, tmp_path: Path, smtp: tuple[Inbox, int]
) -> None:
    """A real process killed with SIGKILL leaves its marker; the next start mails the
    operators once; a clean SIGTERM stop leaves no marker (no mail at the next start)."""
    inbox, port = smtp
    db = Database.open(db_url, create=True)
    try:
        await upgrade(db)
    finally:
        await db.dispose()
    config = tmp_path / "hotelbot.toml"
    config.write_text(
        f'[database]\nurl = "{db_url}"\n[daemon]\nname = "crashy"\n[metrics]\nlisten = ""\n'
        f'[email]\nenabled = true\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\n'
        f'sender = "hotelbot@hotelbot.example"\noperators = ["{OPERATOR}"]\n'
        "check_interval_s = 0.2\nmin_interval_s = 0\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTELBOT_")}
    env.update(HOTELBOT_CONFIG=str(config), STATE_DIRECTORY=str(tmp_path), HOME=str(tmp_path))
    marker = marker_path(tmp_path, "crashy")

    async def start() -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "hotelbot",
            "run",
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )

    async def marker_written() -> bool:
        return marker.exists()

    first = await start()
    await wait_for(marker_written, 30)
    first.send_signal(signal.SIGKILL)
    await first.wait()
    assert marker.exists() and not inbox.to(OPERATOR)
    second = await start()
    try:

        async def mailed() -> bool:
            return bool(inbox.to(OPERATOR))

        await wait_for(mailed, 30)
    finally:
        second.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(second.wait(), 30) == 0
    assert [subject(m) for m in inbox.to(OPERATOR)] == [
        "[hotelbot] daemon crashy restarted after a crash (the previous run did not stop "
        "cleanly); see the journal for why"
    ]
    assert not marker.exists()


async def test_the_watch_reads_instance_states_waiting_alerts_and_new_dead_letters(
    db: Database,
) -> None:
    """What one check of the operator watch reads, on both databases: enabled hotels' instance
    states, due staff alerts still open (longest waiting first), dead letters strictly after
    the quiet bound."""
    from sqlalchemy import insert

    from hotelbot.domain.outbox import OutboxKind
    from hotelbot.storage.dead_letters import dead_letters_after
    from hotelbot.storage.hotels import enabled_instance_states, set_instance_state
    from hotelbot.storage.models import DeadLetter
    from hotelbot.storage.outbox import enqueue, mark_cancelled, waiting_alerts
    from tests.processor_helpers import make_hotel

    now = datetime.now(UTC).replace(microsecond=0)
    seaside = await make_hotel(db, staff_email=STAFF_EMAIL)
    closed = await make_hotel(db, slug="closed", instance_id="1101000002", enabled=False)
    async with db.write() as conn:
        await set_instance_state(conn, seaside, "notAuthorized")

        async def alert(key: str, minutes_ago: float, kind: OutboxKind = OutboxKind.ALERT) -> int:
            at = now - timedelta(minutes=minutes_ago)
            row = await enqueue(
                conn,
                hotel_id=seaside,
                idempotency_key=key,
                kind=kind,
                chat_id=STAFF_CHAT,
                text=f"text {key}",
                available_at=at,
            )
            assert row is not None
            return row

        newer, older = await alert("newer", 5), await alert("older", 10)
        await alert("later", -5)  # not due yet
        await alert("answer", 20, OutboxKind.ANSWER)  # not the alert lane
        await mark_cancelled(conn, await alert("done", 30), reason="test", now=now)
        for fingerprint, hotel_id, minutes_ago in [
            ("at-bound", seaside, 60),
            ("new-1", seaside, 1),
            ("new-2", seaside, 2),
            ("new-3", closed, 3),
            ("old", closed, 90),
        ]:
            await conn.execute(
                insert(DeadLetter).values(
                    hotel_id=hotel_id,
                    fingerprint=fingerprint,
                    raw="x",
                    error="bad",
                    received_at=now - timedelta(minutes=minutes_ago),
                )
            )
    async with db.read() as conn:
        hotels = await enabled_instance_states(conn)
        waiting = await waiting_alerts(conn, now=now, limit=10)
        first = await waiting_alerts(conn, now=now, limit=1)
        dead = await dead_letters_after(conn, after=now - timedelta(minutes=60))
    assert list(hotels) == [seaside]
    hotel = hotels[seaside]
    assert (hotel.slug, hotel.name, hotel.instance_state, hotel.staff_email) == (
        "seaside",
        "Seaside",
        "notAuthorized",
        STAFF_EMAIL,
    )
    assert hotel.instance_state_at is not None
    assert [(a.id, a.hotel_id, a.text) for a in waiting] == [
        (older, seaside, "text older"),
        (newer, seaside, "text newer"),
    ]
    assert [a.id for a in first] == [older]
    assert dead == {seaside: 2, closed: 1}

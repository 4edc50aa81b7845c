"""A trigger's file (sendFileByUrl): checked when added, queued with the text under its own
key, sent, reconciled after an ambiguous send, confirmed by its echo and its delivery status,
withdrawn with the text; and the fake Green API's sendFileByUrl shape and errors.

HTTP is real (the fake Green API on 127.0.0.1); databases are SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest

from hotelbot.cli import app
from hotelbot.daemon.processor import Processor
from hotelbot.daemon.scheduler import Scheduler
from hotelbot.daemon.sender import OutboxSender
from hotelbot.domain.attachments import AttachmentError, FileAttachment
from hotelbot.domain.outbox import DEFAULT_POLICIES, LanePolicy
from hotelbot.domain.templates import Template
from hotelbot.domain.triggers import parse_trigger
from hotelbot.errors import UserError
from hotelbot.fakes.greenapi import FakeGreenApi, FakeInstance
from hotelbot.greenapi.client import GreenApiClient, InstanceCredentials
from hotelbot.greenapi.errors import BadRequest
from hotelbot.greenapi.transport import HttpxTransport
from hotelbot.storage.db import Database
from hotelbot.storage.outbox import enqueue
from hotelbot.storage.triggers import add_trigger, edit_trigger
from hotelbot.storage.types import utcnow
from tests.cli_helpers import cli_with_riga
from tests.processor_helpers import FakeAnalyser, ingest
from tests.scheduling_helpers import make_hotel, make_stay, outbox_rows

INSTANCE = "1101000001"
TOKEN = "secret-token"
MENU = FileAttachment(
    "https://hotel.example/files/menu.pdf",
    "menu.pdf",
    {"en": "Our menu, {first_name}", "ru": "Наше меню, {first_name}"},
)


# --- the domain rules ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "name", "fragment"),
    [
        ("http://hotel.example/menu.pdf", "menu.pdf", "must start with https://"),
        ("ftp://hotel.example/menu.pdf", "menu.pdf", "must start with https://"),
        ("https:///menu.pdf", "menu.pdf", "has no host"),
        ("https://user:pw@hotel.example/menu.pdf", "menu.pdf", "user:password@"),
        ("https://hotel.example/my menu.pdf", "menu.pdf", "contains spaces"),
        ("https://hotel.example/menu", "menu", "needs an extension"),
        ("https://hotel.example/menu.pdf", "files/menu.pdf", "no folders"),
        ("https://hotel.example/menu.pdf", "menu.", "needs an extension"),
    ],
)
def test_a_file_that_cannot_be_sent_is_refused_with_the_fix(
    url: str, name: str, fragment: str
) -> None:
    with pytest.raises(AttachmentError, match=fragment):
        FileAttachment(url, name)


def test_captions_follow_the_template_rules() -> None:
    with pytest.raises(AttachmentError, match="unknown variable"):
        FileAttachment("https://h.example/m.pdf", "m.pdf", {"en": "Hi {frist_name}"})
    with pytest.raises(AttachmentError, match="the en caption is empty"):
        FileAttachment("https://h.example/m.pdf", "m.pdf", {"en": "  "})
    stored = FileAttachment.from_dict(MENU.to_dict())
    assert stored == MENU
    captions = MENU.caption_template("ru")
    assert captions is not None and captions.fallback_language == "ru"
    assert FileAttachment("https://h.example/m.pdf", "m.pdf").caption_template("en") is None


# --- a rig: fake Green API over HTTP, a hotel, a sender on a controlled clock -----------------


class Clock:
    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


@dataclass
class Rig:
    db: Database
    instance: FakeInstance
    client: GreenApiClient
    hotel_id: int
    clock: Clock

    def sender(self, **overrides: Any) -> OutboxSender:
        fields = {f.name for f in dataclasses.fields(LanePolicy)}
        assert set(overrides) <= fields
        policies = {lane: replace(p, **overrides) for lane, p in DEFAULT_POLICIES.items()}
        return OutboxSender(
            self.db,
            lambda hotel_id: self.client if hotel_id == self.hotel_id else None,
            clock=self.clock,
            policies=policies,
        )


@pytest.fixture
async def rig(db: Database) -> AsyncIterator[Rig]:
    async with FakeGreenApi() as fake:
        instance = fake.add_instance(INSTANCE, TOKEN)
        transport = HttpxTransport(connect_timeout_s=2.0)
        client = GreenApiClient(
            InstanceCredentials(fake.url, INSTANCE, TOKEN), transport, request_timeout_s=2.0
        )
        hotel_id = await make_hotel(db, api_url=fake.url, instance_id=INSTANCE)
        try:
            yield Rig(db, instance, client, hotel_id, Clock())
        finally:
            await transport.aclose()


async def _welcome_with_menu(rig: Rig, *, language: str = "ru") -> int:
    """A stay checking in on 2026-06-01 at 15:00 Riga time and a welcome with the menu."""
    await make_stay(
        rig.db,
        rig.hotel_id,
        check_in=date(2026, 6, 1),
        check_out=date(2026, 6, 3),
        check_in_time=time(15, 0),
        language=language,
    )
    texts = {"en": "Welcome, {first_name}!", "ru": "Добро пожаловать, {first_name}!"}
    async with rig.db.write() as conn:
        return await add_trigger(
            conn,
            hotel_id=rig.hotel_id,
            name="welcome",
            spec=parse_trigger("at check-in"),
            template=Template(texts),
            attachment=MENU,
            now=datetime(2026, 1, 1, tzinfo=UTC),
        )


AT_CHECK_IN = datetime(2026, 6, 1, 12, 0, 30, tzinfo=UTC)  # 15:00:30 in Riga


# --- through the outbox --------------------------------------------------------------------


async def test_a_welcome_with_a_file_sends_text_then_file_once(rig: Rig) -> None:
    trigger_id = await _welcome_with_menu(rig)
    scheduler = Scheduler(rig.db)
    assert dict((await scheduler.run_once(AT_CHECK_IN)).outcomes) == {"enqueued": 1}
    await scheduler.run_once(AT_CHECK_IN + timedelta(seconds=20))  # decided already
    rows = await outbox_rows(rig.db)
    assert [(r["text"], r["file_url"], r["file_name"]) for r in rows] == [
        ("Добро пожаловать, Anna!", None, None),
        ("Наше меню, Anna", MENU.url, "menu.pdf"),
    ]
    assert rows[1]["idempotency_key"] == rows[0]["idempotency_key"] + ":file"
    assert str(trigger_id) in rows[0]["idempotency_key"]
    report = await rig.sender(rate_per_s=100, burst=10).run_once(rig.hotel_id)
    assert report["sent"] == 2
    text, file = rig.instance.sent
    assert (text.message, text.file_name) == ("Добро пожаловать, Anna!", None)
    assert (file.url_file, file.file_name, file.message) == (
        MENU.url,
        "menu.pdf",
        "Наше меню, Anna",
    )
    assert file.type_message == "documentMessage"
    sent = await outbox_rows(rig.db)
    assert [r["id_message"] for r in sent] == [text.id_message, file.id_message]
    # The echoes and statuses of both come back through the queue: the processor confirms
    # each row by its idMessage and keeps the file's delivery status.
    rig.instance.update_status(file.id_message, "delivered")
    await ingest(rig.db, rig.hotel_id, rig.instance.pending_bodies)
    await Processor(rig.db, FakeAnalyser()).run_once()
    states = {r["file_name"]: (r["state"], r["delivery_status"]) for r in await outbox_rows(rig.db)}
    assert states == {None: ("sent", "sent"), "menu.pdf": ("sent", "delivered")}


async def test_an_ambiguous_file_send_is_reconciled_from_the_journal_not_resent(
    rig: Rig,
) -> None:
    # The fake accepts the file, then answers 504: did it go? The journal says yes.
    rig.instance.faults.send_timeout_next(1)
    async with rig.db.write() as conn:
        # A text with the same words as the caption must not be taken for the file.
        await enqueue(
            conn,
            hotel_id=rig.hotel_id,
            idempotency_key="file",
            kind="manual",
            chat_id="37120000001@c.us",
            text="The map",
            file_url="https://h.example/map.jpg",
            file_name="map.jpg",
            available_at=rig.clock.now,
        )
    sender = rig.sender(reconcile_after_s=15, resend_after_s=180, rate_per_s=100, burst=10)
    assert (await sender.run_once(rig.hotel_id))["unknown"] == 1
    async with rig.db.write() as conn:
        await enqueue(
            conn,
            hotel_id=rig.hotel_id,
            idempotency_key="text",
            kind="manual",
            chat_id="37120000001@c.us",
            text="The map",
            available_at=rig.clock.now,
        )
    rig.clock.advance(20)
    report = await sender.run_once(rig.hotel_id)
    assert (report["reconciled"], report["sent"]) == (1, 1)
    file_sent, text_sent = rig.instance.sent
    rows = {r["idempotency_key"]: r for r in await outbox_rows(rig.db)}
    assert (rows["file"]["state"], rows["file"]["id_message"]) == ("sent", file_sent.id_message)
    assert (rows["text"]["state"], rows["text"]["id_message"]) == ("sent", text_sent.id_message)
    assert text_sent.file_name is None and file_sent.type_message == "imageMessage"
    rig.clock.advance(600)
    await sender.run_once(rig.hotel_id)
    assert len(rig.instance.sent) == 2  # the file went out exactly once


async def test_a_file_with_no_trace_is_sent_again_after_the_guest_lane_window(rig: Rig) -> None:
    rig.instance.faults.fail_next(1, 504, methods=["sendFileByUrl"])  # really not applied
    async with rig.db.write() as conn:
        await enqueue(
            conn,
            hotel_id=rig.hotel_id,
            idempotency_key="file",
            kind="manual",
            chat_id="37120000001@c.us",
            text="",
            file_url="https://h.example/map.jpg",
            file_name="map.jpg",
            available_at=rig.clock.now,
        )
    sender = rig.sender(reconcile_after_s=15, resend_after_s=180)
    assert (await sender.run_once(rig.hotel_id))["unknown"] == 1
    rig.clock.advance(60)
    assert (await sender.run_once(rig.hotel_id))["sent"] == 0
    assert rig.instance.sent == []
    rig.clock.advance(130)
    report = await sender.run_once(rig.hotel_id)
    assert (report["requeued"], report["sent"]) == (1, 1)
    [sent] = rig.instance.sent
    assert (sent.file_name, sent.message) == ("map.jpg", "")


async def test_a_file_too_large_for_green_api_fails_at_once_with_a_clear_error(rig: Rig) -> None:
    rig.instance.file_sizes_mb["https://h.example/video.mp4"] = 180
    async with rig.db.write() as conn:
        await enqueue(
            conn,
            hotel_id=rig.hotel_id,
            idempotency_key="big",
            kind="manual",
            chat_id="37120000001@c.us",
            text="",
            file_url="https://h.example/video.mp4",
            file_name="video.mp4",
            available_at=rig.clock.now,
        )
    assert (await rig.sender().run_once(rig.hotel_id))["failed"] == 1
    [row] = await outbox_rows(rig.db)
    assert row["state"] == "failed"
    assert "larger than Green API accepts (100 MB)" in row["last_error"]


async def test_disabling_the_trigger_withdraws_its_text_and_its_file(rig: Rig) -> None:
    trigger_id = await _welcome_with_menu(rig)
    quiet = datetime(2026, 6, 1, 20, 5, tzinfo=UTC)  # 23:05 in Riga: held until 09:00
    async with rig.db.write() as conn:
        await edit_trigger(conn, trigger_id, spec=parse_trigger("at check-in grace 12h"))
    assert dict((await Scheduler(rig.db).run_once(quiet)).outcomes) == {"deferred:quiet_hours": 1}
    async with rig.db.write() as conn:
        await edit_trigger(conn, trigger_id, enabled=False)
    report = await rig.sender(rate_per_s=100, burst=10).run_once(rig.hotel_id)
    assert (report["cancelled"], report["sent"]) == (2, 0)
    assert [r["last_error"] for r in await outbox_rows(rig.db)] == ["trigger disabled"] * 2
    assert rig.instance.sent == []


# --- the fake's sendFileByUrl --------------------------------------------------------------


async def test_fake_send_file_by_url_shape_journal_and_errors(rig: Rig) -> None:
    client, chat = rig.client, "37120000001@c.us"
    id_message = await client.send_file_by_url(
        chat, "https://h.example/pool.png", "pool.png", caption="Pool 8-22"
    )
    [journal] = await client.last_outgoing_messages(minutes=5)
    assert journal.id_message == id_message and journal.type_message == "imageMessage"
    assert (journal.file_name, journal.text, journal.chat_id) == ("pool.png", "Pool 8-22", chat)
    assert (journal.download_url or "").startswith("https://")
    echo = next(
        b for b in rig.instance.pending_bodies if b["typeWebhook"] == "outgoingAPIMessageReceived"
    )
    assert echo["idMessage"] == id_message
    assert echo["messageData"]["typeMessage"] == "imageMessage"
    assert echo["messageData"]["fileMessageData"]["caption"] == "Pool 8-22"
    assert echo["messageData"]["fileMessageData"]["fileName"] == "pool.png"
    with pytest.raises(BadRequest, match="HTTP 400"):
        await client.send_file_by_url(chat, "https://h.example/pool", "pool")
    rig.instance.file_sizes_mb["https://h.example/film.mp4"] = 101
    with pytest.raises(BadRequest, match="larger than Green API accepts"):
        await client.send_file_by_url(chat, "https://h.example/film.mp4", "film.mp4")
    assert len(rig.instance.sent) == 1


# --- the CLI: one clear line for a bad file --------------------------------------------------


def test_cli_trigger_add_checks_the_file_and_show_lists_it(
    clean_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = cli_with_riga(tmp_path, monkeypatch)
    base = ["trigger", "add", "riga", "welcome", "--when", "at check-in", "--text", "Hi", "--yes"]
    cases = [
        (
            ["--file-url", "http://h.example/menu.pdf", "--file-name", "menu.pdf"],
            "file: the file URL must start with https:// (got http scheme)",
        ),
        (
            ["--file-url", "https://h.example/menu", "--file-name", "menu"],
            "file: the file name 'menu' needs an extension",
        ),
        (["--file-url", "https://h.example/menu.pdf"], "give --file-url and --file-name together"),
        (["--caption", "Menu"], "--caption needs a file"),
    ]
    for extra, message in cases:
        result = runner.invoke(app, [*base, *extra])
        assert isinstance(result.exception, UserError), result.output
        assert str(result.exception).startswith(message), str(result.exception)
        assert "\n" not in str(result.exception)
    good = runner.invoke(
        app,
        [
            *base,
            "--file-url",
            "https://h.example/menu.pdf",
            "--file-name",
            "menu.pdf",
            "--caption",
            "en=Menu",
            "--caption",
            "ru=Меню",
        ],
    )
    assert good.exit_code == 0, good.output
    assert "file menu.pdf" in runner.invoke(app, ["trigger", "list"]).output
    shown = runner.invoke(app, ["trigger", "show", "riga", "welcome"]).output
    assert "file      menu.pdf <https://h.example/menu.pdf>" in shown
    assert "caption[ru]  Меню" in shown
    edited = runner.invoke(app, ["trigger", "edit", "riga", "welcome", "--no-file"])
    assert edited.exit_code == 0, edited.output
    assert "file " not in runner.invoke(app, ["trigger", "show", "riga", "welcome"]).output

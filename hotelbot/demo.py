"""`hotelbot demo`: the real daemon against the built-in fake Green API, narrated.

Everything is real except WhatsApp: a fresh SQLite file, the migrations, the hotels, the
daemon with its pollers, ingest, sentiment and outbox, and a fake Green API server on
127.0.0.1 into which scripted guests "write" in English and Russian. The narration reads the
database and the fake's records, so what it prints is what was actually stored and sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hotelbot.fakes import shapes
from hotelbot.fakes.greenapi import FakeGreenApi
from hotelbot.hotel_spec import validate_hotels
from hotelbot.settings import Settings
from hotelbot.storage.alerts import alert_outcomes
from hotelbot.storage.db import Database
from hotelbot.storage.guest_language import guests_writing_another_language
from hotelbot.storage.hotels import upsert_hotel
from hotelbot.storage.introspect import read_schema
from hotelbot.storage.notification_state import notifications_after
from hotelbot.storage.outbox import pending_until_after
from hotelbot.storage.recent_messages import analysed_guest_messages
from hotelbot.storage.schema import upgrade


@dataclass(frozen=True)
class DemoHotel:
    slug: str
    name: str
    instance_id: str
    timezone: str
    language: str
    staff_chat_id: str


HOTELS = [
    DemoHotel("grand-riga", "Grand Hotel Riga", "1101000001", "Europe/Riga", "en", "37120000000@c.us"),
    DemoHotel("nevsky-spb", "Nevsky Boutique Hotel", "7103000002", "Europe/Moscow", "ru", "79010000000@c.us"),
    DemoHotel("harbour-tallinn", "Harbour Inn Tallinn", "3301000003", "Europe/Tallinn", "en", "37250000000@c.us"),
]  # fmt: skip

# (seconds from start, hotel slug, guest phone, guest name, text)
SCRIPT: list[tuple[float, str, str, str, str]] = [
    (1.0, "grand-riga", "37121111111", "Anna", "Hi! We just arrived, the room is lovely, thank you 😊"),
    (3.0, "nevsky-spb", "79212222222", "Ольга", "Добрый день! Можно поздний выезд завтра?"),
    (5.0, "grand-riga", "37123333333", "Mark", "The AC in room 214 is not working and it's really hot"),
    (7.0, "harbour-tallinn", "37254444444", "Liis", "Could you bring two extra pillows to room 12?"),
    (9.0, "nevsky-spb", "79215555555", "Игорь", "До сих пор жду полотенца, уже два часа. Никто не отвечает"),
    (11.0, "grand-riga", "37123333333", "Mark", "Still no one came. Seriously?"),
    (13.0, "harbour-tallinn", "37256666666", "Tom", "Breakfast was great, best coffee in town!"),
    # Klaus booked in English but writes German: after his second German message the
    # answers switch to German (domain/guest_language.py).
    (13.5, "grand-riga", "37122222222", "Klaus", "Guten Tag, wir sind gut angekommen. Vielen Dank!"),
    (14.0, "grand-riga", "37128888888", "Sofia", "What's the wifi password?"),
    # Answered from Grand Hotel Riga's facts file (domain/facts.py), no trigger needed.
    (14.2, "grand-riga", "37128888888", "Sofia", "And what time is breakfast?"),
    (15.0, "nevsky-spb", "79217777777", "Анна", "Спасибо, всё отлично, номер чистый и тихий"),
    (17.0, "grand-riga", "37128888888", "Sofia", "I was charged twice for the minibar 😡"),
    (18.0, "grand-riga", "37122222222", "Klaus", "Wie ist das WLAN Passwort, bitte?"),
    (19.0, "harbour-tallinn", "37259999999", "Ben", "Great, another night without sleep thanks to the party upstairs"),
    (21.0, "grand-riga", "37121111111", "Anna", "STOP"),
    (23.0, "nevsky-spb", "79212222222", "Ольга", "Спасибо большое!"),
]  # fmt: skip

# Guests who send no words (domain/signals.py): (seconds from start, hotel, phone, name, kind).
# Anna's missed call and Tom's voice note alert staff; Sofia's photo is only counted (digest)
# and shows in the next alert about her.
SIGNALS: list[tuple[float, str, str, str, str]] = [
    (12.0, "grand-riga", "37121111111", "Anna", "call"),
    (16.0, "harbour-tallinn", "37256666666", "Tom", "voice_note"),
    (16.5, "grand-riga", "37128888888", "Sofia", "photo"),
]
_SIGNAL_SHOWN = {"audioMessage": "[voice note]", "imageMessage": "[photo]"}

# Acknowledgement and escalation (docs/operations.md#acknowledgement-and-escalation): Grand
# Hotel Riga has a duty manager and escalates after 15 s (10 min in real life). Reception
# replies to the alert about Anna's missed call (acknowledged: no escalation); nobody answers
# the alert about Mark's broken AC, so it goes to the duty manager with a reminder to staff.
DUTY_MANAGER = {"grand-riga": "37120000099@c.us"}
ESCALATE_AFTER_MIN = 0.25
# (seconds from start, hotel, words in the alert to reply to, the reply)
STAFF_REPLIES: list[tuple[float, str, str, str]] = [
    (14.0, "grand-riga", "Anna (+37121111111), room 101, called", "On it, calling her back"),
]


def _signal_bodies(instance_id: str, phone: str, name: str, kind: str) -> list[dict[str, Any]]:
    chat_id = f"{phone}@c.us"
    if kind == "call":
        return shapes.missed_call(instance_id, chat_id, "hungUp", timestamp=int(time.time()))
    if kind == "voice_note":
        return [shapes.incoming_audio(instance_id, chat_id, sender_name=name)]
    return [shapes.incoming_image(instance_id, chat_id, sender_name=name)]


def _staff_reply(fake: FakeGreenApi, hotel: DemoHotel, about: str, text: str) -> bool:
    """Reception replies in the staff chat quoting the alert that mentions `about`, as
    WhatsApp delivers it (incomingMessageReceived with quotedMessage). False while that
    alert has not been sent yet."""
    inst = fake.instance(hotel.instance_id)
    alert = next(
        (m for m in inst.sent if m.chat_id == hotel.staff_chat_id and about in m.message), None
    )
    if alert is None:
        return False
    inst.push(
        shapes.incoming_reply(
            hotel.instance_id,
            hotel.staff_chat_id,
            text,
            quoted_id=alert.id_message,
            sender_name="Reception",
        )
    )
    return True


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _clock() -> str:
    return time.strftime("%H:%M:%S")


class Narrator:
    """Prints what the database and the fake record, once each."""

    def __init__(self, db: Database, fake: FakeGreenApi, slugs: dict[int, str]) -> None:
        self._db = db
        self._fake = fake
        self._slugs = slugs
        self._seen_notifications = 0
        self.guest_messages = 0
        self._seen_sent: dict[str, int] = {}
        self._seen_analysis: set[int] = set()
        self._has_messages: bool | None = None
        self._seen_held: set[int] = set()
        self._seen_languages: set[tuple[str, str]] = set()
        self._seen_alerts: set[tuple[int, str]] = set()
        self.escalated = 0

    async def _tables(self) -> set[str]:
        async with self._db.read() as conn:
            return set(await read_schema(conn))

    async def step(self) -> None:
        if self._has_messages is None:
            self._has_messages = "messages" in await self._tables()
        async with self._db.read() as conn:
            rows = await notifications_after(conn, after_id=self._seen_notifications)
        staff_chats = {h.staff_chat_id for h in HOTELS}
        for note in rows:
            self._seen_notifications = note.id
            hotel_id, kind, body = note.hotel_id, note.type_webhook, json.loads(note.body)
            chat_id = (body.get("senderData") or {}).get("chatId")
            if kind == "incomingMessageReceived" and chat_id in staff_chats:
                data = body.get("messageData") or {}
                reply = (data.get("extendedTextMessageData") or {}).get("text", "")
                _say(
                    f"{_clock()}  {self._slugs[hotel_id]:<16} <- STAFF replies to the alert: "
                    f"{reply!r}  [stored, staff]"
                )
                continue
            if kind == "incomingCall" and body.get("status") != "offer":
                caller = str(body.get("from", "?")).removesuffix("@c.us")
                _say(
                    f"{_clock()}  {self._slugs[hotel_id]:<16} <- +{caller}: [WhatsApp call, "
                    f"{body.get('status')}]  [stored]"
                )
                continue
            if kind != "incomingMessageReceived":
                continue
            sender = (body.get("senderData") or {}).get("senderName", "?")
            data = body.get("messageData") or {}
            text = (data.get("textMessageData") or {}).get("textMessage", "")
            text = text or _SIGNAL_SHOWN.get(str(data.get("typeMessage")), "")
            self.guest_messages += 1
            _say(f"{_clock()}  {self._slugs[hotel_id]:<16} <- {sender}: {text!r}  [stored]")
        if self._has_messages:
            await self._narrate_analysis()
            await self._narrate_languages()
        await self._narrate_held()
        if self._has_messages:
            await self._narrate_alerts()
        for instance_id, inst in self._fake.instances.items():
            seen = self._seen_sent.get(instance_id, 0)
            for sent in inst.sent[seen:]:
                slug = next((h.slug for h in HOTELS if h.instance_id == instance_id), instance_id)
                who = "STAFF" if any(h.staff_chat_id == sent.chat_id for h in HOTELS) else "guest"
                who = "DUTY MANAGER" if sent.chat_id in DUTY_MANAGER.values() else who
                first_line = sent.message.splitlines()[0] if sent.message else ""
                if sent.file_name is not None:  # sendFileByUrl: the caption is the message
                    first_line = f"[file {sent.file_name}] {first_line}"
                _say(f"{_clock()}  {slug:<16} -> {who} {sent.chat_id}: {first_line!r}  [sent]")
            self._seen_sent[instance_id] = len(inst.sent)

    async def _narrate_alerts(self) -> None:
        """Alerts acknowledged (and how) or escalated: shown once each."""
        async with self._db.read() as conn:
            rows = await alert_outcomes(conn)
        for alert in rows:
            slug = self._slugs[alert.hotel_id]
            if alert.acknowledged_via and (alert.id, "ack") not in self._seen_alerts:
                self._seen_alerts.add((alert.id, "ack"))
                _say(
                    f"{_clock()}  {slug:<16}    alert #{alert.reference} acknowledged "
                    f"({alert.acknowledged_via}): it will not be escalated"
                )
            if alert.escalated_at and (alert.id, "esc") not in self._seen_alerts:
                self._seen_alerts.add((alert.id, "esc"))
                self.escalated += 1
                _say(
                    f"{_clock()}  {slug:<16}    alert #{alert.reference} not acknowledged in time: "
                    "escalated once to the duty manager, reminder to staff"
                )

    async def _narrate_held(self) -> None:
        """Automated messages the policy held back (quiet hours, caps): shown once each."""
        from datetime import UTC, datetime, timedelta
        from zoneinfo import ZoneInfo

        later = datetime.now(UTC) + timedelta(seconds=30)
        async with self._db.read() as conn:
            rows = await pending_until_after(conn, after=later)
        zones = {h.slug: h.timezone for h in HOTELS}
        for held in rows:
            if held.id in self._seen_held:
                continue
            self._seen_held.add(held.id)
            slug = self._slugs[held.hotel_id]
            local = held.available_at.astimezone(ZoneInfo(zones[slug])).strftime("%H:%M local")
            _say(
                f"{_clock()}  {slug:<16}    {held.kind} for {held.chat_id} held until {local} "
                "(quiet hours: never sent at night, never dropped)"
            )

    async def _narrate_languages(self) -> None:
        """Guests who write, consistently, in another language than their booking's."""
        from hotelbot.domain.languages import NAMES

        async with self._db.read() as conn:
            rows = await guests_writing_another_language(conn)
        for guest in rows:
            language, booked = guest.language, guest.booked
            if (guest.chat_id, language) in self._seen_languages:
                continue
            self._seen_languages.add((guest.chat_id, language))
            _say(
                f"{_clock()}  {self._slugs[guest.hotel_id]:<16}    {guest.guest_name} writes "
                f"{NAMES.get(language, language)} (booked in {NAMES.get(booked, booked)}): "
                "messages to this guest are now written in it"
            )

    async def _narrate_analysis(self) -> None:
        async with self._db.read() as conn:
            rows = await analysed_guest_messages(conn)
        for msg in rows:
            if msg.id in self._seen_analysis:
                continue
            self._seen_analysis.add(msg.id)
            flag = "NEEDS ATTENTION" if msg.requires_attention else "ok"
            _say(
                f"{_clock()}  {self._slugs[msg.hotel_id]:<16}    sentiment: {msg.sentiment}, "
                f"{flag} ({msg.analyser}: {msg.reason})"
            )


# Quiet hours: off for two hotels so their scheduled messages go out during the demo; the
# third keeps the default 22:00-09:00 window, so at night you see a message held, not sent.
QUIET_HOURS = {"grand-riga": "off", "harbour-tallinn": "off", "nevsky-spb": "22:00-09:00"}

WELCOME = {
    "en": "Welcome to {hotel_name}, {first_name}! Your room {room} is ready. Write to us here "
    "any time. (Reply STOP to stop automated messages.)",
    "ru": "Добро пожаловать в {hotel_name}, {first_name}! Ваш номер {room} готов. Пишите нам "
    "сюда в любое время. (Ответьте СТОП, чтобы отключить автоматические сообщения.)",
}
WIFI = {
    "en": "Wi-Fi: network {hotel_name} Guest, the password is printed on your key card.",
    "ru": "Wi-Fi: сеть {hotel_name} Guest, пароль напечатан на карте-ключе.",
    "de": "WLAN: Netz {hotel_name} Guest, das Passwort steht auf Ihrer Schlüsselkarte.",
}
# The welcome of Harbour Inn Tallinn carries its breakfast menu, sent by URL after the text
# (sendFileByUrl; the fake Green API accepts it without fetching anything).
MENU = {
    "url": "https://hotelbot.example/demo/breakfast-menu.pdf",
    "file_name": "breakfast-menu.pdf",
    "captions": {"en": "Our breakfast menu, {first_name}", "ru": "Меню завтрака"},
}
CHECKOUT = {
    "en": "Good morning {first_name}! Check-out is at {check_out_time} today. Safe travels!",
    "ru": "Доброе утро, {first_name}! Выезд сегодня до {check_out_time}. Хорошей дороги!",
}


async def _seed_stays_and_triggers(db: Database, slugs: dict[int, str]) -> None:
    """A stay for every scripted guest (checked in an hour ago, leaving in two days) and three
    triggers per hotel: a welcome when the stay is created, a keyword answer, and a checkout
    reminder (which fires on checkout day, after the demo)."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from hotelbot.domain.attachments import FileAttachment
    from hotelbot.domain.fire_times import StayStatus
    from hotelbot.domain.stay_input import StayInput
    from hotelbot.domain.templates import Template
    from hotelbot.domain.triggers import parse_trigger
    from hotelbot.storage.stays import upsert_stay
    from hotelbot.storage.triggers import add_trigger

    ids = {slug: hotel_id for hotel_id, slug in slugs.items()}
    by_slug = {h.slug: h for h in HOTELS}
    guests = {(slug, phone, name) for _, slug, phone, name, _ in [*SCRIPT, *SIGNALS]}
    async with db.write() as conn:
        for room, (slug, phone, name) in enumerate(sorted(guests), start=101):
            hotel = by_slug[slug]
            local_now = datetime.now(ZoneInfo(hotel.timezone))
            arrived = (local_now - timedelta(hours=1)).replace(second=0, microsecond=0)
            await upsert_stay(
                conn,
                ids[slug],
                StayInput(
                    chat_id=f"{phone}@c.us",
                    guest_name=name,
                    room=str(room),
                    check_in=arrived.date(),
                    check_in_time=arrived.time(),
                    check_out=arrived.date() + timedelta(days=2),
                    language=hotel.language,
                    status=StayStatus.IN_HOUSE,
                ),
            )
        menu = FileAttachment.from_dict(MENU)
        for slug, hotel_id in ids.items():
            for name, spec, texts in (
                ("welcome", "on stay created grace 1h", WELCOME),
                ("wifi", "on keyword wifi, wi-fi, wlan, вайфай, пароль", WIFI),
                ("checkout-reminder", "on check-out day at 08:00", CHECKOUT),
            ):
                await add_trigger(
                    conn,
                    hotel_id=hotel_id,
                    name=name,
                    spec=parse_trigger(spec),
                    template=Template(texts, fallback_language="en"),
                    attachment=menu if (slug, name) == ("harbour-tallinn", "welcome") else None,
                )


# Grand Hotel Riga's facts (docs/facts.md): information questions are answered from them.
FACTS = """
mode = "rules"
[breakfast]
en = "Breakfast is served 7:00-10:30 in the Garden Room, ground floor."
ru = "Завтрак с 7:00 до 10:30 в Зимнем саду, первый этаж."
[check_out]
en = "Check-out is until 11:00; leave the key at the desk."
"""


async def _seed(db: Database, fake_url: str, speed: float = 1.0) -> dict[int, str]:
    entries: list[dict[str, Any]] = [
        {
            "slug": h.slug,
            "name": h.name,
            "instance_id": h.instance_id,
            "api_token": f"demo-token-{h.slug}",
            "api_url": fake_url,
            "timezone": h.timezone,
            "default_language": h.language,
            "staff_chat_id": h.staff_chat_id,
            "alert_cooldown_min": 1,
            "quiet_hours": QUIET_HOURS[h.slug],
            **(
                {
                    "escalation_chat_id": DUTY_MANAGER[h.slug],
                    "escalate_after_min": ESCALATE_AFTER_MIN / speed,
                }
                if h.slug in DUTY_MANAGER
                else {}
            ),
        }
        for h in HOTELS
    ]
    async with db.write() as conn:
        for spec in validate_hotels(entries, "demo"):
            await upsert_hotel(conn, spec)
    from hotelbot.storage.hotels import list_hotels

    async with db.read() as conn:
        slugs = {h.id: h.slug for h in await list_hotels(conn)}
    await _seed_stays_and_triggers(db, slugs)
    from hotelbot.domain.facts import parse_facts
    from hotelbot.storage.facts import import_facts

    riga = next(hotel_id for hotel_id, slug in slugs.items() if slug == "grand-riga")
    async with db.write() as conn:
        await import_facts(conn, riga, parse_facts(FACTS))
    return slugs


def _fresh_state_dir(state_dir: str) -> Path:
    """Every demo starts from an empty database: remove the previous run's directory."""
    directory = Path(state_dir).resolve()
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(mode=0o700, parents=True)
    return directory


async def run_demo(state_dir: str, *, forever: bool = False, speed: float = 1.0) -> int:
    from hotelbot.daemon.app import Daemon
    from hotelbot.logs import configure_logging

    directory = _fresh_state_dir(state_dir)
    db_url = f"sqlite+aiosqlite:///{directory / 'hotelbot.sqlite3'}"
    configure_logging("WARNING", "text")

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    async with FakeGreenApi() as fake:
        for hotel in HOTELS:
            fake.add_instance(hotel.instance_id, f"demo-token-{hotel.slug}")
        db = Database.open(db_url)
        await upgrade(db)
        slugs = await _seed(db, fake.url, speed)
        settings = Settings.model_validate(
            {
                "database": {"url": db_url},
                "greenapi": {"receive_timeout_s": 5},
                "daemon": {"hotels_refresh_s": 5, "status_interval_s": 2, "scheduler_tick_s": 2},
                "metrics": {"listen": ""},
            }
        )
        daemon = Daemon(settings, environ={}, install_signal_handlers=False)
        daemon_task = asyncio.create_task(daemon.run())
        await daemon.ready.wait()
        _say(
            f"hotelbot demo: fake Green API at {fake.url}, database {directory / 'hotelbot.sqlite3'}"
        )
        _say(
            f"hotels: {', '.join(h.slug for h in HOTELS)}; guests start writing now "
            f"({'Ctrl+C to stop' if forever else 'about half a minute, Ctrl+C to stop early'})\n"
        )
        narrator = Narrator(db, fake, slugs)
        by_slug = {h.slug: h for h in HOTELS}
        started = time.monotonic()
        script = list(SCRIPT)
        signals = list(SIGNALS)
        replies = list(STAFF_REPLIES)
        end_at = started + (SCRIPT[-1][0] + 8.0) / speed
        while not stop.is_set():
            now = time.monotonic()
            while script and now - started >= script[0][0] / speed:
                _, slug, phone, name, text = script.pop(0)
                hotel = by_slug[slug]
                fake.instance(hotel.instance_id).push(
                    shapes.incoming_text(hotel.instance_id, f"{phone}@c.us", text, sender_name=name)
                )
            while signals and now - started >= signals[0][0] / speed:
                _, slug, phone, name, kind = signals.pop(0)
                hotel = by_slug[slug]
                fake.instance(hotel.instance_id).push_many(
                    _signal_bodies(hotel.instance_id, phone, name, kind)
                )
            if replies and now - started >= replies[0][0] / speed:
                _, slug, about, reply = replies[0]
                if _staff_reply(fake, by_slug[slug], about, reply):
                    replies.pop(0)
            await narrator.step()
            # The script is over; the escalation (checked every 5 s) may still be on its way.
            if not forever and now >= end_at and (narrator.escalated or now >= end_at + 8.0):
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.3)
        daemon.request_stop()
        code = await daemon_task
        await narrator.step()
        total_sent = sum(len(i.sent) for i in fake.instances.values())
        _say(
            f"\ndemo finished: {narrator.guest_messages} guest messages stored, "
            f"{total_sent} WhatsApp messages sent; explore it with:"
        )
        _say(f"  HOTELBOT_DATABASE_URL={db_url} hotelbot messages list")
        await db.dispose()
    return code

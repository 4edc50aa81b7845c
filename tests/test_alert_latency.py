"""Staff alerts in seconds while the hotels send their welcome burst (issue 11, "Done when").

A real `hotelbot run` subprocess, the fake Green API over real HTTP, SQLite and PostgreSQL:
5 hotels x 20 stays, an `on stay created` welcome on every stay (100 welcomes, paced by each
hotel's automated lane at about 1 per second, so the burst lasts ~17 s), and complaints from
guests with stays pushed while the welcomes are still going out.

Latency is measured from the fake's own timestamps: when the guest's notification became
available (`became_head`) to when the fake accepted the staff chat's sendMessage that names
the guest (`SentMessage.sent_at`). The bounds are the issue's: p99 <= 2 s without faults;
with 5% 5xx, 3% 429 and 3% dropped connections on sendMessage and a SIGKILL + restart of the
daemon, every alert within 30 s and no guest message sent twice. Measured figures are
printed (run with -s); the machine is shared, so the bounds are the issue's, not tighter.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from hotelbot.fakes.greenapi import FakeGreenApi
from hotelbot.storage.db import Database
from hotelbot.storage.schema import upgrade
from tests import shapes
from tests.helpers import daemon_env
from tests.scheduling_helpers import make_hotel, make_stay, make_trigger

pytestmark = [pytest.mark.slow, pytest.mark.timeout(150)]

HOTELS = 5
STAYS = 20
COMPLAINTS_PER_HOTEL = 4
STAFF_CHAT = "120363000000000777@g.us"
NO_FAULTS_P99_S = 2.0  # the bound
FAULTS_MAX_S = 30.0  # the bound with faults and a SIGKILL
COMPLAINTS = (
    "The shower in my room is broken and there is no hot water",
    "Our room is dirty, the sheets have stains",
    "The air conditioning does not work, it is very hot",
    "Кондиционер не работает, в номере очень жарко",
)


def _instance(h: int) -> str:
    return f"11010000{h:02d}"


def _phone_digits(h: int, s: int) -> str:
    return f"3712{h:03d}{s:04d}"


@dataclass
class Run:
    fake: FakeGreenApi
    env: dict[str, str]
    pushed: list[tuple[str, int, str]] = field(default_factory=list)  # instance, receipt, digits
    proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "hotelbot",
            "run",
            env=self.env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )

    async def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        assert await asyncio.wait_for(self.proc.wait(), 30) == -signal.SIGKILL

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), 30)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()

    def complain(self, h: int, s: int) -> None:
        instance = _instance(h)
        digits = _phone_digits(h, s)
        text = COMPLAINTS[(h + s) % len(COMPLAINTS)]
        body = shapes.incoming_text(instance, f"{digits}@c.us", text, sender_name=f"Guest {s}")
        receipt = self.fake.instance(instance).push(body)
        self.pushed.append((instance, receipt, digits))

    def staff_sends(self) -> list[tuple[str, float]]:
        return [
            (sent.message, sent.sent_at.mono)
            for inst in self.fake.instances.values()
            for sent in inst.sent
            if sent.chat_id == STAFF_CHAT
        ]

    def guest_sends(self) -> list[tuple[str, str]]:
        return [
            (sent.chat_id, sent.message)
            for inst in self.fake.instances.values()
            for sent in inst.sent
            if sent.chat_id != STAFF_CHAT
        ]

    def latencies_s(self) -> dict[str, float | None]:
        """Per complaining guest: available -> the first staff message naming the guest."""
        staff = self.staff_sends()
        out: dict[str, float | None] = {}
        for instance, receipt, digits in self.pushed:
            note = self.fake.instance(instance).notifications[receipt]
            at = min((mono for text, mono in staff if digits in text), default=None)
            if at is None or note.became_head is None:  # not yet available, or not alerted
                out[digits] = None
            else:
                out[digits] = at - note.became_head.mono
        return out


async def _until(what: str, check: Callable[[], Awaitable[bool] | bool], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        result = check()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


def _env(db_url: str, tmp_path: Path) -> dict[str, str]:
    return daemon_env(db_url, tmp_path, HOTELBOT_DAEMON__SCHEDULER_TICK_S="1")


@asynccontextmanager
async def _hotels_with_a_welcome_burst(db_url: str, tmp_path: Path) -> AsyncIterator[Run]:
    """5 hotels with a staff chat and an `on stay created` welcome, the daemon started, then
    20 stays per hotel created (the welcomes become due at once)."""
    async with FakeGreenApi() as fake:
        db = Database.open(db_url)
        try:
            await upgrade(db)
            now = datetime.now(UTC)
            hotel_ids = []
            for h in range(HOTELS):
                fake.add_instance(_instance(h), f"tok{h}")
                hotel_id = await make_hotel(
                    db,
                    f"h{h}",
                    api_url=fake.url,
                    instance_id=_instance(h),
                    api_token=f"tok{h}",
                    staff_chat_id=STAFF_CHAT,
                    quiet_hours="off",
                    max_automated_per_day=10,
                    alert_cooldown_min=30,
                )
                await make_trigger(
                    db, hotel_id, "welcome", "on stay created grace 1h", created_at=now
                )
                hotel_ids.append(hotel_id)
            run = Run(fake, _env(db_url, tmp_path))
            await run.start()
            today = now.astimezone(ZoneInfo("Europe/Riga")).date()
            for h, hotel_id in enumerate(hotel_ids):
                for s in range(STAYS):
                    await make_stay(
                        db,
                        hotel_id,
                        phone=f"+{_phone_digits(h, s)}",
                        name=f"Guest {s}",
                        check_in=today,
                        check_out=today + timedelta(days=2),
                        created_at=datetime.now(UTC),
                    )
        finally:
            await db.dispose()
        try:
            # The burst has begun when the first welcomes leave.
            await _until("the first welcomes", lambda: len(run.guest_sends()) >= HOTELS, 45)
            yield run
        finally:
            await run.stop()


async def _complain_during_the_burst(run: Run, *, kill_after: int | None = None) -> None:
    """Push the complaints a few hundred ms apart, round-robin over the hotels; with
    `kill_after`, SIGKILL the daemon after that many and start it again."""
    n = 0
    for s in range(COMPLAINTS_PER_HOTEL):
        for h in range(HOTELS):
            run.complain(h, s)
            n += 1
            if n == kill_after:
                await run.kill()
                await run.start()
            await asyncio.sleep(0.2)


def _report(label: str, latencies: dict[str, float | None], welcomes: int) -> list[float]:
    values = sorted(v for v in latencies.values() if v is not None)
    p50 = values[len(values) // 2] if values else float("nan")
    worst = values[-1] if values else float("nan")
    print(
        f"\n{label}: {len(values)}/{len(latencies)} alerts, p50 {p50:.3f} s, "
        f"p99 (= max of {len(values)}) {worst:.3f} s; welcomes sent during the run: {welcomes}"
    )
    return values


async def test_every_alert_reaches_staff_within_2_s_during_a_welcome_burst(
    db_url: str, tmp_path: Path
) -> None:
    async with _hotels_with_a_welcome_burst(db_url, tmp_path) as run:
        burst_started = len(run.guest_sends())
        await _complain_during_the_burst(run)
        total = HOTELS * COMPLAINTS_PER_HOTEL

        def all_alerted() -> bool:
            return all(v is not None for v in run.latencies_s().values())

        await _until("every alert", all_alerted, 30)
        latencies = run.latencies_s()
        welcomes = len(run.guest_sends())
    values = _report("no faults", latencies, welcomes)
    assert len(values) == total
    # the complaints did arrive during the burst: welcomes were still leaving after them
    assert burst_started < HOTELS * STAYS and welcomes > burst_started
    assert values[-1] <= NO_FAULTS_P99_S, values  # p99 of 20 samples is their maximum


async def test_every_alert_within_30_s_with_faults_and_a_sigkill_no_guest_message_twice(
    db_url: str, tmp_path: Path
) -> None:
    async with _hotels_with_a_welcome_burst(db_url, tmp_path) as run:
        run.fake.faults.apply(
            {
                "error_rate_500": 0.05,
                "error_rate_429": 0.03,
                "drop_rate": 0.03,
                "rate_methods": ["sendMessage"],
            }
        )
        total = HOTELS * COMPLAINTS_PER_HOTEL
        await _complain_during_the_burst(run, kill_after=total // 2)

        def all_alerted() -> bool:
            return all(v is not None for v in run.latencies_s().values())

        await _until("every alert", all_alerted, FAULTS_MAX_S + 15)
        latencies = run.latencies_s()
        guest_sends = run.guest_sends()
        staff = run.staff_sends()
        requests = sum(i.request_counts.get("sendMessage", 0) for i in run.fake.instances.values())
    values = _report(
        "5% 5xx, 3% 429, 3% drops on sendMessage, one SIGKILL", latencies, len(guest_sends)
    )
    print(f"sendMessage requests: {requests}; staff messages: {len(staff)} for {total} alerts")
    assert len(values) == total
    assert values[-1] <= FAULTS_MAX_S, values
    twice = [item for item, n in Counter(guest_sends).items() if n > 1]
    assert twice == []  # no guest message sent twice
    welcomed = Counter(chat for chat, _ in guest_sends)
    assert set(welcomed.values()) == {1}  # one welcome per stay, never two

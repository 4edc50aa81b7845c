"""The operators' backup channel: watches for trouble that WhatsApp itself cannot report
and tells people by e-mail ([email] settings; docs/operations.md).

Every `check_interval_s` it looks at the hotels this daemon polls: an instance that left
`authorized`, a hotel not polled for a while, staff alerts that cannot be delivered (those
also go, one mail each, to the hotel's `staff_email`), new dead letters, the LLM breaker
open; and, once at start-up, a restart after a crash. Each condition is told once when its
episode opens and once when it is over (domain/episodes.py). Operator mails are rate-limited:
news that arrives within `min_interval_s` of the last mail waits and goes in the next one.
Episodes live in memory: after a restart an ongoing one is told again (once).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from loguru import logger

from hotelbot.daemon.health import HotelHealth
from hotelbot.domain.breaker import BreakerState
from hotelbot.domain.episodes import Change, EpisodeTracker, Transition
from hotelbot.domain.events import SENDABLE_STATES
from hotelbot.mail.smtp import Mailer, MailError
from hotelbot.settings import EmailSettings
from hotelbot.storage.db import Database
from hotelbot.storage.dead_letters import dead_letters_after
from hotelbot.storage.hotels import HotelInstanceState, enabled_instance_states
from hotelbot.storage.outbox import WaitingAlert, waiting_alerts

_MAX_STAFF_MAILS_PER_CHECK = 50
_MAX_WAITING_ALERTS = 1000  # read per check, longest waiting first


@dataclass(frozen=True, slots=True)
class WatchSources:
    """What the watch reads: the database, this daemon's pollers' health, the hotels it
    polls, the LLM breaker (None: no LLM), and whether the last run ended in a crash."""

    db: Database
    health: Callable[[], Collection[HotelHealth]]
    polled: Callable[[], Collection[int]]
    breaker_state: Callable[[], BreakerState | None]
    daemon_name: str
    crashed_before: bool = False


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class OperatorWatch:
    """`run()` checks until cancelled; `check(now)` is one round (may run at any time)."""

    def __init__(self, settings: EmailSettings, mailer: Mailer, sources: WatchSources) -> None:
        self._s = settings
        self._mailer = mailer
        self._src = sources
        self._episodes = EpisodeTracker()
        self._news: dict[str, Transition] = {}  # told in the next operator mail
        self._last_mail_at: datetime | None = None
        self._mailed_alerts: set[int] = set()  # outbox ids already mailed to staff
        self._started_at = datetime.now(UTC)
        if sources.crashed_before:
            self._news["crash"] = Transition(
                "crash",
                Change.OPENED,
                self._started_at,
                f"daemon {sources.daemon_name} restarted after a crash (the previous run did "
                "not stop cleanly); see the journal for why",
            )
        self.operator_mails = 0
        self.staff_mails = 0

    async def run(self) -> None:
        while True:
            try:
                await self.check(datetime.now(UTC))
            except Exception as exc:  # the database may be away: that is for the next round
                logger.warning("operator watch: check failed ({})", type(exc).__name__)
            await asyncio.sleep(self._s.check_interval_s)

    async def check(self, now: datetime) -> None:
        polled = set(self._src.polled())
        async with self._src.db.read() as conn:
            hotels = await enabled_instance_states(conn)
            waiting = await waiting_alerts(conn, now=now, limit=_MAX_WAITING_ALERTS)
            quiet_since = now - timedelta(minutes=self._s.dead_letters_quiet_min)
            dead = await dead_letters_after(conn, after=quiet_since)
        mine = {h: r for h, r in hotels.items() if h in polled}
        self._observe_hotels(now, mine, waiting, dead)
        self._observe_polling(now)
        self._observe_llm(now)
        await self._mail_staff(now, mine, waiting)
        await self._mail_operators(now)

    # -- conditions ------------------------------------------------------------------------
    def _observe(self, key: str, active: bool, now: datetime, after_min: float, text: str) -> None:
        change = self._episodes.observe(key, active, now, timedelta(minutes=after_min), text)
        if change is not None:
            self._news[f"{key}:{change.change}"] = change

    def _observe_hotels(
        self,
        now: datetime,
        mine: Mapping[int, HotelInstanceState],
        waiting: list[WaitingAlert],
        dead: Mapping[int, int],
    ) -> None:
        oldest: dict[int, datetime] = {}
        for alert in waiting:
            oldest.setdefault(alert.hotel_id, _aware(alert.available_at))
        for hotel_id, hotel in mine.items():
            slug, state, state_at = hotel.slug, hotel.instance_state, hotel.instance_state_at
            bad_state = state is not None and state not in SENDABLE_STATES
            self._observe(
                f"instance:{slug}",
                bad_state,
                now,
                self._s.instance_after_min,
                f"{slug}: WhatsApp instance is {state if bad_state else 'authorized again'}"
                + (
                    " (nothing is received or sent; scan the QR code in the Green API console)"
                    if bad_state
                    else ""
                ),
            )
            # A staff alert that waits although the instance can send: counted from when it
            # could (the instance's own trouble is told above).
            due = oldest.get(hotel_id)
            if due is not None and state_at is not None and state in SENDABLE_STATES:
                due = max(due, _aware(state_at))
            stuck = (
                not bad_state
                and due is not None
                and now - due >= timedelta(minutes=self._s.alert_undeliverable_after_min)
            )
            self._observe(
                f"alert:{slug}",
                stuck,
                now,
                0.0,
                f"{slug}: staff alerts cannot be delivered over WhatsApp"
                if stuck
                else f"{slug}: staff alerts are delivered again",
            )
            count = dead.get(hotel_id, 0)
            self._observe(
                f"dead:{slug}",
                count > 0,
                now,
                0.0,
                f"{slug}: {count} queue item(s) dead-lettered (see `hotelbot status`)"
                if count
                else f"{slug}: no new dead letters",
            )

    def _observe_polling(self, now: datetime) -> None:
        for health in self._src.health():
            last = health.last_ok_at or self._started_at
            quiet = now - _aware(last)
            stale = quiet >= timedelta(minutes=self._s.not_polled_after_min)
            reason = health.unhealthy_reason or health.last_error or "no successful poll"
            self._observe(
                f"poll:{health.slug}",
                stale,
                now,
                0.0,
                f"{health.slug}: not polled for {int(quiet.total_seconds() // 60)} min "
                f"({_safe(reason)})"
                if stale
                else f"{health.slug}: polled again",
            )

    def _observe_llm(self, now: datetime) -> None:
        state = self._src.breaker_state()
        if state is None:
            return
        open_ = state is not BreakerState.CLOSED
        self._observe(
            "llm",
            open_,
            now,
            self._s.llm_breaker_after_min,
            "the LLM sentiment analyser is unavailable (breaker open): rules only"
            if open_
            else "the LLM sentiment analyser answers again",
        )

    # -- mail ------------------------------------------------------------------------------
    async def _mail_staff(
        self, now: datetime, mine: Mapping[int, HotelInstanceState], waiting: list[WaitingAlert]
    ) -> None:
        """Each staff alert WhatsApp has not delivered for alert_undeliverable_after_min goes
        to its hotel's staff_email, once per run."""
        after = timedelta(minutes=self._s.alert_undeliverable_after_min)
        sent = 0
        for alert in waiting:
            hotel = mine.get(alert.hotel_id)
            if hotel is None or not hotel.staff_email or alert.id in self._mailed_alerts:
                continue
            if now - _aware(alert.available_at) < after or sent >= _MAX_STAFF_MAILS_PER_CHECK:
                continue
            try:
                await self._mailer.send(
                    [hotel.staff_email],
                    f"Guest needs attention ({hotel.name})",
                    f"{alert.text}\n\n(WhatsApp could not deliver this staff alert; it is sent by "
                    "e-mail instead and will also arrive on WhatsApp once it can.)\n",
                )
            except MailError as exc:
                logger.bind(hotel=hotel.slug).warning("staff alert e-mail failed: {}", exc)
                return
            self._mailed_alerts.add(alert.id)
            self.staff_mails += 1
            sent += 1
            logger.bind(hotel=hotel.slug).info("staff alert {} sent by e-mail", alert.id)

    async def _mail_operators(self, now: datetime) -> None:
        seen = self._episodes.keys_seen()
        for name, news in list(self._news.items()):
            # Opened but not told yet, and already over: nothing to tell.
            if news.change is Change.OPENED and news.key != "crash" and news.key not in seen:
                del self._news[name]
        if not self._news:
            return
        if self._last_mail_at is not None and (
            now - self._last_mail_at < timedelta(seconds=self._s.min_interval_s)
        ):
            return  # rate limit: the news waits for the next mail
        items = list(self._news.values())
        problems = [t for t in items if t.change is Change.OPENED]
        resolved = [t for t in items if t.change is Change.RESOLVED]
        subject = _subject(problems, resolved)
        lines = [f"hotelbot daemon {self._src.daemon_name}, {now:%Y-%m-%d %H:%M} UTC", ""]
        if problems:
            lines += ["Problems:"] + [
                f"  - {t.detail} (since {t.since:%H:%M} UTC)" for t in problems
            ]
        if resolved:
            lines += ["Resolved:"] + [f"  - {t.detail}" for t in resolved]
        lines += ["", "`hotelbot status` and `hotelbot doctor` show the details."]
        try:
            await self._mailer.send(self._s.operators, subject, "\n".join(lines) + "\n")
        except MailError as exc:
            logger.warning("operator e-mail failed ({}); will retry", exc)
            return
        self._last_mail_at = now
        self.operator_mails += 1
        for t in items:
            self._episodes.confirm(t)
        self._news.clear()
        logger.info("operator e-mail sent: {}", subject)


def _subject(problems: list[Transition], resolved: list[Transition]) -> str:
    if len(problems) + len(resolved) == 1:
        only = (problems or resolved)[0]
        prefix = "" if problems else "resolved: "
        return f"[hotelbot] {prefix}{only.detail}"[:200]
    return f"[hotelbot] {len(problems)} problem(s), {len(resolved)} resolved"


_UNSAFE = re.compile(r"[\r\n]")


def _safe(text: str) -> str:
    return _UNSAFE.sub(" ", text)[:200]


# -- crash marker ----------------------------------------------------------------------------
def marker_path(state_dir: Path, daemon_name: str) -> Path:
    """The file that says "this daemon is running"; left behind by a crash."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", daemon_name) or "default"
    return state_dir / f"running.{safe}"


def mark_running(path: Path) -> bool:
    """Create the marker; True when one was already there (the last run crashed). Never
    raises: without a writable state directory there is no crash report, nothing else."""
    try:
        existed = path.exists()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("running\n")
    except OSError as exc:
        logger.warning("cannot write {} ({}): no crash reports", path, type(exc).__name__)
        return False
    return existed


def mark_stopped(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)

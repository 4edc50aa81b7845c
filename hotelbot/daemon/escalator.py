"""Runs the escalation of open staff alerts (the decision is `domain.escalation.decide`).

`Escalator.run_once(now)` reads the open alerts of the hotels this daemon holds (one read),
decides each, and writes what is due in one short transaction per hotel, fenced by the
lease (a daemon that lost the hotel writes nothing). The processor's periodic scan calls it
next to the cooldown follow-ups, so an escalation is at most one scan (5 s) late.
Safe to run in several daemons at once and after any crash: `storage.escalation.escalate`
happens exactly once per alert.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime

from loguru import logger

from hotelbot.app.unit_of_work import LeaseLost
from hotelbot.domain.escalation import EscalationDecision, decide
from hotelbot.storage.db import Database
from hotelbot.storage.escalation import OpenAlertRow, escalate, open_alerts, settle
from hotelbot.storage.leases import LeaseView
from hotelbot.storage.unit_of_work import SqlUnitsOfWork


@dataclass(slots=True)
class EscalationReport:
    escalated: int = 0
    settled: int = 0
    hotels: set[int] = field(default_factory=set)  # hotels with new alert-lane rows


class Escalator:
    """Escalates alerts nobody acknowledged in time. `hotel_ids`: the hotels this daemon
    holds (None = all, one daemon per database); `lease`: fencing for several daemons."""

    def __init__(
        self,
        db: Database,
        *,
        hotel_ids: Callable[[], Collection[int]] | None = None,
        lease: LeaseView | None = None,
    ) -> None:
        self._db = db
        self._hotel_ids = hotel_ids
        self._units = SqlUnitsOfWork(db, lease)
        self.escalated_total = 0

    async def run_once(self, now: datetime) -> EscalationReport:
        """Escalate what is due at `now` and close alerts handled meanwhile. Raises database
        errors (the caller logs them and tries again at its next scan)."""
        report = EscalationReport()
        wanted = None if self._hotel_ids is None else list(self._hotel_ids())
        if wanted is not None and not wanted:
            return report
        async with self._db.read() as conn:
            alerts = await open_alerts(conn, now, wanted)
        work: dict[int, list[tuple[OpenAlertRow, EscalationDecision]]] = defaultdict(list)
        for alert in alerts:
            decision = decide(alert.state, now, alert.escalate_after_min)
            if decision in (EscalationDecision.ESCALATE, EscalationDecision.SETTLED):
                work[alert.hotel_id].append((alert, decision))
        for hotel_id, items in work.items():
            try:
                async with self._units.begin({hotel_id}) as uow:
                    for alert, decision in items:
                        if decision is EscalationDecision.ESCALATE:
                            if await escalate(uow.conn, alert, now):
                                report.escalated += 1
                                report.hotels.add(hotel_id)
                        elif await settle(uow.conn, alert):
                            report.settled += 1
            except LeaseLost:
                continue  # the hotel's new owner escalates its alerts
        if report.escalated:
            logger.info("escalated {} alert(s) nobody acknowledged", report.escalated)
        self.escalated_total += report.escalated
        return report

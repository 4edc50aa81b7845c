"""Liveness for systemd: the watchdog ping and the one-line STATUS summary.

The watchdog answers one question: "is this process still doing its job?" It pings only when
the event loop is responsive (the supervisor's own sleep did not overshoot by much) and every
hotel poller iterated recently. An upstream outage (Green API 5xx, 401, DeepSeek down) is not
a reason to withhold the ping: the poller keeps iterating (backing off on purpose), a restart
would not help, and the outage is reported in STATUS instead. What the watchdog catches is a
blocked loop (a synchronous call, a huge JSON parse) or a poller task that died or hangs.

`watchdog_verdict` and `status_line` are pure; `Supervisor` is the small task around them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from loguru import logger

from hotelbot import sdnotify
from hotelbot.daemon.health import HotelHealth

# The STATUS line is shown by `systemctl status`; keep it readable on one terminal line.
_STATUS_MAX_CHARS = 240


@dataclass(frozen=True, slots=True)
class PollerProbe:
    """What the watchdog needs to know about one running hotel poller (monotonic times)."""

    slug: str
    alive: bool  # the task has not ended
    last_progress: float  # last loop iteration of any kind (an empty long poll counts)
    quiet_until: float  # it sleeps on purpose (backoff) until then
    kind: str = "poller"  # "worker": the processing worker process (its last heartbeat)


@dataclass(frozen=True, slots=True)
class WatchdogVerdict:
    """Whether to ping the systemd watchdog now, and why not (not a sentiment verdict)."""

    ok: bool
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Backlog:
    unprocessed_notifications: int
    outbox_pending: int


def watchdog_verdict(
    *,
    now: float,
    loop_lag_s: float,
    max_loop_lag_s: float,
    pollers: Iterable[PollerProbe],
    stall_after_s: float,
) -> WatchdogVerdict:
    """Ping (ok) unless the loop lags or a poller is dead or silent past its expected wake-up.

    A poller counts as stalled when more than `stall_after_s` passed since the later of its
    last iteration and the end of its deliberate pause; `stall_after_s` must cover the
    longest legitimate step (a long poll plus its timeout margin, then store and delete).
    """
    if loop_lag_s > max_loop_lag_s:
        return WatchdogVerdict(False, f"event loop lagged {loop_lag_s:.1f} s")
    for probe in pollers:
        if not probe.alive:
            return WatchdogVerdict(False, f"{probe.kind} {probe.slug} is not running")
        silent_s = now - max(probe.last_progress, probe.quiet_until)
        if silent_s > stall_after_s:
            return WatchdogVerdict(
                False, f"{probe.kind} {probe.slug} made no progress for {silent_s:.0f} s"
            )
    return WatchdogVerdict(True)


def _shorten(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def status_line(
    healths: Sequence[HotelHealth],
    *,
    backlog: Backlog | None,
    extra: str | None = None,
) -> str:
    """`3/4 hotels polling; unhealthy: h2 (Unauthorized); backlog: 5 to process, 1 to send;
    dead-lettered: h4 2; last error: h3 ServerError` — one line, never containing a token or
    guest text (health fields hold error descriptions from error_text.describe and Green API
    error summaries only). "dead-lettered" counts queue items of this run that could not be
    stored and were set aside (`hotelbot dead-letters list`)."""
    polling = sum(1 for h in healths if h.polling)
    parts = [f"{polling}/{len(healths)} hotels polling"]
    unhealthy = [h for h in healths if not h.healthy]
    if unhealthy:
        shown = ", ".join(
            f"{h.slug} ({_shorten(h.unhealthy_reason or '?', 40)})" for h in unhealthy[:3]
        )
        more = f" +{len(unhealthy) - 3}" if len(unhealthy) > 3 else ""
        parts.append(f"unhealthy: {shown}{more}")
    if backlog is not None:
        parts.append(
            f"backlog: {backlog.unprocessed_notifications} to process, "
            f"{backlog.outbox_pending} to send"
        )
    dead = [h for h in healths if h.dead_lettered_total]
    if dead:
        dead.sort(key=lambda h: -h.dead_lettered_total)
        shown = ", ".join(f"{h.slug} {h.dead_lettered_total}" for h in dead[:3])
        more = f" +{len(dead) - 3}" if len(dead) > 3 else ""
        parts.append(f"dead-lettered: {shown}{more}")
    failing = [h for h in healths if h.consecutive_failures and h.healthy and h.last_error]
    if failing:
        worst = max(failing, key=lambda h: h.consecutive_failures)
        parts.append(f"last error: {worst.slug} {_shorten(worst.last_error or '', 60)}")
    if extra:
        parts.append(extra)
    return _shorten("; ".join(parts), _STATUS_MAX_CHARS)


class Supervisor:
    """Pings the systemd watchdog every `interval_s` while `watchdog_verdict` says ok.

    Runs as one task; measures event-loop lag as the overshoot of its own sleep. A withheld
    ping is logged once per distinct reason (WARNING), so a flapping reason cannot flood the
    journal. Never raises out of `run()` except CancelledError.
    """

    def __init__(
        self,
        probes: Callable[[], Sequence[PollerProbe]],
        *,
        interval_s: float,
        stall_after_s: float,
        max_loop_lag_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._probes = probes
        self.interval_s = interval_s
        self.stall_after_s = stall_after_s
        self.max_loop_lag_s = max_loop_lag_s
        self._clock = clock
        self.loop_lag_s = 0.0
        self.last_verdict = WatchdogVerdict(True)
        self.pings = 0

    def check(self) -> WatchdogVerdict:
        return watchdog_verdict(
            now=self._clock(),
            loop_lag_s=self.loop_lag_s,
            max_loop_lag_s=self.max_loop_lag_s,
            pollers=self._probes(),
            stall_after_s=self.stall_after_s,
        )

    async def run(self) -> None:
        while True:
            started = self._clock()
            await asyncio.sleep(self.interval_s)
            self.loop_lag_s = max(0.0, self._clock() - started - self.interval_s)
            try:
                verdict = self.check()
            except Exception as exc:  # a bug here must not kill the supervisor silently
                verdict = WatchdogVerdict(False, f"supervisor check failed: {type(exc).__name__}")
            if verdict.ok:
                if not self.last_verdict.ok:
                    logger.info("watchdog pings resumed")
                sdnotify.watchdog()
                self.pings += 1
            elif verdict.reason != self.last_verdict.reason:
                logger.warning("withholding the watchdog ping: {}", verdict.reason)
            self.last_verdict = verdict

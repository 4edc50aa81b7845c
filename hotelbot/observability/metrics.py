"""Every metric hotelbot exposes, in one place (Prometheus naming: `hotelbot_` prefix, base
units, `_total` for counters, `_seconds` for durations).

Label rules (cardinality stays bounded): `hotel` is the hotel's slug (at most thousands);
`method`, `outcome`, `type`, `lane`, `kind`, `analyser`, `sentiment` and `state` take values
from small fixed sets (anything unexpected is folded into "other"). A chat id, a phone number
or any text never becomes a label. Histograms carry no hotel label: a latency is a property of
the daemon, and per-hotel buckets would multiply the series by the number of hotels.

The metrics live in prometheus_client's default registry, together with its process
collector (CPU seconds, resident memory, open file descriptors of the daemon).
"""

from __future__ import annotations

from typing import Final

from prometheus_client import Counter, Gauge, Histogram, Info, disable_created_metrics

# No `_created` series: they double the number of series and no rule or dashboard uses them.
disable_created_metrics()  # type: ignore[no-untyped-call]

# Buckets (seconds) for things people wait on: a staff alert, an ingest step.
_HUMAN_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0)
# Buckets (seconds) for one HTTP request or one database commit.
_REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 70.0)

# Green API notification types that get their own label value; any other is "other".
NOTIFICATION_TYPES: Final = frozenset(
    {
        "incomingMessageReceived",
        "outgoingMessageReceived",
        "outgoingAPIMessageReceived",
        "outgoingMessageStatus",
        "stateInstanceChanged",
        "deviceInfo",
        "incomingCall",
        "incomingBlock",
        "quotaExceeded",
        "editedMessageWebhook",
        "deletedMessageWebhook",
        "malformed",  # an item that could not be parsed (it is dead-lettered)
    }
)
# Green API methods the client calls (the `method` label); any other is "other".
API_METHODS: Final = frozenset(
    {
        "receiveNotification",
        "deleteNotification",
        "sendMessage",
        "getStateInstance",
        "getSettings",
        "setSettings",
        "lastOutgoingMessages",
    }
)
# Instance states with a series of their own in hotelbot_instance_state.
INSTANCE_STATES: Final = (
    "authorized",
    "notAuthorized",
    "blocked",
    "sleepMode",
    "starting",
    "yellowCard",
    "unknown",
    "other",
)


def bounded(value: str, allowed: frozenset[str]) -> str:
    """`value` if it is one of `allowed`, else "other" (keeps a label's values finite)."""
    return value if value in allowed else "other"


def instance_state_label(state: str | None) -> str:
    if state is None:
        return "unknown"
    return state if state in INSTANCE_STATES else "other"


# -- build ------------------------------------------------------------------------------------
BUILD = Info(
    "hotelbot_build",
    "The running hotelbot: its version and the Python it runs on (value always 1).",
)

# -- Green API client -------------------------------------------------------------------------
GREENAPI_REQUESTS = Counter(
    "hotelbot_greenapi_requests_total",
    "Green API HTTP requests by API method and outcome class: ok, rate_limited (429), "
    "unauthorized (401/403), quota (466), not_ready (instance starting or not authorized), "
    "client_error (other 4xx), server_error (5xx), network (no HTTP answer).",
    ["method", "outcome"],
)
GREENAPI_LATENCY = Histogram(
    "hotelbot_greenapi_request_duration_seconds",
    "Time from sending a Green API request to its answer (or failure), by API method. "
    "receiveNotification is a long poll: it lasts up to receiveTimeout when the queue is empty.",
    ["method"],
    buckets=_REQUEST_BUCKETS,
)

# -- poller and ingest ------------------------------------------------------------------------
POLL_LAST_SUCCESS = Gauge(
    "hotelbot_poll_last_success_timestamp_seconds",
    "Unix time of the last successful poll step of a hotel polled by this daemon (the start "
    "of polling until one succeeds). time() minus this is how long the hotel has not been "
    "polled.",
    ["hotel"],
)
NOTIFICATIONS_RECEIVED = Counter(
    "hotelbot_notifications_received_total",
    "Queue items received from a hotel's Green API instance, by notification type "
    "(an item received again after a failed step counts again).",
    ["hotel", "type"],
)
NOTIFICATIONS_STORED = Counter(
    "hotelbot_notifications_stored_total",
    "Queue items committed to the database and then deleted upstream, by notification type.",
    ["hotel", "type"],
)
NOTIFICATIONS_DEAD_LETTERED = Counter(
    "hotelbot_notifications_dead_lettered_total",
    "Queue items that could not be parsed or stored, kept in dead_letters and deleted "
    'upstream (see `hotelbot status`), by notification type ("malformed" when unreadable).',
    ["hotel", "type"],
)
INGEST_COMMIT_LATENCY = Histogram(
    "hotelbot_ingest_commit_duration_seconds",
    "Time from a queue item arriving from Green API to its row being committed.",
    buckets=_REQUEST_BUCKETS,
)
INGEST_DELETE_LATENCY = Histogram(
    "hotelbot_ingest_delete_duration_seconds",
    "Time from a queue item's commit to its deletion at Green API.",
    buckets=_REQUEST_BUCKETS,
)

# -- instance, leases -------------------------------------------------------------------------
INSTANCE_STATE = Gauge(
    "hotelbot_instance_state",
    "The last known Green API instance state of each enabled hotel: one series per hotel, "
    "value 1, labelled with its state (notAuthorized: the WhatsApp number was logged out; "
    "nothing is sent; unknown: no state reported yet).",
    ["hotel", "state"],
)
LEASE_HELD = Gauge(
    "hotelbot_lease_held",
    "1 when this daemon holds the hotel's lease and polls it (several daemons on one "
    "PostgreSQL database share the hotels).",
    ["hotel"],
)
LEASE_EPOCH = Gauge(
    "hotelbot_lease_epoch",
    "Epoch of the hotel's lease held by this daemon (it grows each time the lease changes hands).",
    ["hotel"],
)

# -- outbox sender ----------------------------------------------------------------------------
SENDS = Counter(
    "hotelbot_outbox_sends_total",
    "sendMessage attempts of outbox rows by kind, lane and outcome: sent, retry (surely not "
    "sent: tried again later), unknown (maybe sent: reconciled before any resend), failed "
    "(given up), held (instance cannot send: the row waits, no attempt spent).",
    ["kind", "lane", "outcome"],
)
OUTBOX_DEPTH = Gauge(
    "hotelbot_outbox_depth",
    "Outbox rows not finished yet (pending, sending or unknown) per lane and hotel, including "
    "rows not due yet (scheduled messages, alerts held in staff quiet hours).",
    ["hotel", "lane"],
)
OUTBOX_OLDEST_DUE_AGE = Gauge(
    "hotelbot_outbox_oldest_pending_age_seconds",
    "How long the oldest due, unfinished outbox row of a lane and hotel has been due "
    "(0 when none is due). A staff alert waiting minutes means staff are not being told.",
    ["hotel", "lane"],
)
STAFF_ALERT_LATENCY = Histogram(
    "hotelbot_staff_alert_latency_seconds",
    "Time from a guest's message (its WhatsApp timestamp) to Green API accepting the staff "
    "alert about it (sendMessage answered with an idMessage).",
    buckets=_HUMAN_BUCKETS,
)
SNAPSHOT_DURATION = Gauge(
    "hotelbot_metrics_snapshot_duration_seconds",
    "How long the last periodic snapshot of database-held figures (outbox, instance states) took.",
)

# -- processor --------------------------------------------------------------------------------
SENTIMENT_VERDICTS = Counter(
    "hotelbot_sentiment_verdicts_total",
    "Guest messages judged, by hotel, analyser (rules, llm) and sentiment label.",
    ["hotel", "analyser", "sentiment"],
)
ATTENTION = Counter(
    "hotelbot_attention_verdicts_total",
    "Guest messages judged to need staff, by hotel and analyser.",
    ["hotel", "analyser"],
)

ALERTS_ACKNOWLEDGED = Counter(
    "hotelbot_alerts_acknowledged_total",
    "Staff alerts acknowledged, by route (quote, reaction, reference, staff_reply, send, "
    "handled, earlier). Counted when the acknowledging transaction runs (a rolled-back one "
    "may count: the figure is an upper bound).",
    ["route"],
)
ALERTS_ESCALATED = Counter(
    "hotelbot_alerts_escalated_total",
    "Staff alerts nobody acknowledged in time, escalated to the duty manager.",
)

# -- LLM --------------------------------------------------------------------------------------
LLM_CALLS = Counter(
    "hotelbot_llm_calls_total",
    "Calls to the LLM sentiment analyser by outcome: ok, failed (an error, a timeout or an "
    "answer that did not validate), refused (circuit breaker open: nothing sent).",
    ["outcome"],
)
LLM_NOT_CALLED = Counter(
    "hotelbot_llm_not_called_total",
    "Guest messages the LLM would have judged but was not asked, by reason: cached (an "
    "identical question today reused its verdict), guest_rate, hotel_rate, daily_calls, "
    "daily_tokens (a limit of llm.limits: the rules judged it).",
    ["reason"],
)
LLM_LATENCY = Histogram(
    "hotelbot_llm_call_duration_seconds",
    "Duration of LLM calls that reached the provider (successful or not).",
    buckets=_REQUEST_BUCKETS,
)
LLM_TOKENS = Counter(
    "hotelbot_llm_tokens_total",
    "Tokens the LLM provider reported as used, by kind (prompt, completion).",
    ["kind"],
)
LLM_BREAKER_STATE = Gauge(
    "hotelbot_llm_breaker_state",
    "The LLM circuit breaker: 1 for its current state (closed, open, half_open), 0 for the "
    "others. Open: guest messages are judged by the rules alone.",
    ["state"],
)

# The counters the processing worker process increments (the processor, the sentiment stage,
# the escalator, acknowledgements seen in guest and staff traffic), by family name. The child
# reports their totals over its pipe and the daemon adds them to its own: a counter missing
# here would stay at zero on /metrics while processing runs out of process.
PROCESSING_WORKER_COUNTERS: Final[dict[str, Counter]] = {
    "hotelbot_sentiment_verdicts": SENTIMENT_VERDICTS,
    "hotelbot_attention_verdicts": ATTENTION,
    "hotelbot_llm_calls": LLM_CALLS,
    "hotelbot_llm_not_called": LLM_NOT_CALLED,
    "hotelbot_llm_tokens": LLM_TOKENS,
    "hotelbot_alerts_escalated": ALERTS_ESCALATED,
    "hotelbot_alerts_acknowledged": ALERTS_ACKNOWLEDGED,
}

OUTCOME_LABELS: Final = frozenset(
    {
        "ok",
        "rate_limited",
        "unauthorized",
        "quota",
        "not_ready",
        "client_error",
        "server_error",
        "bad_response",
        "network",
        "other",
    }
)


def set_build_info() -> None:
    import platform

    from hotelbot import __version__

    BUILD.info({"version": __version__, "python": platform.python_version()})

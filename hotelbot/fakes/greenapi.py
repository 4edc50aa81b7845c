"""A fake Green API (WhatsApp) server speaking the real HTTP protocol, with fault injection.

It is the backend of the demo, the target of the benchmarks and the server the tests talk
to. It runs an aiohttp.web app on 127.0.0.1 (port 0 = the OS picks one) and keeps all state
in memory, per instance. Use it in-process (`FakeGreenApi`) or standalone:

    python -m hotelbot.fakes.greenapi --port 8080 --instance 1101000001:token1 [--instance ...]

Green API routes (`{base}/waInstance{idInstance}/{method}/{apiTokenInstance}[/{arg}]`,
method names case-insensitive; wrong HTTP verb or unknown method -> 404):

    GET    receiveNotification?receiveTimeout=N   N in 5..60 (default 5) else 400. FIFO; the
           same head `{"receiptId": int, "body": {...}}` until deleted; long poll; when
           nothing arrives in time: 200 with the literal body `null`. If the instance's
           `webhookUrl` setting is non-empty it never delivers (like the real service).
    DELETE deleteNotification/{token}/{receiptId}  {"result": true, "reason": ""} for the
           head; {"result": false, "reason": "..."} otherwise (not an HTTP error).
    POST   sendMessage        {chatId, message, quotedMessageId?, linkPreview?, typingTime?}
           -> {"idMessage": "<hex>"}; echoes outgoingAPIMessageReceived + outgoingMessageStatus
           "sent" into the queue when `echo_outgoing` and the matching settings are on.
    POST   sendFileByUrl      {chatId, urlFile, fileName, caption?, quotedMessageId?,
           archiveChat?} -> {"idMessage": "<hex>"}; 400 "Validation failed" when a required
           field is missing, fileName has no extension or caption is over 20000 chars; 500
           "File from url exceeded max upload size. Size: Nmb Limit: 100mb" for a URL given
           a size over 100 MB with `FakeInstance.file_sizes_mb`. WhatsApp's type comes from
           the extension (jpg/png/webp/gif -> imageMessage, mp4/mov/3gp -> videoMessage,
           mp3/ogg/m4a/aac/opus -> audioMessage, else documentMessage); the echo carries
           `fileMessageData` and the journal entry `caption`, `fileName`, `downloadUrl` (the
           fake's storage copy, not `urlFile`), echoes and faults as for sendMessage.
    GET    getStateInstance   {"stateInstance": "..."}
    GET    getSettings        full settings object; POST setSettings -> {"saveSettings": true}
           (merges; the instance is `starting` for `reboot_s`, then back to its prior state)
    GET    lastOutgoingMessages?minutes=N (default 1440), newest first (text entries have
           `textMessage`; file entries `caption`, `fileName`, `downloadUrl`, `mimeType`)
    GET    getWebhooksCount   {"count": pending}

Auth: unknown idInstance -> 403 "Forbidden"; wrong token -> 401 "Unauthorized" (plain text).
When the state is not `authorized`/`yellowCard`, sendMessage and lastOutgoingMessages answer
400 with the real texts ("instance account not authorized", "instance in starting process
try later", "instance is starting or not authorized"); receive/delete/settings/state still
work. 400 bodies are JSON `{"statusCode": 400, "timestamp": ..., "message": ...}` (our best
guess of the real layout; clients should match on the text only).

Control routes (ours, snake_case JSON, no auth; loopback only):

    GET  /_fake/health                                  {"ok": true}
    GET  /_fake/instances                               {"instances": [summary, ...]}
    POST /_fake/instances                               body {"id_instance", "token", "state"?,
         "wid"?, "settings"?, "echo_outgoing"?}  -> 201 summary (409 if it exists)
    GET  /_fake/instances/{id}                          summary: state, pending_count,
         pending_receipt_ids, deleted, sent_count, request_counts, overlapping_pollers
    POST /_fake/instances/{id}/notifications            JSON object (one body) or array of
         bodies -> {"receipt_ids": [...]}
    POST /_fake/instances/{id}/notifications/raw?wrap=1 raw text queue item -> {"receipt_ids"}
         (wrap=1: served as `{"receiptId": N, "body": <text>}`; wrap=0: served verbatim)
    GET  /_fake/instances/{id}/notifications            timeline of every item ever queued
         (pushed/became_head/first_received/deleted stamps, monotonic and wall seconds)
    GET  /_fake/instances/{id}/sent                     sent messages
    GET  /_fake/instances/{id}/requests                 request log (method, times, status,
         client id); ?since=<index> to page
    GET  /_fake/instances/{id}/polls                    receiveNotification intervals per client
    POST /_fake/instances/{id}/state                    {"state": "notAuthorized"} -> summary
    POST /_fake/instances/{id}/message-status           {"id_message", "status",
         "description"?} -> updates the journal and queues an outgoingMessageStatus
    GET|POST /_fake/instances/{id}/faults               read / change the instance's faults
    GET|POST /_fake/faults                              same for the global (all instances) faults
    GET  /_fake/stats                                   totals over all instances
    GET  /_fake/latency                                 available-to-deleted latency summary
         over all deleted items (count, mean_s, p50_s, p95_s, p99_s, max_s)

Fault body (every key optional): {"fail_next": {"n", "status"?, "methods"?},
"rate_limit_next": {"n", "retry_after_s"?, "methods"?}, "drop_next": {"n", "methods"?,
"after_effect"?}, "malformed_next": {"n", "kind"?}, "redeliver_next": n,
"send_timeout_next": {"n", "stall_s"?}, "latency_s", "error_rate_500", "error_rate_429",
"drop_rate", "rate_methods" (the methods the three rates apply to; default all),
"clear": true}. Faults act after authentication (known instance, right token)
and before the state check; a request uses at most one counted HTTP fault (drop, then
fail, then rate limit; instance knobs before global ones).

Every request's client is named by the optional `X-Hotelbot-Client` header; it is used for the
request log and for `overlapping_pollers` (concurrent receiveNotification calls on one
instance from two different client ids). Single event loop only: call the Python API from
the loop the server runs on.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import random
import sys
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, NamedTuple, Self

from aiohttp import web

from hotelbot.fakes import shapes

log = logging.getLogger(__name__)

CLIENT_HEADER = "X-Hotelbot-Client"
MAX_MESSAGE_CHARS = 20000
RECEIVE_TIMEOUT_MIN_S = 5
RECEIVE_TIMEOUT_MAX_S = 60
RECEIVE_TIMEOUT_DEFAULT_S = 5

MalformedKind = Literal["truncated", "no_type_webhook"]

# States in which sends are accepted (yellowCard queues them, like the real service).
_SENDING_STATES = frozenset({"authorized", "yellowCard"})
_STATE_ERRORS = {
    "notAuthorized": "instance account not authorized",
    "starting": "instance in starting process try later",
}
_GENERIC_STATE_ERROR = "instance is starting or not authorized"

_TOGGLE_SETTINGS = (
    "markIncomingMessagesReaded",
    "markIncomingMessagesReadedOnReply",
    "sharedSession",
    "outgoingWebhook",
    "outgoingMessageWebhook",
    "outgoingAPIMessageWebhook",
    "incomingWebhook",
    "deviceWebhook",
    "statusInstanceWebhook",
    "stateWebhook",
    "enableMessagesHistory",
    "keepOnlineStatus",
    "pollMessageWebhook",
    "incomingBlockWebhook",
    "incomingCallWebhook",
    "editedMessageWebhook",
    "deletedMessageWebhook",
    "autoTyping",
    "linkPreview",
    "enableLidMode",
)
_ON_BY_DEFAULT = frozenset(
    {
        "outgoingWebhook",
        "outgoingMessageWebhook",
        "outgoingAPIMessageWebhook",
        "incomingWebhook",
        "stateWebhook",
        "editedMessageWebhook",
        "deletedMessageWebhook",
        "incomingCallWebhook",
        "linkPreview",
    }
)
_READ_ONLY_SETTINGS = frozenset({"wid", "countryInstance", "typeAccount"})


def default_settings(wid: str) -> dict[str, Any]:
    """Settings of a fake instance already configured for HTTP-API polling: `webhookUrl`
    empty, incoming/outgoing/state/edited/deleted/call webhooks "yes", everything else "no"."""
    settings: dict[str, Any] = {
        "wid": wid,
        "countryInstance": "",
        "typeAccount": "",
        "webhookUrl": "",
        "webhookUrlToken": "",
        "delaySendMessagesMilliseconds": 500,
    }
    for key in _TOGGLE_SETTINGS:
        settings[key] = "yes" if key in _ON_BY_DEFAULT else "no"
    return settings


class Stamp(NamedTuple):
    """One moment, in `time.monotonic()` seconds (for latencies) and Unix wall seconds."""

    mono: float
    wall: float


def _stamp() -> Stamp:
    return Stamp(time.monotonic(), time.time())


@dataclass(slots=True)
class QueuedNotification:
    """One item ever put in an instance's queue, with its lifecycle stamps.

    `became_head` is when it became receivable (the queue head = "available"); the
    benchmark latency is `deleted.mono - became_head.mono`. `payload_json` is the body as
    serialized at push time (so later mutation of the caller's dict changes nothing), or
    the raw text of a `push_raw` item (`body` is then None)."""

    receipt_id: int
    body: dict[str, Any] | None
    payload_json: str
    pushed: Stamp
    wrap_raw: bool = True
    became_head: Stamp | None = None
    first_received: Stamp | None = None
    deleted: Stamp | None = None
    receive_count: int = 0
    duplicate_of: int | None = None
    payload_bytes: bytes | None = None  # a push_raw item given as bytes (maybe not UTF-8)
    deleted_by: str | None = None  # the X-Hotelbot-Client of the successful delete

    @property
    def is_raw(self) -> bool:
        return self.body is None

    @property
    def available_to_deleted_s(self) -> float | None:
        if self.became_head is None or self.deleted is None:
            return None
        return self.deleted.mono - self.became_head.mono

    def response_text(self) -> str:
        if self.body is None and not self.wrap_raw:
            return self.payload_json
        return f'{{"receiptId": {self.receipt_id}, "body": {self.payload_json}}}'

    def response_bytes(self) -> bytes:
        """The response body as served: bytes pushed raw go out exactly as given (invalid
        UTF-8 included); text with lone surrogates is encoded as they would be by a careless
        server (surrogatepass)."""
        if self.payload_bytes is None:
            return self.response_text().encode("utf-8", errors="surrogatepass")
        if not self.wrap_raw:
            return self.payload_bytes
        return b'{"receiptId": %d, "body": %s}' % (self.receipt_id, self.payload_bytes)

    def as_dict(self) -> dict[str, Any]:
        return {
            "receipt_id": self.receipt_id,
            "raw": self.is_raw,
            "type_webhook": None if self.body is None else self.body.get("typeWebhook"),
            "id_message": None if self.body is None else self.body.get("idMessage"),
            "pushed": _stamp_dict(self.pushed),
            "became_head": _stamp_dict(self.became_head),
            "first_received": _stamp_dict(self.first_received),
            "deleted": _stamp_dict(self.deleted),
            "receive_count": self.receive_count,
            "duplicate_of": self.duplicate_of,
        }


def _stamp_dict(stamp: Stamp | None) -> dict[str, float] | None:
    return None if stamp is None else {"mono": stamp.mono, "wall": stamp.wall}


@dataclass(slots=True)
class SentMessage:
    """A message accepted by sendMessage (also when its response was faulted away)."""

    id_message: str
    chat_id: str
    message: str
    timestamp: int
    sent_at: Stamp
    client_id: str
    quoted_message_id: str | None = None
    link_preview: bool | None = None
    typing_time_ms: int | None = None
    status: str = "sent"
    # A file (sendFileByUrl): `message` is then its caption ("" for none).
    url_file: str | None = None
    file_name: str | None = None

    @property
    def type_message(self) -> str:
        """How WhatsApp shows it: textMessage, or the file kind by extension."""
        if self.file_name is None:
            return "textMessage"
        return f"{file_kind(self.file_name)}Message"

    def journal_entry(self) -> dict[str, Any]:
        """This message as lastOutgoingMessages lists it."""
        entry: dict[str, Any] = {
            "type": "outgoing",
            "idMessage": self.id_message,
            "timestamp": self.timestamp,
            "typeMessage": self.type_message,
            "chatId": self.chat_id,
        }
        if self.file_name is None:
            entry["textMessage"] = self.message
        else:
            entry.update(
                downloadUrl=_storage_url(self.id_message, self.file_name),
                caption=self.message,
                fileName=self.file_name,
                mimeType=_MIME_TYPES.get(_extension(self.file_name), "application/octet-stream"),
            )
        entry.update(sendByApi=True, statusMessage=self.status)
        return entry

    def as_dict(self) -> dict[str, Any]:
        return {
            "url_file": self.url_file,
            "file_name": self.file_name,
            "id_message": self.id_message,
            "chat_id": self.chat_id,
            "message": self.message,
            "timestamp": self.timestamp,
            "sent_at": _stamp_dict(self.sent_at),
            "client_id": self.client_id,
            "quoted_message_id": self.quoted_message_id,
            "link_preview": self.link_preview,
            "typing_time_ms": self.typing_time_ms,
            "status": self.status,
        }


_KIND_BY_EXTENSION: dict[str, shapes.FileKind] = {
    **dict.fromkeys(("jpg", "jpeg", "png", "webp", "gif"), "image"),
    **dict.fromkeys(("mp4", "mov", "3gp"), "video"),
    **dict.fromkeys(("mp3", "ogg", "m4a", "aac", "opus"), "audio"),
}
_MIME_TYPES = {
    "jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp",
    "gif": "image/gif", "mp4": "video/mp4", "mov": "video/quicktime", "3gp": "video/3gpp",
    "mp3": "audio/mpeg", "ogg": "audio/ogg", "m4a": "audio/mp4", "aac": "audio/aac",
    "opus": "audio/opus", "pdf": "application/pdf", "txt": "text/plain",
}  # fmt: skip
MAX_FILE_MB = 100


def _extension(file_name: str) -> str:
    _, dot, ext = file_name.rpartition(".")
    return ext.lower() if dot and ext else ""


def file_kind(file_name: str) -> shapes.FileKind:
    """What WhatsApp makes of a file, by its name's extension (as Green API decides)."""
    return _KIND_BY_EXTENSION.get(_extension(file_name), "document")


def _storage_url(id_message: str, file_name: str) -> str:
    return f"https://fake-media.invalid/{id_message}/{file_name}"


class RequestRecord(NamedTuple):
    """One Green API request as the fake saw it. `status` 0 = connection dropped by a
    fault, 499 = the client went away before the answer."""

    method: str
    started_mono: float
    finished_mono: float
    status: int
    client_id: str


class PollInterval(NamedTuple):
    """A receiveNotification call in flight, from one client."""

    client_id: str
    started_mono: float
    finished_mono: float


@dataclass(slots=True)
class _CountedRule:
    remaining: int
    methods: frozenset[str] | None
    status: int = 500
    retry_after_s: float | None = None
    after_effect: bool = False

    def matches(self, method: str) -> bool:
        return self.remaining > 0 and (self.methods is None or method in self.methods)


def _method_set(methods: Iterable[str] | None) -> frozenset[str] | None:
    if methods is None:
        return None
    return frozenset(_canonical_method(m) for m in methods)


class Faults:
    """Fault knobs for one instance (or, on `FakeGreenApi.faults`, for all instances).

    Counted faults (`*_next`) fire on the next n matching requests and are used up; the
    instance's knobs are consulted before the global ones and one request uses at most one
    counted HTTP fault (order: drop, fail, rate limit). Rates draw from a `random.Random`
    seeded at construction, so a run with the same seed and request order is repeatable.
    `methods` filters take Green API method names in any case ("sendMessage")."""

    def __init__(self, seed: int | str = 0) -> None:
        self.latency_s = 0.0
        self.error_rate_500 = 0.0
        self.error_rate_429 = 0.0
        self.drop_rate = 0.0
        # The methods the three rates apply to (canonical names); None = every method.
        self.rate_methods: frozenset[str] | None = None
        self.rng = random.Random(seed)
        self._fail: list[_CountedRule] = []
        self._rate_limit: list[_CountedRule] = []
        self._drop: list[_CountedRule] = []
        self._malformed: deque[MalformedKind] = deque()
        self._redeliver = 0
        self._send_timeouts: deque[float | None] = deque()

    def fail_next(
        self, n: int = 1, status: int = 500, methods: Iterable[str] | None = None
    ) -> None:
        """Answer the next n matching requests with `status` (plain-text body) unprocessed."""
        self._fail.append(_CountedRule(n, _method_set(methods), status=status))

    def rate_limit_next(
        self,
        n: int = 1,
        retry_after_s: float | None = None,
        methods: Iterable[str] | None = None,
    ) -> None:
        """Answer the next n matching requests 429, with `Retry-After` when given."""
        rule = _CountedRule(n, _method_set(methods), status=429, retry_after_s=retry_after_s)
        self._rate_limit.append(rule)

    def drop_next(
        self, n: int = 1, methods: Iterable[str] | None = None, *, after_effect: bool = False
    ) -> None:
        """Close the TCP connection of the next n matching requests without an answer.
        With `after_effect` the request is processed first (a delete deletes, a send is
        recorded) and only the response is lost."""
        self._drop.append(
            _CountedRule(n, _method_set(methods), status=0, after_effect=after_effect)
        )

    def malformed_next(self, n: int = 1, kind: MalformedKind = "truncated") -> None:
        """The next n receiveNotification answers that carry an item are broken:
        "truncated" = the JSON text cut in half; "no_type_webhook" = valid JSON whose
        `body` lacks `typeWebhook`. The item itself stays intact at the head."""
        self._malformed.extend([kind] * n)

    def redeliver_next(self, n: int = 1) -> None:
        """The next n successfully deleted items are queued again at the tail under a new
        receiptId (duplicate delivery, as the real service sometimes does)."""
        self._redeliver += n

    def send_timeout_next(self, n: int = 1, stall_s: float | None = None) -> None:
        """The next n sendMessage or sendFileByUrl calls record the message as sent (and
        echo it), then either answer 504 at once (`stall_s` None) or stall `stall_s` before
        answering 200: "sent but timed out" for ambiguous-send tests."""
        self._send_timeouts.extend([stall_s] * n)

    def clear(self) -> None:
        """Remove every fault (rates and latency back to 0)."""
        self.latency_s = self.error_rate_500 = self.error_rate_429 = self.drop_rate = 0.0
        self.rate_methods = None
        self._fail.clear()
        self._rate_limit.clear()
        self._drop.clear()
        self._malformed.clear()
        self._redeliver = 0
        self._send_timeouts.clear()

    # --- used by the server -------------------------------------------------------------

    @property
    def has_http_faults(self) -> bool:
        return bool(
            self._fail
            or self._rate_limit
            or self._drop
            or self.error_rate_500
            or self.error_rate_429
            or self.drop_rate
        )

    def take_http_fault(self, method: str) -> _CountedRule | None:
        """The fault to apply to this request, if any (consumes it)."""
        for rules in (self._drop, self._fail, self._rate_limit):
            for rule in rules:
                if rule.matches(method):
                    rule.remaining -= 1
                    if rule.remaining == 0:
                        rules.remove(rule)
                    return rule
        if self.rate_methods is not None and method not in self.rate_methods:
            return None
        # Draw only for non-zero rates so adding a rate does not shift other sequences.
        if self.drop_rate and self.rng.random() < self.drop_rate:
            return _CountedRule(1, None, status=0)
        if self.error_rate_500 and self.rng.random() < self.error_rate_500:
            return _CountedRule(1, None, status=500)
        if self.error_rate_429 and self.rng.random() < self.error_rate_429:
            return _CountedRule(1, None, status=429)
        return None

    def take_malformed(self) -> MalformedKind | None:
        return self._malformed.popleft() if self._malformed else None

    def take_redeliver(self) -> bool:
        if self._redeliver > 0:
            self._redeliver -= 1
            return True
        return False

    def take_send_timeout(self) -> tuple[bool, float | None]:
        if self._send_timeouts:
            return True, self._send_timeouts.popleft()
        return False, None

    def apply(self, spec: Mapping[str, Any]) -> None:
        """Apply a control-API fault body (see the module docstring)."""
        if spec.get("clear"):
            self.clear()
        for key in ("latency_s", "error_rate_500", "error_rate_429", "drop_rate"):
            if key in spec:
                setattr(self, key, float(spec[key]))
        if "rate_methods" in spec:
            self.rate_methods = _method_set(spec["rate_methods"])
        if "fail_next" in spec:
            args = spec["fail_next"]
            self.fail_next(int(args["n"]), int(args.get("status", 500)), args.get("methods"))
        if "rate_limit_next" in spec:
            args = spec["rate_limit_next"]
            retry = args.get("retry_after_s")
            self.rate_limit_next(
                int(args["n"]), None if retry is None else float(retry), args.get("methods")
            )
        if "drop_next" in spec:
            args = spec["drop_next"]
            self.drop_next(
                int(args["n"]), args.get("methods"), after_effect=bool(args.get("after_effect"))
            )
        if "malformed_next" in spec:
            args = spec["malformed_next"]
            kind = args.get("kind", "truncated")
            if kind not in ("truncated", "no_type_webhook"):
                raise ValueError(f"unknown malformed kind {kind!r}")
            self.malformed_next(int(args["n"]), kind)
        if "redeliver_next" in spec:
            self.redeliver_next(int(spec["redeliver_next"]))
        if "send_timeout_next" in spec:
            args = spec["send_timeout_next"]
            stall = args.get("stall_s")
            self.send_timeout_next(int(args["n"]), None if stall is None else float(stall))

    def snapshot(self) -> dict[str, Any]:
        def rules(items: list[_CountedRule]) -> list[dict[str, Any]]:
            return [
                {
                    "remaining": r.remaining,
                    "methods": None if r.methods is None else sorted(r.methods),
                    "status": r.status,
                    "retry_after_s": r.retry_after_s,
                    "after_effect": r.after_effect,
                }
                for r in items
            ]

        return {
            "latency_s": self.latency_s,
            "error_rate_500": self.error_rate_500,
            "error_rate_429": self.error_rate_429,
            "drop_rate": self.drop_rate,
            "rate_methods": None if self.rate_methods is None else sorted(self.rate_methods),
            "fail_next": rules(self._fail),
            "rate_limit_next": rules(self._rate_limit),
            "drop_next": rules(self._drop),
            "malformed_next": list(self._malformed),
            "redeliver_next": self._redeliver,
            "send_timeout_next": list(self._send_timeouts),
        }


# Green API methods we serve: lower-case name -> (canonical name, HTTP verb).
_METHODS: dict[str, tuple[str, str]] = {
    name.lower(): (name, verb)
    for name, verb in (
        ("receiveNotification", "GET"),
        ("deleteNotification", "DELETE"),
        ("sendMessage", "POST"),
        ("sendFileByUrl", "POST"),
        ("getStateInstance", "GET"),
        ("getSettings", "GET"),
        ("setSettings", "POST"),
        ("lastOutgoingMessages", "GET"),
        ("getWebhooksCount", "GET"),
    )
}
_NEEDS_SENDING_STATE = frozenset({"sendMessage", "sendFileByUrl", "lastOutgoingMessages"})


def _canonical_method(name: str) -> str:
    entry = _METHODS.get(name.lower())
    return name if entry is None else entry[0]


def _default_wid(instance_id: str) -> str:
    digits = "".join(ch for ch in instance_id if ch.isdigit()) or "0"
    return f"7{digits[-10:].zfill(10)}@c.us"


class FakeInstance:
    """One Green API instance: its queue, settings, state, sent journal, and records.

    Public attributes are live (read them any time): `state`, `settings`, `deleted`
    (receipt ids in deletion order), `sent`, `notifications` (receipt id -> item, every
    item ever queued), `requests`, `request_counts` (canonical method -> count),
    `poll_intervals`, `overlap_count`, `faults`, `echo_outgoing`, `emit_state_webhooks`."""

    def __init__(
        self,
        instance_id: str,
        token: str,
        *,
        state: str,
        wid: str,
        settings: Mapping[str, Any] | None,
        echo_outgoing: bool,
        seed: int,
        reboot_s: float,
        record_requests: bool,
    ) -> None:
        self.instance_id = instance_id
        self.token = token
        self.state = state
        self.wid = wid
        self.settings: dict[str, Any] = default_settings(wid)
        if settings:
            self.settings.update(settings)
        self.echo_outgoing = echo_outgoing
        self.emit_state_webhooks = False
        """When True, `set_state` queues a stateInstanceChanged (if stateWebhook is "yes")."""
        self.reboot_s = reboot_s
        self.faults = Faults(f"{seed}:faults:{instance_id}")
        self._ids = random.Random(f"{seed}:ids:{instance_id}")
        self._record_requests = record_requests

        self._pending: deque[QueuedNotification] = deque()
        self._next_receipt_id = 1
        self._nonempty = asyncio.Event()
        self._drained = asyncio.Event()
        self._drained.set()
        self._sent_changed = asyncio.Event()
        self._reboot_handle: asyncio.TimerHandle | None = None
        self._state_before_reboot: str | None = None
        self._polls_in_flight: dict[str, int] = {}

        self.notifications: dict[int, QueuedNotification] = {}
        self.deleted: list[int] = []
        self.sent: list[SentMessage] = []
        self.requests: list[RequestRecord] = []
        self.request_counts: dict[str, int] = {}
        self.poll_intervals: list[PollInterval] = []
        self.overlap_count = 0
        self.file_sizes_mb: dict[str, float] = {}
        """Sizes of files behind URLs (default: small). Over MAX_FILE_MB, sendFileByUrl
        answers 500 "File from url exceeded max upload size" like the real service."""

    # --- queue ------------------------------------------------------------------------

    def push(self, body: Mapping[str, Any]) -> int:
        """Queue one notification body at the tail; returns its receiptId. The body is
        serialized now; later changes to the caller's dict are not served."""
        payload = json.dumps(body, ensure_ascii=False)
        return self._enqueue(dict(body), payload, wrap_raw=True, duplicate_of=None)

    def push_many(self, bodies: Iterable[Mapping[str, Any]]) -> list[int]:
        return [self.push(body) for body in bodies]

    def push_raw(self, text: str | bytes, *, wrap: bool = True) -> int:
        """Queue a malformed item. `wrap=True`: served as `{"receiptId": N, "body": <text>}`
        with `text` inserted verbatim (so it may be a JSON string, a list, or broken JSON);
        `wrap=False`: the whole response body is `text` (no usable receiptId). Bytes are
        served exactly as given (they need not be UTF-8)."""
        if isinstance(text, bytes):
            receipt_id = self._enqueue(
                None, text.decode("utf-8", errors="replace"), wrap_raw=wrap, duplicate_of=None
            )
            self.notifications[receipt_id].payload_bytes = text
            return receipt_id
        return self._enqueue(None, text, wrap_raw=wrap, duplicate_of=None)

    def _enqueue(
        self,
        body: dict[str, Any] | None,
        payload: str,
        *,
        wrap_raw: bool,
        duplicate_of: int | None,
    ) -> int:
        receipt_id = self._next_receipt_id
        self._next_receipt_id += 1
        now = _stamp()
        item = QueuedNotification(
            receipt_id, body, payload, now, wrap_raw=wrap_raw, duplicate_of=duplicate_of
        )
        self.notifications[receipt_id] = item
        self._pending.append(item)
        if len(self._pending) == 1:
            item.became_head = now
            self._nonempty.set()
            self._drained.clear()
        return receipt_id

    @property
    def pending_count(self) -> int:
        return len(self._pending)

    @property
    def pending(self) -> list[QueuedNotification]:
        """The queued items, head first."""
        return list(self._pending)

    @property
    def pending_receipt_ids(self) -> list[int]:
        return [item.receipt_id for item in self._pending]

    @property
    def pending_bodies(self) -> list[dict[str, Any]]:
        """Bodies of the queued items, head first (raw items are skipped)."""
        return [item.body for item in self._pending if item.body is not None]

    @property
    def head(self) -> QueuedNotification | None:
        return self._pending[0] if self._pending else None

    def deleted_items(self) -> list[QueuedNotification]:
        """Deleted items in deletion order (for latency figures)."""
        return [self.notifications[rid] for rid in self.deleted]

    def latencies_s(self) -> list[float]:
        """Seconds from "available" (queue head) to deleted, per deleted item, in order."""
        values = (self.notifications[rid].available_to_deleted_s for rid in self.deleted)
        return [value for value in values if value is not None]

    async def wait_drained(self, timeout_s: float) -> None:
        """Return once the queue is empty; raises TimeoutError after `timeout_s`."""
        async with asyncio.timeout(timeout_s):
            await self._drained.wait()

    async def wait_sent(self, count: int, timeout_s: float) -> None:
        """Return once at least `count` messages were sent; raises TimeoutError."""
        async with asyncio.timeout(timeout_s):
            while len(self.sent) < count:
                self._sent_changed.clear()
                await self._sent_changed.wait()

    async def _receive(self, wait_s: float) -> QueuedNotification | None:
        if self.settings.get("webhookUrl"):
            # Notifications go to the webhook URL instead; polling sees nothing.
            await asyncio.sleep(wait_s)
            return None
        if not self._pending:
            deadline = asyncio.get_running_loop().time() + wait_s
            try:
                async with asyncio.timeout_at(deadline):
                    # Loop: another poller may delete the item between wake-up and here.
                    while not self._pending:
                        await self._nonempty.wait()
            except TimeoutError:
                return None
        item = self._pending[0]
        if item.first_received is None:
            item.first_received = _stamp()
        item.receive_count += 1
        return item

    def _delete(
        self, receipt_id: int, redeliver: bool, client_id: str | None = None
    ) -> tuple[bool, str]:
        head = self._pending[0] if self._pending else None
        if head is None or head.receipt_id != receipt_id:
            item = self.notifications.get(receipt_id)
            if item is None:
                return False, f"receiptId {receipt_id} not found"
            if item.deleted is not None:
                return False, f"notification {receipt_id} was deleted earlier"
            return False, f"receiptId {receipt_id} is not the current notification"
        self._pending.popleft()
        now = _stamp()
        head.deleted = now
        head.deleted_by = client_id
        self.deleted.append(receipt_id)
        if self._pending:
            self._pending[0].became_head = now
        else:
            self._nonempty.clear()
            self._drained.set()
        if redeliver:
            self._enqueue(
                head.body, head.payload_json, wrap_raw=head.wrap_raw, duplicate_of=receipt_id
            )
        return True, ""

    # --- state & sends ----------------------------------------------------------------

    def set_state(self, state: str) -> None:
        """Set stateInstance now (cancels a pending post-setSettings reboot)."""
        if self._reboot_handle is not None:
            self._reboot_handle.cancel()
            self._reboot_handle = None
            self._state_before_reboot = None
        self._change_state(state)

    def _change_state(self, state: str) -> None:
        changed = state != self.state
        self.state = state
        if changed and self.emit_state_webhooks and self.settings.get("stateWebhook") == "yes":
            self.push(shapes.state_instance_changed(self.instance_id, state, wid=self.wid))

    def _reboot(self) -> None:
        if self.reboot_s <= 0:
            return
        if self._reboot_handle is not None:
            self._reboot_handle.cancel()
        if self._state_before_reboot is None:
            self._state_before_reboot = self.state
        self._change_state("starting")
        self._reboot_handle = asyncio.get_running_loop().call_later(
            self.reboot_s, self._finish_reboot
        )

    def _finish_reboot(self) -> None:
        previous = self._state_before_reboot or "authorized"
        self._reboot_handle = None
        self._state_before_reboot = None
        self._change_state(previous)

    def new_id_message(self) -> str:
        return f"{self._ids.getrandbits(80):020X}"

    def record_send(
        self,
        chat_id: str,
        message: str,
        *,
        client_id: str = "",
        quoted_message_id: str | None = None,
        link_preview: bool | None = None,
        typing_time_ms: int | None = None,
        url_file: str | None = None,
        file_name: str | None = None,
    ) -> SentMessage:
        """Accept a message as sendMessage does (journal + echo notifications); with
        `url_file` and `file_name` a file as sendFileByUrl does (`message` = caption)."""
        sent = SentMessage(
            id_message=self.new_id_message(),
            chat_id=chat_id,
            message=message,
            timestamp=int(time.time()),
            sent_at=_stamp(),
            client_id=client_id,
            quoted_message_id=quoted_message_id,
            link_preview=link_preview,
            typing_time_ms=typing_time_ms,
            url_file=url_file,
            file_name=file_name,
        )
        self.sent.append(sent)
        self._sent_changed.set()
        if self.echo_outgoing:
            if self.settings.get("outgoingAPIMessageWebhook") == "yes" and file_name is not None:
                self.push(
                    shapes.outgoing_api_file(
                        self.instance_id,
                        chat_id,
                        file_kind(file_name),
                        caption=message,
                        file_name=file_name,
                        mime_type=_MIME_TYPES.get(
                            _extension(file_name), "application/octet-stream"
                        ),
                        download_url=_storage_url(sent.id_message, file_name),
                        id_message=sent.id_message,
                        timestamp=sent.timestamp,
                        wid=self.wid,
                    )
                )
            elif self.settings.get("outgoingAPIMessageWebhook") == "yes":
                extended = link_preview is not False and "://" in message
                self.push(
                    shapes.outgoing_api_message(
                        self.instance_id,
                        chat_id,
                        message,
                        extended=extended,
                        id_message=sent.id_message,
                        timestamp=sent.timestamp,
                        wid=self.wid,
                    )
                )
            if self.settings.get("outgoingWebhook") == "yes":
                self.push(
                    shapes.outgoing_status(
                        self.instance_id,
                        chat_id,
                        sent.id_message,
                        "sent",
                        timestamp=sent.timestamp,
                        wid=self.wid,
                    )
                )
        return sent

    def update_status(
        self, id_message: str, status: str, *, description: str | None = None
    ) -> None:
        """Advance a sent message's status (journal) and queue an outgoingMessageStatus.
        Raises KeyError for an unknown id."""
        for sent in self.sent:
            if sent.id_message == id_message:
                sent.status = status
                self.push(
                    shapes.outgoing_status(
                        self.instance_id,
                        sent.chat_id,
                        id_message,
                        status,
                        description=description,
                        wid=self.wid,
                    )
                )
                return
        raise KeyError(id_message)

    # --- records ----------------------------------------------------------------------

    def _record(self, method: str, started: float, status: int, client_id: str) -> None:
        self.request_counts[method] = self.request_counts.get(method, 0) + 1
        if self._record_requests:
            self.requests.append(
                RequestRecord(method, started, time.monotonic(), status, client_id)
            )

    def _poll_started(self, client_id: str) -> None:
        in_flight = self._polls_in_flight
        if any(n > 0 and other != client_id for other, n in in_flight.items()):
            self.overlap_count += 1
        in_flight[client_id] = in_flight.get(client_id, 0) + 1

    def _poll_finished(self, client_id: str, started: float) -> None:
        self._polls_in_flight[client_id] -= 1
        if self._record_requests:
            self.poll_intervals.append(PollInterval(client_id, started, time.monotonic()))

    def summary(self) -> dict[str, Any]:
        return {
            "id_instance": self.instance_id,
            "state": self.state,
            "wid": self.wid,
            "pending_count": len(self._pending),
            "pending_receipt_ids": self.pending_receipt_ids,
            "deleted": list(self.deleted),
            "sent_count": len(self.sent),
            "request_counts": dict(self.request_counts),
            "overlapping_pollers": self.overlap_count,
            "echo_outgoing": self.echo_outgoing,
        }


class _Dropped(Exception):
    """Internal: the connection was closed on purpose; there is no response."""


def _text(status: int, text: str, headers: Mapping[str, str] | None = None) -> web.Response:
    return web.Response(status=status, text=text, headers=headers)


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(
        status=status, text=json.dumps(data, ensure_ascii=False), content_type="application/json"
    )


def _bad_request(message: str) -> web.Response:
    return _json(
        {
            "statusCode": 400,
            "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "message": message,
        },
        status=400,
    )


def _drop(request: web.Request) -> None:
    transport = request.transport
    if transport is not None:
        transport.close()
    raise _Dropped


_DELETED_TEXT = '{"result": true, "reason": ""}'
_HTTP_REASONS = {429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway"}

_Handler = Callable[[FakeInstance, web.Request, str], Awaitable[web.Response]]


class FakeGreenApi:
    """The fake server. Construct, `await start()` (or `async with`), add instances, point
    clients at `url`. All state is in memory; `stop()` is idempotent.

    `long_poll_scale` multiplies the receiveNotification wait (e.g. 0.05 makes an idle
    `receiveTimeout=5` poll return `null` after 0.25 s) so tests stay fast while clients
    still send valid parameters. `record_requests=False` keeps only counts (benchmarks)."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        seed: int = 0,
        echo_outgoing: bool = True,
        reboot_s: float = 0.5,
        long_poll_scale: float = 1.0,
        record_requests: bool = True,
    ) -> None:
        self.host = host
        self.port = port
        self.seed = seed
        self.echo_outgoing = echo_outgoing
        self.reboot_s = reboot_s
        self.long_poll_scale = long_poll_scale
        self.record_requests = record_requests
        self.faults = Faults(f"{seed}:faults:global")
        self.unknown_instance_requests = 0
        self._instances: dict[str, FakeInstance] = {}
        self._runner: web.AppRunner | None = None
        self._url: str | None = None
        self._handlers: dict[str, _Handler] = {
            "receiveNotification": self._receive_notification,
            "deleteNotification": self._delete_notification,
            "sendMessage": self._send_message,
            "sendFileByUrl": self._send_file_by_url,
            "getStateInstance": self._get_state_instance,
            "getSettings": self._get_settings,
            "setSettings": self._set_settings,
            "lastOutgoingMessages": self._last_outgoing_messages,
            "getWebhooksCount": self._get_webhooks_count,
        }

    # --- lifecycle --------------------------------------------------------------------

    @property
    def url(self) -> str:
        """Base URL ("http://127.0.0.1:43123"); raises RuntimeError before `start()`."""
        if self._url is None:
            raise RuntimeError("FakeGreenApi is not started")
        return self._url

    async def start(self) -> str:
        """Bind and serve; returns the base URL. Raises RuntimeError if already started."""
        if self._runner is not None:
            raise RuntimeError("FakeGreenApi already started")
        app = web.Application(client_max_size=4 * 1024 * 1024)
        self._add_routes(app)
        # handler_cancellation: a client that hangs up ends its long poll, as on the real
        # service; otherwise a killed daemon would look like a concurrent poller.
        runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port, backlog=1024)
        await site.start()
        port = int(runner.addresses[0][1])
        self._runner = runner
        self._url = f"http://{self.host}:{port}"
        log.debug("fake Green API listening on %s", self._url)
        return self._url

    async def stop(self) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()
        for instance in self._instances.values():
            if instance._reboot_handle is not None:
                instance._reboot_handle.cancel()
                instance._reboot_handle = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # --- instances --------------------------------------------------------------------

    def add_instance(
        self,
        instance_id: str,
        token: str,
        *,
        state: str = "authorized",
        wid: str | None = None,
        settings: Mapping[str, Any] | None = None,
        echo_outgoing: bool | None = None,
    ) -> FakeInstance:
        """Create an instance. Raises ValueError if the id is taken."""
        instance_id = str(instance_id)
        if instance_id in self._instances:
            raise ValueError(f"instance {instance_id} already exists")
        instance = FakeInstance(
            instance_id,
            token,
            state=state,
            wid=_default_wid(instance_id) if wid is None else wid,
            settings=settings,
            echo_outgoing=self.echo_outgoing if echo_outgoing is None else echo_outgoing,
            seed=self.seed,
            reboot_s=self.reboot_s,
            record_requests=self.record_requests,
        )
        self._instances[instance_id] = instance
        return instance

    def instance(self, instance_id: str) -> FakeInstance:
        """Raises KeyError for an unknown id."""
        return self._instances[str(instance_id)]

    @property
    def instances(self) -> Mapping[str, FakeInstance]:
        return self._instances

    def overlapping_pollers(self, instance_id: str) -> int:
        """How many times a receiveNotification started on this instance while another
        client id already had one in flight (0 = pollers never overlapped)."""
        return self.instance(instance_id).overlap_count

    def latency_summary(self) -> dict[str, Any]:
        """Available-to-deleted latency over every deleted item of every instance:
        count, mean, p50, p95, p99, max (seconds; None when nothing was deleted)."""
        values = sorted(v for inst in self._instances.values() for v in inst.latencies_s())
        if not values:
            return {
                "count": 0,
                "mean_s": None,
                "p50_s": None,
                "p95_s": None,
                "p99_s": None,
                "max_s": None,
            }

        def pick(fraction: float) -> float:
            return values[min(len(values) - 1, int(fraction * len(values)))]

        return {
            "count": len(values),
            "mean_s": sum(values) / len(values),
            "p50_s": pick(0.50),
            "p95_s": pick(0.95),
            "p99_s": pick(0.99),
            "max_s": values[-1],
        }

    def stats(self) -> dict[str, Any]:
        """Totals over all instances (O(instances); for reports, not per request)."""
        per_method: dict[str, int] = {}
        pending = deleted = sent = overlaps = 0
        for inst in self._instances.values():
            for method, count in inst.request_counts.items():
                per_method[method] = per_method.get(method, 0) + count
            pending += len(inst._pending)
            deleted += len(inst.deleted)
            sent += len(inst.sent)
            overlaps += inst.overlap_count
        return {
            "instances": len(self._instances),
            "requests": sum(per_method.values()),
            "request_counts": per_method,
            "unknown_instance_requests": self.unknown_instance_requests,
            "pending": pending,
            "deleted": deleted,
            "sent": sent,
            "overlapping_pollers": overlaps,
        }

    # --- Green API dispatch -----------------------------------------------------------

    def _add_routes(self, app: web.Application) -> None:
        api = "/waInstance{instance_id}/{method}/{token}"
        app.router.add_route("*", api, self._dispatch)
        app.router.add_route("*", api + "/{arg}", self._dispatch)
        app.router.add_get("/_fake/health", self._c_health)
        app.router.add_get("/_fake/stats", self._c_stats)
        app.router.add_get("/_fake/latency", self._c_latency)
        app.router.add_get("/_fake/faults", self._c_global_faults)
        app.router.add_post("/_fake/faults", self._c_global_faults)
        app.router.add_get("/_fake/instances", self._c_list)
        app.router.add_post("/_fake/instances", self._c_create)
        base = "/_fake/instances/{instance_id}"
        app.router.add_get(base, self._c_summary)
        app.router.add_post(base + "/notifications", self._c_push)
        app.router.add_get(base + "/notifications", self._c_timeline)
        app.router.add_post(base + "/notifications/raw", self._c_push_raw)
        app.router.add_get(base + "/sent", self._c_sent)
        app.router.add_get(base + "/requests", self._c_requests)
        app.router.add_get(base + "/polls", self._c_polls)
        app.router.add_post(base + "/state", self._c_state)
        app.router.add_post(base + "/message-status", self._c_message_status)
        app.router.add_get(base + "/faults", self._c_faults)
        app.router.add_post(base + "/faults", self._c_faults)

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        started = time.monotonic()
        match = request.match_info
        instance = self._instances.get(match["instance_id"])
        if instance is None:
            self.unknown_instance_requests += 1
            if not match["instance_id"].isdigit():
                return _bad_request("Parameter idInstance not an integer")
            return _text(403, "Forbidden")
        entry = _METHODS.get(match["method"].lower())
        method = match["method"] if entry is None else entry[0]
        client_id = request.headers.get(CLIENT_HEADER, "")
        status = 499
        try:
            response = await self._serve(instance, request, method, entry, client_id)
            status = response.status
            return response
        except _Dropped:
            status = 0
            # The transport is closed; aiohttp discards whatever we return here.
            return web.Response(status=500)
        finally:
            instance._record(method, started, status, client_id)

    async def _serve(
        self,
        instance: FakeInstance,
        request: web.Request,
        method: str,
        entry: tuple[str, str] | None,
        client_id: str,
    ) -> web.Response:
        if request.match_info["token"] != instance.token:
            return _text(401, "Unauthorized")
        if entry is None or request.method != entry[1]:
            return _text(404, "Not Found")
        latency_s = instance.faults.latency_s + self.faults.latency_s
        if latency_s > 0:
            await asyncio.sleep(latency_s)
        fault: _CountedRule | None = None
        if instance.faults.has_http_faults:
            fault = instance.faults.take_http_fault(method)
        if fault is None and self.faults.has_http_faults:
            fault = self.faults.take_http_fault(method)
        if fault is not None and not fault.after_effect:
            if fault.status == 0:
                _drop(request)
            headers = None
            if fault.status == 429 and fault.retry_after_s is not None:
                headers = {"Retry-After": _retry_after_value(fault.retry_after_s)}
            return _text(fault.status, _HTTP_REASONS.get(fault.status, "Error"), headers)
        if method in _NEEDS_SENDING_STATE and instance.state not in _SENDING_STATES:
            return _bad_request(_STATE_ERRORS.get(instance.state, _GENERIC_STATE_ERROR))
        response = await self._handlers[method](instance, request, client_id)
        if fault is not None:  # drop with after_effect: the work is done, the answer is lost
            _drop(request)
        return response

    async def _receive_notification(
        self, instance: FakeInstance, request: web.Request, client_id: str
    ) -> web.Response:
        raw_timeout = request.query.get("receiveTimeout")
        timeout_s = RECEIVE_TIMEOUT_DEFAULT_S
        if raw_timeout is not None:
            try:
                timeout_s = int(raw_timeout)
            except ValueError:
                return _bad_request("Validation failed. Details: 'receiveTimeout' must be a number")
            if not RECEIVE_TIMEOUT_MIN_S <= timeout_s <= RECEIVE_TIMEOUT_MAX_S:
                return _bad_request(
                    "Validation failed. Details: 'receiveTimeout' must be between "
                    f"{RECEIVE_TIMEOUT_MIN_S} and {RECEIVE_TIMEOUT_MAX_S}"
                )
        started = time.monotonic()
        instance._poll_started(client_id)
        try:
            item = await instance._receive(timeout_s * self.long_poll_scale)
        finally:
            instance._poll_finished(client_id, started)
        if item is None:
            return _json(None)
        payload = item.response_bytes()
        kind = instance.faults.take_malformed() or self.faults.take_malformed()
        if kind == "truncated":
            payload = payload[: max(1, len(payload) // 2)]
        elif kind == "no_type_webhook":
            body = dict(item.body) if item.body is not None else {}
            body.pop("typeWebhook", None)
            text = json.dumps({"receiptId": item.receipt_id, "body": body}, ensure_ascii=False)
            payload = text.encode()
        return web.Response(body=payload, content_type="application/json")

    async def _delete_notification(
        self, instance: FakeInstance, request: web.Request, client_id: str
    ) -> web.Response:
        arg = request.match_info.get("arg")
        if arg is None or not arg.isdigit():
            return _bad_request("Validation failed. Details: 'receiptId' must be a number")
        receipt_id = int(arg)
        is_head = instance.head is not None and instance.head.receipt_id == receipt_id
        redeliver = is_head and (instance.faults.take_redeliver() or self.faults.take_redeliver())
        result, reason = instance._delete(receipt_id, redeliver, client_id)
        if result:
            return web.Response(text=_DELETED_TEXT, content_type="application/json")
        return _json({"result": False, "reason": reason})

    async def _send_message(
        self, instance: FakeInstance, request: web.Request, client_id: str
    ) -> web.Response:
        raw = await request.read()
        try:
            payload = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            return _bad_request("Unexpected token in JSON at position 0")
        if not isinstance(payload, dict):
            return _bad_request("bad request data")
        chat_id = payload.get("chatId")
        message = payload.get("message")
        if not isinstance(chat_id, str) or not chat_id:
            return _bad_request("Validation failed. Details: 'chatId' is required")
        if not chat_id.endswith(("@c.us", "@g.us", "@lid")):
            return _bad_request("Validation failed. Details: 'chatId' is not valid")
        if not isinstance(message, str) or not message:
            return _bad_request("Validation failed. Details: 'message' is required")
        if len(message) > MAX_MESSAGE_CHARS:
            return _bad_request(
                "Validation failed. Details: 'message' length must be less than or equal "
                f"to {MAX_MESSAGE_CHARS} characters long"
            )
        quoted = payload.get("quotedMessageId")
        link_preview = payload.get("linkPreview")
        typing_time = payload.get("typingTime")
        if quoted is not None and not isinstance(quoted, str):
            return _bad_request("Validation failed. Details: 'quotedMessageId' must be a string")
        if link_preview is not None and not isinstance(link_preview, bool):
            return _bad_request("Validation failed. Details: 'linkPreview' must be a boolean")
        if typing_time is not None and (
            not isinstance(typing_time, int) or not 1000 <= typing_time <= 20000
        ):
            return _bad_request(
                "Validation failed. Details: 'typingTime' must be between 1000 and 20000"
            )
        sent = instance.record_send(
            chat_id,
            message,
            client_id=client_id,
            quoted_message_id=quoted,
            link_preview=link_preview,
            typing_time_ms=typing_time,
        )
        timed_out, stall_s = instance.faults.take_send_timeout()
        if not timed_out:
            timed_out, stall_s = self.faults.take_send_timeout()
        if timed_out:
            if stall_s is None:
                return _text(504, "Gateway Timeout")
            await asyncio.sleep(stall_s)
        return _json({"idMessage": sent.id_message})

    async def _send_file_by_url(
        self, instance: FakeInstance, request: web.Request, client_id: str
    ) -> web.Response:
        raw = await request.read()
        try:
            payload = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            return _bad_request("Unexpected token in JSON at position 0")
        if not isinstance(payload, dict):
            return _bad_request("bad request data")
        chat_id = payload.get("chatId")
        if not isinstance(chat_id, str) or not chat_id:
            return _bad_request("Validation failed. Details: 'chatId' is required")
        if not chat_id.endswith(("@c.us", "@g.us", "@lid")):
            return _bad_request("Validation failed. Details: 'chatId' is not valid")
        for key in ("urlFile", "fileName"):
            value = payload.get(key)
            if not isinstance(value, str) or not value:
                return _bad_request(f"Validation failed. Details: '{key}' is required")
        url_file, file_name = str(payload["urlFile"]), str(payload["fileName"])
        if not _extension(file_name):
            return _bad_request(
                "Validation failed. Details: 'fileName' must contain the file extension"
            )
        caption = payload.get("caption", "")
        if not isinstance(caption, str):
            return _bad_request("Validation failed. Details: 'caption' must be a string")
        if len(caption) > MAX_MESSAGE_CHARS:
            return _bad_request(
                "Validation failed. Details: 'caption' length must be less than or equal "
                f"to {MAX_MESSAGE_CHARS} characters long"
            )
        quoted = payload.get("quotedMessageId")
        if quoted is not None and not isinstance(quoted, str):
            return _bad_request("Validation failed. Details: 'quotedMessageId' must be a string")
        size_mb = instance.file_sizes_mb.get(url_file, 0.0)
        if size_mb > MAX_FILE_MB:
            return _text(
                500,
                f"File from url exceeded max upload size. Size: {size_mb:.0f}mb "
                f"Limit: {MAX_FILE_MB}mb",
            )
        sent = instance.record_send(
            chat_id,
            caption,
            client_id=client_id,
            quoted_message_id=quoted,
            url_file=url_file,
            file_name=file_name,
        )
        timed_out, stall_s = instance.faults.take_send_timeout()
        if not timed_out:
            timed_out, stall_s = self.faults.take_send_timeout()
        if timed_out:
            if stall_s is None:
                return _text(504, "Gateway Timeout")
            await asyncio.sleep(stall_s)
        return _json({"idMessage": sent.id_message})

    async def _get_state_instance(
        self, instance: FakeInstance, request: web.Request, client_id: str
    ) -> web.Response:
        return _json({"stateInstance": instance.state})

    async def _get_settings(
        self, instance: FakeInstance, request: web.Request, client_id: str
    ) -> web.Response:
        return _json({**instance.settings, "wid": instance.wid})

    async def _set_settings(
        self, instance: FakeInstance, request: web.Request, client_id: str
    ) -> web.Response:
        try:
            payload = json.loads(await request.read() or b"{}")
        except (ValueError, UnicodeDecodeError):
            return _bad_request("Unexpected token in JSON at position 0")
        if not isinstance(payload, dict):
            return _bad_request("bad request data")
        changes: dict[str, Any] = {}
        for key, value in payload.items():
            if key in _READ_ONLY_SETTINGS or key not in instance.settings:
                continue  # unknown keys are ignored, as lenient APIs do
            if key in _TOGGLE_SETTINGS and value not in ("yes", "no"):
                return _bad_request(f"Validation failed. Details: '{key}' must be 'yes' or 'no'")
            if key == "delaySendMessagesMilliseconds" and (
                not isinstance(value, int) or not 500 <= value <= 600000
            ):
                return _bad_request(
                    "Validation failed. Details: 'delaySendMessagesMilliseconds' must be "
                    "between 500 and 600000"
                )
            if key in ("webhookUrl", "webhookUrlToken") and not isinstance(value, str):
                return _bad_request(f"Validation failed. Details: '{key}' must be a string")
            changes[key] = value
        instance.settings.update(changes)
        instance._reboot()
        return _json({"saveSettings": True})

    async def _last_outgoing_messages(
        self, instance: FakeInstance, request: web.Request, client_id: str
    ) -> web.Response:
        try:
            minutes = int(request.query.get("minutes", "1440"))
        except ValueError:
            return _bad_request("Validation failed. Details: 'minutes' must be a number")
        since = time.time() - minutes * 60
        journal = [
            sent.journal_entry() for sent in reversed(instance.sent) if sent.sent_at.wall >= since
        ]
        return _json(journal)

    async def _get_webhooks_count(
        self, instance: FakeInstance, request: web.Request, client_id: str
    ) -> web.Response:
        return _json({"count": instance.pending_count})

    # --- control API ------------------------------------------------------------------

    def _c_instance(self, request: web.Request) -> FakeInstance:
        instance = self._instances.get(request.match_info["instance_id"])
        if instance is None:
            raise web.HTTPNotFound(text="no such instance")
        return instance

    async def _c_health(self, request: web.Request) -> web.Response:
        return _json({"ok": True})

    async def _c_stats(self, request: web.Request) -> web.Response:
        return _json(self.stats())

    async def _c_latency(self, request: web.Request) -> web.Response:
        return _json(self.latency_summary())

    async def _c_list(self, request: web.Request) -> web.Response:
        return _json({"instances": [inst.summary() for inst in self._instances.values()]})

    async def _c_create(self, request: web.Request) -> web.Response:
        spec = await _control_json(request)
        try:
            instance = self.add_instance(
                str(spec["id_instance"]),
                str(spec["token"]),
                state=str(spec.get("state", "authorized")),
                wid=spec.get("wid"),
                settings=spec.get("settings"),
                echo_outgoing=spec.get("echo_outgoing"),
            )
        except KeyError as exc:
            raise web.HTTPBadRequest(text=f"missing {exc}") from exc
        except ValueError as exc:
            raise web.HTTPConflict(text=str(exc)) from exc
        return _json(instance.summary(), status=201)

    async def _c_summary(self, request: web.Request) -> web.Response:
        return _json(self._c_instance(request).summary())

    async def _c_push(self, request: web.Request) -> web.Response:
        instance = self._c_instance(request)
        spec = await _control_json(request)
        bodies = spec if isinstance(spec, list) else [spec]
        if not all(isinstance(body, dict) for body in bodies):
            raise web.HTTPBadRequest(text="expected a JSON object or an array of objects")
        return _json({"receipt_ids": instance.push_many(bodies)})

    async def _c_push_raw(self, request: web.Request) -> web.Response:
        instance = self._c_instance(request)
        wrap = request.query.get("wrap", "1") not in ("0", "false", "no")
        receipt_id = instance.push_raw(await request.text(), wrap=wrap)
        return _json({"receipt_ids": [receipt_id]})

    async def _c_timeline(self, request: web.Request) -> web.Response:
        instance = self._c_instance(request)
        return _json([item.as_dict() for item in instance.notifications.values()])

    async def _c_sent(self, request: web.Request) -> web.Response:
        return _json([sent.as_dict() for sent in self._c_instance(request).sent])

    async def _c_requests(self, request: web.Request) -> web.Response:
        instance = self._c_instance(request)
        since = int(request.query.get("since", "0"))
        return _json([record._asdict() for record in instance.requests[since:]])

    async def _c_polls(self, request: web.Request) -> web.Response:
        instance = self._c_instance(request)
        return _json(
            {
                "overlapping_pollers": instance.overlap_count,
                "intervals": [interval._asdict() for interval in instance.poll_intervals],
            }
        )

    async def _c_state(self, request: web.Request) -> web.Response:
        instance = self._c_instance(request)
        spec = await _control_json(request)
        if not isinstance(spec, dict) or not isinstance(spec.get("state"), str):
            raise web.HTTPBadRequest(text='expected {"state": "..."}')
        instance.set_state(spec["state"])
        return _json(instance.summary())

    async def _c_message_status(self, request: web.Request) -> web.Response:
        instance = self._c_instance(request)
        spec = await _control_json(request)
        try:
            instance.update_status(
                str(spec["id_message"]), str(spec["status"]), description=spec.get("description")
            )
        except KeyError as exc:
            raise web.HTTPNotFound(text=f"unknown {exc}") from exc
        return _json({"ok": True})

    async def _c_faults(self, request: web.Request) -> web.Response:
        return await _control_faults(request, self._c_instance(request).faults)

    async def _c_global_faults(self, request: web.Request) -> web.Response:
        return await _control_faults(request, self.faults)


async def _control_json(request: web.Request) -> Any:
    try:
        return await request.json()
    except ValueError as exc:
        raise web.HTTPBadRequest(text="invalid JSON") from exc


async def _control_faults(request: web.Request, faults: Faults) -> web.Response:
    if request.method == "POST":
        spec = await _control_json(request)
        if not isinstance(spec, dict):
            raise web.HTTPBadRequest(text="expected a JSON object")
        try:
            faults.apply(spec)
        except (KeyError, TypeError, ValueError) as exc:
            raise web.HTTPBadRequest(text=f"bad fault spec: {exc}") from exc
    return _json(faults.snapshot())


def _retry_after_value(retry_after_s: float) -> str:
    # The header takes whole seconds; keep fractional values for fast tests.
    if retry_after_s == int(retry_after_s):
        return str(int(retry_after_s))
    return f"{retry_after_s:g}"


# --- standalone -----------------------------------------------------------------------


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m hotelbot.fakes.greenapi",
        description="Run the fake Green API server until Ctrl+C.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 = let the OS pick")
    parser.add_argument(
        "--instance",
        action="append",
        default=[],
        metavar="ID:TOKEN[:STATE]",
        help="create an instance (repeatable)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-echo", action="store_true", help="do not echo sends as notifications")
    parser.add_argument("--reboot-s", type=float, default=0.5)
    parser.add_argument("--long-poll-scale", type=float, default=1.0)
    parser.add_argument(
        "--no-request-log", action="store_true", help="keep request counts only (benchmarks)"
    )
    return parser.parse_args(argv)


async def _serve_forever(args: argparse.Namespace) -> None:
    server = FakeGreenApi(
        host=args.host,
        port=args.port,
        seed=args.seed,
        echo_outgoing=not args.no_echo,
        reboot_s=args.reboot_s,
        long_poll_scale=args.long_poll_scale,
        record_requests=not args.no_request_log,
    )
    for spec in args.instance:
        parts = spec.split(":")
        if len(parts) not in (2, 3):
            raise SystemExit(f"--instance expects ID:TOKEN[:STATE], got {spec!r}")
        state = parts[2] if len(parts) == 3 else "authorized"
        server.add_instance(parts[0], parts[1], state=state)
    async with server:
        sys.stdout.write(f"{server.url}\n")
        for instance_id in server.instances:
            sys.stdout.write(f"  instance {instance_id}\n")
        sys.stdout.flush()
        await asyncio.Event().wait()


def main(argv: list[str] | None = None) -> None:
    args = _parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve_forever(args))


if __name__ == "__main__":
    main()

"""Green API client for one instance: the methods hotelbot uses, with typed results and errors.

Every call has an explicit timeout; the long poll's read timeout is receiveTimeout plus a
margin so an idle poll is not mistaken for a dead network. The token sits in the URL path:
it never appears in our exceptions or reprs (see errors.py and `InstanceCredentials`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hotelbot.domain.inbound import Delivery, MalformedDelivery
from hotelbot.greenapi.envelope import parse_receive_response
from hotelbot.greenapi.errors import (
    BadRequest,
    BadResponse,
    GreenApiError,
    InstanceNotReady,
    NetworkError,
    QuotaExceeded,
    RateLimited,
    ServerError,
    Unauthorized,
)
from hotelbot.greenapi.transport import RawResponse, Transport
from hotelbot.observability import metrics

# Settings hotelbot needs for HTTP-API polling (strings "yes"/"no" as Green API wants them).
REQUIRED_SETTINGS: dict[str, str] = {
    "webhookUrl": "",
    "incomingWebhook": "yes",
    "outgoingWebhook": "yes",
    "outgoingAPIMessageWebhook": "yes",
    "outgoingMessageWebhook": "yes",
    "stateWebhook": "yes",
    "editedMessageWebhook": "yes",
    "deletedMessageWebhook": "yes",
    # Calls reach the queue only with this (beta) switch: a missed call is a guest signal.
    "incomingCallWebhook": "yes",
}


@dataclass(frozen=True, slots=True)
class InstanceSettings:
    """The instance settings that decide whether notifications reach the HTTP queue
    (getSettings; Green API writes the switches as "yes"/"no")."""

    webhook_url: str
    switches: Mapping[str, bool]  # the REQUIRED_SETTINGS switches by their wire name

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> InstanceSettings:
        url = data.get("webhookUrl")
        return cls(
            webhook_url=url if isinstance(url, str) else "",
            switches={
                name: data.get(name) == "yes" for name in REQUIRED_SETTINGS if name != "webhookUrl"
            },
        )

    def on(self, name: str) -> bool:
        return self.switches.get(name, False)

    @property
    def reaches_queue(self) -> bool:
        """Guest messages reach the HTTP queue (no webhook URL, incoming switch on)."""
        return not self.webhook_url and self.on("incomingWebhook")

    def problems(self) -> list[str]:
        """What keeps notifications from reaching the HTTP queue (empty list = fine)."""
        problems = []
        if self.webhook_url:
            problems.append("webhookUrl is set: notifications go to that URL instead of the queue")
        if not self.on("incomingWebhook"):
            problems.append("incomingWebhook is off: guest messages are not queued")
        for key in (
            "outgoingWebhook",
            "outgoingAPIMessageWebhook",
            "outgoingMessageWebhook",
            "stateWebhook",
        ):
            if not self.on(key):
                problems.append(f"{key} is off (recommended on)")
        if not self.on("incomingCallWebhook"):
            problems.append(
                "incomingCallWebhook is off (recommended on): missed WhatsApp calls never reach "
                "staff"
            )
        return problems


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One lastOutgoingMessages entry, reduced to what identifies a message we sent: a text
    (`text`, `file_name` None), or a file (`file_name` set, `text` its caption, "" without
    one). `timestamp`: Unix seconds, None when the entry has none."""

    id_message: str
    chat_id: str
    type_message: str
    text: str | None
    file_name: str | None
    timestamp: float | None
    download_url: str | None = None

    @classmethod
    def of(cls, entry: Mapping[str, Any]) -> JournalEntry | None:
        """None for an entry without an idMessage (nothing could match it)."""
        id_message = entry.get("idMessage")
        if not isinstance(id_message, str):
            return None
        stamp = entry.get("timestamp")
        timestamp = (
            float(stamp) if isinstance(stamp, int | float) and not isinstance(stamp, bool) else None
        )
        chat_id, kind = str(entry.get("chatId")), _str_or_none(entry.get("typeMessage")) or ""
        file_name = entry.get("fileName")
        if isinstance(file_name, str) and "textMessage" not in entry:
            return cls(
                id_message,
                chat_id,
                kind,
                _str_or_none(entry.get("caption")) or "",
                file_name,
                timestamp,
                _str_or_none(entry.get("downloadUrl")),
            )
        text = _str_or_none(entry.get("textMessage"))
        extended = entry.get("extendedTextMessage")
        if text is None and isinstance(extended, dict):
            text = _str_or_none(extended.get("text"))
        return cls(id_message, chat_id, kind, text, None, timestamp)


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


@dataclass(frozen=True, slots=True)
class InstanceCredentials:
    api_url: str
    instance_id: str
    token: str = field(repr=False)

    def __repr__(self) -> str:
        return f"InstanceCredentials(api_url={self.api_url!r}, instance_id={self.instance_id!r})"


def _retry_after_s(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None  # HTTP-date form: rare here, fall back to our own backoff
    return seconds if 0 <= seconds <= 3600 else None


def raise_for_status(method: str, response: RawResponse) -> None:
    """Map an HTTP status to our error classes; 200 passes."""
    status = response.status
    if status == 200:
        return
    if status in (401, 403):
        raise Unauthorized(method, f"HTTP {status}: check the instance id and token", status=status)
    if status == 429:
        raise RateLimited(method, _retry_after_s(response.retry_after))
    if status == 466:
        raise QuotaExceeded(method, "HTTP 466: monthly quota exceeded", status=status)
    text = response.body[:300].decode("utf-8", errors="replace").lower()
    if status == 500 and "exceeded max upload size" in text:
        # sendFileByUrl: the file at the URL is larger than Green API takes (100 MB).
        # Sending it again cannot help; the operator must point to a smaller file.
        raise BadRequest(method, "HTTP 500: the file is larger than Green API accepts (100 MB)")
    if status >= 500:
        raise ServerError(method, f"HTTP {status}", status=status)
    if status == 400 and ("starting" in text or "not authorized" in text):
        raise InstanceNotReady(method, f"HTTP 400: {text.strip()[:120]}", status=status)
    raise BadRequest(method, f"HTTP {status}", status=status)


class GreenApiClient:
    """Calls for one Green API instance over a shared or per-hotel transport.

    Raises GreenApiError subclasses only (NetworkError comes from the transport).
    """

    def __init__(
        self,
        credentials: InstanceCredentials,
        transport: Transport,
        *,
        receive_timeout_s: int = 20,
        request_timeout_s: float = 15.0,
        poll_timeout_margin_s: float = 10.0,
    ) -> None:
        self.credentials = credentials
        self._transport = transport
        self.receive_timeout_s = receive_timeout_s
        self._request_timeout_s = request_timeout_s
        self._poll_margin_s = poll_timeout_margin_s
        base = credentials.api_url.rstrip("/")
        self._prefix = f"{base}/waInstance{credentials.instance_id}/"
        self._suffix = f"/{credentials.token}"

    def _url(self, method: str, path_arg: str = "", query: str = "") -> str:
        url = self._prefix + method + self._suffix
        if path_arg:
            url += "/" + path_arg
        if query:
            url += "?" + query
        return url

    async def _call(
        self,
        http_method: str,
        method: str,
        *,
        path_arg: str = "",
        query: str = "",
        body: dict[str, Any] | None = None,
        timeout_s: float | None = None,
    ) -> RawResponse:
        payload = None if body is None else json.dumps(body, ensure_ascii=False).encode()
        started = time.perf_counter()
        try:
            response = await self._transport.request(
                http_method,
                self._url(method, path_arg, query),
                api_method=method,
                json_body=payload,
                timeout_s=timeout_s or self._request_timeout_s,
            )
            raise_for_status(method, response)
        except GreenApiError as exc:
            _count_request(method, request_outcome(exc), time.perf_counter() - started)
            raise
        _count_request(method, "ok", time.perf_counter() - started)
        return response

    async def _call_json(self, http_method: str, method: str, **kwargs: Any) -> Any:
        response = await self._call(http_method, method, **kwargs)
        try:
            return json.loads(response.body)
        except ValueError:
            raise BadResponse(method, "response is not JSON") from None

    async def receive_notification(
        self, receive_timeout_s: int | None = None
    ) -> Delivery | MalformedDelivery | None:
        """Long poll: the queue head, or None when nothing arrived within receiveTimeout.

        Receiving does not dequeue: the same item comes back until it is deleted, so this
        call may be cancelled at any moment without losing anything.
        """
        wait_s = receive_timeout_s or self.receive_timeout_s
        response = await self._call(
            "GET",
            "receiveNotification",
            query=f"receiveTimeout={wait_s}",
            timeout_s=wait_s + self._poll_margin_s,
        )
        return parse_receive_response(response.body)

    async def delete_notification(self, receipt_id: int) -> bool:
        """Dequeue an item. False = it was already gone (deleted before, or not the head):
        idempotent, the caller treats both as done."""
        data = await self._call_json("DELETE", "deleteNotification", path_arg=str(receipt_id))
        if not isinstance(data, dict) or not isinstance(data.get("result"), bool):
            raise BadResponse("deleteNotification", 'expected {"result": bool}')
        return bool(data["result"])

    async def send_message(
        self,
        chat_id: str,
        text: str,
        *,
        quoted_message_id: str | None = None,
        timeout_s: float | None = None,
    ) -> str:
        """Queue a text message at Green API; returns its idMessage. `timeout_s` overrides
        the client's request timeout (staff alerts use a shorter one).

        NOT idempotent: on NetworkError(request_sent=True) or a 502/504 ServerError the message
        may have been queued. Callers must reconcile before resending (see the outbox).
        """
        body: dict[str, Any] = {"chatId": chat_id, "message": text}
        if quoted_message_id:
            body["quotedMessageId"] = quoted_message_id
        data = await self._call_json("POST", "sendMessage", body=body, timeout_s=timeout_s)
        if not isinstance(data, dict) or not isinstance(data.get("idMessage"), str):
            raise BadResponse("sendMessage", 'expected {"idMessage": str}')
        return str(data["idMessage"])

    async def send_file_by_url(
        self,
        chat_id: str,
        url_file: str,
        file_name: str,
        *,
        caption: str | None = None,
        timeout_s: float | None = None,
    ) -> str:
        """Queue a file that Green API fetches from `url_file`; returns its idMessage.
        WhatsApp shows it by `file_name`'s extension (photo, video, document); `caption`
        is shown under it. Same ambiguity as `send_message`: NOT idempotent, reconcile
        before resending after a NetworkError(request_sent=True) or a 502/504."""
        body: dict[str, Any] = {"chatId": chat_id, "urlFile": url_file, "fileName": file_name}
        if caption:
            body["caption"] = caption
        data = await self._call_json("POST", "sendFileByUrl", body=body, timeout_s=timeout_s)
        if not isinstance(data, dict) or not isinstance(data.get("idMessage"), str):
            raise BadResponse("sendFileByUrl", 'expected {"idMessage": str}')
        return str(data["idMessage"])

    async def get_state_instance(self) -> str:
        data = await self._call_json("GET", "getStateInstance")
        if not isinstance(data, dict) or not isinstance(data.get("stateInstance"), str):
            raise BadResponse("getStateInstance", 'expected {"stateInstance": str}')
        return str(data["stateInstance"])

    async def get_settings(self) -> InstanceSettings:
        data = await self._call_json("GET", "getSettings")
        if not isinstance(data, dict):
            raise BadResponse("getSettings", "expected an object")
        return InstanceSettings.of(data)

    async def set_settings(self, settings: dict[str, str]) -> bool:
        """Change instance settings. Green API restarts the instance to apply them (up to 5 min)."""
        data = await self._call_json("POST", "setSettings", body=dict(settings))
        if not isinstance(data, dict):
            raise BadResponse("setSettings", "expected an object")
        return bool(data.get("saveSettings"))

    async def last_outgoing_messages(self, minutes: int = 60) -> list[JournalEntry]:
        """Journal of recently sent messages (1 request/s limit at Green API); entries without
        an idMessage are left out."""
        data = await self._call_json("GET", "lastOutgoingMessages", query=f"minutes={minutes}")
        if not isinstance(data, list):
            raise BadResponse("lastOutgoingMessages", "expected an array")
        entries = (JournalEntry.of(item) for item in data if isinstance(item, dict))
        return [entry for entry in entries if entry is not None]


_OUTCOMES: dict[type[GreenApiError], str] = {
    RateLimited: "rate_limited",
    Unauthorized: "unauthorized",
    QuotaExceeded: "quota",
    InstanceNotReady: "not_ready",
    BadRequest: "client_error",
    ServerError: "server_error",
    BadResponse: "bad_response",
    NetworkError: "network",
}


def request_outcome(exc: GreenApiError) -> str:
    """The `outcome` label of a failed request (hotelbot_greenapi_requests_total)."""
    return _OUTCOMES.get(type(exc), "other")


def _count_request(method: str, outcome: str, elapsed_s: float) -> None:
    name = metrics.bounded(method, metrics.API_METHODS)
    metrics.GREENAPI_REQUESTS.labels(name, outcome).inc()
    metrics.GREENAPI_LATENCY.labels(name).observe(elapsed_s)


__all__ = [
    "REQUIRED_SETTINGS",
    "GreenApiClient",
    "GreenApiError",
    "InstanceCredentials",
    "InstanceSettings",
    "JournalEntry",
]

"""Green API errors, classified by what the caller should do about them.

Messages never contain the instance token: they are built from the method name and status only.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorClass(StrEnum):
    TRANSIENT = "transient"  # retry with backoff: network, 5xx, 429, instance starting
    HOTEL_FATAL = "hotel_fatal"  # this hotel cannot work until an operator acts: 401/403, 466
    BUG = "bug"  # our request or their response makes no sense; log loudly, back off


class GreenApiError(Exception):
    """Base of Green API failures. `method` is the API method; `status` the HTTP status or None."""

    error_class = ErrorClass.TRANSIENT

    def __init__(self, method: str, message: str, *, status: int | None = None) -> None:
        self.method = method
        self.status = status
        super().__init__(f"{method}: {message}")


class Unauthorized(GreenApiError):
    """401 (wrong apiTokenInstance) or 403 (wrong idInstance / host)."""

    error_class = ErrorClass.HOTEL_FATAL


class QuotaExceeded(GreenApiError):
    """466: the Developer plan's monthly quota is used up."""

    error_class = ErrorClass.HOTEL_FATAL


class RateLimited(GreenApiError):
    """429. `retry_after_s` comes from a Retry-After header when the server sent one."""

    def __init__(self, method: str, retry_after_s: float | None) -> None:
        super().__init__(method, "rate limited (HTTP 429)", status=429)
        self.retry_after_s = retry_after_s


class ServerError(GreenApiError):
    """5xx. For sendMessage, 502/504 are ambiguous (the message may have been queued)."""

    @property
    def maybe_applied(self) -> bool:
        return self.status in (502, 504) or self.status is None


class InstanceNotReady(GreenApiError):
    """400 while the instance is starting or not authorized (QR code not scanned)."""


class BadRequest(GreenApiError):
    """Another 4xx: our request is wrong. Retrying the same request will not help."""

    error_class = ErrorClass.BUG


class BadResponse(GreenApiError):
    """The response could not be understood (not JSON, unexpected shape)."""


class NetworkError(GreenApiError):
    """No HTTP response. `request_sent` is False when the request surely never left
    (connection refused, connect timeout, pool timeout); True when it may have reached the
    server (read timeout, connection reset after sending): ambiguous for non-idempotent calls.
    """

    def __init__(self, method: str, message: str, *, request_sent: bool) -> None:
        super().__init__(method, message)
        self.request_sent = request_sent

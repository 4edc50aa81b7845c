"""The HTTP seam under the Green API client: one small protocol, an httpx implementation.

The client builds URLs and interprets responses; a transport only moves bytes. This keeps the
choice of HTTP library (httpx by default; an aiohttp transport may join it) out of the client,
and lets a benchmark compare them behind the same adapter.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from typing import Protocol

import httpx

from hotelbot.greenapi.errors import NetworkError


@dataclass(frozen=True, slots=True)
class RawResponse:
    status: int
    body: bytes
    retry_after: str | None = None


class Transport(Protocol):
    async def request(
        self,
        method: str,
        url: str,
        *,
        api_method: str,
        json_body: bytes | None = None,
        timeout_s: float,
    ) -> RawResponse:
        """Send one request. Raises NetworkError (never the library's own exceptions, whose
        messages may contain the URL and so the token)."""
        ...

    async def aclose(self) -> None: ...


_JSON_HEADERS = {"Content-Type": "application/json"}


class HttpxTransport:
    """httpx.AsyncClient-backed transport.

    `max_connections` must exceed the number of long polls that share this client, or deletes
    and sends queue behind idle polls (pool starvation). The daemon gives each hotel its own
    small client sharing one SSL context: httpcore scans every pooled connection for each
    request, so one huge shared pool costs CPU per request that grows with the hotel count.
    """

    def __init__(
        self,
        *,
        connect_timeout_s: float,
        max_connections: int = 4,
        ssl_context: ssl.SSLContext | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self._connect_timeout_s = connect_timeout_s
        self._client = httpx.AsyncClient(
            verify=ssl_context if ssl_context is not None else True,
            limits=httpx.Limits(
                max_connections=max_connections,
                max_keepalive_connections=max_connections,
                keepalive_expiry=120.0,
            ),
            headers=headers,
            trust_env=False,  # no proxy/netrc scan per request; configure proxies explicitly
            follow_redirects=False,
        )

    async def request(
        self,
        method: str,
        url: str,
        *,
        api_method: str,
        json_body: bytes | None = None,
        timeout_s: float,
    ) -> RawResponse:
        timeout = httpx.Timeout(
            timeout_s, connect=self._connect_timeout_s, pool=self._connect_timeout_s
        )
        try:
            response = await self._client.request(
                method,
                url,
                content=json_body,
                headers=_JSON_HEADERS if json_body is not None else None,
                timeout=timeout,
            )
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise NetworkError(api_method, type(exc).__name__, request_sent=False) from None
        except httpx.TransportError as exc:
            # ReadTimeout, WriteTimeout, RemoteProtocolError, ReadError...: the request may
            # have reached the server.
            raise NetworkError(api_method, type(exc).__name__, request_sent=True) from None
        return RawResponse(
            status=response.status_code,
            body=response.content,
            retry_after=response.headers.get("Retry-After"),
        )

    async def aclose(self) -> None:
        await self._client.aclose()

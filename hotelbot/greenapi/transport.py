"""The HTTP seam under the Green API client: one small protocol, an httpx implementation.

The client builds URLs and interprets responses; a transport only moves bytes. This keeps the
choice of HTTP library (httpx or aiohttp, `greenapi.transport`) out of the client, and lets the
benchmark compare them behind the same adapter. Both map failures the same way:
NetworkError(request_sent=False) when the request surely did not leave (connect failed or
timed out, no pooled connection in time), request_sent=True when it may have reached the
server (read timeout, reset, truncated answer). Exceptions never carry the URL (it holds the
token): they are re-raised as NetworkError naming only the library's exception type.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from typing import Protocol

import aiohttp
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


class AiohttpTransport:
    """aiohttp.ClientSession-backed transport, one small session per hotel.

    Measured against httpx on the benchmark (docs/scaling.md): several times less CPU per
    call, because aiohttp's connection handling and HTTP parser are largely C and it does
    not build an anyio cancel scope and a pool scan per request. Create it inside the
    running event loop (aiohttp sessions bind to the loop); `aclose()` is idempotent.

    `max_connections` caps this hotel's connections (the long poll plus a delete or send
    racing it); waiting for a free one counts against `connect_timeout_s`.
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
        connector = aiohttp.TCPConnector(
            limit=max_connections,
            limit_per_host=0,
            ssl=ssl_context if ssl_context is not None else True,
            keepalive_timeout=120.0,
            ttl_dns_cache=300,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            headers=headers,
            trust_env=False,  # no proxy/netrc lookups; configure proxies explicitly
            auto_decompress=True,
            raise_for_status=False,
        )
        self._timeouts: dict[float, aiohttp.ClientTimeout] = {}

    def _timeout(self, timeout_s: float) -> aiohttp.ClientTimeout:
        # ClientTimeout is immutable: keep one per distinct value instead of one per call.
        timeout = self._timeouts.get(timeout_s)
        if timeout is None:
            timeout = aiohttp.ClientTimeout(
                total=None,
                connect=self._connect_timeout_s,  # pool wait + TCP/TLS set-up
                sock_connect=self._connect_timeout_s,
                sock_read=timeout_s,
            )
            self._timeouts[timeout_s] = timeout
        return timeout

    async def request(
        self,
        method: str,
        url: str,
        *,
        api_method: str,
        json_body: bytes | None = None,
        timeout_s: float,
    ) -> RawResponse:
        try:
            async with self._session.request(
                method,
                url,
                data=json_body,
                headers=_JSON_HEADERS if json_body is not None else None,
                timeout=self._timeout(timeout_s),
                allow_redirects=False,
            ) as response:
                body = await response.read()
                return RawResponse(
                    status=response.status,
                    body=body,
                    retry_after=response.headers.get("Retry-After"),
                )
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
            # Connect refused/failed (DNS, TLS included) or no connection in time.
            raise NetworkError(api_method, type(exc).__name__, request_sent=False) from None
        except (aiohttp.InvalidURL, aiohttp.NonHttpUrlClientError) as exc:
            raise NetworkError(api_method, type(exc).__name__, request_sent=False) from None
        except (aiohttp.ClientError, TimeoutError) as exc:
            # Read timeout, server disconnected, reset, truncated payload: maybe applied.
            raise NetworkError(api_method, type(exc).__name__, request_sent=True) from None

    async def aclose(self) -> None:
        await self._session.close()

"""Both HTTP transports over real loopback HTTP: same responses, same error mapping, and no
URL (token) in any exception."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable

import pytest
from aiohttp import web

from hotelbot.greenapi.errors import NetworkError
from hotelbot.greenapi.transport import AiohttpTransport, HttpxTransport, Transport

TOKEN = "secret-token-123"
Factory = Callable[[], Transport]

pytestmark = pytest.mark.timeout(30)


@pytest.fixture(params=["httpx", "aiohttp"])
def make_transport(request: pytest.FixtureRequest) -> Factory:
    kind = request.param

    def make() -> Transport:
        cls = HttpxTransport if kind == "httpx" else AiohttpTransport
        return cls(connect_timeout_s=2.0, headers={"X-Hotelbot-Client": "t"})

    return make


async def _echo(request: web.Request) -> web.Response:
    body = await request.read()
    return web.Response(
        text=f"{request.method} {request.headers.get('Content-Type')} "
        f"{request.headers.get('X-Hotelbot-Client')} {body.decode()}"
    )


async def _limited(request: web.Request) -> web.Response:
    return web.Response(status=429, text="Too Many Requests", headers={"Retry-After": "7"})


async def _stall(request: web.Request) -> web.Response:
    await asyncio.sleep(10)
    return web.Response(text="late")


async def _reset(request: web.Request) -> web.Response:
    assert request.transport is not None
    request.transport.close()
    return web.Response(text="never seen")


@pytest.fixture
async def server() -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_route("*", "/echo/{token}", _echo)
    app.router.add_get("/limited/{token}", _limited)
    app.router.add_get("/stall/{token}", _stall)
    app.router.add_get("/reset/{token}", _reset)
    runner = web.AppRunner(app, handler_cancellation=True)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_request_returns_status_body_and_headers(
    server: str, make_transport: Factory
) -> None:
    transport = make_transport()
    try:
        response = await transport.request(
            "POST",
            f"{server}/echo/{TOKEN}",
            api_method="sendMessage",
            json_body=b'{"a":1}',
            timeout_s=5,
        )
        assert response.status == 200
        assert response.body == b'POST application/json t {"a":1}'
        limited = await transport.request(
            "GET", f"{server}/limited/{TOKEN}", api_method="receiveNotification", timeout_s=5
        )
        assert (limited.status, limited.retry_after) == (429, "7")
    finally:
        await transport.aclose()


async def test_connection_refused_is_not_sent(make_transport: Factory) -> None:
    transport = make_transport()
    url = f"http://127.0.0.1:{_closed_port()}/echo/{TOKEN}"
    try:
        with pytest.raises(NetworkError) as caught:
            await transport.request("GET", url, api_method="sendMessage", timeout_s=5)
    finally:
        await transport.aclose()
    assert caught.value.request_sent is False
    assert TOKEN not in str(caught.value) and caught.value.__cause__ is None


@pytest.mark.parametrize("path", ["stall", "reset"])
async def test_read_timeout_and_reset_may_have_been_sent(
    server: str, make_transport: Factory, path: str
) -> None:
    transport = make_transport()
    try:
        with pytest.raises(NetworkError) as caught:
            await transport.request(
                "GET", f"{server}/{path}/{TOKEN}", api_method="sendMessage", timeout_s=0.3
            )
    finally:
        await transport.aclose()
    assert caught.value.request_sent is True
    assert TOKEN not in str(caught.value) and caught.value.__cause__ is None
    assert caught.value.__suppress_context__

"""Builds HTTP transports for hotels: one small client per hotel (httpx or aiohttp, per
`greenapi.transport`), one shared SSL context."""

from __future__ import annotations

import ssl

from hotelbot.greenapi.transport import AiohttpTransport, HttpxTransport, Transport
from hotelbot.settings import GreenApiSettings


class TransportFactory:
    """Creates per-hotel transports. Sharing the SSL context saves ~1 MB and the CA parse
    per hotel; separate small pools keep httpcore's per-request pool scan short."""

    def __init__(self, settings: GreenApiSettings, *, client_id: str) -> None:
        self._settings = settings
        self._ssl = ssl.create_default_context()
        self._headers = {"X-Hotelbot-Client": client_id}

    def create(self) -> Transport:
        # 3 connections: the long poll, a delete/send racing it, and one spare.
        if self._settings.transport == "aiohttp":
            return AiohttpTransport(
                connect_timeout_s=self._settings.connect_timeout_s,
                max_connections=3,
                ssl_context=self._ssl,
                headers=self._headers,
            )
        return HttpxTransport(
            connect_timeout_s=self._settings.connect_timeout_s,
            max_connections=3,
            ssl_context=self._ssl,
            headers=self._headers,
        )

"""The /metrics HTTP endpoint: prometheus_client's own server in a daemon thread.

A thread, not a task on the event loop, so a scrape still answers while the loop is busy or
stuck; the figures it shows are plain in-memory values, safe to read from that thread."""

from __future__ import annotations

import threading
from wsgiref.simple_server import WSGIServer

from loguru import logger
from prometheus_client import start_http_server

from hotelbot.settings import parse_listen


class MetricsServer:
    """`start()` binds and serves; `stop()` shuts it down. Both idempotent; never raises:
    a port that cannot be bound is logged as an error and the daemon runs on without
    metrics (its guests matter more; Prometheus' `up` shows the gap)."""

    def __init__(self, listen: str) -> None:
        self._listen = listen
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int] | None:
        """(host, port) actually bound, or None when not serving."""
        if self._server is None:
            return None
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    def start(self) -> None:
        if not self._listen or self._server is not None:
            return
        host, port = parse_listen(self._listen)
        try:
            self._server, self._thread = start_http_server(port, addr=host)
        except OSError as exc:
            logger.error(
                "metrics: cannot listen on {} ({}); running without /metrics. Set [metrics] "
                'listen to a free host:port, or "" to turn metrics off',
                self._listen,
                exc.strerror or type(exc).__name__,
            )
            return
        bound = self.address
        assert bound is not None
        logger.info("metrics: serving http://{}:{}/metrics", *bound)

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server, self._thread = None, None

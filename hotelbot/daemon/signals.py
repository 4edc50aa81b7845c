"""Signal handling: handlers only flip state, the daemon's tasks act on it.

* first SIGTERM/SIGINT: `on_stop()` (the ordered drain, within drain_timeout_s);
* a second one: `on_cut()` (the daemon cancels its task group: the drain stops where it is,
  shielded commits finish, resources are still closed, the exit status is 1);
* SIGHUP: `on_reload()` (settings and the hotel list are re-read in the main loop; Python's
  default action for SIGHUP, terminating, is replaced before READY=1).
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable

from loguru import logger

_STOPPING = (signal.SIGTERM, signal.SIGINT)


class SignalHandlers:
    """Installed on the running loop by `install()`, given back by `remove()`."""

    def __init__(
        self,
        *,
        on_stop: Callable[[], None],
        on_cut: Callable[[], None],
        on_reload: Callable[[], None],
    ) -> None:
        self._on_stop = on_stop
        self._on_cut = on_cut
        self._on_reload = on_reload
        self.seen = 0
        self._installed = False

    def stopping_signal(self, name: str) -> None:
        """What SIGTERM/SIGINT do (also callable directly)."""
        self.seen += 1
        if self.seen > 1:
            logger.warning("second {}: cancelling the drain and exiting", name)
            self._on_cut()
            return
        logger.info("{} received: stopping (send it again to cut the drain short)", name)
        self._on_stop()

    def _sighup(self) -> None:
        logger.info("SIGHUP received: reloading settings and the hotel list")
        self._on_reload()

    def install(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in _STOPPING:
            loop.add_signal_handler(sig, self.stopping_signal, sig.name)
        loop.add_signal_handler(signal.SIGHUP, self._sighup)
        self._installed = True

    def remove(self) -> None:
        """Give the signals back (a daemon run inside a longer process, tests, the demo)."""
        if not self._installed:
            return
        loop = asyncio.get_running_loop()
        for sig in (*_STOPPING, signal.SIGHUP):
            loop.remove_signal_handler(sig)
        self._installed = False

"""Temporary minimal logging set-up (replaced by the full journald/JSON/redaction version)."""

from __future__ import annotations

import sys

from loguru import logger


def configure_logging(level: str = "INFO", fmt: str = "auto") -> None:
    logger.remove()
    logger.add(sys.stderr, level=level, format="{time:HH:mm:ss} {level:<7} [{extra[hotel]}] {message}")
    logger.configure(extra={"hotel": "-"})

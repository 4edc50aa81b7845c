"""Secret scrubbing for log output: registered secrets plus token shapes we know by form.

Pure (stdlib only) and fast enough for every log line: one compiled alternation, rebuilt only
when the set of registered secrets changes. Three things are always redacted, registered or
not:

* the token in a Green API URL path, ``/waInstance<digits>/<method>/<token>``;
* the password in a URL's user-info, ``scheme://user:<password>@host`` (database URLs);
* the value of ``password=``/``apiTokenInstance``/``api_key`` style assignments.

Registered secrets (Green API tokens, API keys, DB passwords) are replaced wherever they
appear, also in their percent-encoded form.
"""

from __future__ import annotations

import re
import threading
from urllib.parse import quote

__all__ = [
    "MASK",
    "MIN_SECRET_LENGTH",
    "SecretRegistry",
    "default_registry",
    "redact",
    "register_secret",
]

MASK = "***"

# Shorter values would mangle ordinary words and are no secret worth the name; they are
# ignored (an empty credential file, for one, must not turn every boundary into "***").
MIN_SECRET_LENGTH = 4

# Each alternative keeps a named prefix group and masks what follows it.
_SHAPES = (
    # Green API: {apiUrl}/waInstance{id}/{method}/{token}[/{arg}][?query]
    r"(?P<greenapi>/(?i:wainstance)\d+/[A-Za-z]+/)[^/?#\s\"'<>]+",
    # user-info password, scheme://user:pass@host. Greedy up to the last "@" of the word:
    # an unencoded "@" or "/" in a password must not leak its tail (over-masking is fine).
    r"(?P<userinfo>\b[A-Za-z][A-Za-z0-9+.\-]*://[^:/?#@\s]*:)\S+(?=@)",
    # key=value, key: value, "key": "value" for key names that only ever hold secrets
    r"(?P<assign>\b(?i:password|passwd|pwd|apiTokenInstance|api[_-]?key|secret)"
    r"[\"']?\s*[:=]\s*[\"']?)[^\s\"',;&]+",
)
_PREFIX_GROUPS = ("greenapi", "userinfo", "assign")


class SecretRegistry:
    """A thread-safe set of secret strings and the compiled pattern that masks them.

    ``register`` is idempotent. ``redact`` never raises and reads an immutable compiled
    pattern, so it takes no lock (logging happens from threads, e.g. stdlib loggers).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._secrets: frozenset[str] = frozenset()
        self._pattern = self._compile(self._secrets)

    @staticmethod
    def _compile(secrets: frozenset[str]) -> re.Pattern[str]:
        alternatives = list(_SHAPES)
        if secrets:
            # Longest first, so a secret that contains another is masked whole.
            literals = sorted(secrets, key=lambda s: (-len(s), s))
            alternatives.append("(?P<secret>" + "|".join(map(re.escape, literals)) + ")")
        return re.compile("|".join(alternatives))

    def register(self, value: str) -> None:
        """Mask ``value`` (and its percent-encoded form) from now on.

        Values shorter than :data:`MIN_SECRET_LENGTH` after stripping whitespace are ignored.
        """
        value = value.strip()
        if len(value) < MIN_SECRET_LENGTH:
            return
        with self._lock:
            new = self._secrets | {value, quote(value, safe="")}
            if new != self._secrets:
                self._secrets = new
                self._pattern = self._compile(new)

    def clear(self) -> None:
        """Forget every registered secret (the shape rules stay)."""
        with self._lock:
            self._secrets = frozenset()
            self._pattern = self._compile(self._secrets)

    def __len__(self) -> int:
        return len(self._secrets)

    def redact(self, text: str) -> str:
        """Return ``text`` with every secret and known token shape replaced by ``***``."""
        return self._pattern.sub(_replacement, text)


def _replacement(match: re.Match[str]) -> str:
    for group in _PREFIX_GROUPS:
        prefix = match.group(group)
        if prefix is not None:
            return prefix + MASK
    return MASK


default_registry = SecretRegistry()
"""The process-wide registry used by :func:`register_secret`, :func:`redact` and logging."""


def register_secret(value: str) -> None:
    """Register ``value`` with the process-wide registry; idempotent, ignores short values."""
    default_registry.register(value)


def redact(text: str) -> str:
    """Mask secrets in ``text`` using the process-wide registry."""
    return default_registry.redact(text)

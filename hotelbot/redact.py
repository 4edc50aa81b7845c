"""Secret scrubbing for log output: registered secrets plus token shapes we know by form.

Pure (stdlib only) and fast enough for every log line: registered secrets are matched by one
compiled alternation, rebuilt only when the set changes. Four things are always redacted,
registered or not:

* the token in a Green API URL path, ``/waInstance<digits>/<method>/<token>``;
* the password in a URL's user-info, ``scheme://user:<password>@host`` (database URLs);
* the value of ``password=``/``apiTokenInstance``/``api_key`` style assignments;
* an HTTP ``Authorization`` value (``Bearer …``, ``Basic …``) echoed into a message.

Registered secrets (Green API tokens, API keys, DB passwords) are replaced wherever they
appear, also in their percent-encoded form.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from typing import TypeAlias
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

# Token shapes masked whether registered or not. Each keeps group 1 and masks the rest of the
# match. They run as separate patterns behind cheap substring checks: one big alternation
# would be tried at every position of every line, costing ~25 µs per ordinary line.
_GREENAPI_URL = re.compile(
    # {apiUrl}/waInstance{id}/{method}/{token}[/{arg}][?query]
    r"(/(?i:wainstance)\d+/[A-Za-z]+/)[^/?#\s\"'<>]+"
)
_URL_PASSWORD = re.compile(
    # scheme://user:password@host. Greedy up to the last "@" of the word: an unencoded "@"
    # or "/" in a password must not leak its tail (masking a little too much is fine).
    r"(\b[A-Za-z][A-Za-z0-9+.\-]*://[^:/?#@\s]*:)\S+(?=@)"
)
_ASSIGNMENT = re.compile(
    # key=value, key: value, "key": "value" for key names that only ever hold secrets
    r"(\b(?i:password|passwd|pwd|apitokeninstance|api[_-]?key|secret)[\"']?\s*[:=]\s*[\"']?)"
    r"[^\s\"',;&]+"
)
_ASSIGNMENT_HINTS = ("pass", "pwd", "token", "key", "secret")
_BEARER = re.compile(
    # an HTTP Authorization value echoed into an error: "Bearer sk-..." / "Basic dXNl..."
    r"(\b(?i:bearer|basic)\s+)[A-Za-z0-9._~+/=\-]{8,}"
)


_Trie: TypeAlias = dict[str, "_Trie"]


def _keep_prefix(match: re.Match[str]) -> str:
    return match.group(1) + MASK


def _alternation(words: frozenset[str]) -> str:
    """A regex matching any of ``words``, shaped as a prefix tree.

    A flat ``a|b|c`` alternation is tried branch by branch at every position, so its cost
    grows with the number of secrets (~50 µs per line for 200 tokens); sharing prefixes
    keeps it nearly flat (~8 µs). At each node longer continuations are tried before the
    word ending there, so a secret that contains another is masked whole.
    """
    trie: _Trie = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}  # a word ends here

    def emit(node: _Trie) -> str:
        branches = [re.escape(char) + emit(node[char]) for char in sorted(node) if char]
        if not branches:
            return ""
        if len(branches) == 1:
            body = branches[0]
            return f"(?:{body})?" if "" in node else body
        body = "(?:" + "|".join(branches) + ")"
        return body + "?" if "" in node else body

    return emit(trie)


class SecretRegistry:
    """A thread-safe set of secret strings and the compiled pattern that masks them.

    ``register`` is idempotent. ``redact`` never raises and reads an immutable compiled
    pattern, so it takes no lock (logging happens from threads, e.g. stdlib loggers).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._secrets: frozenset[str] = frozenset()
        self._pattern: re.Pattern[str] | None = None

    def register(self, value: str) -> None:
        """Mask ``value`` (and its percent-encoded form) from now on.

        Values shorter than :data:`MIN_SECRET_LENGTH` after stripping whitespace are ignored.
        """
        self.register_many([value])

    def register_many(self, values: Iterable[str]) -> None:
        """`register` for many values with ONE pattern rebuild (a daemon starting 1,000
        hotels otherwise rebuilds a growing pattern per token: quadratic start-up)."""
        added: set[str] = set()
        for value in values:
            value = value.strip()
            if len(value) >= MIN_SECRET_LENGTH:
                added.update((value, quote(value, safe="")))
        if not added:
            return
        with self._lock:
            new = self._secrets | added
            if new != self._secrets:
                self._secrets = new
                self._pattern = re.compile(_alternation(new))

    def clear(self) -> None:
        """Forget every registered secret (the shape rules stay)."""
        with self._lock:
            self._secrets = frozenset()
            self._pattern = None

    def __len__(self) -> int:
        return len(self._secrets)

    def redact(self, text: str) -> str:
        """Return ``text`` with every secret and known token shape replaced by ``***``."""
        pattern = self._pattern  # one read: register() may swap it concurrently
        if pattern is not None:
            text = pattern.sub(MASK, text)
        text = _GREENAPI_URL.sub(_keep_prefix, text)
        if "://" in text and "@" in text:
            text = _URL_PASSWORD.sub(_keep_prefix, text)
        lowered = text.lower()
        if any(hint in lowered for hint in _ASSIGNMENT_HINTS):
            text = _ASSIGNMENT.sub(_keep_prefix, text)
        if "bearer" in lowered or "basic" in lowered:
            text = _BEARER.sub(_keep_prefix, text)
        return text


default_registry = SecretRegistry()
"""The process-wide registry used by :func:`register_secret`, :func:`redact` and logging."""


def register_secret(value: str) -> None:
    """Register ``value`` with the process-wide registry; idempotent, ignores short values."""
    default_registry.register(value)


def register_secrets(values: Iterable[str]) -> None:
    """`register_secret` for many values at once (one pattern rebuild)."""
    default_registry.register_many(values)


def redact(text: str) -> str:
    """Mask secrets in ``text`` using the process-wide registry."""
    return default_registry.redact(text)

"""Where secrets may travel: URLs that carry a token or an API key must use https://.

Green API puts the instance token in the URL path and the LLM client sends its key in a
header, so plain http:// would hand both to anyone on the path. Plain http:// stays allowed
for loopback hosts only (the built-in fake servers, a local proxy, tests). Pure.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


def is_loopback_host(host: str) -> bool:
    host = host.strip("[]").lower()
    if host in _LOOPBACK_NAMES or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def secret_url_problem(url: str) -> str | None:
    """Why `url` may not carry a secret, or None when it may: https://, or http:// to a
    loopback host; no user-info (a password in the URL would be logged and shown)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return "not a valid URL"
    if parts.scheme not in ("http", "https") or not host:
        return "expected http(s)://host"
    if "@" in parts.netloc:
        return "user:password@ is not allowed in the URL (the token/key is configured apart)"
    if parts.scheme == "http" and not is_loopback_host(host):
        return "must use https:// (plain http:// only for a loopback host such as 127.0.0.1)"
    return None

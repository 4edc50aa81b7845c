"""A hotel's Green API credentials as the daemon and the operator commands resolve them.

Pure apart from reading the given environment mapping: which token a hotel row names, and why
the daemon would not poll it (checked at run time as well as on import, because a row edited
in the database bypasses the CLI's validation).
"""

from __future__ import annotations

from collections.abc import Mapping

from hotelbot.hotel_spec import token_env_problem
from hotelbot.storage.hotels import HotelRecord
from hotelbot.url_policy import secret_url_problem


def resolve_token(record: HotelRecord, environ: Mapping[str, str]) -> str | None:
    """The hotel's Green API token: stored, or from its api_token_env variable (only a name
    with the GREENAPI_TOKEN_ prefix is read, whatever the database says)."""
    if record.api_token:
        return record.api_token
    if record.api_token_env and token_env_problem(record.api_token_env) is None:
        value = environ.get(record.api_token_env, "").strip()
        return value or None
    return None


def connection_problem(record: HotelRecord, environ: Mapping[str, str]) -> str | None:
    """Why the daemon will not poll this hotel (checked at run time too: a row edited in the
    database bypasses the CLI's validation), or None."""
    url_problem = secret_url_problem(record.api_url)
    if url_problem is not None:
        return f"api_url {record.api_url!r}: {url_problem}"
    if not record.api_token and record.api_token_env:
        env_problem = token_env_problem(record.api_token_env)
        if env_problem is not None:
            return f"api_token_env {record.api_token_env!r}: {env_problem}"
    if resolve_token(record, environ) is None:
        return f"no API token: environment variable {record.api_token_env} is not set"
    return None


def connection_changed(old: HotelRecord, new: HotelRecord) -> bool:
    """True when a poller of `old` must be restarted to serve `new` (URL, instance, token
    variable or slug differ)."""
    return (old.api_url, old.instance_id, old.api_token_env, old.slug) != (
        new.api_url,
        new.instance_id,
        new.api_token_env,
        new.slug,
    )

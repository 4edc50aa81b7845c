"""Daemon-wide settings: a TOML file plus HOTELBOT_* environment overrides, validated by pydantic.

Precedence (later wins): built-in defaults < settings file < environment.
Environment names: HOTELBOT_DATABASE_URL and HOTELBOT_LOG_LEVEL are shortcuts; any other key is
HOTELBOT_<SECTION>__<KEY> (double underscore), e.g. HOTELBOT_GREENAPI__RECEIVE_TIMEOUT_S=30.
HOTELBOT_CONFIG names the settings file. Unknown keys, in the file or the environment, are errors
that name the file (or variable) and the key.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from hotelbot import files
from hotelbot.domain.outbox import DEFAULT_POLICIES, Lane, LanePolicy
from hotelbot.errors import ConfigError
from hotelbot.paths import default_config_candidates, default_database_url
from hotelbot.sentiment.settings import LlmSettings
from hotelbot.url_policy import secret_url_problem

_ENV_PREFIX = "HOTELBOT_"
# Variables with the prefix that are not settings keys.
_ENV_NOT_SETTINGS = {
    "HOTELBOT_CONFIG",
    "HOTELBOT_CRASH_AT",
    "HOTELBOT_PAUSE_AT",
    "HOTELBOT_FAIL_AT",
    "HOTELBOT_TEST_PG_URL",
    "HOTELBOT_DEEPSEEK_API_KEY",  # secrets: see credential() below
    "HOTELBOT_PG_PASSWORD",
    "HOTELBOT_SMTP_USERNAME",
    "HOTELBOT_SMTP_PASSWORD",
}
_ENV_SHORTCUTS = {
    "HOTELBOT_DATABASE_URL": ("database", "url"),
    "HOTELBOT_LOG_LEVEL": ("logging", "level"),
    "HOTELBOT_LOG_FORMAT": ("logging", "format"),
    "HOTELBOT_DAEMON_NAME": ("daemon", "name"),
}


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatabaseSettings(_Section):
    url: str = ""  # empty = SQLite file in the state directory
    pool_size: int = Field(default=5, ge=1, le=100)
    busy_timeout_ms: int = Field(default=5000, ge=0, le=600_000)
    # PostgreSQL reached through PgBouncer in transaction pooling mode (docs/scale-out.md).
    pgbouncer: bool = False

    @field_validator("url")
    @classmethod
    def _known_driver(cls, value: str) -> str:
        if value and not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError(
                "must start with sqlite+aiosqlite:// or postgresql+asyncpg:// "
                f"(got {value.split('://')[0]}://...)"
            )
        if value.startswith("sqlite+aiosqlite://"):
            # A relative path depends on the current directory: the daemon (cwd /) and an
            # admin command run elsewhere would open different files.
            path = value.removeprefix("sqlite+aiosqlite:///").split("?")[0]
            if path not in ("", ":memory:") and not path.startswith("/"):
                raise ValueError(
                    "a SQLite path must be absolute: sqlite+aiosqlite:////var/lib/hotelbot/"
                    f"hotelbot.sqlite3 (four slashes), not a path relative to the current "
                    f"directory ({path!r})"
                )
        return value


class GreenApiSettings(_Section):
    receive_timeout_s: int = Field(default=20, ge=5, le=60)  # Green API accepts 5..60
    request_timeout_s: float = Field(default=15.0, gt=0, le=300)
    connect_timeout_s: float = Field(default=5.0, gt=0, le=60)
    # Read timeout of a long poll = receive_timeout_s + this margin, so an idle poll is never
    # mistaken for a network failure.
    poll_timeout_margin_s: float = Field(default=10.0, ge=1, le=120)
    transport: Literal["httpx", "aiohttp"] = "aiohttp"  # ~3x less CPU per call (docs/scaling.md)
    backoff_min_s: float = Field(default=0.5, gt=0, le=60)
    backoff_max_s: float = Field(default=60.0, gt=0, le=3600)
    unhealthy_retry_s: float = Field(default=300.0, ge=5, le=86_400)
    # How often each hotel's instance state is asked (getStateInstance), so a logout is seen
    # even with the instance's stateWebhook off; 0 = never (daemon/state_probe.py).
    state_check_s: float = Field(default=60.0, ge=0, le=3600)


class DaemonSettings(_Section):
    name: str = ""  # empty = "<hostname>:<pid>"
    drain_timeout_s: float = Field(default=10.0, gt=0, le=120)
    hotels_refresh_s: float = Field(default=15.0, ge=1, le=3600)
    status_interval_s: float = Field(default=5.0, ge=1, le=300)
    # How often the trigger scheduler re-reads stays/triggers (CLI edits apply within it).
    scheduler_tick_s: float = Field(default=20.0, ge=0.5, le=60)


# --- leases (scale-out; see docs/scale-out.md) ---------------------------------------------
class LeaseSettings(_Section):
    """How daemons share hotels. A crashed daemon's hotels are taken over within about
    ttl_s + renew_interval_s (default 20 + 6.7 s; at once by a daemon restarted on the same
    host); a daemon that cannot renew stops acting after ttl_s - margin_s."""

    ttl_s: float = Field(default=20.0, ge=3, le=3600)
    renew_interval_s: float | None = Field(default=None, gt=0, le=1200)  # None = ttl_s / 3
    margin_s: float | None = Field(default=None, ge=0, le=1200)  # None = ttl_s / 3

    @property
    def renew_every_s(self) -> float:
        return self.ttl_s / 3 if self.renew_interval_s is None else self.renew_interval_s

    @property
    def fence_margin_s(self) -> float:
        return self.ttl_s / 3 if self.margin_s is None else self.margin_s

    @model_validator(mode="after")
    def _renew_before_fence(self) -> LeaseSettings:
        if self.renew_every_s >= self.ttl_s - self.fence_margin_s:
            raise ValueError(
                "renew_interval_s must be smaller than ttl_s - margin_s, or every lease would "
                "self-fence before it is renewed"
            )
        return self


class LoggingSettings(_Section):
    level: Literal["TRACE", "DEBUG", "INFO", "SUCCESS", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    format: Literal["auto", "journal", "text", "json"] = "auto"

    @field_validator("level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value


class ProcessingSettings(_Section):
    """Where interpretation, sentiment and alert decisions run (docs/operations.md,
    "Processing worker"). 1: in a child process of the daemon (the processing worker),
    so the daemon's own loop (polling, storing, sending) keeps a core to itself; 0: inside
    the daemon's one event loop (one process; for a one-core host or a tiny install). More
    than one worker per daemon is not offered: with two cores the daemon and one worker use
    both; beyond that, run a second daemon on PostgreSQL (docs/scale-out.md)."""

    # 1 by default: hotelbot's hosts are small (two cores is the documented size), and with
    # the processor in its own process the poll/store/delete loop keeps a core to itself.
    workers: int = Field(default=1, ge=0, le=1)
    # A worker silent this long (no heartbeat) or holding the SQLite write gate this long is
    # killed and restarted; its unfinished batch is redone from the database.
    hang_after_s: float = Field(default=15.0, ge=2, le=600)


class SentimentSettings(_Section):
    extra_lexicon_files: list[str] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _moved_concurrency(cls, data: object) -> object:
        # It was the processor's bound next to llm.max_concurrency (the HTTP bound): two
        # settings for one thing. An old config gets told where the value went.
        if isinstance(data, dict) and "max_concurrency" in data:
            raise ValueError(
                "sentiment.max_concurrency was replaced by llm.max_concurrency (one bound of "
                "LLM analyses for all hotels): move the value to [llm] and remove it here"
            )
        return data


class OutboxSettings(_Section):
    """Pace per lane (per hotel) and how long an ambiguous send waits for evidence before it
    is sent again (docs/operations.md, "Outbox lanes"). Green API delivers one message per
    `delaySendMessagesMilliseconds` (default 500 ms) per instance: keep the lanes' sustained
    sum at or below that, so the order is decided here and not in Green API's queue."""

    alert_rate_per_s: float = Field(default=2.0, gt=0, le=50)
    alert_burst: int = Field(default=10, ge=1, le=200)
    requested_rate_per_s: float = Field(default=1.0, gt=0, le=50)
    requested_burst: int = Field(default=3, ge=1, le=200)
    automated_rate_per_s: float = Field(default=1.0, gt=0, le=50)  # the hotel's pace
    automated_burst: int = Field(default=3, ge=1, le=200)
    # Staff alerts: no echo and no journal entry this long after an ambiguous send -> resend.
    alert_resend_after_s: float = Field(default=15.0, ge=5, le=600)
    # Guest messages: the journal may lag up to ~2 min; resending earlier risks a duplicate.
    guest_resend_after_s: float = Field(default=180.0, ge=10, le=3600)

    def policies(self) -> dict[Lane, LanePolicy]:
        """The sender's lane policies: the defaults with these settings applied."""
        lanes = {
            Lane.ALERT: (self.alert_rate_per_s, self.alert_burst, self.alert_resend_after_s),
            Lane.REQUESTED: (
                self.requested_rate_per_s,
                self.requested_burst,
                self.guest_resend_after_s,
            ),
            Lane.AUTOMATED: (
                self.automated_rate_per_s,
                self.automated_burst,
                self.guest_resend_after_s,
            ),
        }
        policies = {}
        for lane, (rate, burst, resend_s) in lanes.items():
            base = DEFAULT_POLICIES[lane]
            policies[lane] = replace(
                base,
                rate_per_s=rate,
                burst=burst,
                resend_after_s=resend_s,
                reconcile_after_s=min(base.reconcile_after_s, resend_s),
            )
        return policies


class PrivacySettings(_Section):
    # Message text, guest names and raw notification bodies are purged this many days after
    # the guest's last activity (check-out or last message); counts and sentiment labels
    # stay for statistics. 0 = keep forever.
    retention_days: int = Field(default=365, ge=0, le=36_500)
    purge_interval_h: float = Field(default=24.0, ge=0.01, le=24 * 30)


class MetricsSettings(_Section):
    # host:port of the Prometheus /metrics endpoint; "" turns it off; port 0 takes a free
    # port (tests). Keep it on loopback unless a firewall guards it: hotel slugs are labels.
    listen: str = "127.0.0.1:9464"
    # How often figures held in the database (outbox depth, instance states) are re-read.
    snapshot_interval_s: float = Field(default=15.0, ge=1, le=600)

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str) -> str:
        value = value.strip()
        if value:
            parse_listen(value)  # raises ValueError with the fix
        return value


def parse_listen(value: str) -> tuple[str, int]:
    """("127.0.0.1", 9464) out of "127.0.0.1:9464" ("[::1]:9464" for IPv6). Raises
    ValueError naming the expected form."""
    host, sep, port = value.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(
            f'expected host:port such as 127.0.0.1:9464, or "" for no metrics (got {value!r})'
        )
    return host, int(port)


class EmailSettings(_Section):
    """The backup channel: e-mail to operators over SMTP, independent of any hotel's
    WhatsApp (docs/operations.md). The login comes from the `smtp_username` and
    `smtp_password` credentials ($CREDENTIALS_DIRECTORY, else HOTELBOT_SMTP_USERNAME /
    HOTELBOT_SMTP_PASSWORD), never from this file."""

    enabled: bool = False
    host: str = ""
    port: int = Field(default=587, ge=1, le=65535)
    # starttls (port 587), tls (implicit TLS, port 465); "none" only to a loopback host.
    security: Literal["starttls", "tls", "none"] = "starttls"
    timeout_s: float = Field(default=20.0, gt=0, le=300)
    sender: str = ""  # the From: address
    operators: list[str] = []  # who is told
    check_interval_s: float = Field(default=30.0, ge=0.05, le=3600)
    # How long a condition lasts before it is mailed (0 = at the first check).
    instance_after_min: float = Field(default=1.0, ge=0, le=24 * 60)
    not_polled_after_min: float = Field(default=5.0, ge=0, le=24 * 60)
    alert_undeliverable_after_min: float = Field(default=5.0, ge=0, le=24 * 60)
    llm_breaker_after_min: float = Field(default=10.0, ge=0, le=24 * 60)
    # Dead letters: an episode opens with a new one and ends after this long without any.
    dead_letters_quiet_min: float = Field(default=60.0, gt=0, le=7 * 24 * 60)
    # Rate limit: at least this long between two operator mails (news waits and is merged).
    min_interval_s: float = Field(default=60.0, ge=0, le=24 * 3600)

    @model_validator(mode="after")
    def _complete(self) -> EmailSettings:
        if not self.enabled:
            return self
        if not self.host or not self.sender or not self.operators:
            raise ValueError("enabled = true needs host, sender and operators")
        if self.security == "none" and self.host not in ("127.0.0.1", "::1", "localhost"):
            raise ValueError(
                'security = "none" sends mail in clear text: only allowed to a loopback host; '
                'use "starttls" or "tls"'
            )
        return self


class Settings(_Section):
    database: DatabaseSettings = DatabaseSettings()
    greenapi: GreenApiSettings = GreenApiSettings()
    daemon: DaemonSettings = DaemonSettings()
    logging: LoggingSettings = LoggingSettings()
    sentiment: SentimentSettings = SentimentSettings()
    processing: ProcessingSettings = ProcessingSettings()
    llm: LlmSettings = LlmSettings()  # the LLM sentiment analyser (off by default)
    privacy: PrivacySettings = PrivacySettings()
    leases: LeaseSettings = LeaseSettings()
    outbox: OutboxSettings = OutboxSettings()
    metrics: MetricsSettings = MetricsSettings()
    email: EmailSettings = EmailSettings()

    @field_validator("llm")
    @classmethod
    def _llm_key_over_https(cls, value: LlmSettings) -> LlmSettings:
        # The API key travels in a header to base_url: never in clear over the network.
        problem = secret_url_problem(value.base_url)
        if problem is not None:
            raise ValueError(f"base_url: {problem}")
        return value

    def database_url(self, environ: Mapping[str, str] = os.environ) -> str:
        """The database URL; a PostgreSQL URL without a password gets the `pg_password`
        credential (or HOTELBOT_PG_PASSWORD), so the password never sits in a config file."""
        url = self.database.url or default_database_url(environ)
        if url.startswith("postgresql") and "@" in url:
            password = credential("pg_password", environ)
            # SQLAlchemy (~0.2 s to import) only to render a URL that needs the password.
            if password and urlsplit(url).password is None:
                from sqlalchemy.engine import make_url

                parsed = make_url(url)
                if parsed.password is None:
                    url = parsed.set(password=password).render_as_string(hide_password=False)
        return url


@dataclass(frozen=True, slots=True)
class DatabaseChoice:
    """Which database this process opens and why. `url` may hold a password: connect with
    it, print `shown`. `origin` says where the URL came from (a file and key, a variable or
    the default state directory); `sqlite_path` is the file for SQLite, else None."""

    url: str
    shown: str
    origin: str
    sqlite_path: Path | None

    @property
    def location(self) -> str:
        """ "SQLite file /var/lib/hotelbot/hotelbot.sqlite3" or the URL without password."""
        if self.sqlite_path is not None:
            return f"SQLite file {self.sqlite_path}"
        return self.shown


def database_choice(
    settings: Settings, settings_path: Path | None, environ: Mapping[str, str] = os.environ
) -> DatabaseChoice:
    """The database `settings` select, with where that choice came from (for `db info`,
    `doctor` and error messages). Pure apart from reading the pg_password credential."""
    from sqlalchemy.engine import make_url

    from hotelbot.paths import state_dir_origin

    url = settings.database_url(environ)
    if environ.get("HOTELBOT_DATABASE_URL"):
        origin = "environment variable HOTELBOT_DATABASE_URL"
    elif environ.get("HOTELBOT_DATABASE__URL"):
        origin = "environment variable HOTELBOT_DATABASE__URL"
    elif settings.database.url:
        origin = f"{settings_path} ([database] url)"
    else:
        where = f"{settings_path} has no [database] url" if settings_path else "no settings file"
        origin = (
            f"default: hotelbot.sqlite3 in the state directory {state_dir_origin(environ)} "
            f"({where})"
        )
    parsed = make_url(url)
    sqlite_path = None
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        sqlite_path = Path(str(parsed.database))
    from urllib.parse import unquote

    shown = unquote(parsed.render_as_string(hide_password=True))  # "?host=/run/postgresql"
    return DatabaseChoice(url, shown, origin, sqlite_path)


def credential(name: str, environ: Mapping[str, str] = os.environ) -> str | None:
    """A secret from systemd's $CREDENTIALS_DIRECTORY/<name>, else $HOTELBOT_<NAME>.

    Whitespace is stripped and an empty value means "not set" (the unit's SetCredential=
    fallback for a missing file is a lone newline)."""
    directory = environ.get("CREDENTIALS_DIRECTORY")
    if directory:
        path = Path(directory) / name
        if files.exists(path, f"credential {name}"):
            value = files.read_text(path, f"credential {name}").strip()
            if value:
                return value
    value = environ.get(f"HOTELBOT_{name.upper()}", "").strip()
    return value or None


def _format_error(source: str, err: ValidationError) -> str:
    lines = []
    for item in err.errors():
        loc = ".".join(str(part) for part in item["loc"])
        msg = "unknown key" if item["type"] == "extra_forbidden" else item["msg"]
        lines.append(f"{source}: {loc}: {msg}")
    return "invalid settings:\n  " + "\n  ".join(lines)


def _env_overrides(environ: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """Nested dict of overrides, and which variable set each dotted key (for error messages)."""
    tree: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for name, value in environ.items():
        if not name.startswith(_ENV_PREFIX) or name in _ENV_NOT_SETTINGS:
            continue
        if name in _ENV_SHORTCUTS:
            path = _ENV_SHORTCUTS[name]
        else:
            parts = name[len(_ENV_PREFIX) :].lower().split("__")
            if len(parts) != 2 or not all(parts):
                raise ConfigError(
                    f"environment: {name}: not a hotelbot setting "
                    "(use HOTELBOT_<SECTION>__<KEY>, e.g. HOTELBOT_GREENAPI__RECEIVE_TIMEOUT_S)"
                )
            path = (parts[0], parts[1])
        section = tree.setdefault(path[0], {})
        if not isinstance(section, dict):
            raise ConfigError(f"environment: {name}: [{path[0]}] is not a section")
        # Lists come as comma-separated values; pydantic coerces the scalar strings.
        section[path[1]] = value.split(",") if path[1].endswith("_files") else value
        origin[".".join(path)] = name
    return tree, origin


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def resolve_config_path(
    explicit: str | Path | None, environ: Mapping[str, str] = os.environ
) -> Path | None:
    """The settings file to read, or None for built-in defaults.

    An explicitly named file (argument or HOTELBOT_CONFIG) must exist; default locations
    are used only when present.
    """
    named = explicit or environ.get("HOTELBOT_CONFIG")
    if named:
        path = Path(named)
        if not files.exists(path, "settings file"):
            raise ConfigError(f"settings file not found: {path}")
        return path
    for candidate in default_config_candidates(environ):
        # A default file that exists but cannot be read is an error, not "use defaults":
        # silently falling back would open another database than the service's.
        if files.exists(candidate, "settings file"):
            return candidate
    return None


def load_settings(
    config_path: str | Path | None = None, environ: Mapping[str, str] = os.environ
) -> tuple[Settings, Path | None]:
    """Read, merge and validate settings. Raises ConfigError with file/variable and key named."""
    path = resolve_config_path(config_path, environ)
    data: dict[str, Any] = {}
    if path is not None:
        text = files.read_text(path, "settings file")
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    env_tree, env_origin = _env_overrides(environ)
    try:
        Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_error(str(path), exc)) from None
    try:
        settings = Settings.model_validate(_merge(data, env_tree))
    except ValidationError as exc:
        # The file alone was valid, so the culprit is an environment variable.
        first = exc.errors()[0]
        dotted = ".".join(str(p) for p in first["loc"][:2])
        source = f"environment {env_origin.get(dotted, 'HOTELBOT_*')}"
        raise ConfigError(_format_error(source, exc)) from None
    return settings, path

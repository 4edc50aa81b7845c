"""One hotel as an operator describes it (hotels TOML file, `hotel add`), validated by pydantic.

The file holds `[[hotels]]` tables; see hotels.example.toml. Validation is complete before
anything is written: `load_hotels_file` either returns every hotel or raises ConfigError
listing every problem with the file, the entry (index and slug) and the key.
"""

from __future__ import annotations

import re
import tomllib
from datetime import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from hotelbot.domain.signals import SignalKind, SignalMode, parse_mode
from hotelbot.domain.staff_texts import SUPPORTED as STAFF_LANGUAGES
from hotelbot.errors import ConfigError
from hotelbot.files import read_text
from hotelbot.url_policy import secret_url_problem

DEFAULT_API_URL = "https://api.green-api.com"
# api_token_env must name a variable with this prefix (docs: hotels.example.toml), so a
# hotel row cannot point the daemon at another secret of its environment, such as the
# database password or the LLM key, and send it to its api_url.
TOKEN_ENV_PREFIX = "GREENAPI_TOKEN_"
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_CHAT_ID = re.compile(r"^(\d{5,20}@c\.us|[\d-]{5,40}@g\.us|\d{5,30}@lid)$")
_EMAIL = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def parse_hhmm(value: str) -> time:
    match = _HHMM.match(value.strip())
    if not match:
        raise ValueError(f"expected HH:MM (24 h), got {value!r}")
    return time(int(match.group(1)), int(match.group(2)))


def token_env_problem(name: str) -> str | None:
    """Why `name` may not be a hotel's api_token_env, or None."""
    if not _ENV_NAME.match(name) or not name.startswith(TOKEN_ENV_PREFIX):
        return (
            f"an environment variable name starting with {TOKEN_ENV_PREFIX}, "
            f"like {TOKEN_ENV_PREFIX}GRAND_RIGA"
        )
    if name == TOKEN_ENV_PREFIX:
        return f"a name after the prefix, like {TOKEN_ENV_PREFIX}GRAND_RIGA"
    return None


def check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown timezone {value!r} (use an IANA name like Europe/Riga)"
        ) from None
    return value


class HotelSpec(BaseModel):
    """A hotel: its Green API instance, local time zone, staff chat and guest-facing policy."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    slug: str
    name: str = Field(min_length=1, max_length=200)
    instance_id: str
    api_token: SecretStr | None = None
    api_token_env: str | None = None
    api_url: str = DEFAULT_API_URL
    timezone: str = "UTC"
    staff_chat_id: str | None = None
    default_language: str = "en"
    enabled: bool = True
    # Guest-facing policy (used by alerts and scheduled messages).
    quiet_hours: str = "22:00-09:00"  # local time; "" or "off" = none
    max_automated_per_day: int = Field(default=3, ge=0, le=100)
    alert_cooldown_min: int = Field(default=30, ge=0, le=24 * 60)
    staff_pause_h: float = Field(default=12.0, ge=0, le=24 * 30)
    groups_as_guests: bool = False
    check_in_time: str = "15:00"
    check_out_time: str = "11:00"
    # What a guest message without words does (domain.signals): alert | digest | ignore.
    signal_call: str = SignalMode.ALERT.value
    signal_voice_note: str = SignalMode.ALERT.value
    signal_photo: str = SignalMode.DIGEST.value
    signal_video: str = SignalMode.DIGEST.value
    signal_document: str = SignalMode.DIGEST.value
    signal_location: str = SignalMode.DIGEST.value
    signal_sticker: str = SignalMode.IGNORE.value
    # Staff alerts: the language staff read them in (en, ru; unset = default_language when
    # staff texts exist for it, else English), where an alert nobody acknowledged goes (the
    # duty manager) and after how many minutes.
    staff_language: str | None = None
    escalation_chat_id: str | None = None
    escalate_after_min: float = Field(default=10.0, gt=0, le=24 * 60)
    # Where a staff alert goes by e-mail when WhatsApp cannot deliver it for a while
    # ([email] in the settings: the backup channel, docs/operations.md).
    staff_email: str | None = None
    # The manager's digest (`hotelbot report` as a message): "off", "daily 08:00" or
    # "weekly mon 08:00" in hotel time, sent to manager_chat_id in the staff language.
    report_schedule: str = "off"
    manager_chat_id: str | None = None

    @field_validator("slug")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not _SLUG.match(value):
            raise ValueError("lowercase letters, digits and '-', starting with a letter or digit")
        return value

    @field_validator("instance_id", mode="before")
    @classmethod
    def _instance(cls, value: object) -> object:
        value = str(value) if isinstance(value, int) else value
        if not isinstance(value, str) or not value.isdigit() or len(value) > 12:
            raise ValueError('Green API idInstance: digits only, e.g. "1101000001"')
        return value

    @field_validator("api_token_env")
    @classmethod
    def _env(cls, value: str | None) -> str | None:
        problem = None if value is None else token_env_problem(value)
        if problem is not None:
            raise ValueError(problem)
        return value

    @field_validator("api_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+(:\d+)?/?$", value):
            raise ValueError("scheme and host only, e.g. https://1101.api.greenapi.com")
        problem = secret_url_problem(value)
        if problem is not None:
            raise ValueError(problem)
        return value.rstrip("/")

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        return check_timezone(value)

    @field_validator("report_schedule")
    @classmethod
    def _schedule(cls, value: str) -> str:
        from hotelbot.domain.report_schedule import parse_schedule

        parse_schedule(value)  # raises ValueError with the accepted forms
        return value.strip().lower() or "off"

    @field_validator("staff_chat_id", "escalation_chat_id", "manager_chat_id")
    @classmethod
    def _chat(cls, value: str | None) -> str | None:
        if value is not None and not _CHAT_ID.match(value):
            raise ValueError("a WhatsApp chat id like 37120000000@c.us (or ...@g.us for a group)")
        return value

    @field_validator("staff_email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and not _EMAIL.match(value):
            raise ValueError("an e-mail address like reception@hotel.example")
        return value

    @field_validator("default_language")
    @classmethod
    def _lang(cls, value: str) -> str:
        if not re.match(r"^[a-z]{2}$", value):
            raise ValueError("a two-letter ISO 639-1 code like en or ru")
        return value

    @field_validator("staff_language")
    @classmethod
    def _staff_lang(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip().lower()
        if value not in STAFF_LANGUAGES:
            raise ValueError(f"one of {', '.join(sorted(STAFF_LANGUAGES))} (the staff's language)")
        return value

    @field_validator("quiet_hours")
    @classmethod
    def _quiet(cls, value: str) -> str:
        if value.strip().lower() in ("", "off", "none"):
            return ""
        start, sep, end = value.partition("-")
        if not sep:
            raise ValueError('expected HH:MM-HH:MM, e.g. 22:00-09:00, or "off"')
        parse_hhmm(start)
        parse_hhmm(end)
        return f"{start.strip()}-{end.strip()}"

    @field_validator("check_in_time", "check_out_time")
    @classmethod
    def _hhmm(cls, value: str) -> str:
        parse_hhmm(value)
        return value.strip()

    @field_validator(*(kind.column for kind in SignalKind), mode="before")
    @classmethod
    def _signal(cls, value: object) -> str:
        mode = parse_mode(value) if isinstance(value, str) else None
        if mode is None:
            raise ValueError('one of "alert", "digest" (counted in the next alert) or "ignore"')
        return mode.value

    @model_validator(mode="after")
    def _escalation_elsewhere(self) -> HotelSpec:
        if self.escalation_chat_id is not None and self.escalation_chat_id == self.staff_chat_id:
            raise ValueError(
                "escalation_chat_id must differ from staff_chat_id (it is where alerts nobody "
                "acknowledged go: the duty manager)"
            )
        return self

    @model_validator(mode="after")
    def _one_token_source(self) -> HotelSpec:
        if (self.api_token is None) == (self.api_token_env is None):
            raise ValueError("exactly one of api_token and api_token_env is required")
        return self


def _describe(errors: list[tuple[str, str]]) -> str:
    return "\n  ".join(f"{where}: {msg}" for where, msg in errors)


def validate_hotels(raw: list[Any], source: str) -> list[HotelSpec]:
    """Validate every entry; raise one ConfigError listing all problems (nothing is half-read)."""
    problems: list[tuple[str, str]] = []
    hotels: list[HotelSpec] = []
    for index, entry in enumerate(raw):
        label = f"{source}: hotels[{index}]"
        if isinstance(entry, dict) and isinstance(entry.get("slug"), str):
            label += f" ({entry['slug']})"
        if not isinstance(entry, dict):
            problems.append((label, "must be a table"))
            continue
        try:
            hotels.append(HotelSpec.model_validate(entry))
        except ValidationError as exc:
            for item in exc.errors():
                key = ".".join(str(p) for p in item["loc"]) or "entry"
                msg = "unknown key" if item["type"] == "extra_forbidden" else item["msg"]
                problems.append((f"{label}: {key}", msg.removeprefix("Value error, ")))
    for attr in ("slug", "instance_id"):
        seen: dict[str, int] = {}
        for index, hotel in enumerate(hotels):
            value = getattr(hotel, attr)
            if value in seen:
                problems.append(
                    (f"{source}: hotels[{index}] ({hotel.slug})", f"duplicate {attr} {value!r}")
                )
            seen[value] = index
    if problems:
        raise ConfigError("invalid hotel settings:\n  " + _describe(problems))
    return hotels


def load_hotels_file(path: Path) -> list[HotelSpec]:
    """Parse and validate a hotels TOML file. Raises ConfigError; returns at least one hotel."""
    text = read_text(path, "hotels file")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    unknown = sorted(set(data) - {"hotels"})
    if unknown:
        raise ConfigError(
            f"{path}: unknown top-level key(s): {', '.join(unknown)} (expected [[hotels]])"
        )
    raw = data.get("hotels")
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f"{path}: no [[hotels]] tables found")
    return validate_hotels(raw, str(path))

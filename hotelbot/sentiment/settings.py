"""LLM sentiment settings (`LlmSettings`) and where the API key comes from (`resolve_api_key`)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from hotelbot.domain.llm_limits import LlmLimits

# Name of the systemd credential (`LoadCredential=deepseek_api_key:/etc/hotelbot/...`).
CREDENTIAL_NAME = "deepseek_api_key"


class LlmLimitSettings(BaseModel):
    """LLM limits of a hotel (domain.llm_limits.LlmLimits): calls per minute per guest and
    per hotel (with bursts), and a daily budget in calls and tokens (0 = unlimited).
    Beyond a limit the message is judged by the rules alone."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    guest_calls_per_min: float = Field(default=6.0, gt=0, le=600)
    guest_burst: int = Field(default=5, ge=1, le=1000)
    hotel_calls_per_min: float = Field(default=120.0, gt=0, le=60_000)
    hotel_burst: int = Field(default=40, ge=1, le=10_000)
    daily_calls: int = Field(default=2000, ge=0, le=10_000_000)
    daily_tokens: int = Field(default=1_500_000, ge=0, le=10_000_000_000)

    def to_limits(self) -> LlmLimits:
        return LlmLimits(
            guest_calls_per_min=self.guest_calls_per_min,
            guest_burst=self.guest_burst,
            hotel_calls_per_min=self.hotel_calls_per_min,
            hotel_burst=self.hotel_burst,
            daily_calls=self.daily_calls or None,
            daily_tokens=self.daily_tokens or None,
        )


class LlmSettings(BaseModel):
    """How to reach the OpenAI-compatible chat API (DeepSeek by default) and how hard to try.

    Disabled by default: the product works fully on rules alone. Unknown keys are an error.
    `api_key` is a `SecretStr`, so repr/str/model_dump show "**********", never the key.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = False
    base_url: str = Field(default="https://api.deepseek.com", pattern=r"^https?://\S+$")
    model: str = Field(default="deepseek-chat", min_length=1)
    api_key: SecretStr | None = None
    api_key_env: str = Field(default="DEEPSEEK_API_KEY", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    # per-attempt read/write timeout; connect has its own, shorter one
    timeout_s: float = Field(default=10.0, gt=0, le=300)
    connect_timeout_s: float = Field(default=3.0, gt=0, le=60)
    # retries of one call (sentiment.llm.LlmRetry: no answer, 408/409/429/5xx; full-jitter
    # waits, Retry-After as a floor, none past the deadline); the SDK itself retries nothing
    max_retries: int = Field(default=1, ge=0, le=5)
    # Requests in flight at once, for all hotels together, shared round-robin by hotel (the
    # processor's and the analyser's bound; the one concurrency setting). DeepSeek's API docs
    # ("Rate Limit & Isolation") allow 500+ concurrent requests per account and answer 429
    # beyond; 64 keeps well inside that while no hotel waits for a slot in normal traffic.
    max_concurrency: int = Field(default=64, ge=1, le=500)
    limits: LlmLimitSettings = LlmLimitSettings()
    # per-hotel overrides by slug, e.g. [llm.hotel_limits.harbour-inn] daily_calls = 500
    hotel_limits: dict[str, LlmLimitSettings] = Field(default_factory=dict)
    breaker_failure_threshold: int = Field(default=5, ge=1, le=1000)
    breaker_cooldown_s: float = Field(default=30.0, gt=0, le=3600)
    breaker_max_cooldown_s: float = Field(default=600.0, gt=0, le=86400)
    max_text_chars: int = Field(default=2000, ge=50, le=100_000)

    @model_validator(mode="after")
    def _cooldowns_ordered(self) -> LlmSettings:
        if self.breaker_max_cooldown_s < self.breaker_cooldown_s:
            raise ValueError("breaker_max_cooldown_s must be >= breaker_cooldown_s")
        return self

    @property
    def deadline_s(self) -> float:
        """Upper bound on one `analyse()` call, retries and their waits included.

        A retry whose wait (a server's Retry-After included) would end past it is not made,
        so a rate-limited upstream cannot hold a guest message longer. 2 s per retry covers
        the policy's first waits (full jitter below 0.5 s, 1 s, 2 s ...).
        """
        attempts = self.max_retries + 1
        return self.connect_timeout_s + self.timeout_s * attempts + 2.0 * self.max_retries


def resolve_api_key(settings: LlmSettings, environ: Mapping[str, str]) -> str | None:
    """The API key to use, or None when none is configured.

    Precedence: inline `settings.api_key`, then the systemd credential file
    `$CREDENTIALS_DIRECTORY/deepseek_api_key`, then the env var named by `api_key_env`,
    then HOTELBOT_DEEPSEEK_API_KEY.
    Surrounding whitespace (a trailing newline in a file) is stripped; empty counts as unset.
    Reads one small file; raises nothing for a missing file (OSError while reading an
    existing one propagates: a credential that exists but cannot be read is a deploy bug).
    """
    if settings.api_key is not None:
        inline = settings.api_key.get_secret_value().strip()
        if inline:
            return inline
    credentials_dir = environ.get("CREDENTIALS_DIRECTORY")
    if credentials_dir:
        path = Path(credentials_dir) / CREDENTIAL_NAME
        if path.is_file():
            from_file = path.read_text(encoding="utf-8").strip()
            if from_file:
                return from_file
    from_env = environ.get(settings.api_key_env, "").strip()
    # The systemd EnvironmentFile convention (docs/systemd.md): credential x <-> HOTELBOT_X.
    return from_env or environ.get("HOTELBOT_DEEPSEEK_API_KEY", "").strip() or None

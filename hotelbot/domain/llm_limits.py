"""May this guest message go to the LLM now? Per-guest and per-hotel call rates and a daily
budget per hotel (calls and tokens). Pure: the caller passes the time and today's usage.

Beyond any limit the message is judged by the rules alone; the rules' safety net is the
same either way, so a limit costs nuance, never an alert the rules would raise.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from enum import StrEnum

from hotelbot.domain.token_bucket import TokenBucket


@dataclass(frozen=True, slots=True)
class LlmLimits:
    """Limits of one hotel. Rates are calls per minute with a burst; a daily limit of None
    means unlimited. Token counts are prompt + completion tokens as the provider reports."""

    guest_calls_per_min: float = 6.0
    guest_burst: int = 5
    hotel_calls_per_min: float = 120.0
    hotel_burst: int = 40
    daily_calls: int | None = 2000
    daily_tokens: int | None = 1_500_000


@dataclass(frozen=True, slots=True)
class UsageToday:
    """What a hotel has spent on the LLM today (UTC day), as counted in the database."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class LimitDecision(StrEnum):
    """The answer to "may this message go to the LLM?"; anything but ALLOWED means rules."""

    ALLOWED = "allowed"
    GUEST_RATE = "guest_rate"
    HOTEL_RATE = "hotel_rate"
    DAILY_CALLS = "daily_calls"
    DAILY_TOKENS = "daily_tokens"

    @property
    def over_budget(self) -> bool:
        return self in (LimitDecision.DAILY_CALLS, LimitDecision.DAILY_TOKENS)


def budget_decision(limits: LlmLimits, usage: UsageToday) -> LimitDecision:
    """ALLOWED unless today's usage has reached a daily limit (checked before the rates)."""
    if limits.daily_calls is not None and usage.calls >= limits.daily_calls:
        return LimitDecision.DAILY_CALLS
    if limits.daily_tokens is not None and usage.tokens >= limits.daily_tokens:
        return LimitDecision.DAILY_TOKENS
    return LimitDecision.ALLOWED


class CallRates:
    """Token buckets per hotel and per guest (hotel, chat). In memory: after a restart the
    buckets start full, which costs at most one burst (the daily budget, counted in the
    database, is what bounds the cost). At most `max_guests` guest buckets are kept; the
    least recently used goes first (a full bucket is what a new one would be anyway,
    so evicting an idle guest changes nothing)."""

    def __init__(self, max_guests: int = 20_000) -> None:
        self._hotels: dict[int, TokenBucket] = {}
        self._guests: OrderedDict[tuple[int, str], TokenBucket] = OrderedDict()
        self._max_guests = max_guests

    def take(self, limits: LlmLimits, hotel_id: int, guest: str, now_s: float) -> LimitDecision:
        """Spend one call of the guest's and the hotel's rate, or none when either is empty
        (a refused guest does not spend the hotel's share)."""
        guest_bucket = self._guest_bucket(limits, hotel_id, guest)
        hotel_bucket = self._hotels.get(hotel_id)
        if hotel_bucket is None or hotel_bucket.rate_per_s != limits.hotel_calls_per_min / 60:
            hotel_bucket = TokenBucket(limits.hotel_calls_per_min / 60, limits.hotel_burst)
            self._hotels[hotel_id] = hotel_bucket
        if guest_bucket.available(now_s) < 1:
            return LimitDecision.GUEST_RATE
        if not hotel_bucket.take(now_s):
            return LimitDecision.HOTEL_RATE
        guest_bucket.take(now_s)
        return LimitDecision.ALLOWED

    def _guest_bucket(self, limits: LlmLimits, hotel_id: int, guest: str) -> TokenBucket:
        key = (hotel_id, guest)
        bucket = self._guests.get(key)
        if bucket is None or bucket.rate_per_s != limits.guest_calls_per_min / 60:
            bucket = TokenBucket(limits.guest_calls_per_min / 60, limits.guest_burst)
            self._guests[key] = bucket
            while len(self._guests) > self._max_guests:
                self._guests.popitem(last=False)
        self._guests.move_to_end(key)
        return bucket

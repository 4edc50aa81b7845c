"""Which languages each hotel's guests write in, and which of them nothing understands.

One report for `doctor` and `status`: per hotel, the languages of the guest messages of the
last `WINDOW_DAYS` (as stored with each verdict; for text the rules cannot read, the language
`domain/languages.py` identified), the gaps against the languages the rules read, and
whether the hotel's default language is one of them. With an LLM configured every language
is understood and there are no gaps. Read-only.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from hotelbot.domain.languages import LanguageGap, coverage_gaps
from hotelbot.sentiment.settings import LlmSettings, resolve_api_key

if TYPE_CHECKING:
    from hotelbot.storage.db import Connection

WINDOW_DAYS = 14


class HotelLike(Protocol):
    """What the report needs of a hotel: a `storage.hotels.HotelRecord`, or a row of the
    status report (so `status` need not load the hotels twice)."""

    @property
    def id(self) -> int: ...
    @property
    def slug(self) -> str: ...
    @property
    def default_language(self) -> str: ...


@dataclass(frozen=True, slots=True)
class HotelLanguages:
    slug: str
    mix: Counter[str] = field(default_factory=Counter)
    gaps: tuple[LanguageGap, ...] = ()
    default_uncovered: bool = False

    @property
    def ok(self) -> bool:
        return not self.gaps and not self.default_uncovered


def llm_configured(llm: LlmSettings, environ: Mapping[str, str] = os.environ) -> bool:
    """[llm] enabled and a key found: then every language is understood."""
    return llm.enabled and resolve_api_key(llm, environ) is not None


async def language_report(
    conn: Connection,
    hotels: Iterable[HotelLike],
    *,
    covered: frozenset[str],
    llm: bool,
    now: datetime,
) -> list[HotelLanguages]:
    """Per hotel (in the order given): its language mix and, without an LLM, the gaps.
    Read-only (one query on `conn`)."""
    from hotelbot.storage.status_report import language_mix

    mix = await language_mix(conn, since=now - timedelta(days=WINDOW_DAYS))
    return languages_of(hotels, mix, covered=covered, llm=llm)


def languages_of(
    hotels: Iterable[HotelLike],
    mix: Mapping[int, Counter[str]],
    *,
    covered: frozenset[str],
    llm: bool,
) -> list[HotelLanguages]:
    """`language_report` from a mix already read (`storage.status_report.language_mix`, or
    the status query's)."""
    report = []
    for hotel in hotels:
        counts = mix.get(hotel.id, Counter())
        if llm:
            report.append(HotelLanguages(hotel.slug, counts))
            continue
        report.append(
            HotelLanguages(
                hotel.slug,
                counts,
                tuple(coverage_gaps(counts, covered)),
                hotel.default_language not in covered,
            )
        )
    return report

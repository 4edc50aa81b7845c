"""Build the sentiment stage from settings: rules always, the LLM when configured."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from hotelbot.errors import ConfigError
from hotelbot.sentiment.settings import resolve_api_key
from hotelbot.sentiment.stage import Ledger, SentimentStage
from hotelbot.settings import Settings

if TYPE_CHECKING:
    # The openai SDK (and its httpx stack) costs several MB of RSS and import time; it is
    # imported only when an LLM is actually built (llm.enabled and an API key).
    from hotelbot.sentiment.llm import LlmAnalyser


@dataclass
class BuiltStage:
    """The stage plus what must be closed with it. `llm_status` is "configured",
    "not configured" (llm.enabled is false) or "no API key" (enabled, key missing)."""

    stage: SentimentStage
    llm: LlmAnalyser | None
    llm_status: str

    async def aclose(self) -> None:
        try:
            await self.stage.aclose()  # the ledger's pending counters, before the db closes
        finally:
            if self.llm is not None:
                await self.llm.aclose()


def build_stage(
    settings: Settings, environ: Mapping[str, str], *, ledger: Ledger | None = None
) -> BuiltStage:
    """Rules (built-in lexicon + sentiment.extra_lexicon_files) and, when llm.enabled and an
    API key is found, the LLM; with a `ledger` (the daemon's storage.llm_ledger), the LLM
    gets limits per hotel, the daily budget, the cache and the chat's context.
    Raises ConfigError for an unreadable/invalid lexicon file. Opens no connection."""
    from hotelbot.domain.rules import Lexicon, LexiconError, RuleAnalyser

    try:
        lexicon = Lexicon.load([Path(p) for p in settings.sentiment.extra_lexicon_files])
    except LexiconError as exc:
        raise ConfigError(f"sentiment.extra_lexicon_files: {exc}") from None
    rules = RuleAnalyser(lexicon)
    llm: LlmAnalyser | None = None
    status = "not configured"
    if settings.llm.enabled:
        key = resolve_api_key(settings.llm, environ)
        if key is None:
            status = "no API key"
        else:
            from hotelbot.sentiment.llm import build_llm_analyser

            llm, status = build_llm_analyser(settings.llm, key), "configured"
    return BuiltStage(SentimentStage(rules, llm, ledger=ledger if llm else None), llm, status)

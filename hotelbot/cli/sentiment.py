"""`hotelbot sentiment`: judge a text with the configured analysers (no database needed).

`echo "text" | hotelbot sentiment` (or `hotelbot sentiment - < file`) shows the rules' and
the LLM's verdicts side by side; the text comes from stdin so guest text stays out of the
process list (a TEXT argument still works, with a warning).
`hotelbot sentiment --jsonl` speaks the JSON-lines protocol of score_sentiment.py
--command: one object with "text" per stdin line -> one JSON line per input on stdout,
flushed. A bad line yields {"error": ...} on its own line; the loop never stops early.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

from hotelbot.cli import common

if TYPE_CHECKING:
    from hotelbot.domain.sentiment import Verdict
    from hotelbot.sentiment.factory import BuiltStage

AnalyserName = Literal["rules", "llm", "auto"]


def register(app: typer.Typer) -> None:
    app.command("sentiment")(sentiment)


def sentiment(
    text: Annotated[
        str | None,
        typer.Argument(
            help="The text to judge; '-' or nothing: read it from stdin (keeps guest text "
            "out of the process list)."
        ),
    ] = None,
    jsonl: Annotated[
        bool, typer.Option("--jsonl", help='Read JSON lines {"text": ...} from stdin.')
    ] = False,
    analyser: Annotated[
        str, typer.Option(help="With --jsonl: rules, llm or auto (LLM with rules fallback).")
    ] = "auto",
    language: Annotated[str | None, typer.Option(help="Language hint (en, ru, ...).")] = None,
) -> None:
    """Judge a guest message: sentiment, score, whether staff should act."""
    from hotelbot.errors import UserError

    if analyser not in ("rules", "llm", "auto"):
        raise UserError(f"--analyser {analyser!r}: use rules, llm or auto")
    choice: AnalyserName = (
        "rules" if analyser == "rules" else "llm" if analyser == "llm" else "auto"
    )
    if jsonl and text is not None:
        raise UserError("give either a TEXT (or stdin) or --jsonl, not both")
    if not jsonl:
        text = common.text_argument(text, what="the text to judge")
    from hotelbot.sentiment.factory import build_stage

    built = build_stage(common.load(), os.environ)
    if jsonl:
        common.run(_jsonl(built, choice, language))
    else:
        assert text is not None
        common.run(_show(built, text, language))


def _describe(verdict: Verdict) -> str:
    from hotelbot.domain.display import for_people

    # The reason may come from the LLM, which the guest's text can steer: sanitised.
    return (
        f"{verdict.sentiment.value:<8}  score={verdict.score:+.2f}  "
        f"attention={'yes' if verdict.requires_attention else 'no'}  "
        f"language={for_people(verdict.language)}  reason={for_people(verdict.reason)}"
    )


async def _show(built: BuiltStage, text: str, language: str | None) -> None:
    from hotelbot.domain.sentiment import AnalyserUnavailable

    try:
        rules = await built.stage.analyse_with("rules", text, language_hint=language)
        typer.echo(f"rules: {_describe(rules)}")
        if built.llm is None:
            typer.echo(f"llm:   {built.llm_status}")
            return
        try:
            llm = await built.stage.analyse_with("llm", text, language_hint=language)
        except AnalyserUnavailable as exc:
            typer.echo(f"llm:   unavailable ({exc})")
        else:
            typer.echo(f"llm:   {_describe(llm)}")
    finally:
        await built.aclose()


async def _jsonl(built: BuiltStage, analyser: AnalyserName, language: str | None) -> None:
    try:
        while True:
            line = await asyncio.to_thread(sys.stdin.readline)
            if not line:
                return
            # one answer per input line, blank ones included, so a driver never desyncs
            answer = await _answer(built, analyser, line, language)
            sys.stdout.write(json.dumps(answer, ensure_ascii=False) + "\n")
            sys.stdout.flush()
    finally:
        await built.aclose()


async def _answer(
    built: BuiltStage, analyser: AnalyserName, line: str, language: str | None
) -> dict[str, Any]:
    """The verdict for one input line, or {"error": ...}. Never raises for bad input."""
    from hotelbot.domain.sentiment import AnalyserUnavailable

    if not line.strip():
        return {"error": "empty line"}
    try:
        item = json.loads(line)
    except ValueError:
        return {"error": "not JSON"}
    if not isinstance(item, dict) or not isinstance(item.get("text"), str):
        return {"error": 'expected an object with a "text" string'}
    hint = item.get("language") if isinstance(item.get("language"), str) else language
    try:
        verdict = await built.stage.analyse_with(analyser, item["text"], language_hint=hint)
    except AnalyserUnavailable as exc:
        return {"error": f"llm unavailable: {exc}"}
    answer = verdict.as_dict()
    if "id" in item:
        answer["id"] = item["id"]
    return answer

"""Every verdict of the rule analyser over a set of texts, for diffing before/after a change.

Run ``python -m tests.bench.rules_verdicts SOURCE... > verdicts.txt`` on two checkouts and
``cmp`` the outputs: a speed-up of the rules must leave every line byte-identical. A SOURCE is
a ``.jsonl`` file or folder of them (a "text" per line), a ``.tsv`` (the text in the last
column, "#" comments) or a ``.py`` file (its string literals: the tests' own examples). Each
text is also read upper-cased, lower-cased, with "!!", in brackets and with doubled spaces;
the texts are read by one analyser in order (cold, then warm caches), by a fresh one in
reverse order, with a language hint, and without the trained model. Scores print as exact
float reprs. Not a test: a tool for whoever changes the analyser's hot paths.
"""

from __future__ import annotations

import ast
import json
import sys
from collections.abc import Iterable
from pathlib import Path

from hotelbot.domain.rules import RuleAnalyser
from hotelbot.domain.sentiment import Verdict

_EDGE_CASES = ("", " ", "x" * 9_000, "ё" * 50, "не " * 4_000, "?" * 30, ":-( :) xDDD <3 🙂🙂")


def _from_file(path: Path) -> Iterable[str]:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".jsonl":
        return [json.loads(line)["text"] for line in text.splitlines() if line.strip()]
    if path.suffix == ".tsv":
        return [ln.split("\t")[-1] for ln in text.splitlines() if ln and not ln.startswith("#")]
    if path.suffix == ".py":
        return [
            node.value
            for node in ast.walk(ast.parse(text))
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value
        ]
    return []


def texts(sources: Iterable[Path]) -> list[str]:
    """The distinct texts of the sources, in order (folders: their .jsonl files, sorted)."""
    found: list[str] = []
    for source in sources:
        files = sorted(source.glob("*.jsonl")) if source.is_dir() else [source]
        for path in files:
            found.extend(_from_file(path))
    return list(dict.fromkeys(found))


def _line(verdict: Verdict) -> str:
    return repr(
        (
            verdict.sentiment.value,
            verdict.score,
            verdict.requires_attention,
            verdict.reason,
            verdict.language,
            verdict.analyser,
            verdict.categories,
            verdict.category,
        )
    )


def main(argv: list[str] | None = None) -> int:
    sources = [Path(arg) for arg in (sys.argv[1:] if argv is None else argv)]
    if not sources:
        sys.stderr.write("usage: python -m tests.bench.rules_verdicts SOURCE...\n")
        return 2
    base = texts(sources)
    variants: list[str] = []
    for text in base:
        variants += [text, text.upper(), text.lower(), text + "!!", f"(({text})))"]
        variants.append(text.replace(" ", "  "))
    variants = [*dict.fromkeys(variants), *_EDGE_CASES]
    out = sys.stdout
    analyser = RuleAnalyser()
    for text in variants:
        out.write(_line(analyser.analyse(text)) + "\n")
    for text in variants[::3]:
        out.write("hint " + _line(analyser.analyse(text, language_hint="ru")) + "\n")
    fresh = RuleAnalyser()
    for text in reversed(variants[::2]):
        out.write("reverse " + _line(fresh.analyse(text)) + "\n")
    rules_only = RuleAnalyser(use_model=False)
    for text in base:
        verdict = rules_only.analyse(text)
        out.write(f"no model {_line(verdict)} {rules_only.normalise(text)!r}\n")
    sys.stderr.write(f"{len(base)} texts, {len(variants)} variants\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

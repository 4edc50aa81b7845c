"""Score the fact-answer rules on the labelled guest questions (tests/data/fact_questions/).

For each language and in all, it prints how many messages the rules answered, how many of
those correctly (exactly the labelled topics) and how many wrongly (a message labelled
"staff" answered, or the wrong topics), and the share answered of all messages and of the
answerable ones. Two readings: the question rules alone (`match_questions`), and as the
processor runs them, where a message the rule analyser sends to staff is never answered.

Run ``python -m tests.eval.score_facts`` for the dev part, ``--part test`` for the test part
(written apart from the rules, never used to tune them: the figure to report), ``--part blind``
for a part written without reading the rules or the other parts (scored once blind before any
fix), ``--part all`` for all three. ``--errors`` lists the wrong answers and the answerable
questions left unanswered.

Row format: ``language<TAB>expected<TAB>text``; expected is a topic, topics joined by "+",
or "staff".
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from hotelbot.domain.facts import match_questions
from hotelbot.domain.rules import RuleAnalyser

DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "fact_questions"
PARTS = ("dev", "test", "blind")


@dataclass(frozen=True, slots=True)
class Row:
    lang: str
    expected: frozenset[str]  # empty: staff
    text: str


@dataclass(slots=True)
class Tally:
    size: int = 0
    answerable: int = 0
    answered: int = 0
    correct: int = 0
    wrong: int = 0
    wrong_rows: list[tuple[Row, frozenset[str]]] = field(default_factory=list)
    missed_rows: list[Row] = field(default_factory=list)

    def line(self, name: str) -> str:
        share = self.answered / self.size if self.size else 0.0
        recall = self.correct / self.answerable if self.answerable else 0.0
        return (
            f"{name:<4} {self.size:>4} messages ({self.answerable} answerable): answered "
            f"{self.answered} ({share:.1%} of all), correct {self.correct} "
            f"({recall:.1%} of answerable), wrong {self.wrong}"
        )


def load(parts: Iterable[str]) -> list[Row]:
    """The labelled rows of the named parts, in file order."""
    rows: list[Row] = []
    for part in parts:
        with (DATA_DIR / f"{part}.tsv").open(encoding="utf-8") as handle:
            lines = (line for line in handle if line.strip() and line[0] != "#")
            for lang, expected, text in csv.reader(lines, delimiter="\t"):
                topics = frozenset() if expected == "staff" else frozenset(expected.split("+"))
                rows.append(Row(lang, topics, text))
    return rows


def score(rows: Sequence[Row], answer: Callable[[str], frozenset[str]]) -> dict[str, Tally]:
    """Tallies per language and "all" for `answer` (text -> topics answered, empty: none)."""
    tallies: dict[str, Tally] = {}
    for row in rows:
        got = answer(row.text)
        for key in (row.lang, "all"):
            tally = tallies.setdefault(key, Tally())
            tally.size += 1
            tally.answerable += bool(row.expected)
            if not got:
                if row.expected and key == "all":
                    tally.missed_rows.append(row)
                continue
            tally.answered += 1
            if got == row.expected:
                tally.correct += 1
            else:
                tally.wrong += 1
                if key == "all":
                    tally.wrong_rows.append((row, got))
    return tallies


def rules_only(text: str) -> frozenset[str]:
    return frozenset(t.value for t in match_questions(text))


def as_processor(analyser: RuleAnalyser) -> Callable[[str], frozenset[str]]:
    def answer(text: str) -> frozenset[str]:
        topics = rules_only(text)
        if topics and analyser.analyse(text).requires_attention:
            return frozenset()
        return topics

    return answer


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", choices=(*PARTS, "all"), default="dev")
    parser.add_argument("--errors", action="store_true", help="list wrong and missed rows")
    args = parser.parse_args(argv)
    rows = load(PARTS if args.part == "all" else (args.part,))
    readings = (
        ("question rules only", rules_only),
        ("as the processor (rules + the analyser's verdict)", as_processor(RuleAnalyser())),
    )
    for title, answer in readings:
        tallies = score(rows, answer)
        sys.stdout.write(f"== {args.part}: {title}\n")
        for key in ("en", "ru", "all"):
            if key in tallies:
                sys.stdout.write(tallies[key].line(key) + "\n")
        if args.errors:
            for row, got in tallies["all"].wrong_rows:
                want = "+".join(sorted(row.expected)) or "staff"
                sys.stdout.write(
                    f"  WRONG {row.lang} want {want} got {'+'.join(sorted(got))}: {row.text}\n"
                )
            for row in tallies["all"].missed_rows:
                want = "+".join(sorted(row.expected))
                sys.stdout.write(f"  missed {row.lang} {want}: {row.text}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

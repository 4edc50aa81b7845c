"""Score an analyser on the labelled hotel guest messages (tests/data/guest_messages/).

Does the analyser notice every guest who needs someone at the hotel? For each language it
prints the part size, attention precision / recall / F1, negative-tone F1, the recall of
every attention category (how many of its messages were flagged at all), the false-alarm
rate of every no-attention category, and how often the flagged category was the gold one.

Run ``python -m tests.eval.score_attention`` (or ``make eval``) for the development parts.
``--part test`` scores the test parts: they are kept for the final figure, not for tuning.
``--no-model`` scores the rules without the packaged trained model (which was trained on the
development parts, so only the rules' figures mean something there). ``--errors N`` prints N
missed and N false alarms per language, ``--json FILE`` writes every figure.

The data format is described in the set's README (one JSON object per line: id, text, lang,
attention, sentiment, category, tags).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "guest_messages"
LANGUAGES = ("en", "ru")


@dataclass(frozen=True, slots=True)
class Item:
    """One labelled guest message."""

    id: str
    text: str
    lang: str
    attention: bool
    sentiment: str
    category: str
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Prediction:
    """What an analyser said about one message."""

    attention: bool
    negative: bool
    category: str | None


@dataclass(slots=True)
class Scores:
    """Figures for one part (one language)."""

    size: int = 0
    tp: int = 0
    fp: int = 0
    fn: int = 0
    neg_tp: int = 0
    neg_fp: int = 0
    neg_fn: int = 0
    category_hits: Counter[str] = field(default_factory=Counter)
    category_sizes: Counter[str] = field(default_factory=Counter)
    category_right: Counter[str] = field(default_factory=Counter)
    tag_hits: Counter[str] = field(default_factory=Counter)
    tag_sizes: Counter[str] = field(default_factory=Counter)
    missed: list[tuple[Item, Prediction]] = field(default_factory=list)
    false_alarms: list[tuple[Item, Prediction]] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return _ratio(self.tp, self.tp + self.fp)

    @property
    def recall(self) -> float:
        return _ratio(self.tp, self.tp + self.fn)

    @property
    def f1(self) -> float:
        return _f1(self.precision, self.recall)

    @property
    def negative_f1(self) -> float:
        return _f1(
            _ratio(self.neg_tp, self.neg_tp + self.neg_fp),
            _ratio(self.neg_tp, self.neg_tp + self.neg_fn),
        )

    def category_rate(self, category: str) -> float:
        """Share of the category's messages flagged as needing attention."""
        return _ratio(self.category_hits[category], self.category_sizes[category])

    def as_dict(self) -> dict[str, object]:
        return {
            "size": self.size,
            "attention_precision": round(self.precision, 4),
            "attention_recall": round(self.recall, 4),
            "attention_f1": round(self.f1, 4),
            "negative_f1": round(self.negative_f1, 4),
            "categories": {
                name: {
                    "size": self.category_sizes[name],
                    "flagged": round(self.category_rate(name), 4),
                    "category_right": self.category_right[name],
                }
                for name in sorted(self.category_sizes)
            },
        }


def _ratio(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def _f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def load(path: Path) -> list[Item]:
    """Read one JSONL part. Raises ValueError naming the line for a malformed one."""
    items: list[Item] = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
                items.append(
                    Item(
                        id=str(raw["id"]),
                        text=str(raw["text"]),
                        lang=str(raw["lang"]),
                        attention=bool(raw["attention"]),
                        sentiment=str(raw.get("sentiment", "")),
                        category=str(raw.get("category", "")),
                        tags=tuple(str(t) for t in raw.get("tags", ())),
                    )
                )
            except (KeyError, TypeError, json.JSONDecodeError) as exc:
                raise ValueError(f"{path}:{number}: {exc}") from exc
    return items


def part_path(lang: str, part: str, data_dir: Path = DATA_DIR) -> Path:
    return data_dir / f"{lang}.{part}.jsonl"


def score(items: Iterable[Item], predict: Callable[[str], Prediction]) -> Scores:
    """Score `predict` on `items` (pure apart from calling `predict`)."""
    scores = Scores()
    for item in items:
        prediction = predict(item.text)
        scores.size += 1
        if item.attention and prediction.attention:
            scores.tp += 1
        elif prediction.attention:
            scores.fp += 1
            scores.false_alarms.append((item, prediction))
        elif item.attention:
            scores.fn += 1
            scores.missed.append((item, prediction))
        gold_negative = item.sentiment == "negative"
        if gold_negative and prediction.negative:
            scores.neg_tp += 1
        elif prediction.negative:
            scores.neg_fp += 1
        elif gold_negative:
            scores.neg_fn += 1
        scores.category_sizes[item.category] += 1
        if prediction.attention:
            scores.category_hits[item.category] += 1
            if prediction.category == item.category:
                scores.category_right[item.category] += 1
        for tag in item.tags:
            scores.tag_sizes[tag] += 1
            if prediction.attention == item.attention:
                scores.tag_hits[tag] += 1
    return scores


def rules_predictor(*, use_model: bool = True) -> Callable[[str], Prediction]:
    """The rule analyser as shipped (with its trained model), or the rules alone."""
    from hotelbot.domain.rules import RuleAnalyser

    analyser = RuleAnalyser(use_model=use_model)

    def predict(text: str) -> Prediction:
        verdict = analyser.analyse(text)
        category = verdict.category.value if verdict.category else None
        return Prediction(
            verdict.requires_attention, verdict.sentiment.value == "negative", category
        )

    return predict


ATTENTION_CATEGORIES = (
    "emergency",
    "safety",
    "complaint",
    "staff_conduct",
    "billing",
    "transport",
    "booking",
    "housekeeping_item",
    "billing_document",
    "stay_change",
    "special_need",
    "follow_up",
    "other",
)


def report(lang: str, part: str, scores: Scores, errors: int, out: list[str]) -> None:
    """Append the human-readable report of one part to `out`."""
    out.append(f"== {lang}.{part}: {scores.size} messages")
    out.append(
        f"attention: precision {scores.precision:.3f}  recall {scores.recall:.3f}  "
        f"F1 {scores.f1:.3f}   (tp {scores.tp}, fp {scores.fp}, fn {scores.fn})"
    )
    out.append(f"negative tone: F1 {scores.negative_f1:.3f}")
    out.append("needs attention, by category (flagged / size, right category):")
    for name in sorted(scores.category_sizes, key=_category_order):
        if name not in ATTENTION_CATEGORIES:
            continue
        size = scores.category_sizes[name]
        out.append(
            f"  {name:18} {scores.category_rate(name):.3f}  ({scores.category_hits[name]}/"
            f"{size}, category right {scores.category_right[name]})"
        )
    out.append("needs nobody, by category (false alarms / size):")
    for name in sorted(scores.category_sizes):
        if name in ATTENTION_CATEGORIES:
            continue
        out.append(
            f"  {name:18} {scores.category_rate(name):.3f}  ({scores.category_hits[name]}/"
            f"{scores.category_sizes[name]})"
        )
    out.append("right attention answer, by tag:")
    for tag in sorted(scores.tag_sizes):
        out.append(
            f"  {tag:18} {_ratio(scores.tag_hits[tag], scores.tag_sizes[tag]):.3f}  "
            f"({scores.tag_hits[tag]}/{scores.tag_sizes[tag]})"
        )
    if errors:
        out.append(f"missed (first {errors}):")
        for item, _ in scores.missed[:errors]:
            out.append(f"  [{item.category}] {item.text}")
        out.append(f"false alarms (first {errors}):")
        for item, prediction in scores.false_alarms[:errors]:
            out.append(f"  [{item.category} -> {prediction.category}] {item.text}")


def _category_order(name: str) -> int:
    return ATTENTION_CATEGORIES.index(name) if name in ATTENTION_CATEGORIES else 99


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("dev", "test"), default="dev")
    parser.add_argument("--lang", choices=LANGUAGES, action="append")
    parser.add_argument("--data", type=Path, default=DATA_DIR, help="folder of the parts")
    parser.add_argument("--errors", type=int, default=0, metavar="N")
    parser.add_argument(
        "--no-model", action="store_true", help="the rules alone, without the trained model"
    )
    parser.add_argument("--json", type=Path, help="also write every figure as JSON here")
    args = parser.parse_args(argv)
    predict = rules_predictor(use_model=not args.no_model)
    out: list[str] = []
    figures: dict[str, object] = {}
    status = 0
    for lang in args.lang or LANGUAGES:
        path = part_path(lang, args.part, args.data)
        if not path.exists():
            out.append(f"== {lang}.{args.part}: missing ({path})")
            status = 2
            continue
        scores = score(load(path), predict)
        report(lang, args.part, scores, args.errors, out)
        figures[f"{lang}.{args.part}"] = scores.as_dict()
    sys.stdout.write("\n".join(out) + "\n")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return status


if __name__ == "__main__":
    raise SystemExit(main())

"""Train (and cross-validate) the small attention model shipped with the rules.

``python -m tests.eval.train_attention --cv 5`` prints, per language, the pooled held-out
figures of 5-fold cross-validation on the development parts: the model alone, the rules
alone, and the ways of combining them (the model may add a message the rules missed when it
is confident, or veto a rules alarm it is confident about). ``--write`` trains on all of the
development parts and writes hotelbot/domain/rules/data/attention_model.txt.
``--rules-predictions FILE`` (JSON: id -> bool) scores another rules version instead of the
current one, e.g. one that has never seen a part.

Reproducible: folds come from a hash of the item id, the training order from a fixed seed, and
the optimiser is plain Python (Adagrad on an L2-regularised logistic loss), so the same data
gives the same weights on any machine. Never reads the test parts.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from hotelbot.domain.rules import RuleAnalyser, default_analyser
from hotelbot.domain.rules.analyser import MODEL_THRESHOLD
from hotelbot.domain.rules.attention import model_may_add
from hotelbot.domain.rules.model import MODEL_FILE, AttentionModel, features
from hotelbot.domain.rules.tokens import tokenize
from hotelbot.domain.sentiment import Sentiment
from tests.eval.score_attention import LANGUAGES, Item, load, part_path

MODEL_PATH = (
    Path(__file__).resolve().parent.parent.parent / "hotelbot" / "domain" / "rules" / "data"
)
SEED = 13
EPOCHS = 10
L2 = 1e-3
LEARNING_RATE = 0.2
MIN_DOCS = 2  # a feature seen in one message only is noise
PRUNE = 0.02  # smaller weights are dropped from the shipped file


@dataclass(frozen=True, slots=True)
class Example:
    item: Item
    names: tuple[str, ...]  # with repeats: a word that occurs twice counts twice


def dev_examples() -> list[Example]:
    """Both development parts, read as the model reads them."""
    return examples([item for lang in LANGUAGES for item in load(part_path(lang, "dev"))])


def examples(items: Sequence[Item]) -> list[Example]:
    normalise = default_analyser().normalise
    return [Example(item, tuple(features(normalise(item.text)))) for item in items]


def train(data: Sequence[Example], seed: int = SEED) -> AttentionModel:
    """Logistic regression by Adagrad with L2; deterministic for a given seed and data."""
    docs: Counter[str] = Counter()
    for example in data:
        docs.update(set(example.names))
    vocabulary = {name for name, count in docs.items() if count >= MIN_DOCS}
    weights: dict[str, float] = dict.fromkeys(sorted(vocabulary), 0.0)
    squares: dict[str, float] = dict.fromkeys(weights, 1e-8)
    bias = 0.0
    bias_square = 1e-8
    order = list(range(len(data)))
    rng = random.Random(seed)
    for _ in range(EPOCHS):
        rng.shuffle(order)
        for index in order:
            example = data[index]
            names = [name for name in example.names if name in weights]
            score = bias + sum(weights[name] for name in names)
            target = 1.0 if example.item.attention else 0.0
            error = _sigmoid(score) - target
            for name in names:
                gradient = error + L2 * weights[name]
                squares[name] += gradient * gradient
                weights[name] -= LEARNING_RATE * gradient / math.sqrt(squares[name])
            bias_square += error * error
            bias -= LEARNING_RATE * error / math.sqrt(bias_square)
    kept = {name: weight for name, weight in weights.items() if abs(weight) >= PRUNE}
    return AttentionModel(kept, bias)


def _sigmoid(value: float) -> float:
    return 1.0 / (1.0 + math.exp(-value)) if value >= 0 else 1.0 - 1.0 / (1.0 + math.exp(value))


def fold_of(item: Item, folds: int) -> int:
    return int(hashlib.sha256(item.id.encode()).hexdigest(), 16) % folds


@dataclass(slots=True)
class Tally:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, gold: bool, predicted: bool) -> None:
        self.tp += gold and predicted
        self.fp += predicted and not gold
        self.fn += gold and not predicted

    def line(self) -> str:
        precision = self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0
        recall = self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return f"P {precision:.3f}  R {recall:.3f}  F1 {f1:.3f}  (fp {self.fp}, fn {self.fn})"


# (rules said attention, model probability, the rules let the model add) -> attention
Combiner = Callable[[bool, float, bool], bool]


def _either(threshold: float) -> Combiner:
    return lambda rules, p, gate: rules or p >= threshold


def _gated(threshold: float) -> Combiner:
    return lambda rules, p, gate: rules or (gate and p >= threshold)


def _unless(threshold: float) -> Combiner:
    return lambda rules, p, gate: rules and p >= threshold


COMBINERS: dict[str, Combiner] = {
    "rules": lambda rules, p, gate: rules,
    "model >= 0.5": lambda rules, p, gate: p >= 0.5,
    **{f"rules or model >= {t}": _either(t) for t in (0.8, 0.9, 0.95)},
    **{f"rules or gated model >= {t}": _gated(t) for t in (0.8, 0.9, 0.95)},
    **{f"rules unless model < {t}": _unless(t) for t in (0.02, 0.05, 0.1)},
}
SHIPPED = f"rules or gated model >= {MODEL_THRESHOLD}"


def model_gate() -> Callable[[Item], bool]:
    """Whether the rules' reading lets the model add attention to an item (`model_may_add`),
    whatever the rules' own answer, so another rules version can be combined the same way."""
    analyser = RuleAnalyser(use_model=False)

    def gate(item: Item) -> bool:
        reading = analyser._read(tokenize(analyser.normalise(item.text)))
        positive = analyser.analyse(item.text).sentiment is Sentiment.POSITIVE
        return model_may_add(reading, positive)

    return gate


def cross_validate(
    data: Sequence[Example], rules: Callable[[Item], bool], folds: int, out: list[str]
) -> None:
    tallies = {(lang, name): Tally() for lang in LANGUAGES for name in COMBINERS}
    gate = model_gate()
    for fold in range(folds):
        train_part = [e for e in data if fold_of(e.item, folds) != fold]
        held_out = [e for e in data if fold_of(e.item, folds) == fold]
        model = train(train_part)
        for example in held_out:
            p = _sigmoid(model.score(example.names))
            said = rules(example.item)
            may = gate(example.item)
            for name, combine in COMBINERS.items():
                predicted = combine(said, p, may)
                tallies[(example.item.lang, name)].add(example.item.attention, predicted)
    for lang in LANGUAGES:
        size = sum(1 for e in data if e.item.lang == lang)
        out.append(f"== {lang}.dev, {folds}-fold held-out ({size} messages)")
        for name in COMBINERS:
            mark = "*" if name == SHIPPED else " "
            out.append(f" {mark}{name:32} {tallies[(lang, name)].line()}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cv", type=int, default=0, metavar="K", help="K-fold figures")
    parser.add_argument("--write", action="store_true", help="train on all dev, write model")
    parser.add_argument("--rules-predictions", type=Path, help="JSON id -> bool of rules")
    args = parser.parse_args(argv)
    data = dev_examples()
    out: list[str] = []
    if args.cv:
        if args.rules_predictions:
            said = json.loads(args.rules_predictions.read_text(encoding="utf-8"))

            def rules(item: Item) -> bool:
                return bool(said[item.id])
        else:
            analyser = RuleAnalyser(use_model=False)  # the rules alone, not the shipped model

            def rules(item: Item) -> bool:
                return analyser.analyse(item.text).requires_attention

        cross_validate(data, rules, args.cv, out)
    if args.write:
        model = train(data)
        (MODEL_PATH / MODEL_FILE).write_text(model.dumps(), encoding="utf-8")
        out.append(f"wrote {MODEL_FILE}: {model.size} weights from {len(data)} messages")
    sys.stdout.write("\n".join(out) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

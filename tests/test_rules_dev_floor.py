"""A floor under the rules' figures on the development part of the labelled guest messages.

The rules were tuned on these parts (tests/data/guest_messages/{en,ru}.dev.jsonl), so the
figures here are optimistic; this test only stops a change from quietly losing what they
catch. The test parts are never read here: they measure the rules once, by
``python -m tests.eval.score_attention --part test``.
"""

from __future__ import annotations

import pytest

from tests.eval.score_attention import (
    ATTENTION_CATEGORIES,
    Scores,
    load,
    part_path,
    rules_predictor,
    score,
)

RECALL_FLOOR = 0.95
PRECISION_FLOOR = 0.90
CATEGORY_FLOOR = 0.85
NEGATIVE_F1_FLOOR = 0.65


@pytest.fixture(scope="module", params=["en", "ru"])
def dev_scores(request: pytest.FixtureRequest) -> Scores:
    lang = str(request.param)
    items = load(part_path(lang, "dev"))
    assert len(items) == 500
    assert {item.lang for item in items} == {lang}
    # the rules alone: the shipped model was trained on these parts, so with it the figures
    # would say nothing
    return score(items, rules_predictor(use_model=False))


def test_attention_recall_and_precision(dev_scores: Scores) -> None:
    assert dev_scores.recall >= RECALL_FLOOR, dev_scores.as_dict()
    assert dev_scores.precision >= PRECISION_FLOOR, dev_scores.as_dict()


def test_every_attention_category_is_noticed(dev_scores: Scores) -> None:
    seen = [name for name in ATTENTION_CATEGORIES if dev_scores.category_sizes[name]]
    assert len(seen) >= 12
    low = {name: dev_scores.category_rate(name) for name in seen}
    assert all(rate >= CATEGORY_FLOOR for rate in low.values()), low


def test_negative_tone(dev_scores: Scores) -> None:
    assert dev_scores.negative_f1 >= NEGATIVE_F1_FLOOR

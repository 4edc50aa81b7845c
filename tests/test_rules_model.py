"""The small attention model shipped with the rules: format, wiring, reproducible training."""

from __future__ import annotations

import importlib.resources

import pytest

from hotelbot.domain.rules import RuleAnalyser
from hotelbot.domain.rules.analyser import MODEL_THRESHOLD
from hotelbot.domain.rules.model import MODEL_FILE, AttentionModel, features, word_features
from tests.eval.train_attention import dev_examples, train


def test_features_are_words_and_marked_character_grams() -> None:
    names = word_features("ite")
    assert names == tuple(sorted(set(names)))
    assert {"w:ite", "<i", "te>", "<ite", "ite>"} <= set(names)
    assert features("Принесите 2 полотенца!") == [
        *word_features("принесите"),
        *word_features("0"),
        *word_features("полотенца"),
        *word_features("!"),
    ]


def test_dumps_and_loads_round_trip() -> None:
    model = AttentionModel({"w:towels": 1.25, "<pl": -0.5}, bias=-0.75)
    again = AttentionModel.loads(model.dumps())
    assert again.dumps() == model.dumps()
    assert again.probability("towels") == pytest.approx(model.probability("towels"))
    with pytest.raises(ValueError, match=MODEL_FILE):
        AttentionModel.loads("no tab here\n")


def test_the_packaged_model_loads_and_scores() -> None:
    model = AttentionModel.load()
    assert model is not None
    assert model.size > 1_000
    for text in ("", "ok", "🙂" * 3, "a" * 5_000):
        assert 0.0 <= model.probability(text) <= 1.0


def test_the_model_only_adds_attention_the_rules_did_not_give() -> None:
    always = AttentionModel({}, bias=10.0)  # p ~ 1 for every text
    never = AttentionModel({}, bias=-10.0)
    text = "room 214, the taxi tomorrow morning"
    assert not RuleAnalyser(use_model=False).analyse(text).requires_attention
    added = RuleAnalyser(model=always).analyse(text)
    assert added.requires_attention
    assert added.category is not None and added.category.value == "transport"  # mentioned
    assert added.categories == ()  # not a concrete finding: an LLM may overrule it
    assert added.reason == "likely needs staff (model)"
    assert always.probability(text) >= MODEL_THRESHOLD
    complaint = RuleAnalyser(model=never).analyse("The shower is broken")
    assert complaint.requires_attention  # the model never takes a finding away


@pytest.mark.parametrize(
    "text",
    [
        "Thank you, it was a lovely stay!",  # praise
        "Good morning!",  # a greeting
        "What time does the spa open?",  # only a question for a fact
        "It has been raining all day",  # outside the hotel
        "The heating works now, thanks",  # a problem already fixed
        "Our committee meets in March to review the annual report",  # no hotel business
    ],
)
def test_the_model_cannot_overrule_an_explicit_nobody_needed(text: str) -> None:
    always = AttentionModel({}, bias=10.0)
    assert not RuleAnalyser(model=always).analyse(text).requires_attention


def test_training_is_reproducible_and_the_shipped_file_is_its_output() -> None:
    """Retrain on the development parts: the same weights as the packaged file, byte for byte.
    (When the rules' normalisation changes, retrain: python -m tests.eval.train_attention
    --write.)"""
    shipped = importlib.resources.files("hotelbot.domain.rules") / "data" / MODEL_FILE
    assert train(dev_examples()).dumps() == shipped.read_text(encoding="utf-8")

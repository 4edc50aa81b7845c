"""Russian in Latin letters and mixed-script words, rewritten to Cyrillic before matching."""

from __future__ import annotations

import pytest

from hotelbot.domain.rules import RuleAnalyser
from hotelbot.domain.rules.translit import fix_mixed_scripts, to_cyrillic_candidates


@pytest.fixture(scope="module")
def normalise() -> object:
    return RuleAnalyser()._translit.normalise


@pytest.mark.parametrize(
    ("latin", "cyrillic"),
    [
        ("pozhaluysta", "пожалуйста"),
        ("prinesite", "принесите"),
        ("polotenca", "полотенца"),
        ("vyezd", "выезд"),
        ("shchetka", "щетка"),
        ("ostaetsya", "остается"),
        ("detskuyu", "детскую"),
    ],
)
def test_first_reading(latin: str, cyrillic: str) -> None:
    assert to_cyrillic_candidates(latin)[0] == cyrillic


def test_ambiguous_letters_give_alternatives() -> None:
    assert "можно" in to_cyrillic_candidates("mojno")  # "j" is "ж" here, "й" elsewhere
    assert "это" in to_cyrillic_candidates("eto")
    # "i" after a vowel: "й" first at the end of a word, an alternative inside one
    assert to_cyrillic_candidates("kakoi")[:2] == ["какой", "какои"]
    assert to_cyrillic_candidates("stoit")[0] == "стоит"
    assert "бассейн" in to_cyrillic_candidates("bassein")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("polotenca ne prinesli", "полотенца не принесли"),
        ("wifi ne rabotaet", "wifi не работает"),
        ("mozhno pozdniy vyezd?", "можно поздний выезд?"),
        ("my zhdem uzhe chas", "мы ждем уже час"),
        ("pochemu net goryachei vody", "почему нет горячей воды"),
    ],
)
def test_transliterated_russian_becomes_cyrillic(
    normalise: object, text: str, expected: str
) -> None:
    assert callable(normalise)
    assert normalise(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "The towels were not brought",
        "Can I get a late checkout?",
        "compatability issues",
        "ok",
    ],
)
def test_english_and_other_latin_text_is_left_alone(normalise: object, text: str) -> None:
    assert callable(normalise)
    assert normalise(text) == text


def test_mixed_script_words_use_one_script() -> None:
    assert fix_mixed_scripts("нoмер грязный") == "номер грязный"  # Latin "o"
    assert fix_mixed_scripts("the rооm") == "the room"  # Cyrillic "о"s
    assert fix_mixed_scripts("wifiне работает") == "wifi не работает"

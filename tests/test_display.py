"""Text shown to people: forged lines, terminal escapes, bidi overrides and NUL are gone."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from hotelbot.domain.display import for_people, for_people_multiline


def test_newline_in_a_name_cannot_forge_a_line() -> None:
    assert for_people("Anna\nReason: free upgrade") == "Anna Reason: free upgrade"
    assert "\n" not in for_people("a\r\nb\u2028c\u2029d\x85e")


def test_terminal_escapes_nul_and_bidi_are_removed() -> None:
    hostile = "ok\x1b[2J\x1b]0;title\x07 \x00done \u202egnp.exe\u202c \u2066x\u2069"
    shown = for_people(hostile)
    for bad in ("\x1b", "\x00", "\x07", "\u202e", "\u202c", "\u2066", "\u2069"):
        assert bad not in shown
    assert shown.startswith("ok[2J]0;title done gnp.exe")


def test_lone_surrogate_and_private_use_are_dropped() -> None:
    assert for_people("cut emoji \ud83d end\ue000") == "cut emoji end"


def test_emoji_sequences_keep_their_joiners() -> None:
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    assert for_people(f"hi {family} ❤️") == f"hi {family} ❤️"


def test_cap_marks_the_cut_and_counts_within_the_cap() -> None:
    shown = for_people("x" * 50, max_chars=10)
    assert shown == "x" * 9 + "…"
    assert len(shown) == 10
    assert for_people("short", max_chars=10) == "short"
    assert for_people("anything", max_chars=0) == ""
    assert for_people(None) == ""


def test_multiline_keeps_lines_but_nothing_else() -> None:
    body = "line one\x1b[31m\n\n\n\u202eline two\r\nthree"
    assert for_people_multiline(body) == "line one[31m\n\nline two\nthree"


@given(st.text())
def test_for_people_is_idempotent_and_single_line(text: str) -> None:
    once = for_people(text)
    assert for_people(once) == once
    assert "\n" not in once and "\x1b" not in once and "\x00" not in once
    once.encode("utf-8")  # never a lone surrogate


@given(st.text(), st.integers(min_value=1, max_value=300))
def test_cap_is_respected(text: str, cap: int) -> None:
    assert len(for_people(text, max_chars=cap)) <= cap
    assert len(for_people_multiline(text, max_chars=cap)) <= cap

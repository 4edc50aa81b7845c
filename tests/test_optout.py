"""Opt-out / opt-in keyword classification and confirmation texts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hotelbot.domain.optout import (
    START_PHRASES,
    STOP_PHRASES,
    KeywordIntent,
    classify_keyword,
    confirmation_language,
    confirmation_text,
    opt_state_after,
)


@pytest.mark.parametrize(
    "text",
    [
        "STOP",
        "stop",
        " Stop. ",
        "STOP!!!",
        "stop 🛑",
        "Stop messages",
        "stop messages please",
        "Please stop sending me messages",
        "unsubscribe",
        "Unsubscribe me, thanks",
        "opt-out",
        "OPT OUT",
        "Don't message me",
        "don’t text me",
        "no more messages",
        "СТОП",
        "стоп!",
        "Отписаться",
        "отписка",
        "не пишите",
        "Не пишите мне, пожалуйста",
        "Больше не пишите",
        "хватит писать",
        "прекратите рассылку",
        "Пожалуйста, отпишите меня",
        "stopp",
        "STOP STOP",
        "stop stop stop stop stop stop stop stop stop",
    ],
)
def test_stop_intents(text: str) -> None:
    assert classify_keyword(text) == "stop"


@pytest.mark.parametrize(
    "text",
    [
        "START",
        "start",
        "Start messages",
        "resume",
        "Subscribe",
        "unstop",
        "СТАРТ",
        "старт.",
        "подписаться",
        "Возобновить рассылку",
    ],
)
def test_start_intents(text: str) -> None:
    assert classify_keyword(text) == "start"


@pytest.mark.parametrize(
    "text",
    [
        "the water won't stop leaking",
        "Please stop the noise next door",
        "stop by the reception?",
        "Can I unsubscribe later? First I need the wifi password",
        "when does breakfast start",
        "start of my stay was great",
        "не пишите мне больше про завтрак, а скажите где такси",
        "Стоп, а где парковка?",
        "хватит",  # "enough!" alone is a complaint, not an opt-out
        "cancel",  # could mean the booking; staff must read it
        "",
        "   ",
        "!!!",
        "please",
        "спасибо",
        "ok",
        "stop the noise, stop the music, stop the party",
    ],
)
def test_ordinary_messages_are_not_keywords(text: str) -> None:
    assert classify_keyword(text) is None


def test_phrase_sets_are_normalised_and_disjoint() -> None:
    # Every listed phrase must be reachable: it is what normalisation produces.
    for phrase in STOP_PHRASES:
        assert classify_keyword(phrase) == "stop", phrase
    for phrase in START_PHRASES:
        assert classify_keyword(phrase) == "start", phrase
    assert not STOP_PHRASES & START_PHRASES


@pytest.mark.parametrize(
    ("intent", "language", "fragment"),
    [
        ("stop", "en", "no longer receive automated messages"),
        ("stop", "ru", "больше не будете получать"),
        ("stop", "ru-RU", "больше не будете получать"),
        ("stop", "lv", "no longer receive"),  # fallback English
        ("stop", None, "no longer receive"),
        ("start", "en", "Reply STOP"),
        ("start", "ru", "напишите СТОП"),
    ],
)
def test_confirmation_texts(intent: KeywordIntent, language: str | None, fragment: str) -> None:
    assert fragment in confirmation_text(intent, language)


def test_confirmations_tell_how_to_undo() -> None:
    assert "START" in confirmation_text("stop", "en")
    assert "СТАРТ" in confirmation_text("stop", "ru")


@pytest.mark.parametrize(
    ("text", "guest_language", "expected"),
    [
        ("СТОП", "en", "ru"),
        ("STOP", "ru", "ru"),
        ("STOP", "de", "de"),
        ("STOP", None, "en"),
    ],
)
def test_confirmation_language(text: str, guest_language: str | None, expected: str) -> None:
    assert confirmation_language(text, guest_language) == expected


def test_stop_opts_out_once_and_start_opts_back_in() -> None:
    t0 = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
    t1 = t0 + timedelta(hours=1)
    assert opt_state_after(False, None, "stop", t0) == (True, t0)
    assert opt_state_after(True, t0, "stop", t1) == (True, t0)  # the first STOP's time stays
    assert opt_state_after(True, t0, None, t1) == (True, t0)
    assert opt_state_after(True, t0, "start", t1) == (False, None)
    assert opt_state_after(False, None, "start", t1) == (False, None)

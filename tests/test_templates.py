"""Templates: validation at add time, language choice, rendering without holes, stay values."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hotelbot.domain.fire_times import StayFacts, StayStatus
from hotelbot.domain.templates import (
    VARIABLES,
    MissingValueError,
    Template,
    TemplateError,
    format_date,
    render,
    stay_values,
    validate,
    variables_used,
)

WELCOME = Template(
    {
        "en": "Welcome to {hotel_name}, {first_name}! Your room is {room}.",
        "ru": "Добро пожаловать в {hotel_name}, {first_name}! Ваш номер {room}.",
    },
    fallback_language="en",
)
VALUES: dict[str, str | None] = {
    "guest_name": "Anna Berzina",
    "first_name": "Anna",
    "hotel_name": "Hotel Riga",
    "room": "101",
}


def test_variables_are_defined_in_one_place() -> None:
    assert (
        frozenset(
            {
                "guest_name",
                "first_name",
                "hotel_name",
                "room",
                "check_in",
                "check_out",
                "check_in_time",
                "check_out_time",
                "nights",
            }
        )
        == VARIABLES
    )


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "Welcome to Hotel Riga, Anna! Your room is 101."),
        ("ru", "Добро пожаловать в Hotel Riga, Anna! Ваш номер 101."),
        ("ru-RU", "Добро пожаловать в Hotel Riga, Anna! Ваш номер 101."),
        ("RU_ru", "Добро пожаловать в Hotel Riga, Anna! Ваш номер 101."),
        ("lv", "Welcome to Hotel Riga, Anna! Your room is 101."),  # fallback
        (None, "Welcome to Hotel Riga, Anna! Your room is 101."),
        ("", "Welcome to Hotel Riga, Anna! Your room is 101."),
    ],
)
def test_render_picks_the_language(language: str | None, expected: str) -> None:
    assert render(WELCOME, language, VALUES) == expected


def test_exact_regional_text_wins_over_primary() -> None:
    t = Template({"pt": "Olá {first_name}", "pt-BR": "Oi {first_name}", "en": "Hi {first_name}"})
    assert render(t, "pt-br", VALUES) == "Oi Anna"
    assert render(t, "pt-PT", VALUES) == "Olá Anna"
    assert t.pick_language("PT_br") == "pt-br"


@pytest.mark.parametrize(
    ("value", "missing"),
    [(None, True), ("", True), ("   ", True), ("0", False)],
)
def test_missing_values_are_refused(value: str | None, missing: bool) -> None:
    values = {**VALUES, "room": value}
    if missing:
        with pytest.raises(MissingValueError) as excinfo:
            render(WELCOME, "en", values)
        assert excinfo.value.missing == ("room",)
        assert "{room}" in str(excinfo.value)
    else:
        assert render(WELCOME, "en", values).endswith("room is 0.")


def test_missing_error_names_every_missing_variable_once() -> None:
    t = Template({"en": "{first_name} {room} {room} {nights}"})
    with pytest.raises(MissingValueError) as excinfo:
        render(t, "en", {"first_name": "Anna"})
    assert excinfo.value.missing == ("nights", "room")
    assert excinfo.value.language == "en"
    assert "Anna" not in str(excinfo.value), "no guest data in the error"


def test_unused_missing_values_do_not_matter() -> None:
    t = Template({"en": "Hello {first_name}", "ru": "Здравствуйте, {guest_name}, номер {room}"})
    assert render(t, "en", {"first_name": "Anna"}) == "Hello Anna"


def test_literal_braces_and_no_placeholders() -> None:
    t = Template({"en": "Use {{code}} at the door, {first_name}."})
    validate(t)
    assert render(t, "en", VALUES) == "Use {code} at the door, Anna."
    plain = Template({"en": "Good morning!"})
    validate(plain)
    assert render(plain, "en", {}) == "Good morning!"


def test_values_are_not_reinterpreted() -> None:
    # A guest named "{room}" must not be expanded a second time.
    assert render(WELCOME, "en", {**VALUES, "first_name": "{room}"}) == (
        "Welcome to Hotel Riga, {room}! Your room is 101."
    )


@pytest.mark.parametrize(
    ("texts", "fragments"),
    [
        ({"en": "Hi {gest_name}"}, ["en: unknown variable {gest_name}", "allowed variables:"]),
        ({"en": "Hi {first_name"}, ["en: malformed braces"]),
        ({"en": "Hi first_name}"}, ["en: malformed braces"]),
        ({"en": "Hi {}"}, ["positional placeholder {}"]),
        ({"en": "Hi {0}"}, ["positional placeholder {0}"]),
        ({"en": "Hi {room!r}"}, ["{room!r}: conversions and format specs are not allowed"]),
        ({"en": "Hi {room:>5}"}, ["{room:>5}: conversions and format specs"]),
        ({"en": "Hi {room.real}"}, ["{room.real}: attribute or index access"]),
        ({"en": "Hi {room[0]}"}, ["{room[0]}: attribute or index access"]),
        ({"en": "   "}, ["en: text is empty"]),
        (
            {"en": "Hi {x}", "ru": "Привет {y} {"},
            ["en: unknown variable {x}", "ru: malformed braces"],
        ),
    ],
)
def test_validate_lists_every_problem(texts: dict[str, str], fragments: list[str]) -> None:
    with pytest.raises(TemplateError) as excinfo:
        validate(Template(texts))
    message = str(excinfo.value)
    for fragment in fragments:
        assert fragment in message
    assert len(excinfo.value.problems) >= len(fragments)


def test_render_refuses_invalid_text() -> None:
    with pytest.raises(TemplateError, match="unknown variable"):
        render(Template({"en": "Hi {gest_name}"}), "en", {"gest_name": "x"})


def test_valid_templates_pass() -> None:
    validate(WELCOME)
    every = " ".join("{" + v + "}" for v in sorted(VARIABLES))
    validate(Template({"en": every}))
    assert variables_used(WELCOME) == {"hotel_name", "first_name", "room"}


def test_template_construction_rules() -> None:
    with pytest.raises(TemplateError, match="fallback language 'en' has no text"):
        Template({"ru": "Привет"})
    with pytest.raises(TemplateError, match="duplicate language codes"):
        Template({"en": "a", "EN": "b"})
    t = Template({"EN-gb": "Hi", "ru": "Привет"}, fallback_language="ru")
    assert dict(t.texts) == {"en-gb": "Hi", "ru": "Привет"}
    assert t.pick_language("de") == "ru"
    assert t.pick_language("en") == "ru"  # "en" is not "en-gb"; regional variants do not widen


def test_dict_round_trip() -> None:
    stored = json.loads(json.dumps(WELCOME.to_dict()))
    assert Template.from_dict(stored) == WELCOME
    with pytest.raises(TemplateError, match="texts must map"):
        Template.from_dict({"texts": {"en": 5}})
    with pytest.raises(TemplateError, match="fallback_language must be a string"):
        Template.from_dict({"texts": {"en": "x"}, "fallback_language": None})


safe_text = st.text(alphabet=st.characters(blacklist_characters="{}"), max_size=40)


@given(st.lists(st.tuples(safe_text, st.sampled_from(sorted(VARIABLES))), max_size=6), safe_text)
def test_render_never_leaves_a_placeholder(parts: list[tuple[str, str]], tail: str) -> None:
    text = "".join(f"{lit}{{{name}}}" for lit, name in parts) + tail
    if not text.strip():
        return
    t = Template({"en": text})
    validate(t)
    values = {name: f"<{name}>" for name in VARIABLES}
    out = render(t, "en", values)
    assert "{" not in out and "}" not in out
    assert out == "".join(f"{lit}<{name}>" for lit, name in parts) + tail


# --- stay values --------------------------------------------------------------------------


def make_stay(**overrides: object) -> StayFacts:
    fields: dict[str, object] = {
        "hotel_tz": ZoneInfo("Europe/Riga"),
        "check_in": date(2026, 5, 10),
        "check_out": date(2026, 5, 13),
        "status": StayStatus.BOOKED,
        "language": "ru",
        "guest_name": "  Anna   Berzina ",
        "room": "101",
        "created_at": datetime(2026, 5, 1, tzinfo=UTC),
    }
    fields.update(overrides)
    return StayFacts(**fields)  # type: ignore[arg-type]


def test_stay_values() -> None:
    values = stay_values(make_stay(), hotel_name="Hotel Riga")
    assert values == {
        "guest_name": "Anna Berzina",
        "first_name": "Anna",
        "hotel_name": "Hotel Riga",
        "room": "101",
        "check_in": "10 мая",
        "check_out": "13 мая",
        "check_in_time": "15:00",
        "check_out_time": "11:00",
        "nights": "3",
    }
    assert set(values) == VARIABLES


def test_stay_values_unknowns_are_none_and_block_rendering() -> None:
    values = stay_values(
        make_stay(room=None, guest_name=" ", check_in_time=time(13, 30)),
        hotel_name="Hotel Riga",
        language="en",
    )
    assert values["room"] is None
    assert values["first_name"] is None
    assert values["check_in"] == "10 May"
    assert values["check_in_time"] == "13:30"
    with pytest.raises(MissingValueError) as excinfo:
        render(WELCOME, "en", values)
    assert excinfo.value.missing == ("first_name", "room")


@pytest.mark.parametrize(
    ("language", "expected"),
    [("en", "1 January"), ("en-GB", "1 January"), ("ru", "1 января"), ("lv", "2027-01-01")],
)
def test_format_date(language: str, expected: str) -> None:
    assert format_date(date(2027, 1, 1), language) == expected

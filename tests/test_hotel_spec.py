from __future__ import annotations

from pathlib import Path

import pytest

from hotelbot.errors import ConfigError
from hotelbot.hotel_spec import load_hotels_file, validate_hotels

REPO = Path(__file__).resolve().parent.parent

GOOD = {
    "slug": "grand-riga",
    "name": "Grand Hotel Riga",
    "instance_id": "1101000001",
    "api_token": "secret",
    "timezone": "Europe/Riga",
}


def test_example_hotels_file_is_valid() -> None:
    hotels = load_hotels_file(REPO / "hotels.example.toml")
    assert [h.slug for h in hotels] == ["grand-riga", "nevsky-spb"]
    assert hotels[0].api_url == "https://1101.api.greenapi.com"
    assert hotels[0].staff_chat_id == "37120000000@c.us"


def test_token_is_secret() -> None:
    (hotel,) = validate_hotels([GOOD], "t")
    assert "secret" not in repr(hotel)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"timezone": "Europe/Rga"}, "unknown timezone 'Europe/Rga'"),
        ({"colour": "red"}, "colour: unknown key"),
        ({"slug": "Grand Riga"}, "slug"),
        ({"instance_id": "11x"}, "instance_id"),
        ({"api_token_env": "GREENAPI_TOKEN_X"}, "exactly one of api_token and api_token_env"),
        ({"api_token_env": "HOTELBOT_PG_PASSWORD"}, "starting with GREENAPI_TOKEN_"),
        ({"api_token_env": "GREENAPI_TOKEN_"}, "a name after the prefix"),
        ({"api_url": "http://api.green-api.com"}, "must use https://"),
        ({"api_url": "http://10.0.0.5:8080"}, "must use https://"),
        ({"staff_chat_id": "+371 2000"}, "staff_chat_id"),
        ({"quiet_hours": "22-9"}, "quiet_hours"),
        ({"api_url": "ftp://x"}, "api_url"),
        ({"signal_photo": "loud"}, 'signal_photo: one of "alert", "digest"'),
        ({"signal_call": 1}, 'signal_call: one of "alert", "digest"'),
    ],
)
def test_bad_entries_are_named(change: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        validate_hotels([{**GOOD, **change}], "hotels.toml")
    assert message in str(info.value)
    assert "hotels.toml: hotels[0]" in str(info.value)


def test_every_problem_is_listed_and_duplicates_found() -> None:
    second = {**GOOD, "timezone": "Mars/Base"}
    with pytest.raises(ConfigError) as info:
        validate_hotels([GOOD, second, {**GOOD, "slug": "other"}], "f")
    text = str(info.value)
    assert "hotels[1]" in text and "Mars/Base" in text
    assert "duplicate instance_id" in text


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8080", "http://localhost", "http://[::1]:9000", "https://x.example"]
)
def test_plain_http_only_for_loopback(url: str) -> None:
    (hotel,) = validate_hotels([{**GOOD, "api_url": url}], "t")
    assert hotel.api_url == url


def test_integer_instance_id_is_accepted() -> None:
    (hotel,) = validate_hotels([{**GOOD, "instance_id": 1101000001}], "t")
    assert hotel.instance_id == "1101000001"


def test_file_with_no_hotels(tmp_path: Path) -> None:
    path = tmp_path / "h.toml"
    path.write_text("[hotel]\nslug='x'\n")
    with pytest.raises(ConfigError, match="unknown top-level key"):
        load_hotels_file(path)


def test_signal_settings_default_and_forgive_case() -> None:
    (hotel,) = validate_hotels([{**GOOD, "signal_video": " Alert ", "signal_call": "ignore"}], "t")
    assert (hotel.signal_video, hotel.signal_call) == ("alert", "ignore")
    assert (hotel.signal_voice_note, hotel.signal_photo, hotel.signal_sticker) == (
        "alert",
        "digest",
        "ignore",
    )

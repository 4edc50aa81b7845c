from __future__ import annotations

from pathlib import Path

import pytest

from hotelbot.errors import ConfigError
from hotelbot.settings import load_settings

REPO = Path(__file__).resolve().parent.parent


def test_example_settings_file_is_valid(clean_env: dict[str, str]) -> None:
    settings, path = load_settings(REPO / "config" / "hotelbot.toml", clean_env)
    assert path == REPO / "config" / "hotelbot.toml"
    assert settings.greenapi.receive_timeout_s == 20


def test_defaults_use_state_directory(clean_env: dict[str, str]) -> None:
    env = dict(clean_env, STATE_DIRECTORY="/var/lib/hotelbot")
    settings, path = load_settings(None, env)
    assert path is None
    assert settings.database_url(env) == "sqlite+aiosqlite:////var/lib/hotelbot/hotelbot.sqlite3"


def test_unknown_key_names_file_and_key(tmp_path: Path, clean_env: dict[str, str]) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[greenapi]\nrecieve_timeout_s = 30\n")
    with pytest.raises(ConfigError) as info:
        load_settings(bad, clean_env)
    assert str(bad) in str(info.value)
    assert "greenapi.recieve_timeout_s: unknown key" in str(info.value)


def test_out_of_range_value_is_rejected(tmp_path: Path, clean_env: dict[str, str]) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[greenapi]\nreceive_timeout_s = 90\n")
    with pytest.raises(ConfigError, match="receive_timeout_s"):
        load_settings(bad, clean_env)


def test_environment_overrides_file(tmp_path: Path, clean_env: dict[str, str]) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[database]\nurl = "sqlite+aiosqlite:////tmp/a.db"\n')
    env = dict(
        clean_env,
        HOTELBOT_CONFIG=str(cfg),
        HOTELBOT_DATABASE_URL="postgresql+asyncpg://u@h/db",
        HOTELBOT_GREENAPI__RECEIVE_TIMEOUT_S="30",
        HOTELBOT_LOG_LEVEL="debug",
    )
    settings, path = load_settings(None, env)
    assert path == cfg
    assert settings.database_url(env) == "postgresql+asyncpg://u@h/db"
    assert settings.greenapi.receive_timeout_s == 30
    assert settings.logging.level == "DEBUG"


def test_unknown_environment_key_is_named(clean_env: dict[str, str]) -> None:
    env = dict(clean_env, HOTELBOT_GREENAPI__NOPE="1")
    with pytest.raises(ConfigError, match="HOTELBOT_GREENAPI__NOPE"):
        load_settings(None, env)
    env = dict(clean_env, HOTELBOT_WHATEVER="1")
    with pytest.raises(ConfigError, match="HOTELBOT_WHATEVER"):
        load_settings(None, env)


def test_missing_named_file_is_an_error(tmp_path: Path, clean_env: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "nope.toml", clean_env)


def test_bad_toml_is_reported(tmp_path: Path, clean_env: dict[str, str]) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[database\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(bad, clean_env)


def test_bad_database_scheme(clean_env: dict[str, str]) -> None:
    env = dict(clean_env, HOTELBOT_DATABASE_URL="mysql://x")
    with pytest.raises(ConfigError, match="HOTELBOT_DATABASE_URL"):
        load_settings(None, env)


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://api.deepseek.com", True),
        ("http://127.0.0.1:8011/v1", True),
        ("http://api.deepseek.com", False),
        ("http://192.168.1.10:8000/v1", False),
    ],
)
def test_llm_base_url_needs_https_off_loopback(
    tmp_path: Path, clean_env: dict[str, str], url: str, ok: bool
) -> None:
    path = tmp_path / "llm.toml"
    path.write_text(f'[llm]\nenabled = true\nbase_url = "{url}"\n')
    if ok:
        assert load_settings(path, clean_env)[0].llm.base_url == url
        return
    with pytest.raises(ConfigError) as info:
        load_settings(path, clean_env)
    assert "llm: Value error, base_url: must use https://" in str(info.value)
    assert str(path) in str(info.value)


def test_the_old_sentiment_concurrency_says_where_it_went(
    tmp_path: Path, clean_env: dict[str, str]
) -> None:
    old = tmp_path / "old.toml"
    old.write_text("[sentiment]\nmax_concurrency = 32\n")
    with pytest.raises(ConfigError, match=r"replaced by llm\.max_concurrency"):
        load_settings(old, clean_env)


def test_llm_limits_per_hotel_override_the_defaults(
    tmp_path: Path, clean_env: dict[str, str]
) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        "[llm.limits]\ndaily_calls = 100\n"
        "[llm.hotel_limits.harbour-inn]\ndaily_calls = 0\nguest_burst = 2\n"
    )
    settings, _ = load_settings(cfg, clean_env)
    assert settings.llm.max_concurrency == 64
    assert settings.llm.limits.to_limits().daily_calls == 100
    harbour = settings.llm.hotel_limits["harbour-inn"].to_limits()
    assert harbour.daily_calls is None and harbour.guest_burst == 2  # 0 = unlimited

"""The starter set (`hotelbot trigger add-defaults`): four disabled triggers in the hotel's
languages, added once however often the command runs, never touching an operator's own
trigger, and sending real messages through the scheduler once enabled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from hotelbot.cli import app
from hotelbot.cli.trigger import add_defaults_lines
from hotelbot.daemon.scheduler import Scheduler
from hotelbot.domain.fire_times import resolve_local
from hotelbot.domain.starter_set import (
    STARTER_LANGUAGES,
    STARTER_SET,
    StarterSetError,
    starter_template,
)
from hotelbot.domain.templates import validate
from hotelbot.domain.triggers import parse_trigger
from hotelbot.errors import UserError
from hotelbot.storage.db import Database
from hotelbot.storage.triggers import edit_trigger, get_trigger, list_triggers
from tests.cli_helpers import cli_with_riga
from tests.scheduling_helpers import make_hotel, make_stay, make_trigger, outbox_rows

RIGA = ZoneInfo("Europe/Riga")
NAMES = ["checkout-reminder", "mid-stay", "review-request", "welcome"]


def test_every_starter_trigger_parses_and_has_valid_texts_in_every_language() -> None:
    assert sorted(item.name for item in STARTER_SET) == NAMES
    for item in STARTER_SET:
        parse_trigger(item.when)
        assert sorted(item.texts) == sorted(STARTER_LANGUAGES)
        validate(starter_template(item, STARTER_LANGUAGES, "en"))


def test_starter_template_keeps_the_languages_asked_for_and_the_hotel_fallback() -> None:
    welcome = STARTER_SET[0]
    both = starter_template(welcome, ["EN", "ru"], "ru")
    assert sorted(both.texts) == ["en", "ru"] and both.fallback_language == "ru"
    only_en = starter_template(welcome, ["en"], "lv")
    assert list(only_en.texts) == ["en"] and only_en.fallback_language == "en"
    with pytest.raises(StarterSetError, match="no texts in de"):
        starter_template(welcome, ["en", "de"], "en")


async def test_add_defaults_adds_four_disabled_triggers_once(db: Database) -> None:
    hotel_id = await make_hotel(db, "riga", default_language="ru")
    first = await add_defaults_lines(db, "riga", None)
    assert [ln.split(":")[0] for ln in first if not ln.startswith(" ")][:4] == [
        "welcome",
        "mid-stay",
        "checkout-reminder",
        "review-request",
    ]
    assert "welcome: added, disabled (welcome at check-in): at check-in grace 2h" in first
    # Each text shown as a guest reads it, in both languages, without a placeholder left.
    shown = [ln for ln in first if ln.startswith("  [")]
    assert len(shown) == 8 and not any("{" in ln for ln in shown)
    assert any(ln.startswith("  [ru] Добро пожаловать в Grand Riga, Anna!") for ln in shown)
    async with db.read() as conn:
        triggers = await list_triggers(conn, hotel_id=hotel_id)
    assert sorted(t.name for t in triggers) == NAMES
    assert not any(t.enabled for t in triggers)
    assert all(t.template.fallback_language == "ru" for t in triggers)
    # After one night the next morning is the check-out: no "how is your stay?" then.
    by_name = {t.name: t for t in triggers}
    assert by_name["mid-stay"].conditions.text() == "nights >= 2"
    assert by_name["welcome"].conditions.clauses == ()

    again = await add_defaults_lines(db, "riga", None)
    assert again[-1] == "nothing added: the hotel has every trigger of the starter set"
    async with db.read() as conn:
        assert len(await list_triggers(conn, hotel_id=hotel_id)) == 4


async def test_add_defaults_leaves_an_existing_trigger_of_the_same_name_alone(
    db: Database,
) -> None:
    hotel_id = await make_hotel(db, "riga")
    await make_trigger(db, hotel_id, "welcome", "at check-in", {"en": "Our own welcome"})
    lines = await add_defaults_lines(db, "riga", ["en"])
    assert "welcome: exists, left unchanged" in lines
    async with db.read() as conn:
        own = await get_trigger(conn, hotel_id, "welcome")
        review = await get_trigger(conn, hotel_id, "review-request")
    assert own is not None and own.enabled and dict(own.template.texts) == {"en": "Our own welcome"}
    assert review is not None and list(review.template.texts) == ["en"]


async def test_add_defaults_refuses_a_language_without_texts_and_adds_nothing(
    db: Database,
) -> None:
    hotel_id = await make_hotel(db, "riga")
    with pytest.raises(UserError, match="--language: the starter set has no texts in de"):
        await add_defaults_lines(db, "riga", ["en", "de"])
    async with db.read() as conn:
        assert await list_triggers(conn, hotel_id=hotel_id) == []
    with pytest.raises(UserError, match="no hotel with slug 'nowhere'"):
        await add_defaults_lines(db, "nowhere", None)


async def test_an_enabled_starter_welcome_is_sent_in_the_guest_language(db: Database) -> None:
    hotel_id = await make_hotel(db, "riga", timezone="Europe/Riga")
    await add_defaults_lines(db, "riga", None)
    today = datetime.now(UTC).astimezone(RIGA).date()
    check_in = today + timedelta(days=2)
    stay_id = await make_stay(
        db, hotel_id, check_in=check_in, check_out=check_in + timedelta(days=3), language="ru"
    )
    async with db.write() as conn:
        welcome = await get_trigger(conn, hotel_id, "welcome")
        assert welcome is not None
        await edit_trigger(conn, welcome.id, enabled=True)
    scheduler = Scheduler(db)
    at_check_in = resolve_local(check_in, datetime.min.time().replace(hour=15), RIGA)
    await scheduler.run_once(at_check_in - timedelta(minutes=1))
    assert await outbox_rows(db) == []
    await scheduler.run_once(at_check_in + timedelta(minutes=1))
    await scheduler.run_once(at_check_in + timedelta(minutes=2))
    rows = await outbox_rows(db)
    assert len(rows) == 1, rows
    assert rows[0]["text"].startswith("Добро пожаловать в Grand Riga, Anna!")
    assert rows[0]["idempotency_key"].startswith(f"trigger:{welcome.id}:{stay_id}:")


def test_cli_add_defaults_twice_then_list(
    clean_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = cli_with_riga(tmp_path, monkeypatch)
    first = runner.invoke(app, ["trigger", "add-defaults", "riga"])
    assert first.exit_code == 0, first.output
    assert "review-request: added, disabled" in first.output
    assert "hotelbot trigger enable riga NAME" in first.output
    second = runner.invoke(app, ["trigger", "add-defaults", "riga"])
    assert second.exit_code == 0, second.output
    assert second.output.count("exists, left unchanged") == 4
    listing = runner.invoke(app, ["trigger", "list", "--hotel", "riga"]).output
    rows = [ln for ln in listing.splitlines() if " riga " in ln]
    assert len(rows) == 4 and all(" no " in ln for ln in rows)
    bad = runner.invoke(app, ["trigger", "add-defaults", "riga", "--language", "xx"])
    assert isinstance(bad.exception, UserError)
    assert "no texts in xx" in str(bad.exception)

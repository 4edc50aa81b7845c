"""Languages the rules do not read: identified, alerted on signs of trouble through the real
processor, and reported by `doctor` and `status`; with an LLM every language is understood.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hotelbot.daemon.processor import Processor
from hotelbot.domain.categories import AttentionCategory
from hotelbot.domain.languages import UNDETERMINED, coverage_gaps, identify
from hotelbot.domain.sentiment import Sentiment, Verdict
from hotelbot.domain.unreadable import review_unreadable, rules_languages, trouble_signs
from hotelbot.fakes.openai_server import FakeOpenAI
from hotelbot.sentiment.factory import build_stage
from hotelbot.settings import Settings
from hotelbot.storage.db import Database
from hotelbot.storage.models import OutboxMessage
from hotelbot.storage.models_messaging import Alert, Message
from tests import shapes
from tests.processor_helpers import INSTANCE, count, ingest, make_hotel

REPO = Path(__file__).resolve().parent.parent
T0 = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
COVERED = frozenset({"en", "ru"})

SAMPLES = {
    "pt": ["O ar condicionado não funciona", "A água do chuveiro está fria",
           "Por favor, ninguém atende a recepção", "Obrigado!"],
    "es": ["El aire acondicionado no funciona", "La habitación está sucia", "Hola"],
    "de": ["Das Wasser ist kalt", "Danke", "Das Zimmer ist nicht sauber"],
    "fr": ["Il n'y a pas d'eau chaude dans la chambre", "Merci beaucoup"],
    "it": ["L'aria condizionata non funziona"],
    "nl": ["De douche werkt niet"],
    "pl": ["Prysznic nie działa"],
    "lv": ["Dušā nav karsta ūdens"],
    "tr": ["Oda çok kirli, lütfen yardım"],
    "el": ["Το κλιματιστικό δεν λειτουργεί"],
    "ar": ["المكيف لا يعمل"],
    "zh": ["空调坏了"],
    "ja": ["エアコンが壊れています"],
    "ko": ["에어컨이 고장났어요"],
    "uk": ["Кондиціонер не працює"],
    "ru": ["Кондиционер не работает", "mozhno eshche odnu podushku v 215?"],
    "en": ["The AC is not working", "wifi password please", "Thanks!"],
    UNDETERMINED: ["ok", "👍", "204", "!!!"],
}  # fmt: skip


@pytest.mark.parametrize(("language", "text"), [(k, t) for k, v in SAMPLES.items() for t in v])
def test_identify(language: str, text: str) -> None:
    assert identify(text) == language


@pytest.mark.parametrize("part", ["en.dev", "ru.dev"])
def test_english_and_russian_guests_are_never_taken_for_another_language(part: str) -> None:
    """On the labelled dev sets (translit Russian included) a covered language is never
    mistaken for one the rules do not read: that would put readable text on the
    trouble-sign path."""
    path = REPO / "tests" / "data" / "guest_messages" / f"{part}.jsonl"
    found = Counter(identify(json.loads(line)["text"]) for line in path.open())
    assert set(found) <= {"en", "ru", UNDETERMINED}, found
    assert found[part[:2]] >= 0.85 * sum(found.values())


def test_trouble_signs() -> None:
    def signs(text: str, *earlier_min: int) -> tuple[str, ...]:
        return trouble_signs(
            text, sent_at=T0, earlier=[T0 - timedelta(minutes=m) for m in earlier_min]
        )

    assert signs("O quarto está sujo") == ()
    assert signs("O quarto está sujo!!") == ("exclamation",)
    assert signs("Ninguém responde?!") == ("exclamation",)
    assert signs("Obrigado!! 😊") == ()
    assert signs("Obrigado!") == ()
    assert signs("O quarto está sujo 😡") == ("negative emoji",)
    assert signs("ONDE ESTÁ A TOALHA") == ("capitals",)
    assert signs("olá", 3, 9) == ("repeated messages",)
    assert signs("olá", 3, 20) == ()  # the earlier one is outside the 15 minutes
    assert signs("olá", -1, 3) == ()  # a later message does not count


def _rules_verdict(text: str) -> Verdict:
    from hotelbot.domain.rules import default_analyser

    return default_analyser().analyse(text)


def test_review_unreadable_is_the_one_decision() -> None:
    text = "O ar condicionado não funciona há duas horas!!"
    verdict = _rules_verdict(text)
    reviewed = review_unreadable(verdict, text, covered=COVERED, sent_at=T0)
    assert reviewed.requires_attention and reviewed.language == "pt"
    assert reviewed.reason == (
        "Portuguese (pt) message the rules cannot read, with signs of trouble: exclamation"
    )
    assert reviewed.category is AttentionCategory.OTHER
    calm = "O ar condicionado é bom"
    quiet = review_unreadable(_rules_verdict(calm), calm, covered=COVERED, sent_at=T0)
    assert not quiet.requires_attention and quiet.language == "pt"
    repeated = review_unreadable(
        _rules_verdict("olá?"),
        "olá?",
        covered=COVERED,
        sent_at=T0,
        earlier=[T0 - timedelta(minutes=2), T0 - timedelta(minutes=4)],
    )
    assert repeated.requires_attention and repeated.category is AttentionCategory.FOLLOW_UP
    # Readable text and LLM answers are left alone.
    english = "The room is fine!!"
    assert review_unreadable(_rules_verdict(english), english, covered=COVERED, sent_at=T0) == (
        _rules_verdict(english)
    )
    llm = Verdict(Sentiment.NEGATIVE, -0.6, True, "complaint: AC", "pt", "llm")
    assert review_unreadable(llm, text, covered=COVERED, sent_at=T0) is llm
    assert rules_languages() == COVERED


def test_coverage_gaps() -> None:
    mix = Counter({"en": 50, "pt": 40, "de": 2, "und": 300, "ru": 8})
    (gap,) = coverage_gaps(mix, COVERED)
    assert (gap.language, gap.messages, round(gap.share, 2)) == ("pt", 40, 0.4)
    assert gap.describe() == "Portuguese (pt) 40% (40 messages)"
    assert coverage_gaps(Counter({"und": 10}), COVERED) == []


GUEST = "351912345678@c.us"
TS = int(T0.timestamp())


def _text(body: str, id_message: str, minutes: float) -> dict[str, object]:
    return shapes.incoming_text(
        INSTANCE, GUEST, body, id_message=id_message, timestamp=TS + int(minutes * 60)
    )


async def _stored(db: Database) -> list[tuple[str, bool, str | None]]:
    from sqlalchemy import select

    async with db.read() as conn:
        result = await conn.execute(
            select(Message.id_message, Message.requires_attention, Message.language)
            .where(Message.direction == "in")
            .order_by(Message.sent_at)
        )
        return [(r[0], bool(r[1]), r[2]) for r in result]


async def test_the_processor_alerts_on_trouble_in_an_unread_language(db: Database) -> None:
    """Rules only: a Portuguese message with "!!" alerts staff; a calm one does not, but is
    stored as Portuguese; the third message within 15 minutes alerts (repeated), also when
    the earlier ones were processed in an earlier round (they come from the database)."""
    hotel_id = await make_hotel(db, alert_cooldown_min=0)
    stage = build_stage(Settings(), {})
    processor = Processor(db, stage.stage)
    await ingest(db, hotel_id, [_text("O ar condicionado não funciona!!", "P1", 0)])
    await processor.run_once()
    await ingest(db, hotel_id, [_text("Olá, o quarto é bom", "P2", 30)])
    await processor.run_once()
    await ingest(db, hotel_id, [_text("Olá", "P3", 32)])
    await processor.run_once()
    await ingest(db, hotel_id, [_text("Olá, alguém", "P4", 34)])
    await processor.run_once()
    assert await _stored(db) == [
        ("P1", True, "pt"),
        ("P2", False, "pt"),
        ("P3", False, "pt"),
        ("P4", True, "pt"),
    ]
    assert await count(db, Alert) == 2
    assert await count(db, OutboxMessage) == 2  # both alerts go to the staff chat
    await stage.aclose()


async def test_the_repeat_counts_messages_only_the_database_remembers(db: Database) -> None:
    """Each message processed by a fresh processor (a restart, another daemon): the earlier
    calm messages of the chat come from the database only, and the third still alerts."""
    hotel_id = await make_hotel(db, alert_cooldown_min=0)
    stage = build_stage(Settings(), {})
    for body, id_message, minutes in [
        ("Olá, o quarto é bom", "P2", 30),
        ("Olá", "P3", 32),
        ("Olá, alguém", "P4", 34),
    ]:
        await ingest(db, hotel_id, [_text(body, id_message, minutes)])
        await Processor(db, stage.stage).run_once()
    assert await _stored(db) == [("P2", False, "pt"), ("P3", False, "pt"), ("P4", True, "pt")]
    assert await count(db, Alert) == 1
    await stage.aclose()


async def test_with_an_llm_every_language_is_understood(db: Database) -> None:
    hotel_id = await make_hotel(db, alert_cooldown_min=0)
    async with FakeOpenAI() as llm:
        settings = Settings.model_validate({"llm": {"enabled": True, "base_url": llm.base_url}})
        stage = build_stage(settings, {"DEEPSEEK_API_KEY": "sk-test"})
        processor = Processor(db, stage.stage)
        await ingest(db, hotel_id, [_text("Olá, o quarto é bom!!", "L1", 0)])
        await processor.run_once()
        await stage.aclose()
    # The LLM answered: its verdict stands (no trouble-sign alert for a friendly "!!").
    assert llm.requests
    assert [row[1] for row in await _stored(db)] == [False]


def _doctor_and_status(env: dict[str, str]) -> tuple[str, str]:
    def run(*args: str) -> str:
        proc = subprocess.run(
            [sys.executable, "-m", "hotelbot", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        return proc.stdout + proc.stderr

    return run("doctor"), run("status")


async def test_doctor_and_status_name_the_languages_nothing_reads(
    db: Database, db_url: str, tmp_path: Path
) -> None:
    hotel_id = await make_hotel(db, alert_cooldown_min=0, api_url="http://127.0.0.1:9")
    await make_hotel(
        db,
        slug="other",
        instance_id="1101000002",
        default_language="lv",
        api_url="http://127.0.0.1:9",
    )
    stage = build_stage(Settings(), {})
    processor = Processor(db, stage.stage)
    now = datetime.now(UTC)
    bodies = [
        shapes.incoming_text(
            INSTANCE,
            GUEST,
            text,
            id_message=f"D{i}",
            timestamp=int((now - timedelta(hours=i + 1)).timestamp()),
        )
        for i, text in enumerate(
            [
                "O quarto é bom",
                "A água está fria",
                "Obrigado",
                "O café da manhã",
                "Thanks a lot",
                "The room is great",
            ]
        )
    ]
    await ingest(db, hotel_id, bodies)
    await processor.run_once()
    await stage.aclose()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTELBOT_")}
    env.update(HOME=str(tmp_path), HOTELBOT_DATABASE_URL=db_url)
    env.pop("DEEPSEEK_API_KEY", None)
    doctor, status = await _to_thread(_doctor_and_status, env)
    assert (
        "WARN languages seaside: guests write in Portuguese (pt) 67% (4 messages) in the last "
        "14 days; the rules read English, Russian only"
    ) in doctor
    assert "-> enable the LLM, which reads every language" in doctor
    assert "WARN languages other: its default_language is one the rules do not read" in doctor
    assert "guests writing in languages the rules do not read (no LLM configured):" in status
    assert "  seaside: Portuguese (pt) 67% (4 messages) (see `hotelbot doctor`)" in status
    assert "  other: its default_language (see `hotelbot doctor`)" in status


async def _to_thread(fn: object, *args: object) -> tuple[str, str]:
    import asyncio

    assert callable(fn)
    result = await asyncio.to_thread(fn, *args)
    assert isinstance(result, tuple)
    return result


def test_rules_languages_are_the_languages_the_builtin_lexicon_declares() -> None:
    from hotelbot.domain.rules import default_analyser

    declared = {lang for lang in default_analyser().lexicon.languages if lang != "any"}
    assert rules_languages() == declared

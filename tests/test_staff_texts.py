"""Staff read alerts in their own language (domain/staff_texts.py): every line, the rules'
reasons (labels written in English), the room, and the reason of a message in a language
the rules cannot read. The LLM's reason (its own words) is shown as written.

The reasons come from the real rule analyser over the project's labelled guest messages.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

from hotelbot.domain import staff_texts
from hotelbot.domain.alerts import AlertSubject, alert_text, followup_text
from hotelbot.domain.categories import AttentionCategory
from hotelbot.domain.rules import default_analyser
from hotelbot.domain.sentiment import Sentiment, Verdict
from hotelbot.domain.unreadable import review_unreadable

DATA = Path(__file__).parent / "data"
LATIN = re.compile(r"[A-Za-z]")
SENT_AT = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def _texts() -> list[str]:
    files = [*sorted((DATA / "guest_messages").glob("*.jsonl")), DATA / "hotel_messages.jsonl"]
    texts = []
    for path in files:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                texts.append(str(json.loads(line)["text"]))
    return texts


def test_every_reason_the_rules_give_reads_in_russian_for_russian_staff() -> None:
    rules = default_analyser()
    reasons = {v.reason for v in map(rules.analyse, _texts()) if v.requires_attention}
    assert len(reasons) > 50  # complaints, requests, follow-ups, emergencies, tone, model
    untranslated = {
        r: staff_texts.reason(r, "ru")
        for r in reasons
        if LATIN.search(staff_texts.reason(r, "ru").replace("Wi-Fi", ""))
    }
    assert untranslated == {}
    assert all(staff_texts.reason(r, "en") == r for r in reasons)  # English staff: as is


def test_known_reasons_in_russian() -> None:
    assert staff_texts.reason("complaint: hot water", "ru") == "жалоба: горячая вода"
    assert staff_texts.reason("emergency: fire", "ru-RU") == "ЧС: пожар"
    assert staff_texts.reason("request: taxi", "ru") == "просьба: такси"
    assert staff_texts.reason("negative tone", "ru") == "негативный тон"
    # an unknown detail stays readable; an LLM's own words are shown as written
    assert staff_texts.reason("complaint: jacuzzi", "ru") == "жалоба: jacuzzi"
    assert staff_texts.reason("нет горячей воды", "ru") == "нет горячей воды"
    assert staff_texts.reason("guest says: hello", "ru") == "guest says: hello"


def test_the_reason_for_a_language_the_rules_cannot_read_in_russian() -> None:
    rules_verdict = Verdict(Sentiment.NEUTRAL, 0.0, False, "neutral", "und", "rules")
    verdict = review_unreadable(
        rules_verdict,
        "O CHUVEIRO NÃO FUNCIONA!!",
        covered=frozenset({"en", "ru"}),
        sent_at=SENT_AT,
    )
    assert verdict.requires_attention
    assert staff_texts.reason(verdict.reason, "ru") == (
        "сообщение на языке, который правила не читают (португальский), "
        "признаки проблемы: восклицания, заглавные буквы"
    )


def test_a_russian_alert_has_no_english_line() -> None:
    subject = AlertSubject("Anna", "37120001234@c.us", "+37120001234", room="101")
    text = alert_text(
        subject,
        "complaint: hot water",
        "No hot water!",
        2,
        language="ru",
        category=AttentionCategory.COMPLAINT,
        guest_language="en",
    )
    assert text.split("\n") == [
        "⚠️ Гостю нужно внимание: Anna (+37120001234), номер 101",
        "Причина: жалоба: горячая вода",
        "Категория: жалоба · пишет на языке: английский",
        "“No hot water!”",  # the guest's own words
        "(ещё 2 с прошлого оповещения об этом госте)",
    ]
    followup = followup_text(subject, 3, "follow-up: waiting", "still?", language="ru")
    assert followup.split("\n")[:2] == [
        "⚠️ Ещё 3 от этого гостя: Anna (+37120001234), номер 101",
        "Последняя причина: повторное обращение: ждёт",
    ]
    english = alert_text(subject, "complaint: hot water", None, language="en")
    assert english.split("\n")[:2] == [
        "⚠️ Guest needs attention: Anna (+37120001234), room 101",
        "Reason: complaint: hot water",
    ]


def test_every_russian_line_is_written_in_russian() -> None:
    for key, template in staff_texts._LINES["ru"].items():
        words = re.sub(r"\{[a-z_]+\}", "", template)
        assert not LATIN.search(words), key

"""Answers from the hotel's facts: the facts file (validated, versioned), the rule that
recognises an information question (measured on a labelled set), and the answers over real
HTTP to the fake Green API: both languages, questions outside the facts and complaints left
to staff, each answered once across a crash, a restart and a replay."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from typer.testing import CliRunner

from hotelbot.app.understand import GuestMessageInfo
from hotelbot.cli import app
from hotelbot.daemon.fact_answers import answer_from_facts, facts_hook
from hotelbot.daemon.processor import Processor
from hotelbot.daemon.scheduler import message_hook
from hotelbot.daemon.sender import OutboxSender
from hotelbot.domain.facts import FactsError, FactsMode, Topic, match_question, parse_facts
from hotelbot.domain.rules import RuleAnalyser
from hotelbot.errors import UserError
from hotelbot.fakes.greenapi import FakeGreenApi, FakeInstance
from hotelbot.greenapi.client import GreenApiClient, InstanceCredentials
from hotelbot.greenapi.transport import HttpxTransport
from hotelbot.sentiment.stage import SentimentStage
from hotelbot.storage.db import Database
from hotelbot.storage.facts import current_facts, import_facts
from hotelbot.storage.models import Notification
from tests import shapes
from tests.cli_helpers import cli_with_riga
from tests.eval import score_facts
from tests.processor_helpers import FakeAnalyser, count, ingest, make_hotel
from tests.scheduling_helpers import make_stay, make_trigger, outbox_rows

DATA = Path(__file__).parent / "data"
INSTANCE, TOKEN = "1101000001", "t"
FACTS = """
mode = "rules"
version = 7  # the hotel's own note

[wifi]
en = "Network GrandRiga-Guest, password sea-breeze-42."
ru = "Сеть GrandRiga-Guest, пароль sea-breeze-42."

[breakfast]
en = "Breakfast is served 7:00-10:30 in the Garden Room, ground floor."
ru = "Завтрак с 7:00 до 10:30 в Зимнем саду, первый этаж."

[check_out]
en = "Check-out is until 11:00; leave the key at the desk."
"""

# --- the facts file ------------------------------------------------------------------------


def test_a_facts_file_is_validated_with_every_problem_named() -> None:
    facts = parse_facts(FACTS)
    assert facts.mode is FactsMode.RULES
    assert sorted(facts.answers) == [Topic.BREAKFAST, Topic.CHECK_OUT, Topic.WIFI]
    assert facts.answer(Topic.WIFI, ("ru", "en")) == (
        "ru",
        "Сеть GrandRiga-Guest, пароль sea-breeze-42.",
    )
    assert facts.answer(Topic.CHECK_OUT, ("ru", "en"))[0] == "en"  # type: ignore[index]
    assert facts.answer(Topic.POOL, ("en",)) is None
    bad = 'mode = "llm-ish"\n[wlan]\nen = "x"\n[pool]\nen = " "\nrussian = "y"\n[spa]\n'
    with pytest.raises(FactsError) as info:
        parse_facts(bad, where="riga.toml")
    assert info.value.problems == (
        "riga.toml: mode 'llm-ish': use 'off', 'rules' or 'llm'",
        "riga.toml: [wlan] is not a topic; topics are: wifi, breakfast, check_in, check_out, "
        "parking, pool, spa, transfer, pets, quiet_hours, address",
        "riga.toml: [pool] en is empty; write the answer text",
        "riga.toml: [pool] 'russian' is not a language code (en, ru)",
        'riga.toml: [spa] needs texts per language, e.g. en = "..."',
    )
    with pytest.raises(FactsError, match="not valid TOML"):
        parse_facts("[wifi\n")


def test_the_rules_never_answer_wrongly_on_the_labelled_questions() -> None:
    """tests/data/fact_questions: dev (tuned on), test (written apart from the rules) and
    blind (written without reading the rules; its first score is kept in docs/facts.md).
    Figures: `python -m tests.eval.score_facts --part test` (docs/facts.md)."""
    for part, floor in (("dev", 0.85), ("test", 0.6), ("blind", 0.7)):
        rows = score_facts.load([part])
        assert len(rows) >= 100 and {r.lang for r in rows} == {"en", "ru"}
        tallies = score_facts.score(rows, score_facts.rules_only)
        assert [(r.text, sorted(got)) for r, got in tallies["all"].wrong_rows] == [], part
        for language in ("en", "ru"):
            tally = tallies[language]
            assert tally.wrong == 0
            assert tally.correct / tally.answerable >= floor, (part, language)
    assert len(score_facts.load(["dev", "test", "blind"])) >= 700


def test_no_message_that_needs_staff_in_the_hotel_set_is_taken_for_a_question() -> None:
    # tests/data/hotel_messages.jsonl was labelled by others for the attention rules.
    rows = [json.loads(line) for line in (DATA / "hotel_messages.jsonl").open(encoding="utf-8")]
    flagged = [r["text"] for r in rows if r["requires_attention"]]
    assert len(flagged) > 150
    assert [t for t in flagged if match_question(t) is not None] == []


def test_with_the_rules_verdict_no_guest_who_needs_staff_is_answered() -> None:
    """The labelled guest messages of tests/data/guest_messages (labelled by others for the
    attention rules): a message is answered only if the rules take it for a question and
    the sentiment verdict does not send it to staff, as in the processor."""
    analyser = RuleAnalyser()
    answered_info = answered_staff = 0
    for part in sorted((DATA / "guest_messages").glob("*.jsonl")):
        for line in part.open(encoding="utf-8"):
            row = json.loads(line)
            if match_question(row["text"]) is None:
                continue
            if analyser.analyse(row["text"]).requires_attention:
                continue
            if row["attention"]:
                answered_staff += 1
            elif row["category"] == "info_question":
                answered_info += 1
    assert answered_staff == 0
    assert answered_info >= 30  # 32 of the 157 information questions (1,900 messages)


# --- through the processor and the outbox, over HTTP ---------------------------------------


@pytest.fixture
async def fake() -> AsyncIterator[tuple[FakeGreenApi, FakeInstance]]:
    async with FakeGreenApi() as server:
        yield server, server.add_instance(INSTANCE, TOKEN)


async def _send_all(db: Database, server: FakeGreenApi, hotel_id: int) -> None:
    transport = HttpxTransport(connect_timeout_s=2.0)
    client = GreenApiClient(InstanceCredentials(server.url, INSTANCE, TOKEN), transport)
    try:
        sender = OutboxSender(db, lambda _: client)
        await sender.run_once(hotel_id)
    finally:
        await transport.aclose()


async def _hotel_with_facts(db: Database, server: FakeGreenApi, text: str = FACTS) -> int:
    hotel_id = await make_hotel(db, api_url=server.url)
    async with db.write() as conn:
        assert await import_facts(conn, hotel_id, parse_facts(text)) == (1, True)
    return hotel_id


def _processor(db: Database, *, analyser: object | None = None) -> Processor:
    processor = Processor(db, analyser or SentimentStage(RuleAnalyser(), None))  # type: ignore[arg-type]
    processor.add_message_hook(message_hook())
    processor.add_message_hook(facts_hook())
    return processor


def _msg(chat: str, text: str, id_message: str) -> dict[str, object]:
    return shapes.incoming_text(INSTANCE, chat, text, id_message=id_message)


async def test_questions_are_answered_in_both_languages_and_the_rest_left_to_staff(
    db: Database, fake: tuple[FakeGreenApi, FakeInstance]
) -> None:
    server, instance = fake
    hotel_id = await _hotel_with_facts(db, server)
    await ingest(
        db,
        hotel_id,
        [
            _msg("37120000001@c.us", "Hi, what is the wifi password?", "A1"),
            _msg("79210000002@c.us", "Подскажите, во сколько завтрак?", "A2"),
            _msg("37120000003@c.us", "Is there a swimming pool?", "A3"),  # no pool fact
            _msg("37120000004@c.us", "Is there a gym?", "A4"),  # no such topic
            _msg("37120000005@c.us", "The wifi is not working and nobody helps!", "A5"),
            _msg("79210000006@c.us", "Завтрак был холодный, ужасно", "A6"),
            _msg("37120000007@c.us", "Can we have a late check-out tomorrow?", "A7"),
        ],
    )
    await _processor(db).run_once()
    await _send_all(db, server, hotel_id)
    to_guests = sorted((s.chat_id, s.message) for s in instance.sent if s.chat_id.endswith("@c.us"))
    assert to_guests == [
        ("37120000001@c.us", "Network GrandRiga-Guest, password sea-breeze-42."),
        ("79210000002@c.us", "Завтрак с 7:00 до 10:30 в Зимнем саду, первый этаж."),
    ]
    # The complaints went to staff instead (the alert path), not to an automatic answer.
    to_staff = " ".join(s.message for s in instance.sent if s.chat_id.endswith("@g.us"))
    assert "The wifi is not working" in to_staff and "Завтрак был холодный" in to_staff


async def test_two_questions_in_one_message_and_russian_typed_in_latin_letters(
    db: Database, fake: tuple[FakeGreenApi, FakeInstance]
) -> None:
    server, instance = fake
    hotel_id = await _hotel_with_facts(db, server)
    await ingest(
        db,
        hotel_id,
        [
            _msg("37120000001@c.us", "Hi! What's the wifi password? And when is breakfast?", "B1"),
            _msg("37120000002@c.us", "What's the wifi password and is there a pool?", "B2"),
            _msg("79210000003@c.us", "kakoi parol ot wifi?", "B3"),
            _msg("37120000004@c.us", "Can we check out at two?", "B4"),  # a time in words
        ],
    )
    await _processor(db).run_once()
    await _send_all(db, server, hotel_id)
    to_guests = sorted((s.chat_id, s.message) for s in instance.sent if s.chat_id.endswith("@c.us"))
    assert to_guests == [
        # two questions, two facts: one message with both texts
        (
            "37120000001@c.us",
            "Network GrandRiga-Guest, password sea-breeze-42.\n\n"
            "Breakfast is served 7:00-10:30 in the Garden Room, ground floor.",
        ),
        ("79210000003@c.us", "Сеть GrandRiga-Guest, пароль sea-breeze-42."),
    ]
    # B2: the hotel has no pool fact, so neither half is answered (staff answer both)


async def test_a_message_that_needs_staff_is_never_answered(
    db: Database, fake: tuple[FakeGreenApi, FakeInstance]
) -> None:
    server, _ = fake
    hotel_id = await _hotel_with_facts(db, server)
    info = GuestMessageInfo(
        hotel_id=hotel_id,
        guest_id=1,
        conversation_id=1,
        message_id=1,
        chat_id="37120000001@c.us",
        id_message="X1",
        kind="text",
        text="What is the wifi password?",
        sent_at=datetime.now(UTC),
        is_first_message=True,
        keyword=None,
        opted_out=False,
        language="en",
        needs_staff=True,
    )
    async with db.write() as conn:
        assert await answer_from_facts(conn, info) is None
        assert (
            await answer_from_facts(conn, replace_(info, opted_out=True, needs_staff=False)) is None
        )
        assert await answer_from_facts(conn, replace_(info, needs_staff=False)) == "wifi"
        assert await answer_from_facts(conn, replace_(info, needs_staff=False)) == "wifi"
    assert len(await outbox_rows(db)) == 1  # the second call found the key taken


def replace_(info: GuestMessageInfo, **changes: object) -> GuestMessageInfo:
    from dataclasses import replace

    return replace(info, **changes)  # type: ignore[arg-type]


async def test_mode_off_answers_nothing_and_a_keyword_trigger_wins(
    db: Database, fake: tuple[FakeGreenApi, FakeInstance]
) -> None:
    server, _ = fake
    hotel_id = await _hotel_with_facts(db, server)
    today = datetime.now(UTC).date()
    await make_stay(
        db, hotel_id, phone="+371 2000 0001", check_in=today, check_out=today + timedelta(days=2)
    )
    await make_trigger(db, hotel_id, "wifi", "on keyword wifi", {"en": "Our own wifi answer"})
    await ingest(db, hotel_id, [_msg("37120000001@c.us", "What is the wifi password?", "K1")])
    await _processor(db).run_once()
    async with db.write() as conn:
        await import_facts(conn, hotel_id, parse_facts(FACTS.replace('"rules"', '"off"')))
        current = await current_facts(conn, hotel_id)
    assert current is not None and current.version == 2
    await ingest(db, hotel_id, [_msg("37120000002@c.us", "When is breakfast?", "K2")])
    await _processor(db).run_once()
    # The keyword trigger answered the wifi question; with mode off breakfast is not answered.
    assert [r["text"] for r in await outbox_rows(db)] == ["Our own wifi answer"]


async def test_each_question_is_answered_once_across_a_crash_a_restart_and_a_replay(
    db: Database, fake: tuple[FakeGreenApi, FakeInstance]
) -> None:
    server, instance = fake
    hotel_id = await _hotel_with_facts(db, server)
    await ingest(
        db,
        hotel_id,
        [
            _msg("37120000001@c.us", "What time is breakfast?", "C1"),
            _msg("37120000002@c.us", "slow story about our trip", "C2"),
            _msg("37120000003@c.us", "What is the wifi password?", "C3"),
        ],
    )
    stuck = FakeAnalyser()
    first = Processor(db, stuck, scan_interval_s=0.05)
    first.add_message_hook(facts_hook())
    task = asyncio.create_task(first.run())
    await asyncio.wait_for(stuck.started_slow.wait(), 5)
    for _ in range(300):  # the other chats commit while C2 hangs
        if len(await outbox_rows(db)) == 2:
            break
        await asyncio.sleep(0.01)
    task.cancel()  # the process dies mid-batch: nothing more is committed
    await asyncio.gather(task, return_exceptions=True)
    assert await count(db, Notification, Notification.processed_at.is_(None)) >= 1
    await _send_all(db, server, hotel_id)
    # Restart, then a replay of everything (as after a restore or a redelivered queue).
    restarted = FakeAnalyser()
    restarted.gate.set()
    again = Processor(db, restarted)
    again.add_message_hook(facts_hook())
    await again.run_once()
    async with db.write() as conn:
        await conn.execute(update(Notification).values(processed_at=None))
    replay = Processor(db, restarted)
    replay.add_message_hook(facts_hook())
    await replay.run_once()
    await ingest(db, hotel_id, [_msg("37120000001@c.us", "What time is breakfast?", "C1")])
    await replay.run_once()
    await _send_all(db, server, hotel_id)
    assert sorted(s.message for s in instance.sent) == [
        "Breakfast is served 7:00-10:30 in the Garden Room, ground floor.",
        "Network GrandRiga-Guest, password sea-breeze-42.",
    ]
    assert len(await outbox_rows(db)) == 2


# --- the CLI -------------------------------------------------------------------------------


def test_cli_facts_import_validates_versions_and_shows(
    clean_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli = cli_with_riga(tmp_path, monkeypatch)
    facts = tmp_path / "riga-facts.toml"
    facts.write_text("[wlan]\nen = 'x'\n")
    bad = cli.invoke(app, ["hotel", "facts", "import", "riga", str(facts)])
    assert isinstance(bad.exception, UserError)
    assert str(bad.exception) == "1 problem(s) in riga-facts.toml: nothing imported"
    assert "no facts yet" in cli.invoke(app, ["hotel", "facts", "show", "riga"]).output
    facts.write_text(FACTS)
    first = cli.invoke(app, ["hotel", "facts", "import", "riga", str(facts)])
    assert first.output.strip() == (
        "riga: facts version 1 imported (mode rules; breakfast, check_out, wifi)"
    )
    again = cli.invoke(app, ["hotel", "facts", "import", "riga", str(facts)])
    assert "facts version 1 unchanged" in again.output
    facts.write_text(FACTS + '\n[pets]\nen = "Dogs welcome, 15 EUR a night."\n')
    third = cli.invoke(app, ["hotel", "facts", "import", "riga", str(facts)])
    assert "facts version 2 imported" in third.output
    shown = cli.invoke(app, ["hotel", "facts", "show", "riga"]).output
    assert "riga: facts version 2, mode rules" in shown
    assert "  pets[en]  Dogs welcome, 15 EUR a night." in shown


# --- the LLM mode: grounded on the facts, checked before anything is sent ------------------


def test_ungrounded_values_are_found() -> None:
    from hotelbot.domain.grounding import ungrounded_values

    facts = [
        "Network GrandRiga-Guest, password sea-breeze-42.",
        "Breakfast is served 7:00-10:30 in the Garden Room, ground floor.",
        "Parking 15 EUR a night.",
    ]
    assert ungrounded_values("The password is sea-breeze-42, enjoy!", facts) == []
    assert ungrounded_values("Breakfast from 07:00 until 10.30.", facts) == []
    assert ungrounded_values("The password is sea-breeze-43.", facts) == ["sea-breeze-43"]
    assert ungrounded_values("Breakfast until 11:00.", facts) == ["11:00"]
    assert ungrounded_values("Parking is 1 EUR.", facts) == ["1"]  # "1" is not "15"
    assert ungrounded_values("Call +371 2000 0000", facts) == ["+37120000000"]


async def test_an_llm_answer_that_names_no_fact_is_discarded(
    db: Database, fake: tuple[FakeGreenApi, FakeInstance]
) -> None:
    from hotelbot.daemon.fact_answers import LlmFactAnswerer
    from hotelbot.sentiment.facts_llm import LlmFactReply

    class Vague:
        async def ask(self, question: str, facts: object, language: str) -> LlmFactReply | None:
            return LlmFactReply("Network GrandRiga-Guest, password sea-breeze-42.", False, None)

    server, _ = fake
    hotel_id = await _hotel_with_facts(db, server, FACTS.replace('"rules"', '"llm"'))
    await ingest(db, hotel_id, [_msg("37120000001@c.us", "How do I get online here?", "V1")])
    await Processor(db, FakeAnalyser()).run_once()
    assert dict(await LlmFactAnswerer(db, Vague()).run_once()) == {"discarded_ungrounded": 1}
    assert await outbox_rows(db) == []


async def test_llm_answers_are_sent_only_when_grounded_in_the_facts(
    db: Database, fake: tuple[FakeGreenApi, FakeInstance]
) -> None:
    from hotelbot.daemon.fact_answers import LlmFactAnswerer
    from hotelbot.fakes.openai_server import FakeOpenAI
    from hotelbot.sentiment.facts_llm import FactsLlm

    server, instance = fake
    hotel_id = await _hotel_with_facts(db, server, FACTS.replace('"rules"', '"llm"'))
    await ingest(
        db,
        hotel_id,
        [
            _msg("37120000001@c.us", "Where do we have the morning meal?", "L1"),
            _msg("37120000002@c.us", "How long is the morning meal served?", "L2"),
            _msg("37120000003@c.us", "Is there a gym?", "L3"),
            _msg("37120000004@c.us", "Do you sell umbrellas?", "L4"),
            _msg("37120000005@c.us", "What is the wifi password?", "L5"),  # the rules answer
            _msg("37120000006@c.us", "Lovely stay so far", "L6"),  # not a question: no call
        ],
    )
    processor = Processor(db, FakeAnalyser())
    processor.add_message_hook(facts_hook())
    await processor.run_once()
    import openai

    async with FakeOpenAI(api_key="sk-test") as llm_server:
        llm_server.script(
            [
                {
                    "answer": "Breakfast is in the Garden Room on the ground floor, 7:00-10:30.",
                    "topic": "breakfast",
                    "needs_staff": False,
                },
                # 11:00 is in the facts, but as the check-out time: not grounded in breakfast
                {
                    "answer": "Breakfast is served until 11:00.",
                    "topic": "breakfast",
                    "needs_staff": False,
                },
                {"answer": None, "topic": None, "needs_staff": False},
            ]
        )
        llm_server.fail_next(1, 500)
        client = openai.AsyncOpenAI(base_url=llm_server.base_url, api_key="sk-test", max_retries=0)
        answerer = LlmFactAnswerer(db, FactsLlm(client, "test-model", deadline_s=5.0))
        report = await answerer.run_once()
        assert dict(report) == {"answered": 1, "discarded_ungrounded": 1, "left_to_staff": 2}
        assert llm_server.request_count == 4
        sent_payload = json.loads(llm_server.requests[0].body["messages"][1]["content"])  # type: ignore[index]
        assert sent_payload["guest_question"] == "Where do we have the morning meal?"
        assert sent_payload["facts"]["wifi"] == "Network GrandRiga-Guest, password sea-breeze-42."
        # Asked once: the next pass and a restarted answerer send nothing more.
        assert dict(await answerer.run_once()) == {}
        # A restarted answerer asks again about the questions still open (not about L1,
        # which has its answer) and, told nothing new, adds nothing.
        llm_server.script([{"answer": None, "needs_staff": False}] * 3)
        restarted = LlmFactAnswerer(db, FactsLlm(client, "test-model", deadline_s=5.0))
        assert dict(await restarted.run_once()) == {"left_to_staff": 3}
        asked = [
            json.loads(r.body["messages"][1]["content"])["guest_question"]  # type: ignore[index]
            for r in llm_server.requests[4:]
        ]
        assert "Where do we have the morning meal?" not in asked and len(asked) == 3
        await client.close()
    await _send_all(db, server, hotel_id)
    to_guests = sorted((s.chat_id, s.message) for s in instance.sent)
    assert to_guests == [
        ("37120000001@c.us", "Breakfast is in the Garden Room on the ground floor, 7:00-10:30."),
        ("37120000005@c.us", "Network GrandRiga-Guest, password sea-breeze-42."),
    ]


async def test_rules_mode_never_calls_the_llm(
    db: Database, fake: tuple[FakeGreenApi, FakeInstance]
) -> None:
    from hotelbot.daemon.fact_answers import LlmFactAnswerer
    from hotelbot.sentiment.facts_llm import LlmFactReply

    class Refuse:
        calls = 0

        async def ask(self, question: str, facts: object, language: str) -> LlmFactReply | None:
            Refuse.calls += 1
            return None

    server, _ = fake
    hotel_id = await _hotel_with_facts(db, server)
    await ingest(
        db, hotel_id, [_msg("37120000001@c.us", "Where do we have the morning meal?", "R1")]
    )
    await Processor(db, FakeAnalyser()).run_once()
    assert dict(await LlmFactAnswerer(db, Refuse()).run_once()) == {}
    assert Refuse.calls == 0


async def test_staff_see_what_was_answered_in_the_conversation(
    db: Database,
    db_url: str,
    fake: tuple[FakeGreenApi, FakeInstance],
    clean_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server, instance = fake
    hotel_id = await _hotel_with_facts(db, server)
    await ingest(db, hotel_id, [_msg("37120000001@c.us", "What is the wifi password?", "S1")])
    await _processor(db).run_once()
    await _send_all(db, server, hotel_id)
    # The echo of our answer comes back through the queue and is stored as our message.
    await ingest(db, hotel_id, instance.pending_bodies)
    await _processor(db).run_once()
    monkeypatch.setenv("HOTELBOT_DATABASE_URL", db_url)
    # The CLI runs its own event loop: give it a thread.
    shown = await asyncio.to_thread(
        CliRunner().invoke, app, ["conversations", "show", "37120000001@c.us"]
    )
    assert shown.exit_code == 0, shown.output
    answer = [ln for ln in shown.output.splitlines() if "sea-breeze-42" in ln]
    assert len(answer) == 1 and "bot (facts)" in answer[0]
    # `hotelbot stats` counts the answers per day.
    from hotelbot.storage.reports import stats_report
    from hotelbot.storage.types import utcnow

    async with db.read() as conn:
        sections = await stats_report(conn, hotel_id=hotel_id, days=1, now=utcnow())
    [answers] = [x for x in sections if x.title.startswith("Answers from the hotel's facts")]
    assert answers.rows[-1] == ("total", 1, 1, 0, 0)


async def test_a_fact_with_a_file_sends_the_answer_then_the_file(
    db: Database, fake: tuple[FakeGreenApi, FakeInstance]
) -> None:
    server, instance = fake
    with_map = FACTS + (
        '\n[address]\nen = "Kalku iela 5, Riga."\n'
        'file_url = "https://hotel.example/map.jpg"\nfile_name = "map.jpg"\n'
    )
    hotel_id = await _hotel_with_facts(db, server, with_map)
    await ingest(db, hotel_id, [_msg("37120000001@c.us", "What is the hotel address?", "F1")])
    await _processor(db).run_once()
    await _processor(db).run_once()  # a second pass adds nothing
    await _send_all(db, server, hotel_id)
    assert [(s.message, s.file_name, s.url_file) for s in instance.sent] == [
        ("Kalku iela 5, Riga.", None, None),
        ("", "map.jpg", "https://hotel.example/map.jpg"),
    ]


async def test_no_bot_answer_while_staff_are_talking_to_the_guest(
    db: Database, fake: tuple[FakeGreenApi, FakeInstance]
) -> None:
    server, _ = fake
    hotel_id = await _hotel_with_facts(db, server)
    chat = "37120000001@c.us"
    staff_reply = shapes.outgoing_message(INSTANCE, chat, "Hello, Anna from reception here")
    await ingest(db, hotel_id, [staff_reply])
    await _processor(db).run_once()
    await ingest(db, hotel_id, [_msg(chat, "What is the wifi password?", "P1")])
    await _processor(db).run_once()
    await ingest(db, hotel_id, [_msg("37120000002@c.us", "What is the wifi password?", "P2")])
    await _processor(db).run_once()
    assert [r["chat_id"] for r in await outbox_rows(db)] == ["37120000002@c.us"]

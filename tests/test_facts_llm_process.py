"""Answers from the hotel's facts in LLM mode with the real `hotelbot run` in subprocesses, the
fake Green API and the fake OpenAI-compatible server over real HTTP: a question the rules do not
recognise is answered from the facts by the LLM once, across a crash right before and right
after the commit that queues the answer and a restart; an LLM answer that quotes a value the
facts do not hold is discarded (the question stays with staff); a complaint is never answered
and never put to the LLM as a question for the facts, it goes to the staff chat."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Callable
from pathlib import Path

from hotelbot.fakes import shapes
from hotelbot.fakes.greenapi import FakeGreenApi, FakeInstance
from hotelbot.fakes.openai_server import FakeOpenAI
from tests.helpers import daemon_env

PY = sys.executable
INSTANCE, TOKEN, LLM_KEY = "1101000001", "tok", "sk-facts-llm-test-5e6f7a8b"
STAFF = "120363000000000077@g.us"
ASKS, FISHES, COMPLAINS = "37120000001@c.us", "37120000002@c.us", "37120000003@c.us"
BREAKFAST = "Breakfast is served 7:00-10:30 in the Garden Room, ground floor."
FACTS = (
    f'mode = "llm"\n[breakfast]\nen = "{BREAKFAST}"\n[wifi]\nen = "Network Riga, password x-42."\n'
)
GROUNDED = "Breakfast is in the Garden Room on the ground floor, 7:00-10:30."
QUESTION = "Where do we have the morning meal?"  # no topic word: the rules leave it
FISHING = "Until when is the morning meal?"
COMPLAINT = "The morning meal was cold and nobody came, awful"


def _env(db_url: str, tmp_path: Path, llm_url: str, **extra: str) -> dict[str, str]:
    return daemon_env(
        db_url,
        tmp_path,
        HOTELBOT_LLM__ENABLED="true",
        HOTELBOT_LLM__BASE_URL=llm_url,
        DEEPSEEK_API_KEY=LLM_KEY,
        **extra,
    )


async def _cli(env: dict[str, str], *args: str) -> str:
    proc = await asyncio.create_subprocess_exec(
        PY,
        "-m",
        "hotelbot",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, out.decode()
    return out.decode()


async def _daemon(env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        PY,
        "-m",
        "hotelbot",
        "run",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )


def _to(inst: FakeInstance, chat: str) -> list[str]:
    return [s.message for s in inst.sent if s.chat_id == chat]


async def _until(check: Callable[[], object], timeout_s: float) -> None:
    """Poll `check` (state in another process: no event to wait on) until true or timeout."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while loop.time() < deadline:
        if check():
            return
        await asyncio.sleep(0.1)


async def test_llm_fact_answers_in_the_daemon_once_grounded_and_never_for_a_complaint(
    db_url: str, tmp_path: Path
) -> None:
    async with FakeGreenApi() as fake, FakeOpenAI(api_key=LLM_KEY) as llm:
        llm.answer_facts(
            {
                QUESTION: {"answer": GROUNDED, "topic": "breakfast", "needs_staff": False},
                # 11:30 is in no fact: the answer must not reach the guest
                FISHING: {"answer": "Until 11:30.", "topic": "breakfast", "needs_staff": False},
            }
        )
        env = _env(db_url, tmp_path, llm.base_url)
        inst = fake.add_instance(INSTANCE, TOKEN)
        await _cli(env, "db", "upgrade")
        hotels = tmp_path / "h.toml"
        hotels.write_text(
            f'[[hotels]]\nslug = "riga"\nname = "Riga"\ninstance_id = "{INSTANCE}"\n'
            f'api_token = "{TOKEN}"\napi_url = "{fake.url}"\ntimezone = "Europe/Riga"\n'
            f'staff_chat_id = "{STAFF}"\n'
        )
        await _cli(env, "hotel", "import", str(hotels))
        facts = tmp_path / "facts.toml"
        facts.write_text(FACTS)
        await _cli(env, "hotel", "facts", "import", "riga", str(facts))
        inst.push_many(
            [
                shapes.incoming_text(INSTANCE, ASKS, QUESTION, id_message="Q1"),
                shapes.incoming_text(INSTANCE, FISHES, FISHING, id_message="Q2"),
                shapes.incoming_text(INSTANCE, COMPLAINS, COMPLAINT, id_message="Q3"),
            ]
        )
        # 1: dies inside the transaction that queues the LLM's answer: rolled back with it.
        first = await _daemon(dict(env, HOTELBOT_CRASH_AT="llm_fact_answer_before_commit"))
        assert await asyncio.wait_for(first.wait(), 60) == 137
        assert QUESTION in llm.fact_questions() and _to(inst, ASKS) == []
        # 2: dies right after that commit: the answer is queued, not sent, not remembered.
        second = await _daemon(dict(env, HOTELBOT_CRASH_AT="llm_fact_answer_after_commit"))
        assert await asyncio.wait_for(second.wait(), 60) == 137
        assert llm.fact_questions().count(QUESTION) == 2
        # 3: runs; it finds the answer queued (its key), sends it and asks no more about it.
        third = await _daemon(env)
        try:
            await _until(lambda: _to(inst, ASKS) and _to(inst, STAFF), 30)
            await _until(lambda: FISHING in llm.fact_questions(), 10)
            await asyncio.sleep(2.5)  # more than a pass of the answerer: a second answer shows
        finally:
            third.send_signal(signal.SIGTERM)
            _, err = await asyncio.wait_for(third.communicate(), 30)
        assert third.returncode == 0, err.decode()
    assert _to(inst, ASKS) == [GROUNDED]
    assert llm.fact_questions().count(QUESTION) == 2  # asked by the runs that crashed only
    # The made-up closing time was asked about and discarded each time: staff answer it.
    assert FISHING in llm.fact_questions() and _to(inst, FISHES) == []
    assert "LLM fact answer discarded" in err.decode() and "11:30" not in err.decode()
    # The complaint went to the staff chat and was never put to the LLM as a question.
    assert _to(inst, COMPLAINS) == [] and COMPLAINT not in llm.fact_questions()
    assert len(_to(inst, STAFF)) == 1 and "morning meal was cold" in _to(inst, STAFF)[0]

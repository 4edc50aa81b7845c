"""Answers from the hotel's facts with the real `hotelbot run` in subprocesses: the daemon
dies (os._exit, like SIGKILL) right before and right after the transaction that queues the
answer, is restarted, and Green API delivers the question again: the guest gets one answer."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

from hotelbot.fakes.greenapi import FakeGreenApi, FakeInstance
from tests import shapes
from tests.helpers import daemon_env

PY = sys.executable
INSTANCE, TOKEN, GUEST = "1101000001", "tok", "37120000001@c.us"
ANSWER = "Network GrandRiga-Guest, password sea-breeze-42."
FACTS = f'mode = "rules"\n[wifi]\nen = "{ANSWER}"\n'


def _env(db_url: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    # The processor in the daemon's own process, so its crash points end the daemon (with
    # a worker they end the worker, which is restarted: tests/test_worker_process.py).
    return daemon_env(db_url, tmp_path, HOTELBOT_PROCESSING__WORKERS="0", **extra)


async def _cli(env: dict[str, str], *args: str) -> tuple[int, str]:
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
    return proc.returncode or 0, out.decode()


async def _daemon(env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        PY,
        "-m",
        "hotelbot",
        "run",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )


async def _answers(inst: FakeInstance, want: int, timeout_s: float) -> list[str]:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while asyncio.get_running_loop().time() < deadline:
        sent = [s.message for s in inst.sent if s.chat_id == GUEST]
        if len(sent) >= want:
            return sent
        await asyncio.sleep(0.1)
    return [s.message for s in inst.sent if s.chat_id == GUEST]


async def test_the_answer_survives_crashes_and_a_redelivery_and_is_sent_once(
    db_url: str, tmp_path: Path
) -> None:
    env = _env(db_url, tmp_path)
    async with FakeGreenApi() as fake:
        inst = fake.add_instance(INSTANCE, TOKEN)
        assert (await _cli(env, "db", "upgrade"))[0] == 0
        hotels = tmp_path / "h.toml"
        hotels.write_text(
            f'[[hotels]]\nslug = "riga"\nname = "Riga"\ninstance_id = "{INSTANCE}"\n'
            f'api_token = "{TOKEN}"\napi_url = "{fake.url}"\ntimezone = "Europe/Riga"\n'
        )
        assert (await _cli(env, "hotel", "import", str(hotels)))[0] == 0
        facts = tmp_path / "facts.toml"
        facts.write_text(FACTS)
        assert (await _cli(env, "hotel", "facts", "import", "riga", str(facts)))[0] == 0
        question = shapes.incoming_text(
            INSTANCE, GUEST, "What is the wifi password?", id_message="Q1"
        )
        inst.push(question)
        # 1: dies inside the processing transaction: the answer is rolled back with it.
        first = await _daemon(dict(env, HOTELBOT_CRASH_AT="processor_before_commit"))
        assert await asyncio.wait_for(first.wait(), 60) == 137
        # 2: dies right after the commit: the answer is queued, not yet sent.
        second = await _daemon(dict(env, HOTELBOT_CRASH_AT="processor_after_commit"))
        assert await asyncio.wait_for(second.wait(), 60) == 137
        # 3: runs; Green API delivers the same question once more meanwhile.
        inst.push(question)
        third = await _daemon(env)
        try:
            assert await _answers(inst, 1, 60) == [ANSWER]
            await inst.wait_drained(30)
            await asyncio.sleep(2.0)  # time for a wrong second answer to show up
        finally:
            third.send_signal(signal.SIGTERM)
            await asyncio.wait_for(third.communicate(), 30)
        assert [s.message for s in inst.sent if s.chat_id == GUEST] == [ANSWER]

"""The benchmark's fake Green API, run as its own process and driven over stdin/stdout.

`python -m tests.bench.fake_proc --instances H` starts `FakeGreenApi` (request log off)
with H instances (ids `BASE_INSTANCE_ID + i`, token `tok<i>`), prints one JSON line
`{"url": ...}` and then answers one JSON line per JSON command line on stdin:

    {"cmd": "push", "messages": M, "complaint_share": f, "tag": "run"}
        queue M text messages on every instance in ONE event-loop step (so all queues fill
        at the same moment); every message comes from its own chat (alert cool-downs are
        per chat) and a share f of them are complaints. -> {"pushed": n}
    {"cmd": "pending"}          -> {"pending": n, "deleted": n}
    {"cmd": "faults", "spec": {...}}   apply a global fault body (see FakeGreenApi)
    {"cmd": "report", "tag": "run"}
        per-message figures for the items pushed with that tag: latency available->deleted,
        and for complaints available->staff alert (a sendMessage to the hotel's staff chat
        whose text names the guest's chat number). Request counts are cumulative.
    {"cmd": "quit"}

Running the fake in its own process keeps its CPU off the daemon's event loop: the figures
describe the daemon, not a shared loop.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from hotelbot.fakes import shapes
from hotelbot.fakes.greenapi import FakeGreenApi

BASE_INSTANCE_ID = 1101000000
STAFF_CHAT_ID = "79990000000@c.us"

# Rule-detectable complaints and ordinary questions (varied so nothing is cached by text).
COMPLAINTS = (
    "The room is dirty and the shower is broken. This is unacceptable, I want a refund.",
    "Terrible service, nobody answers at reception and the air conditioning is not working.",
    "Very disappointed: there is no hot water and the bathroom smells awful.",
    "The noise from the bar kept us awake all night, worst hotel experience ever.",
)
QUESTIONS = (  # none of these needs staff attention (checked against the rule analyser)
    "Hello, what time is breakfast served tomorrow?",
    "Hi! We will arrive around 6 pm today.",
    "Is there parking near the hotel? Thanks!",
    "What is the wifi password?",
    "Thank you, the room is lovely and the staff are very kind.",
    "Good morning, is the pool open today?",
)


def instance_id(index: int) -> str:
    return str(BASE_INSTANCE_ID + index + 1)


def token(index: int) -> str:
    return f"tok{index + 1}"


def guest_chat(index: int, seq: int) -> str:
    # 7 + 4 digits of hotel + 6 digits of sequence: a distinct guest per message.
    return f"7{index + 1:04d}{seq:06d}@c.us"


@dataclass
class _Pushed:
    instance: str
    receipt_id: int
    chat_id: str
    complaint: bool


@dataclass
class _State:
    server: FakeGreenApi
    ids: list[str]
    pushed: dict[str, list[_Pushed]] = field(default_factory=dict)
    seq: int = 0


def _push(state: _State, tag: str, messages: int, complaint_share: float) -> int:
    batch = state.pushed.setdefault(tag, [])
    # Deterministic spread of complaints: every k-th message overall.
    count = 0
    for index, iid in enumerate(state.ids):
        inst = state.server.instance(iid)
        for _ in range(messages):
            state.seq += 1
            seq = state.seq
            complaint = complaint_share > 0 and (seq * complaint_share) % 1.0 < complaint_share
            texts = COMPLAINTS if complaint else QUESTIONS
            chat = guest_chat(index, seq)
            body = shapes.incoming_text(iid, chat, texts[seq % len(texts)], sender_name="Guest")
            receipt = inst.push(body)
            batch.append(_Pushed(iid, receipt, chat, complaint))
            count += 1
    return count


def _report(state: _State, tag: str) -> dict[str, Any]:
    server = state.server
    deleted_ms: list[float] = []
    alert_ms: list[float] = []
    alerts_missing = 0
    first_available: float | None = None
    last_deleted: float | None = None
    undeleted = 0
    complaints = 0
    sent_by_instance: dict[str, list[tuple[str, float]]] = {}
    for item in state.pushed.get(tag, []):
        note = server.instance(item.instance).notifications[item.receipt_id]
        if note.became_head is None or note.deleted is None:
            undeleted += 1
            continue
        available = note.became_head.mono
        first_available = available if first_available is None else min(first_available, available)
        done = note.deleted.mono
        last_deleted = done if last_deleted is None else max(last_deleted, done)
        deleted_ms.append((done - available) * 1000)
        if item.complaint:
            complaints += 1
            sent = sent_by_instance.get(item.instance)
            if sent is None:
                sent = [
                    (s.message, s.sent_at.mono)
                    for s in server.instance(item.instance).sent
                    if s.chat_id == STAFF_CHAT_ID
                ]
                sent_by_instance[item.instance] = sent
            number = item.chat_id.split("@", 1)[0]
            at = next((mono for text, mono in sent if number in text), None)
            if at is None:
                alerts_missing += 1
            else:
                alert_ms.append((at - available) * 1000)
    stats = server.stats()
    return {
        "messages": len(state.pushed.get(tag, [])),
        "undeleted": undeleted,
        "first_available_mono": first_available,
        "last_deleted_mono": last_deleted,
        "deleted_ms": deleted_ms,
        "complaints": complaints,
        "alert_ms": alert_ms,
        "alerts_missing": alerts_missing,
        "request_counts": stats["request_counts"],
        "requests": stats["requests"],
        "sent": stats["sent"],
        "overlapping_pollers": stats["overlapping_pollers"],
    }


async def _handle(state: _State, command: dict[str, Any]) -> dict[str, Any]:
    name = command.get("cmd")
    if name == "push":
        started = time.monotonic()
        n = _push(
            state,
            str(command.get("tag", "run")),
            int(command["messages"]),
            float(command.get("complaint_share", 0.0)),
        )
        return {"pushed": n, "push_ms": (time.monotonic() - started) * 1000}
    if name == "pending":
        stats = state.server.stats()
        return {"pending": stats["pending"], "deleted": stats["deleted"]}
    if name == "faults":
        state.server.faults.apply(dict(command.get("spec", {})))
        return {"ok": True}
    if name == "report":
        return _report(state, str(command.get("tag", "run")))
    if name == "stats":
        return state.server.stats()
    return {"error": f"unknown command {name!r}"}


def new_state(instances: int, *, seed: int = 0, long_poll_scale: float = 1.0) -> _State:
    """A fake with `instances` instances (not started)."""
    server = FakeGreenApi(
        seed=seed,
        echo_outgoing=False,
        long_poll_scale=long_poll_scale,
        record_requests=False,
    )
    ids = []
    for index in range(instances):
        server.add_instance(instance_id(index), token(index))
        ids.append(instance_id(index))
    return _State(server, ids)


async def handle(state: _State, command: dict[str, Any]) -> dict[str, Any]:
    """One command of the protocol above (`quit` excepted)."""
    return await _handle(state, command)


def _reader(loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[str | None]) -> None:
    for line in sys.stdin:
        loop.call_soon_threadsafe(queue.put_nowait, line)
    loop.call_soon_threadsafe(queue.put_nowait, None)


async def _serve(args: argparse.Namespace) -> None:
    state = new_state(args.instances, seed=args.seed, long_poll_scale=args.long_poll_scale)
    async with state.server as server:
        _write({"url": server.url})
        queue: asyncio.Queue[str | None] = asyncio.Queue()
        loop = asyncio.get_running_loop()
        threading.Thread(target=_reader, args=(loop, queue), daemon=True).start()
        while True:
            line = await queue.get()
            if line is None:
                return
            if not line.strip():
                continue
            command = json.loads(line)
            if command.get("cmd") == "quit":
                _write({"ok": True})
                return
            _write(await _handle(state, command))


def _write(data: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(data) + "\n")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.fake_proc")
    parser.add_argument("--instances", type=int, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--long-poll-scale", type=float, default=1.0)
    asyncio.run(_serve(parser.parse_args(argv)))


if __name__ == "__main__":
    main()

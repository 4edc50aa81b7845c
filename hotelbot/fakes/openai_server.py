"""FakeOpenAI: a loopback OpenAI-compatible chat-completions server with fault knobs.

Speaks the real wire format (`POST /v1/chat/completions` and `POST /chat/completions`,
chat.completion JSON, OpenAI-style error bodies), so the real `openai` SDK talks to it over
real HTTP. By default it answers with a small deterministic keyword classifier of the
`guest_message` it finds in the last user message, so demos look plausible; a question for the
hotel's facts (a `guest_question` in the user message) gets the reply set for it with
`answer_facts`, else "no answer" (`FACTS_NO_ANSWER`).

Faults are one-shot and queued in call order: `fail_next`, `malformed_next`, `hang_next`,
`script`. `latency_s` delays every answer. Requests are recorded (`requests`, `max_in_flight`)
so tests assert on what reached the server; every answer carries `usage` (token counts
estimated from the lengths) and `tokens_returned` records them, so tests can check the
accounting against what the server reported.

Run standalone: `python -m hotelbot.fakes.openai_server --port 8089 --latency-s 2`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import sys
import time
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Literal

from aiohttp import web

MalformedKind = Literal["not_json", "wrong_fields", "out_of_range", "blank"]

_MALFORMED_CONTENT: dict[str, str] = {
    # DeepSeek's JSON mode replaces output it cannot parse as JSON with spaces
    "blank": "   ",
    "not_json": "Sure! The guest sounds fairly happy overall.",
    "wrong_fields": json.dumps({"label": "positive", "confidence": 0.9}),
    "out_of_range": json.dumps(
        {
            "sentiment": "positive",
            "score": 3.5,
            "requires_attention": False,
            "reason": "very happy",
            "language": "en",
        }
    ),
}

# (keyword, reason) pairs; first match wins. Lower-case substrings, English and Russian.
_COMPLAINTS: tuple[tuple[str, str], ...] = (
    ("no hot water", "complaint: no hot water"),
    ("нет горячей воды", "complaint: no hot water"),
    ("not working", "complaint: something does not work"),
    ("doesn't work", "complaint: something does not work"),
    ("не работает", "complaint: something does not work"),
    ("broken", "complaint: something is broken"),
    ("dirty", "complaint: cleanliness"),
    ("грязн", "complaint: cleanliness"),
    ("noise", "complaint: noise"),
    ("noisy", "complaint: noise"),
    ("шум", "complaint: noise"),
    ("still waiting", "complaint: waiting for service"),
    ("до сих пор", "complaint: waiting for service"),
    ("terrible", "complaint: very unhappy"),
    ("awful", "complaint: very unhappy"),
    ("rude", "complaint: staff attitude"),
    ("ужас", "complaint: very unhappy"),
    ("cold", "complaint: temperature"),
    ("холодно", "complaint: temperature"),
)
_PRAISE = (
    "thank", "great", "excellent", "wonderful", "love", "perfect", "amazing",
    "спасибо", "отлично", "прекрасно", "замечательно",
)  # fmt: skip


FACTS_NO_ANSWER: Mapping[str, object] = {"answer": None, "topic": None, "needs_staff": False}


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request as the fake received it."""

    path: str
    authorization: str | None
    body: Mapping[str, object]


@dataclass(frozen=True, slots=True)
class _Fail:
    status: int
    retry_after_s: float | None


@dataclass(frozen=True, slots=True)
class _Content:
    content: str


@dataclass(frozen=True, slots=True)
class _Hang:
    pass


_Action = _Fail | _Content | _Hang


def classify(
    guest_message: str, earlier: Sequence[Mapping[str, object]] = (), staff_answered: bool = False
) -> dict[str, object]:
    """The fake's default answer: a deterministic keyword verdict in the LLM output schema.
    With `earlier` messages (the context hotelbot sends), a message with no keyword of its
    own ("it is the same") after a guest's unanswered complaint is that complaint again."""
    lowered = guest_message.casefold()
    language = "ru" if any("а" <= ch <= "я" or ch == "ё" for ch in lowered) else "en"
    for keyword, reason in _COMPLAINTS:
        if keyword in lowered:
            return {
                "sentiment": "negative",
                "score": -0.7,
                "requires_attention": True,
                "category": "complaint",
                "reason": reason,
                "language": language,
            }
    if any(word in lowered for word in _PRAISE):
        return {
            "sentiment": "positive",
            "score": 0.8,
            "requires_attention": False,
            "category": None,
            "reason": "praise",
            "language": language,
        }
    earlier_complaint = any(
        line.get("from") == "guest"
        and any(keyword in str(line.get("text", "")).casefold() for keyword, _ in _COMPLAINTS)
        for line in earlier
    )
    if earlier_complaint and not staff_answered:
        return {
            "sentiment": "negative",
            "score": -0.5,
            "requires_attention": True,
            "category": "follow_up",
            "reason": "follow-up: earlier complaint unanswered",
            "language": language,
        }
    return {
        "sentiment": "neutral",
        "score": 0.0,
        "requires_attention": False,
        "category": None,
        "reason": "no strong signal",
        "language": language,
    }


def user_payload(body: Mapping[str, object]) -> dict[str, object]:
    """The last user message's JSON object as the fake received it ({} when not JSON)."""
    messages = body.get("messages")
    if not isinstance(messages, list):
        return {}
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            try:
                decoded = json.loads(str(message.get("content")))
            except ValueError:
                return {}
            return decoded if isinstance(decoded, dict) else {}
    return {}


def extract_guest_message(body: Mapping[str, object]) -> str:
    """The guest text from the last user message: its JSON `guest_message`, else the raw text."""
    messages = body.get("messages")
    if not isinstance(messages, list):
        return ""
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            if not isinstance(content, str):
                return ""
            try:
                decoded = json.loads(content)
            except ValueError:
                return content
            if isinstance(decoded, dict) and isinstance(decoded.get("guest_message"), str):
                return str(decoded["guest_message"])
            return content
    return ""


class FakeOpenAI:
    """OpenAI-compatible fake on 127.0.0.1. Use `async with FakeOpenAI() as fake:`.

    `api_key`: when set, requests without `Authorization: Bearer <api_key>` get a 401.
    `latency_s`: delay before every answer (faults included), may be changed at any time.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        latency_s: float = 0.0,
        api_key: str | None = None,
    ) -> None:
        self.latency_s = latency_s
        self.requests: list[RecordedRequest] = []
        self.tokens_returned: list[tuple[int, int]] = []  # (prompt, completion) per answer
        self.in_flight = 0
        self.max_in_flight = 0
        self._host = host
        self._port = port
        self._api_key = api_key
        self._actions: deque[_Action] = deque()
        self._fact_replies: dict[str, Mapping[str, object]] = {}
        self._ids = itertools.count(1)
        self._stopping = asyncio.Event()
        self._in_flight_changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    # -- knobs ---------------------------------------------------------------------------

    def fail_next(self, n: int = 1, status: int = 500, retry_after_s: float | None = None) -> None:
        """The next `n` requests get an OpenAI-style error with this HTTP status."""
        self._actions.extend(_Fail(status, retry_after_s) for _ in range(n))

    def malformed_next(self, n: int = 1, kind: MalformedKind = "not_json") -> None:
        """The next `n` requests get a 200 whose message content breaks the output schema."""
        self._actions.extend(_Content(_MALFORMED_CONTENT[kind]) for _ in range(n))

    def hang_next(self, n: int = 1) -> None:
        """The next `n` requests never get an answer (until the client gives up or `stop()`)."""
        self._actions.extend(_Hang() for _ in range(n))

    def script(self, responses: Sequence[str | Mapping[str, object]]) -> None:
        """The next requests get these message contents, in order (mappings are JSON-encoded)."""
        for response in responses:
            content = response if isinstance(response, str) else json.dumps(response)
            self._actions.append(_Content(content))

    def answer_facts(self, replies: Mapping[str, Mapping[str, object]]) -> None:
        """Replies to questions for the facts, by the guest's question (every time it is
        asked, unlike `script`); other questions for the facts get `FACTS_NO_ANSWER`."""
        self._fact_replies.update(replies)

    def fact_questions(self) -> list[str]:
        """The guest questions asked for the facts so far, in order (repeats included)."""
        asked = (user_payload(r.body).get("guest_question") for r in self.requests)
        return [q for q in asked if isinstance(q, str)]

    @property
    def request_count(self) -> int:
        return len(self.requests)

    async def wait_in_flight(self, count: int = 1) -> None:
        """Return once at least `count` requests are being handled (bound it with a timeout)."""
        async with self._in_flight_changed:
            await self._in_flight_changed.wait_for(lambda: self.in_flight >= count)

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> str:
        """Start listening; returns the base URL including `/v1` (what the SDK wants)."""
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._handle)
        app.router.add_post("/chat/completions", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}/v1"
        return self.base_url

    async def stop(self) -> None:
        """Release hung requests (they get a 503) and close the server. Idempotent."""
        self._stopping.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeOpenAI:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- protocol ------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        await self._count_in_flight(+1)
        try:
            return await self._answer(request)
        finally:
            await self._count_in_flight(-1)

    async def _count_in_flight(self, delta: int) -> None:
        async with self._in_flight_changed:
            self.in_flight += delta
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self._in_flight_changed.notify_all()

    async def _answer(self, request: web.Request) -> web.Response:
        authorization = request.headers.get("Authorization")
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "request body is not JSON", "invalid_request_error")
        if not isinstance(body, dict):
            return _error(400, "request body must be a JSON object", "invalid_request_error")
        self.requests.append(RecordedRequest(request.path, authorization, body))
        if self._api_key is not None and authorization != f"Bearer {self._api_key}":
            return _error(401, "Authentication Fails (invalid api key)", "authentication_error")
        action = self._actions.popleft() if self._actions else None
        if self.latency_s > 0:
            await self._sleep_unless_stopping(self.latency_s)
        if isinstance(action, _Hang):
            await self._stopping.wait()
            return _error(503, "fake server stopping", "server_error")
        if isinstance(action, _Fail):
            message = f"injected failure {action.status}"
            return _error(action.status, message, "server_error", action.retry_after_s)
        if isinstance(action, _Content):
            content = action.content
        elif "guest_question" in (payload := user_payload(body)):
            question = str(payload["guest_question"])
            reply = self._fact_replies.get(question, FACTS_NO_ANSWER)
            content = json.dumps(reply, ensure_ascii=False)
        else:
            earlier = payload.get("earlier_messages")
            lines = [m for m in earlier if isinstance(m, dict)] if isinstance(earlier, list) else []
            verdict = classify(
                extract_guest_message(body), lines, payload.get("staff_already_answered") is True
            )
            content = json.dumps(verdict, ensure_ascii=False)
        return web.json_response(self._completion(body, content))

    async def _sleep_unless_stopping(self, delay_s: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=delay_s)

    def _completion(self, body: Mapping[str, object], content: str) -> dict[str, object]:
        prompt_chars = len(json.dumps(body.get("messages", []), ensure_ascii=False))
        prompt_tokens, completion_tokens = prompt_chars // 4 + 1, len(content) // 4 + 1
        self.tokens_returned.append((prompt_tokens, completion_tokens))
        return {
            "id": f"chatcmpl-fake-{next(self._ids)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": str(body.get("model", "fake-model")),
            "system_fingerprint": "fp_fake",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "logprobs": None,
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }


def _error(
    status: int, message: str, error_type: str, retry_after_s: float | None = None
) -> web.Response:
    headers = {}
    if retry_after_s is not None:
        headers["retry-after-ms"] = str(int(retry_after_s * 1000))
    payload = {"error": {"message": message, "type": error_type, "param": None, "code": None}}
    return web.json_response(payload, status=status, headers=headers)


async def _serve(port: int, latency_s: float) -> None:
    async with FakeOpenAI(port=port, latency_s=latency_s) as fake:
        sys.stdout.write(f"fake OpenAI-compatible server at {fake.base_url}\n")
        sys.stdout.flush()
        await asyncio.Event().wait()  # until Ctrl+C


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Fake OpenAI-compatible chat server.")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency-s", type=float, default=0.0)
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.port, args.latency_s))


if __name__ == "__main__":
    main()

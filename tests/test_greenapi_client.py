"""GreenApiClient over real HTTP against the fake: methods, error classes, token hygiene."""

from __future__ import annotations

import logging

import pytest

from hotelbot.domain.inbound import Delivery
from hotelbot.fakes.greenapi import FakeGreenApi
from hotelbot.greenapi.client import (
    REQUIRED_SETTINGS,
    GreenApiClient,
    InstanceCredentials,
    InstanceSettings,
    JournalEntry,
)
from hotelbot.greenapi.errors import (
    ErrorClass,
    InstanceNotReady,
    NetworkError,
    RateLimited,
    ServerError,
    Unauthorized,
)
from hotelbot.greenapi.transport import HttpxTransport
from tests import shapes

TOKEN = "tok-SECRET-5f2c9e"


async def _client(url: str, token: str = TOKEN, **kw: object) -> GreenApiClient:
    return GreenApiClient(
        InstanceCredentials(url, "1101000001", token),
        HttpxTransport(connect_timeout_s=2.0),
        receive_timeout_s=5,
        request_timeout_s=3.0,
        **kw,  # type: ignore[arg-type]
    )


async def test_receive_delete_send_state_settings() -> None:
    async with FakeGreenApi() as fake:
        inst = fake.add_instance("1101000001", TOKEN)
        body = shapes.incoming_text("1101000001", "37120000001@c.us", "hello")
        receipt = inst.push(body)
        client = await _client(fake.url)
        try:
            got = await client.receive_notification()
            assert isinstance(got, Delivery)
            assert got.receipt_id == receipt and got.id_message == body["idMessage"]
            assert got.chat_id == "37120000001@c.us"
            again = await client.receive_notification()  # same head until deleted
            assert isinstance(again, Delivery) and again.receipt_id == receipt
            assert await client.delete_notification(receipt) is True
            assert await client.delete_notification(receipt) is False  # already gone: not an error
            id_message = await client.send_message("37120000001@c.us", "Welcome!")
            assert inst.sent[-1].message == "Welcome!" and inst.sent[-1].id_message == id_message
            assert await client.get_state_instance() == "authorized"
            settings = await client.get_settings()
            assert settings.problems() == [] and settings.reaches_queue
            journal = await client.last_outgoing_messages(minutes=5)
            [entry] = [e for e in journal if e.id_message == id_message]
            assert (entry.chat_id, entry.text, entry.file_name) == (
                "37120000001@c.us",
                "Welcome!",
                None,
            )
            assert entry.type_message == "textMessage" and entry.timestamp is not None
            assert await client.set_settings(REQUIRED_SETTINGS) is True  # restarts the instance
            assert await client.get_state_instance() == "starting"
        finally:
            await client._transport.aclose()


async def test_empty_queue_returns_none_after_the_long_poll() -> None:
    async with FakeGreenApi(long_poll_scale=0.05) as fake:
        fake.add_instance("1101000001", TOKEN)
        client = await _client(fake.url)
        try:
            assert await client.receive_notification() is None
        finally:
            await client._transport.aclose()


@pytest.mark.parametrize(
    ("status", "error", "error_class"),
    [
        (500, ServerError, ErrorClass.TRANSIENT),
        (502, ServerError, ErrorClass.TRANSIENT),
        (429, RateLimited, ErrorClass.TRANSIENT),
    ],
)
async def test_status_codes_map_to_error_classes(
    status: int, error: type[Exception], error_class: ErrorClass
) -> None:
    async with FakeGreenApi() as fake:
        inst = fake.add_instance("1101000001", TOKEN)
        if status == 429:
            inst.faults.rate_limit_next(1, retry_after_s=7)
        else:
            inst.faults.fail_next(1, status=status)
        client = await _client(fake.url)
        try:
            with pytest.raises(error) as info:
                await client.get_state_instance()
        finally:
            await client._transport.aclose()
        assert info.value.error_class is error_class  # type: ignore[attr-defined]
        if status == 429:
            assert info.value.retry_after_s == 7  # type: ignore[attr-defined]
        assert TOKEN not in str(info.value) and TOKEN not in repr(info.value)


async def test_wrong_token_is_hotel_fatal_and_not_leaked() -> None:
    async with FakeGreenApi() as fake:
        fake.add_instance("1101000001", "the-real-one")
        client = await _client(fake.url, token="WRONG-token-123456")
        try:
            with pytest.raises(Unauthorized) as info:
                await client.receive_notification()
        finally:
            await client._transport.aclose()
        assert info.value.error_class is ErrorClass.HOTEL_FATAL
        assert "WRONG-token-123456" not in str(info.value)
        assert "WRONG-token-123456" not in repr(client.credentials)


async def test_not_authorized_instance_rejects_sends() -> None:
    async with FakeGreenApi() as fake:
        fake.add_instance("1101000001", TOKEN, state="notAuthorized")
        client = await _client(fake.url)
        try:
            with pytest.raises(InstanceNotReady):
                await client.send_message("37120000001@c.us", "hi")
        finally:
            await client._transport.aclose()


async def test_connection_refused_is_surely_not_sent() -> None:
    client = await _client("http://127.0.0.1:9")  # discard port: nothing listens
    try:
        with pytest.raises(NetworkError) as info:
            await client.send_message("37120000001@c.us", "hi")
    finally:
        await client._transport.aclose()
    assert info.value.request_sent is False


async def test_timeout_after_send_is_ambiguous_and_the_message_was_recorded() -> None:
    async with FakeGreenApi() as fake:
        inst = fake.add_instance("1101000001", TOKEN)
        inst.faults.send_timeout_next(1, stall_s=5.0)
        client = GreenApiClient(
            InstanceCredentials(fake.url, "1101000001", TOKEN),
            HttpxTransport(connect_timeout_s=2.0),
            request_timeout_s=0.5,
        )
        try:
            with pytest.raises(NetworkError) as info:
                await client.send_message("37120000001@c.us", "hi")
        finally:
            await client._transport.aclose()
        assert info.value.request_sent is True
        assert len(inst.sent) == 1  # it did go out: a blind resend would duplicate it


async def test_httpx_logging_never_shows_the_token(caplog: pytest.LogCaptureFixture) -> None:
    from hotelbot.redact import redact, register_secret

    register_secret(TOKEN)
    caplog.set_level(logging.DEBUG, logger="httpx")
    async with FakeGreenApi() as fake:
        fake.add_instance("1101000001", TOKEN)
        client = await _client(fake.url)
        try:
            await client.get_state_instance()
        finally:
            await client._transport.aclose()
    lines = [redact(record.getMessage()) for record in caplog.records]
    assert lines, "httpx logged nothing: the redaction check would be vacuous"
    assert all(TOKEN not in line for line in lines)


def test_calls_off_is_a_recommendation_naming_what_is_lost() -> None:
    settings = InstanceSettings.of({**REQUIRED_SETTINGS, "incomingCallWebhook": "no"})
    assert settings.problems() == [
        "incomingCallWebhook is off (recommended on): missed WhatsApp calls never reach staff"
    ]
    assert settings.reaches_queue
    assert InstanceSettings.of(REQUIRED_SETTINGS).problems() == []
    hooked = InstanceSettings.of({**REQUIRED_SETTINGS, "webhookUrl": "https://x.example/hook"})
    assert not hooked.reaches_queue and hooked.problems()[0].startswith("webhookUrl is set")


def test_journal_entries_are_read_into_typed_values() -> None:
    assert JournalEntry.of({"chatId": "1@c.us", "textMessage": "no id"}) is None
    extended = JournalEntry.of(
        {
            "idMessage": "A1",
            "chatId": "1@c.us",
            "typeMessage": "extendedTextMessage",
            "extendedTextMessage": {"text": "Hi"},
            "timestamp": 1700000000,
        }
    )
    assert extended == JournalEntry("A1", "1@c.us", "extendedTextMessage", "Hi", None, 1.7e9)
    file = JournalEntry.of(
        {
            "idMessage": "A2",
            "chatId": "1@c.us",
            "typeMessage": "imageMessage",
            "fileName": "pool.png",
            "timestamp": True,
        }
    )
    assert file == JournalEntry("A2", "1@c.us", "imageMessage", "", "pool.png", None)


def test_public_methods_return_typed_values_only() -> None:
    """No raw dict, list of dicts or Any leaves the client: callers get typed values."""
    import inspect
    import typing

    checked = []
    for name, method in inspect.getmembers(GreenApiClient, inspect.iscoroutinefunction):
        if name.startswith("_"):
            continue
        checked.append(name)
        returned = typing.get_type_hints(method)["return"]
        text = str(returned)
        assert "dict" not in text and "Any" not in text, f"{name} returns {text}"
    assert {"get_settings", "last_outgoing_messages", "send_message"} <= set(checked)

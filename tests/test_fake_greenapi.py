"""The fake Green API over real HTTP: queue semantics, sends, settings, faults, control API."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from hotelbot.fakes.greenapi import CLIENT_HEADER, FakeGreenApi, FakeInstance
from tests import shapes

ID = "1101000001"
TOKEN = "token-1101"
GUEST = "79001234568@c.us"

pytestmark = pytest.mark.timeout(20)


def api(
    method: str, arg: str | int | None = None, *, instance: str = ID, token: str = TOKEN
) -> str:
    path = f"/waInstance{instance}/{method}/{token}"
    return path if arg is None else f"{path}/{arg}"


@pytest.fixture
async def fake() -> AsyncIterator[FakeGreenApi]:
    # long_poll_scale keeps idle polls short: receiveTimeout=5 waits 0.25 s here.
    async with FakeGreenApi(long_poll_scale=0.05, reboot_s=0.1) as server:
        server.add_instance(ID, TOKEN)
        yield server


@pytest.fixture
def inst(fake: FakeGreenApi) -> FakeInstance:
    return fake.instance(ID)


@pytest.fixture
async def client(fake: FakeGreenApi) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=fake.url, timeout=10, verify=False) as http:
        yield http


def text_body(text: str, id_message: str | None = None) -> dict[str, Any]:
    return shapes.incoming_text(ID, GUEST, text, id_message=id_message)


async def receive(client: httpx.AsyncClient, **headers: str) -> Any:
    response = await client.get(
        api("receiveNotification"), params={"receiveTimeout": 5}, headers=headers
    )
    assert response.status_code == 200
    return response.json()


# --- queue semantics -------------------------------------------------------------------


async def test_receive_returns_same_head_until_deleted(
    inst: FakeInstance, client: httpx.AsyncClient
) -> None:
    first = inst.push(text_body("one", "A1"))
    second = inst.push(text_body("two", "A2"))
    assert second > first

    got = [await receive(client) for _ in range(3)]
    assert [g["receiptId"] for g in got] == [first] * 3
    assert got[0]["body"]["idMessage"] == "A1"
    assert got[0]["body"]["messageData"]["textMessageData"]["textMessage"] == "one"

    deleted = await client.delete(api("deleteNotification", first))
    assert deleted.json() == {"result": True, "reason": ""}
    after = await receive(client)
    assert after["receiptId"] == second
    assert after["body"]["idMessage"] == "A2"
    assert inst.deleted == [first]
    assert inst.notifications[first].receive_count == 3


async def test_idle_long_poll_answers_literal_null(
    inst: FakeInstance, client: httpx.AsyncClient
) -> None:
    started = time.monotonic()
    response = await client.get(api("receiveNotification"), params={"receiveTimeout": 5})
    elapsed = time.monotonic() - started
    assert response.status_code == 200
    assert response.text == "null"
    # scaled receiveTimeout: 5 s * 0.05 = 0.25 s; the poll must really have waited
    assert elapsed >= 0.2


async def test_long_poll_wakes_as_soon_as_an_item_is_pushed() -> None:
    async with FakeGreenApi() as server:  # real scale: an idle poll would take 5 s
        instance = server.add_instance(ID, TOKEN)
        async with httpx.AsyncClient(base_url=server.url, timeout=10, verify=False) as http:
            started = time.monotonic()
            poll = asyncio.create_task(
                http.get(api("receiveNotification"), params={"receiveTimeout": 5})
            )
            await asyncio.sleep(0.1)
            assert not poll.done()
            receipt_id = instance.push(text_body("hello"))
            response = await poll
            elapsed = time.monotonic() - started
    assert response.json()["receiptId"] == receipt_id
    assert elapsed < 2.5


@pytest.mark.parametrize("value", ["4", "61", "abc"])
async def test_receive_timeout_outside_5_to_60_is_400(
    client: httpx.AsyncClient, value: str
) -> None:
    response = await client.get(api("receiveNotification"), params={"receiveTimeout": value})
    assert response.status_code == 400
    assert "receiveTimeout" in response.json()["message"]


async def test_delete_only_removes_the_head(inst: FakeInstance, client: httpx.AsyncClient) -> None:
    first = inst.push(text_body("one"))
    second = inst.push(text_body("two"))

    not_head = (await client.delete(api("deleteNotification", second))).json()
    unknown = (await client.delete(api("deleteNotification", 999))).json()
    assert not_head["result"] is False and not_head["reason"]
    assert unknown["result"] is False and unknown["reason"]
    assert inst.pending_receipt_ids == [first, second]

    assert (await client.delete(api("deleteNotification", first))).json()["result"] is True
    again = (await client.delete(api("deleteNotification", first))).json()
    assert again["result"] is False
    assert "earlier" in again["reason"]
    assert inst.deleted == [first]
    assert inst.pending_receipt_ids == [second]


async def test_lifecycle_stamps_give_available_to_deleted_latency(
    inst: FakeInstance, client: httpx.AsyncClient
) -> None:
    first = inst.push(text_body("one"))
    second = inst.push(text_body("two"))
    assert inst.notifications[first].became_head is not None
    assert inst.notifications[second].became_head is None  # not receivable yet

    await receive(client)
    await client.delete(api("deleteNotification", first))
    item1, item2 = inst.notifications[first], inst.notifications[second]
    assert item1.first_received is not None and item1.deleted is not None
    assert item2.became_head == item1.deleted
    latency = item1.available_to_deleted_s
    assert latency is not None and latency >= 0
    assert item2.available_to_deleted_s is None
    assert inst.deleted_items() == [item1]
    assert inst.latencies_s() == [latency]


async def test_wait_drained_and_wait_sent(inst: FakeInstance, client: httpx.AsyncClient) -> None:
    await inst.wait_drained(0.1)  # empty queue: immediate
    receipt_id = inst.push(text_body("x"))
    with pytest.raises(TimeoutError):
        await inst.wait_drained(0.05)

    async def consume() -> None:
        await receive(client)
        await client.delete(api("deleteNotification", receipt_id))

    await asyncio.gather(consume(), inst.wait_drained(5))
    assert inst.pending_count == 0

    inst.echo_outgoing = False
    send = client.post(api("sendMessage"), json={"chatId": GUEST, "message": "hi"})
    await asyncio.gather(send, inst.wait_sent(1, 5))
    with pytest.raises(TimeoutError):
        await inst.wait_sent(2, 0.05)


# --- auth and routing ------------------------------------------------------------------


async def test_wrong_token_401_unknown_instance_403(
    fake: FakeGreenApi, client: httpx.AsyncClient
) -> None:
    wrong_token = await client.get(api("getStateInstance", token="nope"))
    unknown = await client.get(api("getStateInstance", instance="1101999999"))
    not_integer = await client.get(api("getStateInstance", instance="abc"))
    assert wrong_token.status_code == 401
    assert unknown.status_code == 403
    assert not_integer.status_code == 400
    assert fake.unknown_instance_requests == 2


async def test_method_names_are_case_insensitive_and_verbs_checked(
    inst: FakeInstance, client: httpx.AsyncClient
) -> None:
    lower = await client.get(api("getstateinstance"))
    pascal = await client.get(api("GetStateInstance"))
    wrong_verb = await client.get(api("deleteNotification", 1))
    unknown_method = await client.get(api("getChatHistory"))
    assert lower.json() == pascal.json() == {"stateInstance": "authorized"}
    assert wrong_verb.status_code == 404
    assert unknown_method.status_code == 404
    assert inst.request_counts["getStateInstance"] == 2


# --- sending ---------------------------------------------------------------------------


async def test_send_message_is_recorded_and_echoed(
    inst: FakeInstance, client: httpx.AsyncClient
) -> None:
    response = await client.post(
        api("sendMessage"),
        json={"chatId": GUEST, "message": "Welcome!", "quotedMessageId": "Q1", "typingTime": 1500},
        headers={CLIENT_HEADER: "daemon-a"},
    )
    assert response.status_code == 200
    id_message = response.json()["idMessage"]
    int(id_message, 16)  # hex

    [sent] = inst.sent
    assert (sent.id_message, sent.chat_id, sent.message) == (id_message, GUEST, "Welcome!")
    assert (sent.quoted_message_id, sent.typing_time_ms, sent.client_id) == ("Q1", 1500, "daemon-a")

    echo = await receive(client)
    assert echo["body"]["typeWebhook"] == "outgoingAPIMessageReceived"
    assert echo["body"]["idMessage"] == id_message
    assert echo["body"]["senderData"]["chatId"] == GUEST
    assert echo["body"]["senderData"]["sender"] == inst.wid
    assert echo["body"]["messageData"]["textMessageData"]["textMessage"] == "Welcome!"
    await client.delete(api("deleteNotification", echo["receiptId"]))
    status = await receive(client)
    assert status["body"]["typeWebhook"] == "outgoingMessageStatus"
    assert status["body"]["idMessage"] == id_message
    assert status["body"]["status"] == "sent"
    assert status["body"]["chatId"] == GUEST


async def test_echo_follows_option_and_settings(
    fake: FakeGreenApi, client: httpx.AsyncClient
) -> None:
    quiet = fake.add_instance("1101000002", "t2", echo_outgoing=False)
    no_status = fake.add_instance("1101000003", "t3", settings={"outgoingWebhook": "no"})
    for instance in (quiet, no_status):
        path = api("sendMessage", instance=instance.instance_id, token=instance.token)
        assert (await client.post(path, json={"chatId": GUEST, "message": "m"})).status_code == 200
    assert quiet.pending_count == 0
    assert [b["typeWebhook"] for b in no_status.pending_bodies] == ["outgoingAPIMessageReceived"]


@pytest.mark.parametrize(
    ("payload", "needle"),
    [
        ({"message": "hi"}, "chatId"),
        ({"chatId": GUEST}, "message"),
        ({"chatId": "79001234568", "message": "hi"}, "chatId"),
        ({"chatId": GUEST, "message": "x" * 20001}, "20000"),
        ({"chatId": GUEST, "message": "hi", "typingTime": 50}, "typingTime"),
    ],
)
async def test_send_message_validation(
    inst: FakeInstance, client: httpx.AsyncClient, payload: dict[str, Any], needle: str
) -> None:
    response = await client.post(api("sendMessage"), json=payload)
    assert response.status_code == 400
    assert needle in response.json()["message"]
    assert inst.sent == []


async def test_send_message_accepts_20000_chars_and_lid_and_groups(
    inst: FakeInstance, client: httpx.AsyncClient
) -> None:
    for chat_id in (GUEST, shapes.EXAMPLE_GROUP_CHAT, shapes.EXAMPLE_LID_CHAT):
        response = await client.post(
            api("sendMessage"), json={"chatId": chat_id, "message": "y" * 20000}
        )
        assert response.status_code == 200
    assert len(inst.sent) == 3
    bad_json = await client.post(
        api("sendMessage"), content=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert bad_json.status_code == 400


@pytest.mark.parametrize(
    ("state", "text"),
    [
        ("notAuthorized", "instance account not authorized"),
        ("starting", "instance in starting process try later"),
        ("sleepMode", "instance is starting or not authorized"),
    ],
)
async def test_send_refused_unless_authorized_but_queue_still_works(
    inst: FakeInstance, client: httpx.AsyncClient, state: str, text: str
) -> None:
    inst.set_state(state)
    receipt_id = inst.push(text_body("still delivered"))
    send = await client.post(api("sendMessage"), json={"chatId": GUEST, "message": "hi"})
    assert send.status_code == 400
    assert send.json()["message"] == text
    assert (await client.get(api("getStateInstance"))).json() == {"stateInstance": state}
    assert (await receive(client))["receiptId"] == receipt_id
    deleted = await client.delete(api("deleteNotification", receipt_id))
    assert deleted.json()["result"] is True
    assert inst.sent == []


async def test_last_outgoing_messages_journal_and_webhooks_count(
    inst: FakeInstance, client: httpx.AsyncClient
) -> None:
    ids = []
    for text in ("first", "second"):
        response = await client.post(api("sendMessage"), json={"chatId": GUEST, "message": text})
        ids.append(response.json()["idMessage"])
    inst.update_status(ids[0], "read")

    journal = (await client.get(api("lastOutgoingMessages"), params={"minutes": 5})).json()
    assert [entry["idMessage"] for entry in journal] == ids[::-1]  # newest first
    assert journal[1] == {
        "type": "outgoing",
        "idMessage": ids[0],
        "timestamp": journal[1]["timestamp"],
        "typeMessage": "textMessage",
        "chatId": GUEST,
        "textMessage": "first",
        "sendByApi": True,
        "statusMessage": "read",
    }
    # 2 sends x (API echo + "sent" status) + the "read" status
    count = (await client.get(api("getWebhooksCount"))).json()
    assert count == {"count": 5}
    assert inst.pending_bodies[-1]["status"] == "read"


# --- settings and state ----------------------------------------------------------------


async def test_get_settings_has_every_documented_field(client: httpx.AsyncClient) -> None:
    settings = (await client.get(api("getSettings"))).json()
    documented = {
        "wid",
        "countryInstance",
        "typeAccount",
        "webhookUrl",
        "webhookUrlToken",
        "delaySendMessagesMilliseconds",
        "markIncomingMessagesReaded",
        "markIncomingMessagesReadedOnReply",
        "sharedSession",
        "outgoingWebhook",
        "outgoingMessageWebhook",
        "outgoingAPIMessageWebhook",
        "incomingWebhook",
        "deviceWebhook",
        "statusInstanceWebhook",
        "stateWebhook",
        "enableMessagesHistory",
        "keepOnlineStatus",
        "pollMessageWebhook",
        "incomingBlockWebhook",
        "incomingCallWebhook",
        "editedMessageWebhook",
        "deletedMessageWebhook",
        "autoTyping",
        "linkPreview",
        "enableLidMode",
    }
    assert documented <= set(settings)
    assert settings["webhookUrl"] == ""
    for key in (
        "incomingWebhook",
        "outgoingWebhook",
        "outgoingAPIMessageWebhook",
        "outgoingMessageWebhook",
        "stateWebhook",
    ):
        assert settings[key] == "yes"
    assert settings["markIncomingMessagesReaded"] == "no"


async def test_set_settings_merges_and_reboots(
    inst: FakeInstance, client: httpx.AsyncClient
) -> None:
    response = await client.post(
        api("setSettings"),
        json={"incomingCallWebhook": "yes", "delaySendMessagesMilliseconds": 1000},
    )
    assert response.json() == {"saveSettings": True}
    assert (await client.get(api("getStateInstance"))).json() == {"stateInstance": "starting"}
    send = await client.post(api("sendMessage"), json={"chatId": GUEST, "message": "hi"})
    assert send.json()["message"] == "instance in starting process try later"

    await asyncio.sleep(0.2)  # reboot_s=0.1 in the fixture
    assert (await client.get(api("getStateInstance"))).json() == {"stateInstance": "authorized"}
    settings = (await client.get(api("getSettings"))).json()
    assert settings["incomingCallWebhook"] == "yes"
    assert settings["delaySendMessagesMilliseconds"] == 1000
    assert settings["incomingWebhook"] == "yes"  # untouched keys kept

    bad = await client.post(api("setSettings"), json={"incomingWebhook": True})
    assert bad.status_code == 400


async def test_reboot_returns_to_previous_state_and_can_emit_state_webhooks(
    inst: FakeInstance, client: httpx.AsyncClient
) -> None:
    inst.emit_state_webhooks = True
    inst.set_state("notAuthorized")
    await client.post(api("setSettings"), json={})
    await asyncio.sleep(0.2)
    assert inst.state == "notAuthorized"
    states = [body["stateInstance"] for body in inst.pending_bodies]
    assert states == ["notAuthorized", "starting", "notAuthorized"]


async def test_webhook_url_set_means_polling_sees_nothing(
    inst: FakeInstance, client: httpx.AsyncClient
) -> None:
    inst.settings["webhookUrl"] = "https://hotel.example/hook"
    inst.push(text_body("hidden"))
    assert (await client.get(api("receiveNotification"))).text == "null"
    assert inst.pending_count == 1


# --- faults ----------------------------------------------------------------------------


async def test_fail_next_with_method_filter(inst: FakeInstance, client: httpx.AsyncClient) -> None:
    inst.faults.fail_next(2, status=502, methods=["receivenotification"])
    receipt_id = inst.push(text_body("x"))
    state = await client.get(api("getStateInstance"))
    first = await client.get(api("receiveNotification"))
    second = await client.get(api("receiveNotification"))
    third = await client.get(api("receiveNotification"))
    assert state.status_code == 200
    assert [first.status_code, second.status_code] == [502, 502]
    assert third.json()["receiptId"] == receipt_id
    assert [r.status for r in inst.requests] == [200, 502, 502, 200]
    assert inst.notifications[receipt_id].receive_count == 1


async def test_rate_limit_next_sets_retry_after(
    inst: FakeInstance, client: httpx.AsyncClient
) -> None:
    inst.faults.rate_limit_next(1, retry_after_s=3)
    inst.faults.rate_limit_next(1)
    limited = await client.get(api("getStateInstance"))
    limited_bare = await client.get(api("getStateInstance"))
    ok = await client.get(api("getStateInstance"))
    assert (limited.status_code, limited.headers.get("Retry-After")) == (429, "3")
    assert (limited_bare.status_code, limited_bare.headers.get("Retry-After")) == (429, None)
    assert ok.status_code == 200


async def test_latency_is_added(inst: FakeInstance, client: httpx.AsyncClient) -> None:
    inst.faults.latency_s = 0.3
    started = time.monotonic()
    await client.get(api("getStateInstance"))
    assert time.monotonic() - started >= 0.28


async def test_drop_next_closes_connection_without_answer(
    inst: FakeInstance, client: httpx.AsyncClient
) -> None:
    receipt_id = inst.push(text_body("x"))
    inst.faults.drop_next(1, methods=["deleteNotification"])
    await receive(client)
    with pytest.raises(httpx.RemoteProtocolError):
        await client.delete(api("deleteNotification", receipt_id))
    assert inst.pending_receipt_ids == [receipt_id]  # not processed
    assert inst.requests[-1].status == 0

    inst.faults.drop_next(1, methods=["deleteNotification"], after_effect=True)
    with pytest.raises(httpx.RemoteProtocolError):
        await client.delete(api("deleteNotification", receipt_id))
    assert inst.deleted == [receipt_id]  # processed, answer lost
    retry = await client.delete(api("deleteNotification", receipt_id))
    assert retry.json()["result"] is False


async def test_malformed_next_both_kinds(inst: FakeInstance, client: httpx.AsyncClient) -> None:
    receipt_id = inst.push(text_body("x"))
    inst.faults.malformed_next(1, kind="truncated")
    inst.faults.malformed_next(1, kind="no_type_webhook")
    truncated = await client.get(api("receiveNotification"))
    with pytest.raises(json.JSONDecodeError):
        json.loads(truncated.text)
    untyped = (await client.get(api("receiveNotification"))).json()
    assert untyped["receiptId"] == receipt_id
    assert "typeWebhook" not in untyped["body"]
    assert untyped["body"]["idMessage"] == inst.notifications[receipt_id].body["idMessage"]  # type: ignore[index]
    intact = await receive(client)
    assert intact["body"]["typeWebhook"] == "incomingMessageReceived"


async def test_malformed_next_waits_for_an_item(
    inst: FakeInstance, client: httpx.AsyncClient
) -> None:
    inst.faults.malformed_next(1)
    assert (await client.get(api("receiveNotification"))).text == "null"
    inst.push(text_body("x"))
    broken = await client.get(api("receiveNotification"))
    with pytest.raises(json.JSONDecodeError):
        json.loads(broken.text)


async def test_push_raw_items(inst: FakeInstance, client: httpx.AsyncClient) -> None:
    wrapped = inst.push_raw('"just a string"')
    inst.push_raw("<html>502</html>", wrap=False)
    first = await receive(client)
    assert first == {"receiptId": wrapped, "body": "just a string"}
    await client.delete(api("deleteNotification", wrapped))
    verbatim = await client.get(api("receiveNotification"))
    assert verbatim.text == "<html>502</html>"
    assert inst.pending_bodies == []  # raw items have no dict body


async def test_redeliver_next_queues_a_duplicate(
    inst: FakeInstance, client: httpx.AsyncClient
) -> None:
    inst.faults.redeliver_next(1)
    original = inst.push(text_body("dup me", "DUP1"))
    await client.delete(api("deleteNotification", original))
    duplicate = await receive(client)
    assert duplicate["receiptId"] > original
    assert duplicate["body"]["idMessage"] == "DUP1"
    assert inst.notifications[duplicate["receiptId"]].duplicate_of == original
    await client.delete(api("deleteNotification", duplicate["receiptId"]))
    assert inst.pending_count == 0  # used up


async def test_send_timeout_next_records_the_message(
    inst: FakeInstance, client: httpx.AsyncClient
) -> None:
    inst.faults.send_timeout_next(1)
    inst.faults.send_timeout_next(1, stall_s=2)
    gateway = await client.post(api("sendMessage"), json={"chatId": GUEST, "message": "one"})
    assert gateway.status_code == 504
    with pytest.raises(httpx.ReadTimeout):
        await client.post(api("sendMessage"), json={"chatId": GUEST, "message": "two"}, timeout=0.3)
    assert [s.message for s in inst.sent] == ["one", "two"]
    echoes = [
        b["idMessage"]
        for b in inst.pending_bodies
        if b["typeWebhook"] == "outgoingAPIMessageReceived"
    ]
    assert echoes == [s.id_message for s in inst.sent]


async def test_global_faults_apply_to_every_instance(
    fake: FakeGreenApi, client: httpx.AsyncClient
) -> None:
    other = fake.add_instance("1101000002", "t2")
    fake.faults.fail_next(2)
    a = await client.get(api("getStateInstance"))
    b = await client.get(api("getStateInstance", instance=other.instance_id, token="t2"))
    c = await client.get(api("getStateInstance"))
    assert [a.status_code, b.status_code, c.status_code] == [500, 500, 200]


async def _statuses_with_rates(seed: int) -> list[int]:
    async with FakeGreenApi(seed=seed) as server:
        instance = server.add_instance(ID, TOKEN)
        instance.faults.error_rate_500 = 0.3
        instance.faults.error_rate_429 = 0.3
        async with httpx.AsyncClient(base_url=server.url, verify=False) as http:
            return [(await http.get(api("getStateInstance"))).status_code for _ in range(40)]


async def test_probabilistic_faults_are_seeded() -> None:
    run1, run2, other_seed = (
        await _statuses_with_rates(7),
        await _statuses_with_rates(7),
        await _statuses_with_rates(8),
    )
    assert run1 == run2
    assert run1 != other_seed
    assert {500, 429, 200} <= set(run1)


async def test_drop_rate(inst: FakeInstance, client: httpx.AsyncClient) -> None:
    inst.faults.drop_rate = 1.0
    with pytest.raises(httpx.RemoteProtocolError):
        await client.get(api("getStateInstance"))
    inst.faults.clear()
    assert (await client.get(api("getStateInstance"))).status_code == 200


# --- request log and overlap -----------------------------------------------------------


async def test_overlapping_pollers_are_counted_per_client(
    fake: FakeGreenApi, inst: FakeInstance, client: httpx.AsyncClient
) -> None:
    # one client polling sequentially never overlaps itself
    await receive(client, **{CLIENT_HEADER: "a"})
    await receive(client, **{CLIENT_HEADER: "a"})
    assert fake.overlapping_pollers(ID) == 0

    await asyncio.gather(
        receive(client, **{CLIENT_HEADER: "a"}), receive(client, **{CLIENT_HEADER: "b"})
    )
    assert fake.overlapping_pollers(ID) == 1
    clients = {interval.client_id for interval in inst.poll_intervals}
    assert clients == {"a", "b"}
    assert {r.client_id for r in inst.requests} == {"a", "b"}


async def test_client_hang_up_ends_its_long_poll(inst: FakeInstance, fake: FakeGreenApi) -> None:
    fake.long_poll_scale = 1.0
    async with httpx.AsyncClient(base_url=fake.url, verify=False) as http:
        with pytest.raises(httpx.ReadTimeout):
            await http.get(
                api("receiveNotification"),
                params={"receiveTimeout": 30},
                headers={CLIENT_HEADER: "gone"},
                timeout=0.2,
            )
    for _ in range(100):
        if inst.poll_intervals:
            break
        await asyncio.sleep(0.02)
    [interval] = inst.poll_intervals
    assert interval.finished_mono - interval.started_mono < 5
    assert inst.requests[-1].status == 499


# --- control API -----------------------------------------------------------------------


async def test_control_api_round_trip(fake: FakeGreenApi, client: httpx.AsyncClient) -> None:
    assert (await client.get("/_fake/health")).json() == {"ok": True}
    created = await client.post(
        "/_fake/instances",
        json={"id_instance": "1101000042", "token": "t42", "wid": "79990000042@c.us"},
    )
    assert created.status_code == 201
    assert created.json()["wid"] == "79990000042@c.us"
    duplicate = await client.post(
        "/_fake/instances", json={"id_instance": "1101000042", "token": "x"}
    )
    assert duplicate.status_code == 409
    assert (await client.get("/_fake/instances/1101999999")).status_code == 404

    base = "/_fake/instances/1101000042"
    one = shapes.incoming_text("1101000042", GUEST, "hi", id_message="C1")
    many = [shapes.incoming_text("1101000042", GUEST, f"m{i}") for i in range(2)]
    pushed_one = (await client.post(base + "/notifications", json=one)).json()
    pushed_many = (await client.post(base + "/notifications", json=many)).json()
    pushed_raw = (await client.post(base + "/notifications/raw", content=b"{broken")).json()
    assert pushed_one == {"receipt_ids": [1]}
    assert pushed_many == {"receipt_ids": [2, 3]}
    assert pushed_raw == {"receipt_ids": [4]}

    path = api("receiveNotification", instance="1101000042", token="t42")
    got = (await client.get(path, headers={CLIENT_HEADER: "ctl"})).json()
    assert got["body"]["idMessage"] == "C1"
    await client.delete(api("deleteNotification", 1, instance="1101000042", token="t42"))

    faults = await client.post(
        base + "/faults",
        json={
            "fail_next": {"n": 1, "status": 503},
            "rate_limit_next": {"n": 1, "retry_after_s": 2},
            "latency_s": 0.01,
        },
    )
    assert faults.json()["fail_next"][0]["status"] == 503
    state_path = api("getStateInstance", instance="1101000042", token="t42")
    assert (await client.get(state_path)).status_code == 503
    assert (await client.get(state_path)).status_code == 429
    cleared = (await client.post(base + "/faults", json={"clear": True})).json()
    assert cleared["fail_next"] == [] and cleared["latency_s"] == 0.0

    await client.post(base + "/state", json={"state": "notAuthorized"})
    assert (await client.get(state_path)).json() == {"stateInstance": "notAuthorized"}
    await client.post(base + "/state", json={"state": "authorized"})
    send_path = api("sendMessage", instance="1101000042", token="t42")
    sent_id = (await client.post(send_path, json={"chatId": GUEST, "message": "yo"})).json()[
        "idMessage"
    ]
    status = await client.post(
        base + "/message-status", json={"id_message": sent_id, "status": "delivered"}
    )
    assert status.status_code == 200

    summary = (await client.get(base)).json()
    assert summary["deleted"] == [1]
    assert summary["pending_receipt_ids"][:3] == [2, 3, 4]
    assert summary["sent_count"] == 1
    assert summary["request_counts"]["getStateInstance"] == 3
    sent = (await client.get(base + "/sent")).json()
    assert sent[0]["id_message"] == sent_id and sent[0]["status"] == "delivered"
    timeline = (await client.get(base + "/notifications")).json()
    assert timeline[0]["deleted"] is not None and timeline[3]["raw"] is True
    requests = (await client.get(base + "/requests", params={"since": 0})).json()
    assert requests[0]["method"] == "receiveNotification" and requests[0]["client_id"] == "ctl"
    polls = (await client.get(base + "/polls")).json()
    assert polls["overlapping_pollers"] == 0 and len(polls["intervals"]) == 1

    global_faults = await client.post("/_fake/faults", json={"error_rate_429": 0.5})
    assert global_faults.json()["error_rate_429"] == 0.5
    assert fake.faults.error_rate_429 == 0.5
    bad = await client.post("/_fake/faults", json={"malformed_next": {"n": 1, "kind": "weird"}})
    assert bad.status_code == 400
    latency = (await client.get("/_fake/latency")).json()
    assert latency["count"] == 1 and latency["max_s"] >= 0
    stats = (await client.get("/_fake/stats")).json()
    assert stats["instances"] == 2 and stats["sent"] == 1
    listed = (await client.get("/_fake/instances")).json()["instances"]
    assert {item["id_instance"] for item in listed} == {ID, "1101000042"}


def test_standalone_server_runs_until_interrupted() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "hotelbot.fakes.greenapi", "--instance", f"{ID}:{TOKEN}"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        response = httpx.get(url + api("getStateInstance"), timeout=5)
        assert response.json() == {"stateInstance": "authorized"}
    finally:
        process.terminate()
        process.wait(timeout=5)


# --- shapes ----------------------------------------------------------------------------

_BUILDERS: list[tuple[str, Callable[[], dict[str, Any]]]] = [
    ("textMessage", lambda: shapes.incoming_text(ID, GUEST, "hi")),
    ("extendedTextMessage", lambda: shapes.incoming_extended_text(ID, GUEST, "see https://x")),
    ("extendedTextMessage", lambda: shapes.incoming_reply(ID, GUEST, "yes", quoted_id="Q")),
    ("quotedMessage", lambda: shapes.incoming_quoted_legacy(ID, GUEST, "yes", quoted_id="Q")),
    ("imageMessage", lambda: shapes.incoming_image(ID, GUEST, caption="room")),
    ("videoMessage", lambda: shapes.incoming_video(ID, GUEST)),
    ("documentMessage", lambda: shapes.incoming_document(ID, GUEST)),
    ("audioMessage", lambda: shapes.incoming_audio(ID, GUEST)),
    ("stickerMessage", lambda: shapes.incoming_sticker(ID, GUEST)),
    ("locationMessage", lambda: shapes.incoming_location(ID, GUEST)),
    ("contactMessage", lambda: shapes.incoming_contact(ID, GUEST)),
    ("contactsArrayMessage", lambda: shapes.incoming_contacts_array(ID, GUEST)),
    ("reactionMessage", lambda: shapes.incoming_reaction(ID, GUEST, "👍", stanza_id="S")),
    ("editedMessage", lambda: shapes.incoming_edited(ID, GUEST, "new", stanza_id="S")),
    ("deletedMessage", lambda: shapes.incoming_deleted(ID, GUEST, stanza_id="S")),
    ("pollMessage", lambda: shapes.incoming_poll(ID, GUEST, "Breakfast?", ["7", "8"])),
    (
        "pollUpdateMessage",
        lambda: shapes.incoming_poll_update(
            ID, GUEST, stanza_id="S", name="Breakfast?", votes={"7": [GUEST], "8": []}
        ),
    ),
    ("buttonsResponseMessage", lambda: shapes.incoming_buttons_response(ID, GUEST, stanza_id="S")),
    (
        "templateButtonReplyMessage",
        lambda: shapes.incoming_template_button_reply(ID, GUEST, stanza_id="S"),
    ),
    ("listResponseMessage", lambda: shapes.incoming_list_response(ID, GUEST, stanza_id="S")),
    (
        "interactiveButtonsResponse",
        lambda: shapes.incoming_interactive_buttons_response(ID, GUEST, stanza_id="S"),
    ),
    ("hologramMessage", lambda: shapes.incoming_unknown_type(ID, GUEST)),
    ("textMessage", lambda: shapes.incoming_swe_placeholder(ID, GUEST)),
    ("textMessage", lambda: shapes.outgoing_message(ID, GUEST, "from phone")),
    ("textMessage", lambda: shapes.outgoing_api_message(ID, GUEST, "from api")),
]


@pytest.mark.parametrize(("type_message", "build"), _BUILDERS)
def test_message_builders_have_the_real_envelope(
    type_message: str, build: Callable[[], dict[str, Any]]
) -> None:
    body = json.loads(json.dumps(build()))  # JSON-ready
    assert body["typeWebhook"] in {
        "incomingMessageReceived",
        "outgoingMessageReceived",
        "outgoingAPIMessageReceived",
    }
    assert body["instanceData"] == {
        "idInstance": int(ID),
        "wid": shapes.DEFAULT_WID,
        "typeInstance": "whatsapp",
    }
    assert isinstance(body["timestamp"], int) and isinstance(body["idMessage"], str)
    assert body["senderData"]["chatId"] == GUEST
    assert body["messageData"]["typeMessage"] == type_message


def test_message_builder_details() -> None:
    reply = shapes.incoming_reply(ID, GUEST, "yes", quoted_id="Q", quoted_text="Late checkout?")
    assert reply["messageData"]["extendedTextMessageData"]["text"] == "yes"
    assert reply["messageData"]["quotedMessage"] == {
        "stanzaId": "Q",
        "participant": shapes.DEFAULT_WID,
        "typeMessage": "textMessage",
        "textMessage": "Late checkout?",
    }
    legacy = shapes.incoming_quoted_legacy(ID, GUEST, "yes", quoted_id="Q")
    assert legacy["messageData"]["extendedTextMessageData"]["stanzaId"] == "Q"
    contacts = shapes.incoming_contacts_array(ID, GUEST, [("A", "1"), ("B", "2")])
    assert [c["displayName"] for c in contacts["messageData"]["messageData"]["contacts"]] == [
        "A",
        "B",
    ]
    assert (
        shapes.incoming_image(ID, GUEST, caption="c")["messageData"]["fileMessageData"]["caption"]
        == "c"
    )
    swe = shapes.incoming_swe_placeholder(ID, GUEST, id_message="X")
    assert swe["messageData"]["textMessageData"]["textMessage"] == "{{SWE001}}"
    group = shapes.incoming_group_text(ID, shapes.EXAMPLE_GROUP_CHAT, GUEST, "hi", group_name="G")
    assert group["senderData"]["chatId"] == shapes.EXAMPLE_GROUP_CHAT
    assert (group["senderData"]["sender"], group["senderData"]["chatName"]) == (GUEST, "G")
    lid = shapes.incoming_text(ID, shapes.EXAMPLE_LID_CHAT, "hi")
    assert lid["senderData"]["sender"] == shapes.EXAMPLE_LID_CHAT
    outgoing = shapes.outgoing_message(ID, GUEST, "ok", wid="71110000000@c.us")
    assert outgoing["senderData"]["sender"] == "71110000000@c.us"
    assert outgoing["senderData"]["chatId"] == GUEST
    fixed = shapes.incoming_text(ID, GUEST, "hi", id_message="I", timestamp=1700000000)
    assert (fixed["idMessage"], fixed["timestamp"]) == ("I", 1700000000)


@pytest.mark.parametrize("status", shapes.OUTGOING_STATUSES)
def test_outgoing_status_shape(status: str) -> None:
    body = shapes.outgoing_status(ID, GUEST, "M1", status, timestamp=1)
    assert body == {
        "typeWebhook": "outgoingMessageStatus",
        "chatId": GUEST,
        "instanceData": shapes.instance_data(ID),
        "timestamp": 1,
        "idMessage": "M1",
        "status": status,
        "sendByApi": True,
    }
    failed = shapes.outgoing_status(ID, GUEST, "M1", "failed", description="SWE004: 300")
    assert failed["description"] == "SWE004: 300"


def test_instance_level_builders() -> None:
    state = shapes.state_instance_changed(ID, "notAuthorized", timestamp=5)
    assert state == {
        "typeWebhook": "stateInstanceChanged",
        "instanceData": {"idInstance": int(ID), "wid": "", "typeInstance": "whatsapp"},
        "timestamp": 5,
        "stateInstance": "notAuthorized",
    }
    assert shapes.status_instance_changed(ID, "offline")["statusInstance"] == "offline"
    offer = shapes.incoming_call(ID, GUEST, "offer", id_message="CALL")
    picked = shapes.incoming_call(ID, GUEST, "pickUp", id_message="CALL")
    assert (offer["from"], offer["status"], picked["status"]) == (GUEST, "offer", "pickUp")
    quota = shapes.quota_exceeded(ID)
    assert (
        quota["quotaData"]["status"] == "CORRESPONDENTS_QUOTA_EXCEEDED" and "timestamp" not in quota
    )
    assert shapes.device_info(ID)["deviceData"]["battery"] == 90
    assert shapes.incoming_block(ID)["chatState"] == "blocked"
    unknown = shapes.unknown_webhook(ID)
    assert unknown["typeWebhook"] == "hologramReceived" and "instanceData" in unknown

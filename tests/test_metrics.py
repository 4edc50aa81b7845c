"""Prometheus metrics from a real daemon process, scraped over real HTTP."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from hotelbot.domain.events import InstanceState
from hotelbot.fakes.greenapi import FakeGreenApi, FakeInstance
from hotelbot.observability import metrics
from hotelbot.settings import MetricsSettings, Settings
from tests import shapes
from tests.helpers import wait_for
from tests.test_monitoring_config import check_against_scrape

PY = sys.executable
INSTANCE = "1101000001"
SLUG = f"h{INSTANCE}"
GUEST = "37120000001@c.us"
STAFF = "37120000000@c.us"
TOKEN = "tok-7f3a9c"

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def parse(text: str) -> Samples:
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


async def scrape(port: int) -> str:
    async with httpx.AsyncClient() as client:
        response = await client.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
    response.raise_for_status()
    return response.text


def daemon_env(db_url: str, tmp_path: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTELBOT_")}
    env.update(
        HOME=str(tmp_path),
        HOTELBOT_DATABASE_URL=db_url,
        HOTELBOT_GREENAPI__RECEIVE_TIMEOUT_S="5",
        HOTELBOT_LOG_FORMAT="text",
        HOTELBOT_METRICS__LISTEN=f"127.0.0.1:{port}",
        HOTELBOT_METRICS__SNAPSHOT_INTERVAL_S="1",
    )
    return env


async def cli(env: dict[str, str], *args: str) -> str:
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


def hotels_toml(path: Path, fake_url: str) -> Path:
    path.write_text(
        f'[[hotels]]\nslug = "{SLUG}"\nname = "Hotel"\ninstance_id = "{INSTANCE}"\n'
        f'api_token = "{TOKEN}"\napi_url = "{fake_url}"\ntimezone = "Europe/Riga"\n'
        f'staff_chat_id = "{STAFF}"\n'
    )
    return path


async def staff_alert_sent(inst: FakeInstance) -> bool:
    return any(m.chat_id == STAFF for m in inst.sent)


async def test_scrape_after_a_complaint_a_dead_letter_and_a_state_change(
    db_url: str, tmp_path: Path
) -> None:
    port = free_port()
    env = daemon_env(db_url, tmp_path, port)
    async with FakeGreenApi() as fake:
        inst = fake.add_instance(INSTANCE, TOKEN)
        inst.emit_state_webhooks = True  # a logout queues stateInstanceChanged, as upstream
        await cli(env, "db", "upgrade")
        await cli(env, "hotel", "import", str(hotels_toml(tmp_path / "h.toml", fake.url)))
        proc = await asyncio.create_subprocess_exec(
            PY,
            "-m",
            "hotelbot",
            "run",
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            inst.push(
                shapes.incoming_text(
                    INSTANCE, GUEST, "There is no hot water in my room and the shower is broken!"
                )
            )
            await wait_for(lambda: staff_alert_sent(inst), 30)
            # Staff answer the guest from the hotel phone: that acknowledges the alert.
            inst.push(shapes.outgoing_message(INSTANCE, GUEST, "A technician is on the way"))
            inst.push_raw("{not json at all")
            inst.set_state("notAuthorized")
            await inst.wait_drained(30)

            async def state_seen() -> bool:
                try:
                    samples = parse(await scrape(port))
                except httpx.HTTPError:
                    return False
                labels = {"hotel": SLUG, "state": "notAuthorized"}
                return value(samples, "hotelbot_instance_state", **labels) == 1.0

            await wait_for(state_seen, 30)
            text = await scrape(port)
        finally:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
            out, _ = await asyncio.wait_for(proc.communicate(), 30)
            print(out.decode()[-4000:])  # the daemon's log, shown when the test fails
        assert proc.returncode == 0, out.decode()
    s = parse(text)
    hotel = {"hotel": SLUG}
    incoming = {"type": "incomingMessageReceived", **hotel}
    assert value(s, "hotelbot_notifications_received_total", **incoming) == 1.0
    assert value(s, "hotelbot_notifications_stored_total", **incoming) == 1.0
    state_changed = {"type": "stateInstanceChanged", **hotel}
    assert value(s, "hotelbot_notifications_stored_total", **state_changed) == 1.0
    malformed = {"type": "malformed", **hotel}
    assert value(s, "hotelbot_notifications_dead_lettered_total", **malformed) == 1.0
    assert value(s, "hotelbot_instance_state", state="authorized", **hotel) is None
    states = [k for k in s if k[0] == "hotelbot_instance_state"]
    assert len(states) == 1  # one series per hotel: its current state
    negative = {"analyser": "rules", "sentiment": "negative", **hotel}
    assert value(s, "hotelbot_sentiment_verdicts_total", **negative) == 1.0
    assert value(s, "hotelbot_attention_verdicts_total", analyser="rules", **hotel) == 1.0
    sent = {"kind": "alert", "lane": "alert", "outcome": "sent"}
    assert value(s, "hotelbot_outbox_sends_total", **sent) == 1.0
    assert value(s, "hotelbot_staff_alert_latency_seconds_count") == 1.0
    assert value(s, "hotelbot_alerts_acknowledged_total", route="staff_reply") == 1.0
    latency = value(s, "hotelbot_staff_alert_latency_seconds_sum")
    assert latency is not None and 0.0 <= latency < 30.0
    ok_sends = {"method": "sendMessage", "outcome": "ok"}
    assert value(s, "hotelbot_greenapi_requests_total", **ok_sends) == 1.0
    deletes = value(
        s, "hotelbot_greenapi_requests_total", method="deleteNotification", outcome="ok"
    )
    assert deletes is not None and deletes >= 3.0  # the message, the dead letter, the state
    assert value(s, "hotelbot_ingest_commit_duration_seconds_count") == deletes
    assert value(s, "hotelbot_outbox_depth", lane="alert", **hotel) == 0.0
    assert value(s, "hotelbot_lease_held", **hotel) == 1.0
    last_ok = value(s, "hotelbot_poll_last_success_timestamp_seconds", **hotel)
    assert last_ok is not None and last_ok > 1.7e9
    build = [k for k in s if k[0] == "hotelbot_build_info"]
    assert build and ("version", "0.1.0") in build[0][1]
    assert TOKEN not in text and GUEST not in text and "hot water" not in text
    # promtool check metrics (where installed) and every metric the shipped rules and
    # dashboard name is in this scrape.
    check_against_scrape(text)


def test_listen_is_checked_and_can_be_off() -> None:
    assert Settings().metrics.listen == "127.0.0.1:9464"
    assert MetricsSettings(listen="").listen == ""
    assert MetricsSettings(listen="[::1]:9100").listen == "[::1]:9100"
    for bad in ("9464", "localhost:", "127.0.0.1:99999", ":9464"):
        try:
            MetricsSettings(listen=bad)
        except ValueError as exc:
            assert "host:port" in str(exc)
        else:
            raise AssertionError(f"{bad!r} accepted")


def test_every_instance_state_has_its_own_series() -> None:
    assert {*InstanceState} <= set(metrics.INSTANCE_STATES)
    assert metrics.instance_state_label(InstanceState.NOT_AUTHORIZED) == "notAuthorized"
    assert metrics.instance_state_label("someNewState") == "other"

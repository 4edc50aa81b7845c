"""`hotelbot run` as systemd runs it (subprocess, NOTIFY_SOCKET): SIGHUP reload and logs that
never carry a token, an API key or guest text at INFO."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from hotelbot.fakes.greenapi import FakeGreenApi
from hotelbot.fakes.openai_server import FakeOpenAI
from tests import shapes

TOKEN_A = "tokA-7f3e9c1d5b2a4e6f8091a2b3"
TOKEN_B = "tokB-0c9d8e7f6a5b4c3d2e1f0a9b"
LLM_KEY = "sk-operations-test-4d5e6f7a8b9c0d1e"
GUEST_TEXTS = [
    "Zyxwvut the shower drain smells terrible",
    "Qwertyq please bring two extra pillows",
    "Plmokn thank you for the lovely breakfast",
]


@pytest.fixture
def notify_socket() -> Iterator[tuple[socket.socket, str]]:
    name = f"hb-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.setblocking(False)
        yield sock, "@" + name


def _hotel(instance: str, token: str, url: str) -> str:
    return "\n".join(
        [
            "[[hotels]]",
            f'slug = "h{instance[-1]}"',
            f'name = "Hotel {instance}"',
            f'instance_id = "{instance}"',
            f'api_token = "{token}"',
            f'api_url = "{url}"',
            'timezone = "Europe/Riga"',
            "",
        ]
    )


def _env(db_url: str, tmp_path: Path, config: Path, notify: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTELBOT_")}
    env.update(
        HOME=str(tmp_path),
        HOTELBOT_DATABASE_URL=db_url,
        HOTELBOT_CONFIG=str(config),
        HOTELBOT_METRICS__LISTEN="127.0.0.1:0",
        NOTIFY_SOCKET=notify,
        DEEPSEEK_API_KEY=LLM_KEY,
        PYTHONUNBUFFERED="1",
    )
    return env


def _settings(tmp_path: Path, *, log_format: str, llm_url: str) -> Path:
    path = tmp_path / "hotelbot.toml"
    path.write_text(
        "[greenapi]\nreceive_timeout_s = 5\nbackoff_min_s = 0.05\n"
        "[daemon]\nhotels_refresh_s = 3600\nstatus_interval_s = 1\n"  # only SIGHUP re-reads
        f'[logging]\nlevel = "INFO"\nformat = "{log_format}"\n'
        f'[llm]\nenabled = true\nbase_url = "{llm_url}"\n'
    )
    return path


async def _cli(env: dict[str, str], *args: str) -> str:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
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


async def _wait_datagram(
    sock: socket.socket, key: str, seen: list[str], timeout_s: float = 20
) -> None:
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(timeout_s):
        while True:
            data = (await loop.sock_recv(sock, 4096)).decode()
            seen.append(data)
            if data.startswith(key):
                return


async def test_sighup_reloads_hotels_and_logging_and_logs_hold_no_secrets(
    sqlite_url: str, tmp_path: Path, notify_socket: tuple[socket.socket, str]
) -> None:
    sock, notify = notify_socket
    seen: list[str] = []
    async with FakeGreenApi() as fake, FakeOpenAI(api_key=LLM_KEY) as llm:
        config = _settings(tmp_path, log_format="text", llm_url=llm.base_url)
        env = _env(sqlite_url, tmp_path, config, notify)
        inst_a = fake.add_instance("1101000001", TOKEN_A)
        inst_b = fake.add_instance("1101000002", TOKEN_B)
        inst_a.push_many(
            [shapes.incoming_text("1101000001", "37120000001@c.us", t) for t in GUEST_TEXTS]
        )
        inst_b.push_many(
            [shapes.incoming_text("1101000002", "37120000002@c.us", t) for t in GUEST_TEXTS]
        )
        await _cli(env, "db", "upgrade")
        hotels = tmp_path / "hotels.toml"
        hotels.write_text(_hotel("1101000001", TOKEN_A, fake.url))
        await _cli(env, "hotel", "import", str(hotels))
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "hotelbot",
            "run",
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            await _wait_datagram(sock, "READY=1", seen)
            await inst_a.wait_drained(20)
            # Add a hotel and switch the log format; the hourly refresh would not see it yet.
            hotels.write_text(_hotel("1101000002", TOKEN_B, fake.url))
            await _cli(env, "hotel", "import", str(hotels))
            _settings(tmp_path, log_format="json", llm_url=llm.base_url)
            proc.send_signal(signal.SIGHUP)
            await _wait_datagram(sock, "RELOADING=1", seen)
            await _wait_datagram(sock, "READY=1", seen)
            await inst_b.wait_drained(20)
            proc.send_signal(signal.SIGTERM)
            _, err = await asyncio.wait_for(proc.communicate(), 30)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    log = err.decode()
    assert proc.returncode == 0, log
    before, _, after = log.partition("reload: applied")
    assert "SIGHUP received" in before
    assert '"message": "polling instance 1101000002' in after  # JSON now, and the new hotel
    assert "logging.format" in after
    for secret in (TOKEN_A, TOKEN_B, LLM_KEY, *GUEST_TEXTS):
        assert secret not in log
        for word in secret.split()[:1]:
            assert word not in log  # not even a fragment of the guest text
    assert any(d.startswith("STOPPING=1") for d in _drain(sock, seen))


def _drain(sock: socket.socket, seen: list[str]) -> list[str]:
    """The datagrams already seen plus any still queued on the socket."""
    while True:
        try:
            seen.append(sock.recv(4096).decode())
        except BlockingIOError:
            return seen

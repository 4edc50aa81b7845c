"""Micro-benchmark: CPU per Green API call for each Transport, against the fake in its own
process.

`python -m tests.bench.transport_bench [--calls N] [--concurrency C]` runs, per transport,
C concurrent workers that each repeat getStateInstance (a small JSON answer, no queue
semantics) until N calls are done, and prints CPU ms per call of this process (the fake's
CPU is not counted) and calls/s. Same client code path as the daemon (GreenApiClient).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import ssl
import sys
import time

from hotelbot.greenapi.client import GreenApiClient, InstanceCredentials
from hotelbot.greenapi.transport import AiohttpTransport, HttpxTransport, Transport
from tests.bench.fake_proc import instance_id, token
from tests.bench.procs import FakeProcess, cpu_s


def _transport(kind: str, context: ssl.SSLContext) -> Transport:
    cls = AiohttpTransport if kind == "aiohttp" else HttpxTransport
    return cls(connect_timeout_s=5.0, max_connections=3, ssl_context=context)


async def _measure(kind: str, url: str, calls: int, concurrency: int) -> dict[str, float]:
    context = ssl.create_default_context()
    clients = []
    for index in range(concurrency):
        transport = _transport(kind, context)
        creds = InstanceCredentials(url, instance_id(index), token(index))
        clients.append((GreenApiClient(creds, transport), transport))
    per_worker = max(1, calls // concurrency)

    async def worker(client: GreenApiClient) -> None:
        for _ in range(per_worker):
            await client.get_state_instance()

    await asyncio.gather(*(worker(c) for c, _ in clients[:concurrency]))  # warm connections
    cpu_before, wall_before = cpu_s_self(), time.monotonic()
    await asyncio.gather(*(worker(c) for c, _ in clients))
    cpu_used, wall = cpu_s_self() - cpu_before, time.monotonic() - wall_before
    for _, transport in clients:
        await transport.aclose()
    done = per_worker * concurrency
    return {"cpu_ms_per_call": 1000 * cpu_used / done, "calls_per_s": done / wall}


def cpu_s_self() -> float:
    return time.process_time()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.transport_bench")
    parser.add_argument("--calls", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    fake = FakeProcess(args.concurrency)
    try:
        results = {}
        for kind in ("httpx", "aiohttp"):
            fake_before = cpu_s(fake.pid)
            results[kind] = asyncio.run(_measure(kind, fake.url, args.calls, args.concurrency))
            results[kind]["fake_cpu_s"] = cpu_s(fake.pid) - fake_before
    finally:
        fake.close()
    if args.json:
        sys.stdout.write(json.dumps(results) + "\n")
        return
    sys.stdout.write(
        f"transport CPU per Green API call ({args.concurrency} clients, {args.calls} calls)\n"
    )
    for kind, figures in results.items():
        sys.stdout.write(
            f"  {kind:8} {figures['cpu_ms_per_call']:.3f} ms CPU/call"
            f"  {figures['calls_per_s']:,.0f} calls/s\n"
        )


if __name__ == "__main__":
    main()

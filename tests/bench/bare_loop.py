"""The reference: the least a poller can do (receive, delete; no parsing beyond the receipt
id, no storage, no logging), on one aiohttp ClientSession with one task per instance.

`python -m tests.bench.bare_loop --url URL --instances H` polls until SIGTERM/SIGINT.
hotelbot's figures are quoted as ratios to this loop measured in the same run, which cancels
out most of the noise of a shared machine. Not crash-safe and not meant to be: it is a ruler.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys

import aiohttp

from tests.bench.fake_proc import instance_id, token


async def _run(args: argparse.Namespace) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    timeout = aiohttp.ClientTimeout(total=None, sock_read=args.receive_timeout_s + 10)
    connector = aiohttp.TCPConnector(limit=0, limit_per_host=0)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        tasks = []
        for index in range(args.instances):
            # The token goes where Green API wants it; "{}" is filled per method above.
            base = f"{args.url}/waInstance{instance_id(index)}"
            tasks.append(asyncio.create_task(_poll_with_token(session, base, index, args)))
        sys.stdout.write("ready\n")
        sys.stdout.flush()
        await stop.wait()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _poll_with_token(
    session: aiohttp.ClientSession, base: str, index: int, args: argparse.Namespace
) -> None:
    receive_url = (
        f"{base}/receiveNotification/{token(index)}?receiveTimeout={args.receive_timeout_s}"
    )
    delete_prefix = f"{base}/deleteNotification/{token(index)}/"
    while True:
        try:
            async with session.get(receive_url) as response:
                if response.status != 200:
                    await asyncio.sleep(0.5)
                    continue
                data = json.loads(await response.read())
            if data is None:
                continue
            async with session.delete(delete_prefix + str(data["receiptId"])) as response:
                await response.read()
        except (aiohttp.ClientError, TimeoutError, ValueError, KeyError, TypeError):
            await asyncio.sleep(0.5)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.bare_loop")
    parser.add_argument("--url", required=True)
    parser.add_argument("--instances", type=int, required=True)
    parser.add_argument("--receive-timeout-s", type=int, default=20)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_run(parser.parse_args(argv)))


if __name__ == "__main__":
    main()

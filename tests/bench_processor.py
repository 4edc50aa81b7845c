"""Benchmark (prints figures, asserts nothing): processor throughput on SQLite with rules.

    .venv/bin/python -m tests.bench_processor [N] [CHATS]
"""

from __future__ import annotations

import asyncio
import random
import sys
import tempfile
import time
from pathlib import Path

from hotelbot.daemon.processor import Processor
from hotelbot.domain.rules import RuleAnalyser
from hotelbot.fakes import shapes
from hotelbot.sentiment.stage import SentimentStage
from hotelbot.storage.db import Database
from hotelbot.storage.ingest import IngestWriter
from hotelbot.storage.schema import upgrade
from tests.processor_helpers import INSTANCE, ingest, make_hotel

TEXTS = [
    "Hello, what time is breakfast?",
    "The shower is broken and nobody answers the phone",
    "Thank you so much, the room is lovely",
    "Can I get a late checkout tomorrow?",
    "The room is dirty, I want to speak to the manager",
    "Where can I park my car?",
]


async def main(n: int, chats: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Database.open(f"sqlite+aiosqlite:///{Path(tmp) / 'bench.sqlite3'}")
        await upgrade(db)
        hotel_id = await make_hotel(db)
        rng = random.Random(7)
        bodies = []
        for i in range(n):
            chat = f"7900{rng.randrange(chats):07d}@c.us"
            if i % 10 == 9:
                bodies.append(shapes.outgoing_status(INSTANCE, chat, f"X{i}", "delivered"))
            else:
                bodies.append(shapes.incoming_text(INSTANCE, chat, rng.choice(TEXTS), id_message=f"M{i}"))
        started = time.perf_counter()
        writer = IngestWriter(db)
        task = asyncio.create_task(writer.run())
        for start in range(0, n, 1000):  # concurrent stores share commits, as pollers do
            await asyncio.gather(*(ingest(db, hotel_id, [b], writer) for b in bodies[start:start + 1000]))
        await writer.close()
        await task
        ingest_s = time.perf_counter() - started
        processor = Processor(db, SentimentStage(RuleAnalyser(), None))
        started = time.perf_counter()
        if "--profile" in sys.argv:
            import cProfile
            import pstats

            prof = cProfile.Profile()
            prof.enable()
            done = await processor.run_once()
            prof.disable()
            pstats.Stats(prof).sort_stats("tottime").print_stats(30)
        else:
            done = await processor.run_once()
        took = time.perf_counter() - started
        print(f"ingest:    {n} notifications in {ingest_s:.2f} s = {n / ingest_s:,.0f}/s")
        print(f"processor: {done} notifications in {took:.2f} s = {done / took:,.0f}/s "
              f"({chats} chats, alerts {processor.alerts_total})")
        await db.dispose()


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    asyncio.run(main(int(args[0]) if args else 20000, int(args[1]) if len(args) > 1 else 500))

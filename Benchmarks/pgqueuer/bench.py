"""The reference side of the queue benchmark: pgqueuer with its defaults, on the same PostgreSQL.

Prints one JSON object with the same keys as `kongflow-queue-bench bench`.
"""
import asyncio
import json
import sys
import time

import asyncpg
from pgqueuer import AsyncpgDriver, QueueManager, Queries
from pgqueuer.types import QueueExecutionMode


async def main(dsn: str, jobs: int, singles: int, samples: int) -> None:
    conn = await asyncpg.connect(dsn)
    queries = Queries(AsyncpgDriver(conn))
    await queries.install()

    start = time.perf_counter()
    for _ in range(singles):
        await queries.enqueue("noop", None)
    single_rate = singles / (time.perf_counter() - start)
    await conn.execute("DELETE FROM pgqueuer")

    start = time.perf_counter()
    for offset in range(0, jobs, 1000):
        n = min(1000, jobs - offset)
        await queries.enqueue(["noop"] * n, [None] * n, [0] * n)
    batch_rate = jobs / (time.perf_counter() - start)

    worker_conn = await asyncpg.connect(dsn)
    qm = QueueManager(Queries(AsyncpgDriver(worker_conn)))

    @qm.entrypoint("noop")
    async def noop(job) -> None:
        pass

    start = time.perf_counter()
    await qm.run(mode=QueueExecutionMode.drain)
    throughput = jobs / (time.perf_counter() - start)

    latency_conn = await asyncpg.connect(dsn)
    lm = QueueManager(Queries(AsyncpgDriver(latency_conn)))
    started: dict = {}
    waiting: dict = {}

    @lm.entrypoint("latency")
    async def latency(job) -> None:
        started[job.payload] = time.perf_counter()
        event = waiting.get(job.payload)
        if event:
            event.set()

    runner = asyncio.create_task(lm.run())
    await asyncio.sleep(0.5)
    latencies = []
    for i in range(samples):
        key = str(i).encode()
        event = asyncio.Event()
        waiting[key] = event
        t0 = time.perf_counter()
        await queries.enqueue("latency", key)
        await asyncio.wait_for(event.wait(), timeout=30)
        latencies.append((started[key] - t0) * 1000)
        await asyncio.sleep(0.005)
    lm.shutdown.set()
    await runner
    latencies.sort()
    print(json.dumps({
        "single_enqueue_per_s": single_rate,
        "batch_enqueue_per_s": batch_rate,
        "throughput_jobs_per_s": throughput,
        "latency_p50_ms": latencies[len(latencies) // 2],
        "latency_p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
    }, sort_keys=True))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])))

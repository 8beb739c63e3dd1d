"""API requests a second for customers joining and chatting, with one and with two API processes on
one PostgreSQL database.

    python benchmarks/api_rps.py [--processes 1,2] [--concurrency 20] [--max-requests 800] [--max-seconds 20]

For each number of processes: a fresh database on a throwaway cluster (tests/postgres_cluster.py),
that many ``avatar-care serve`` processes on it, four operators (capacity 10) who accept 40
customers. Then two bursts, each bounded both in requests (``--max-requests``) and in time
(``--max-seconds``), whichever comes first, from ``--concurrency`` clients of this process spread
evenly over the processes, each client one request after the other:

- **joins**: anonymous customers join the queue (``POST /api/customer/join``); nobody is free, so
  they stay waiting and the queue grows through the burst;
- **chat**: the 40 connected customers post chat messages (``POST /api/customer/chat``).

Prints, for each: requests answered, seconds, requests a second, latency p50 and p95, refusals
(any answer but 201), the API processes' CPU seconds (from /proc) in all and a request, and the
load average at the end;
then the ratio of two processes' rate to one's. The load generator (this process, asyncio and
httpx) runs on the same machine and competes with the servers and PostgreSQL for its cores: the
rates are this machine's with its own client, not a server's ceiling. Asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import chat_throughput  # noqa: E402
from tests.postgres_cluster import running_cluster  # noqa: E402
from tests.support import free_port  # noqa: E402

OPERATORS = 4
CAPACITY = 10


@dataclass
class Burst:
    answered: int
    seconds: float
    latencies: list[float]
    refused: int
    cpu_s: float
    load: float

    @property
    def rate(self) -> float:
        return self.answered / self.seconds if self.seconds else 0.0


def brand_key(database_url: str, data: str) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "avatar_care.cli", "brand", "create", "Ottica Rossi"],
        env=os.environ | {"AVATAR_CARE_DATA_DIR": data, "AVATAR_CARE_DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return next(word for word in out.split() if word.startswith("acb_"))


@contextmanager
def api_process(database_url: str, data: str) -> Iterator[tuple[str, int]]:
    """``avatar-care serve`` on a free port; its URL and process id."""
    port = free_port()
    env = os.environ | {
        "AVATAR_CARE_DATA_DIR": data,
        "AVATAR_CARE_DATABASE_URL": database_url,
        # a slow set-up on a busy machine must not miss offers (a missed offer sets the operator away)
        "AVATAR_CARE_ACCEPT_TIMEOUT_S": "3600",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "avatar_care.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 240
        while True:
            try:
                httpx.get(f"{base}/api/health", timeout=2)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("the server did not come up") from None
                time.sleep(0.2)
        yield base, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def setup(base: str, key: str, customers: int) -> tuple[str, list[str]]:
    """Operators at work and ``customers`` connected consultations: the template and the customers'
    tokens (chat_throughput.py's set-up, with this benchmark's operators)."""
    template, _operators, tokens = chat_throughput.setup(base, key, customers, operator_count=OPERATORS)
    return template, tokens


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def burst(
    bases: list[str],
    pids: list[int],
    concurrency: int,
    max_requests: int,
    max_seconds: float,
    request: Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]],
) -> Burst:
    """``concurrency`` clients, client i on process i mod N, each sending ``request(client, i)``
    one after the other until ``max_requests`` were sent in all or ``max_seconds`` passed."""
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    clients = [
        httpx.AsyncClient(base_url=bases[i % len(bases)], limits=limits, timeout=60)
        for i in range(concurrency)
    ]
    latencies: list[float] = []
    refused = 0
    sent = 0

    async def client(i: int, http: httpx.AsyncClient, stop_at: float) -> None:
        nonlocal refused, sent
        while sent < max_requests and time.perf_counter() < stop_at:
            sent += 1
            began = time.perf_counter()
            r = await request(http, i)
            latencies.append(time.perf_counter() - began)
            refused += r.status_code != 201

    try:
        await asyncio.gather(*(http.get("/api/health") for http in clients))  # connections open
        cpu = sum(cpu_seconds(pid) for pid in pids)
        start = time.perf_counter()
        await asyncio.gather(*(client(i, http, start + max_seconds) for i, http in enumerate(clients)))
        seconds = time.perf_counter() - start
        cpu = sum(cpu_seconds(pid) for pid in pids) - cpu
    finally:
        for http in clients:
            await http.aclose()
    return Burst(len(latencies), seconds, latencies, refused, cpu, os.getloadavg()[0])


def run(processes: int, args: argparse.Namespace, url: str) -> dict[str, Burst]:
    with ExitStack() as stack:
        data = stack.enter_context(tempfile.TemporaryDirectory())
        key = brand_key(url, data)
        started = []
        for n in range(processes):  # one after the other: the first migrates and rebuilds alone
            folder = Path(data) / f"p{n}"
            folder.mkdir()
            started.append(stack.enter_context(api_process(url, str(folder))))
        bases, pids = [b for b, _ in started], [p for _, p in started]
        template, tokens = setup(bases[0], key, OPERATORS * CAPACITY)

        def join(http: httpx.AsyncClient, i: int) -> Awaitable[httpx.Response]:
            return http.post("/api/customer/join", json={"template_id": template, "language": "it"})

        def chat(http: httpx.AsyncClient, i: int) -> Awaitable[httpx.Response]:
            auth = {"Authorization": f"Bearer {tokens[i % len(tokens)]}"}
            return http.post("/api/customer/chat", json={"text": "Vorrei provare la Aria"}, headers=auth)

        out = {}
        for kind, request in (("joins", join), ("chat", chat)):
            out[kind] = asyncio.run(
                burst(bases, pids, args.concurrency, args.max_requests, args.max_seconds, request)
            )
        return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--processes", default="1,2")
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--max-requests", type=int, default=800)
    parser.add_argument("--max-seconds", type=float, default=20.0)
    args = parser.parse_args()
    counts = [int(n) for n in args.processes.split(",")]
    results: dict[int, dict[str, Burst]] = {}
    with running_cluster() as cluster:
        for processes in counts:
            with cluster.database() as url:
                results[processes] = run(processes, args, url)
    print(
        f"\n{args.concurrency} clients; each burst at most {args.max_requests} requests or {args.max_seconds} s"
    )
    print(
        "processes | kind  | answered | seconds | req/s | p50 ms | p95 ms | refused | API CPU s "
        "| CPU ms a request | load 1m"
    )
    for processes, bursts in results.items():
        for kind, b in bursts.items():
            ms = sorted(x * 1000 for x in b.latencies)
            p95 = statistics.quantiles(ms, n=20)[-1] if len(ms) > 1 else ms[0]
            print(
                f"{processes:9} | {kind:5} | {b.answered:8} | {b.seconds:7.1f} | {b.rate:5.0f} | "
                f"{statistics.median(ms):6.1f} | {p95:6.1f} | {b.refused:7} | {b.cpu_s:9.1f} | "
                f"{1000 * b.cpu_s / max(b.answered, 1):16.1f} | {b.load:7.1f}"
            )
    if 1 in results and 2 in results:
        for kind in ("joins", "chat"):
            print(f"{kind}: two processes / one = {results[2][kind].rate / results[1][kind].rate:.2f}")


if __name__ == "__main__":
    main()

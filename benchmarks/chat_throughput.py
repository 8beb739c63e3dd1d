"""Chat under load, and sign-ins per second with and without throttling.

    python benchmarks/chat_throughput.py [--connections 1,10,100] [--messages 2000] [--no-sockets]
    python benchmarks/chat_throughput.py --logins 40

The server is the real application (``avatar-care serve`` on uvicorn, SQLite in a fresh folder, or
``--database-url``) in its own process. Ten operators (capacity 10) sign in and accept 100 anonymous
customers, so 100 consultations are connected; like the pages, each customer holds its queue
WebSocket and each operator its panel's (``--no-sockets`` leaves them out). Then, for each number of
connections C, C customers send their share of ``--messages`` chat messages at once, each over its
own HTTP connection (opened before the clock starts), one message after the other (a person does
not send the next before the first is through). A message's latency is from its send to its answer. Prints a table: messages,
connections, seconds, messages a second, latency p50 and p99, and the server process's CPU time a
message (from /proc: unlike the seconds, it does not grow when other programs share the machine),
how many snapshots and how many chat messages sent alone the pages' sockets received during the
burst, and the machine's load average (1 minute) at its end. Asserts nothing.
``--before DIR`` runs another checkout's server (e.g. ``git archive`` of an earlier commit) under the
same load just before this one, for each number of connections. Figures measured: docs/security.md
("Chat under load").

``--logins N``: N sign-ins at once with the right password, against a server that throttles at its
defaults (30 a minute per address: most are refused with 429 at once) and one that does not
(a limit too high to reach): sign-ins a second and how many got in.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np
import websockets

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support import free_port  # noqa: E402

PASSWORD = "correct horse battery"
OPERATORS = 10
CAPACITY = 10


@contextmanager
def server(
    database_url: str, env: dict[str, str] | None = None, checkout: Path = ROOT
) -> Iterator[tuple[str, str, int]]:
    """``avatar-care serve`` of ``checkout``'s code on a free port with a brand made beforehand; its
    URL, the brand's key and the server's process id."""
    with tempfile.TemporaryDirectory() as data:
        key = subprocess.run(
            [sys.executable, "-m", "avatar_care.cli", "brand", "create", "Ottica Rossi"],
            env=os.environ | {"AVATAR_CARE_DATA_DIR": data, "AVATAR_CARE_DATABASE_URL": database_url},
            capture_output=True,
            text=True,
            check=True,
            cwd=checkout,
        ).stdout
        api_key = next(word for word in key.split() if word.startswith("acb_"))
        port = free_port()
        proc = subprocess.Popen(
            [sys.executable, "-m", "avatar_care.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
            # a slow set-up on a busy machine must not miss offers (a missed offer sets the operator away)
            env=os.environ
            | {"AVATAR_CARE_DATA_DIR": data, "AVATAR_CARE_DATABASE_URL": database_url}
            | {"AVATAR_CARE_ACCEPT_TIMEOUT_S": "3600"}
            | (env or {}),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=checkout,
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
            yield base, api_key, proc.pid
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def setup(
    base: str, key: str, customers: int, operator_count: int = OPERATORS
) -> tuple[str, list[str], list[str]]:
    """``operator_count`` operators at work and ``customers`` connected consultations: the template,
    the operators' tokens and the customers' tokens (also benchmarks/api_rps.py's set-up)."""
    admin = {"X-API-Key": key}
    with httpx.Client(base_url=base, timeout=60) as http:
        brand_id = http.get("/api/brand", headers=admin).json()["id"]
        template = http.post(
            "/api/templates",
            json={"name": "Sala", "languages": ["it"], "allow_anonymous": True},
            headers=admin,
        ).json()["id"]
        operators = []
        for n in range(operator_count):
            body = {"login": f"op{n}", "name": f"Op {n}", "languages": ["it"], "capacity": CAPACITY}
            http.post("/api/operators", json=body | {"password": PASSWORD}, headers=admin).raise_for_status()
            r = http.post(
                "/api/operators/login", json={"brand_id": brand_id, "login": f"op{n}", "password": PASSWORD}
            )
            r.raise_for_status()
            token = r.json()["token"]
            auth = {"Authorization": f"Bearer {token}"}
            http.put(
                "/api/operators/me/presence", json={"presence": "available"}, headers=auth
            ).raise_for_status()
            operators.append(token)
        tokens = []
        for _ in range(customers):
            r = http.post("/api/customer/join", json={"template_id": template, "language": "it"})
            r.raise_for_status()
            tokens.append(r.json()["access_token"])
        connected = 0
        deadline = time.monotonic() + 900
        while connected < customers:
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {connected} of {customers} consultations connected")
            for token in operators:
                auth = {"Authorization": f"Bearer {token}"}
                for sid in http.get("/api/queue", headers=auth).json()["offers"]:
                    if http.post(f"/api/queue/{sid}/accept", headers=auth).status_code == 200:
                        connected += 1
    return template, operators, tokens


async def hold_sockets(
    base: str,
    customers: list[str],
    operators: list[str],
    stop: asyncio.Event,
    received: list[int],
    chat: list[int],
) -> None:
    """The pages' queue sockets: read everything until told to stop, counting each socket's
    snapshots in ``received`` and the chat messages sent alone (``{"type": "chat"}``) in ``chat``."""
    ws_base = base.replace("http://", "ws://")
    pages = [(f"{ws_base}/ws/queue/customer", t) for t in customers]
    pages += [(f"{ws_base}/ws/queue/operator", t) for t in operators]
    received[:] = [0] * len(pages)
    chat[:] = [0] * len(pages)

    async def hold(n: int, url: str, token: str) -> None:
        async with websockets.connect(url, max_size=None) as ws:
            await ws.send(json.dumps({"type": "auth", "token": token}))  # as the pages do
            while not stop.is_set():
                try:
                    frame = await asyncio.wait_for(ws.recv(), timeout=0.5)
                except TimeoutError:
                    continue
                if isinstance(frame, str) and frame.startswith('{"type": "chat"'):
                    chat[n] += len(json.loads(frame)["messages"])
                else:
                    received[n] += 1

    await asyncio.gather(*(hold(n, u, t) for n, (u, t) in enumerate(pages)), return_exceptions=True)


async def burst(base: str, tokens: list[str], messages: int) -> tuple[float, list[float], int]:
    """Every token sends its share of ``messages`` at once; seconds, latencies, refusals.

    Each customer's client is made, and its connection opened, before the clock starts: making a
    client costs this process tens of milliseconds (httpx loads its TLS settings), and a hundred
    made during the burst stalled the reading of the first answers for seconds, which counted as
    the server's latency."""
    share = [messages // len(tokens) + (1 if i < messages % len(tokens) else 0) for i in range(len(tokens))]
    latencies: list[float] = []
    refused = 0
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    clients = [httpx.AsyncClient(base_url=base, limits=limits, timeout=300) for _ in tokens]

    async def customer(http: httpx.AsyncClient, token: str, count: int) -> None:
        nonlocal refused
        auth = {"Authorization": f"Bearer {token}"}
        for n in range(count):
            sent = time.perf_counter()
            r = await http.post("/api/customer/chat", json={"text": f"messaggio {n}"}, headers=auth)
            latencies.append(time.perf_counter() - sent)
            refused += r.status_code != 201

    try:
        await asyncio.gather(*(http.get("/api/health") for http in clients))  # connections open
        start = time.perf_counter()
        await asyncio.gather(*(customer(*a) for a in zip(clients, tokens, share, strict=True)))
        return time.perf_counter() - start, latencies, refused
    finally:
        for http in clients:
            await http.aclose()


def cpu_seconds(pid: int) -> float:
    """The process's CPU time so far (user and system), from /proc: the server's work for a burst,
    which unlike wall-clock time does not grow when other programs share the machine."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def chat_table(
    base: str, key: str, pid: int, connections: list[int], messages: int, sockets: bool, label: str
) -> list[str]:
    _, operators, tokens = await asyncio.to_thread(setup, base, key, max(connections))
    stop = asyncio.Event()
    received: list[int] = []
    chat: list[int] = []
    holder = (
        asyncio.create_task(hold_sockets(base, tokens, operators, stop, received, chat)) if sockets else None
    )
    deadline = time.monotonic() + 120
    while sockets and not (received and all(received)):  # every page has its first snapshot
        if time.monotonic() > deadline or holder is None or holder.done():
            raise RuntimeError(f"{sum(map(bool, received))} of {len(received)} queue sockets got a snapshot")
        await asyncio.sleep(0.2)
    rows = []
    for c in connections:
        cpu, before, told = cpu_seconds(pid), sum(received), sum(chat)
        seconds, latencies, refused = await burst(base, tokens[:c], messages)
        cpu = cpu_seconds(pid) - cpu
        load = os.getloadavg()[0]
        if sockets:
            print(
                f"during the burst the pages received {sum(received) - before} snapshots and "
                f"{sum(chat) - told} chat messages sent alone",
                flush=True,
            )
        p50, p99 = np.percentile(latencies, [50, 99])
        rows.append(
            f"| {label} | {messages} | {c} | {seconds:.1f} | {messages / seconds:.0f} | {p50 * 1000:.0f} ms | "
            f"{p99 * 1000:.0f} ms | {cpu / messages * 1000:.1f} ms | {refused} | {load:.1f} |"
        )
        print(rows[-1], flush=True)
    stop.set()
    if holder is not None:
        await holder
    return rows


async def login_burst(base: str, key: str, count: int) -> tuple[float, int, int]:
    with httpx.Client(base_url=base, timeout=60) as http:
        admin = {"X-API-Key": key}
        brand_id = http.get("/api/brand", headers=admin).json()["id"]
        body = {"login": "anna", "name": "Anna", "languages": ["it"], "password": PASSWORD}
        http.post("/api/operators", json=body, headers=admin).raise_for_status()
    login = {"brand_id": brand_id, "login": "anna", "password": PASSWORD}
    async with httpx.AsyncClient(
        base_url=base, timeout=300, limits=httpx.Limits(max_connections=count)
    ) as http:
        start = time.perf_counter()
        answers = await asyncio.gather(*(http.post("/api/operators/login", json=login) for _ in range(count)))
        seconds = time.perf_counter() - start
    return seconds, sum(r.status_code == 200 for r in answers), sum(r.status_code == 429 for r in answers)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--connections", default="1,10,100")
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--no-sockets", action="store_true")
    parser.add_argument("--database-url", default="")
    parser.add_argument("--logins", type=int, default=0)
    parser.add_argument(
        "--before",
        type=Path,
        help="another checkout (e.g. the previous release) whose server runs the same load first, "
        "for a side-by-side table on the same machine at the same hour",
    )
    args = parser.parse_args()
    if args.logins:
        print("| throttling | sign-ins at once | seconds | answered a second | signed in | refused (429) |")
        print("|---|---|---|---|---|---|")
        for label, env in (
            ("on (defaults)", {}),
            ("off", {"AVATAR_CARE_LOGIN_RATE_PER_ADDRESS": "100000 per minute"}),
        ):
            with server(args.database_url, env) as (base, key, _pid):
                seconds, ok, refused = asyncio.run(login_burst(base, key, args.logins))
            print(
                f"| {label} | {args.logins} | {seconds:.2f} | {args.logins / seconds:.0f} | {ok} | {refused} |"
            )
        return
    connections = [int(c) for c in args.connections.split(",")]
    print(
        f"queue sockets held: {'no' if args.no_sockets else 'yes'}; database: {args.database_url or 'SQLite'}"
    )
    print(
        "| code | messages | connections | seconds | messages/s | p50 | p99 | server CPU a message | refused "
        "| load average |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for c in connections:  # before and after side by side for each number of connections
        runs = [("before", args.before), ("this", ROOT)] if args.before else [("this", ROOT)]
        for label, checkout in runs:
            with server(args.database_url, checkout=checkout.resolve()) as (base, key, pid):
                asyncio.run(chat_table(base, key, pid, [c], args.messages, not args.no_sockets, label))


if __name__ == "__main__":
    main()

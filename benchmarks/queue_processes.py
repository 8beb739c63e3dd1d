"""Several server processes on one PostgreSQL database: how long routing stops when the router is
killed, and what keeping the queue's state in the database costs the desk.

    python benchmarks/queue_processes.py [--rounds 5] [--customers 40]

Needs Debian's PostgreSQL binaries (a throwaway cluster, tests/postgres_cluster.py).

- **Takeover**: two ``avatar-care serve`` processes on the database; the router is SIGKILLed, a
  customer joins through the standby at once, and the time until that customer is offered to the
  signed-in operator is measured (polling every 20 ms); then a new standby is started and the
  roles swap, ``--rounds`` times.
- **Desk operations**: one desk on the database with the queue's state in PostgreSQL's tables
  (``PostgresQueueState``) and one with it in memory (``InMemoryQueueState``), same database, side
  by side: a customer joining, a waiting customer's status, a tick with nothing to do; medians.

Prints tables; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from tempfile import TemporaryDirectory

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from avatar_care.core.config import Settings  # noqa: E402
from avatar_care.core.db import open_database  # noqa: E402
from avatar_care.core.security import make_join_token  # noqa: E402
from rooms.brands import create_brand  # noqa: E402
from rooms.clock import ManualClock  # noqa: E402
from rooms.desk import CareDesk, Customer, InMemoryQueueState  # noqa: E402
from rooms.templates import TemplateSpec, create_template  # noqa: E402
from tests.postgres_cluster import running_cluster  # noqa: E402
from tests.support import free_port  # noqa: E402

ROUTES = "this process routes the queue now"


class Server:
    def __init__(self, data_dir: Path, url: str, name: str) -> None:
        self.log = data_dir / f"{name}.log"
        port = free_port()
        env = os.environ | {"AVATAR_CARE_DATA_DIR": str(data_dir), "AVATAR_CARE_DATABASE_URL": url}
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "avatar_care.cli", "serve", "--port", str(port)],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.base = f"http://127.0.0.1:{port}"
        while True:
            try:
                httpx.get(f"{self.base}/api/health", timeout=2)
                return
            except httpx.TransportError:
                if self.proc.poll() is not None:
                    raise RuntimeError(self.log.read_text()) from None
                time.sleep(0.1)

    def routes(self) -> bool:
        return ROUTES in self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=20)


def _token(brand_id: int, secret: str, room: str) -> str:
    exp = int((datetime.now(UTC) + timedelta(minutes=30)).timestamp())
    claims = {"brand": brand_id, "room": room, "sub": uuid.uuid4().hex, "jti": uuid.uuid4().hex, "exp": exp}
    return make_join_token(secret, claims | {"lang": "it"})


def takeover(url: str, data_dir: Path, rounds: int) -> list[float]:
    engine, sessions = open_database(Settings(data_dir=data_dir, database_url=url))
    with sessions() as s:
        brand, key = create_brand(s, "Ottica Rossi")
    engine.dispose()
    admin = {"X-API-Key": key}
    router = Server(data_dir, url, "s0")
    standby = Server(data_dir, url, "s1")
    times: list[float] = []
    try:
        with httpx.Client(base_url=router.base, timeout=10) as http:
            secret = http.get("/api/brand", headers=admin).json()["join_secret"]
            room = http.post(
                "/api/templates", json={"name": "Occhiali", "languages": ["it"]}, headers=admin
            ).json()
            login = {
                "login": "anna",
                "name": "Anna",
                "languages": ["it"],
                "password": "correct horse battery",
            }
            http.post("/api/operators", json=login, headers=admin)
        for n in range(rounds):
            assert router.routes() and not standby.routes()
            with httpx.Client(base_url=standby.base, timeout=10) as http:
                sign_in = {"brand_id": brand.id, "login": "anna", "password": "correct horse battery"}
                anna = {
                    "Authorization": f"Bearer {http.post('/api/operators/login', json=sign_in).json()['token']}"
                }
                http.put("/api/operators/me/presence", json={"presence": "available"}, headers=anna)
                router.proc.send_signal(signal.SIGKILL)
                killed = time.perf_counter()
                router.proc.wait()
                joined = http.post("/api/customer/join", json={"token": _token(brand.id, secret, room["id"])})
                session_id = joined.json()["session_id"]
                while session_id not in http.get("/api/queue", headers=anna).json()["offers"]:
                    time.sleep(0.02)
                times.append(time.perf_counter() - killed)
                http.post(f"/api/queue/{session_id}/decline", headers=anna)  # anna is free for the next
            router, standby = standby, Server(data_dir, url, f"s{n + 2}")
    finally:
        router.stop()
        standby.stop()
    return times


def timed(action: Callable[[], object], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


def desk_operations(url: str, data_dir: Path, customers: int) -> dict[str, dict[str, float]]:
    engine, sessions = open_database(Settings(data_dir=data_dir, database_url=url))
    with sessions() as s:
        brand, _ = create_brand(s, "Moda Bianchi")
        template = create_template(s, brand, TemplateSpec(name="Abiti", languages=["it"]), "admin")
    clock = ManualClock()
    desks = {
        "PostgreSQL tables": CareDesk(sessions, clock),
        "memory": CareDesk(sessions, clock, state=InMemoryQueueState()),
    }
    figures: dict[str, dict[str, float]] = {name: {} for name in desks}
    for name, desk in desks.items():
        joins: list[float] = []
        for _ in range(customers):
            start = time.perf_counter()
            last = desk.join(template, Customer("c", "it"))[0].id
            joins.append(time.perf_counter() - start)
        figures[name]["join"] = statistics.median(joins) * 1000
        figures[name]["status"] = timed(partial(desk.status, last), customers)
        figures[name]["tick"] = timed(desk.tick, customers)
    engine.dispose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--customers", type=int, default=40)
    args = parser.parse_args()
    print(f"load: {os.getloadavg()[0]:.1f} {os.getloadavg()[1]:.1f}")
    with running_cluster() as cluster, TemporaryDirectory() as tmp:
        with cluster.database() as url:
            times = takeover(url, Path(tmp), args.rounds)
        print("\nrouter killed -> next customer offered by the standby, seconds")
        print("  " + "  ".join(f"{t:.2f}" for t in times))
        print(f"  median {statistics.median(times):.2f}  max {max(times):.2f}")
        with cluster.database() as url:
            figures = desk_operations(url, Path(tmp), args.customers)
        print(f"\ndesk operations on PostgreSQL, median ms ({args.customers} customers waiting by the end)")
        print(f"  {'queue state':<20}{'join':>8}{'status':>8}{'tick':>8}")
        for name, row in figures.items():
            print(f"  {name:<20}{row['join']:>8.1f}{row['status']:>8.1f}{row['tick']:>8.1f}")
    print(f"load: {os.getloadavg()[0]:.1f} {os.getloadavg()[1]:.1f}")


if __name__ == "__main__":
    main()

"""API processes and room workers as real processes on one PostgreSQL database, and a consultation
opened on them the way a brand runs one (for tests/avatar_care/test_room_workers.py and
benchmarks/failover.py)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import func, select

from avatar_care.core.config import Settings
from avatar_care.core.db import open_database
from avatar_care.core.security import make_join_token
from rooms.brands import create_brand
from rooms.models import RoomPlacement, RoomWorker
from tests.support import free_port

PASSWORD = "correct horse battery"
START_S = 90.0


@dataclass
class Process:
    name: str
    proc: subprocess.Popen[bytes]
    log: Path
    base: str = ""  # an API process's http URL
    worker_id: str = ""  # a worker's id in room_workers

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


def _env(data_dir: Path, url: str) -> dict[str, str]:
    return os.environ | {"AVATAR_CARE_DATA_DIR": str(data_dir), "AVATAR_CARE_DATABASE_URL": url}


def _stop(p: Process) -> None:
    if p.proc.poll() is None:
        p.proc.terminate()
        try:
            p.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.proc.kill()
            p.proc.wait()


@contextmanager
def api_process(data_dir: Path, url: str, name: str, *args: str) -> Iterator[Process]:
    port = free_port()
    log = data_dir / f"{name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "avatar_care.cli",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                *args,
            ],
            env=_env(data_dir, url),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    p = Process(name, proc, log, base=f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + START_S
        while True:
            try:
                httpx.get(f"{p.base}/api/health", timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None, f"{name} exited:\n{p.log_text()}"
                assert time.monotonic() < deadline, f"{name} did not come up within {START_S} s"
                time.sleep(0.2)
        yield p
    finally:
        _stop(p)


@contextmanager
def worker_process(data_dir: Path, url: str, name: str) -> Iterator[Process]:
    log = data_dir / f"{name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "avatar_care.cli", "worker", "--ice-loopback"],
            env=_env(data_dir, url),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    p = Process(name, proc, log)
    try:
        deadline = time.monotonic() + START_S
        while not (found := re.search(r"room worker ([0-9a-f]+) on ", p.log_text())):
            assert proc.poll() is None, f"{name} exited:\n{p.log_text()}"
            assert time.monotonic() < deadline, f"{name} did not start within {START_S} s"
            time.sleep(0.2)
        p.worker_id = found.group(1)
        yield p
    finally:
        _stop(p)


class Database:
    """The test's view of the shared tables."""

    def __init__(self, data_dir: Path, url: str) -> None:
        self.engine, self.sessions = open_database(Settings(data_dir=data_dir, database_url=url))

    def live_workers(self, stale_s: float = 3.0) -> set[str]:
        from datetime import timedelta

        with self.sessions() as db:
            alive = RoomWorker.heartbeat_at >= func.now() - timedelta(seconds=stale_s)
            return set(db.scalars(select(RoomWorker.id).where(alive)))

    def placed_on(self, room_id: str) -> str | None:
        with self.sessions() as db:
            row = db.get(RoomPlacement, room_id)
            return row.worker_id if row is not None else None

    def close(self) -> None:
        self.engine.dispose()


@dataclass(frozen=True)
class Consultation:
    session_id: str
    customer_token: str
    operator_token: str
    room_id: str


def open_consultation(
    base: str, brand_id: int, key: str, login: str = "anna", settings: dict[str, object] | None = None
) -> Consultation:
    """``settings``: of the consultation's room template, besides its name and language."""
    with httpx.Client(base_url=base, timeout=30) as http:
        admin = {"X-API-Key": key}
        join_secret = http.get("/api/brand", headers=admin).json()["join_secret"]
        template = http.post(
            "/api/templates",
            json={"name": f"Occhiali {login}", "languages": ["it"], **(settings or {})},
            headers=admin,
        )
        assert template.status_code == 201, template.text
        operator = {"login": login, "name": login.title(), "languages": ["it"], "password": PASSWORD}
        assert http.post("/api/operators", json=operator, headers=admin).status_code == 201
        signed = http.post(
            "/api/operators/login", json={"brand_id": brand_id, "login": login, "password": PASSWORD}
        )
        assert signed.status_code == 200, signed.text
        token = str(signed.json()["token"])
        bearer = {"Authorization": f"Bearer {token}"}
        assert http.put(
            "/api/operators/me/presence", json={"presence": "available"}, headers=bearer
        ).is_success
        claims = {
            "brand": brand_id,
            "room": template.json()["id"],
            "sub": f"customer-{uuid.uuid4().hex[:6]}",
            "jti": uuid.uuid4().hex,
            "exp": int(time.time()) + 3600,
            "lang": "it",
        }
        joined = http.post("/api/customer/join", json={"token": make_join_token(join_secret, claims)})
        assert joined.status_code == 201, joined.text
        session_id, access = joined.json()["session_id"], joined.json()["access_token"]
        deadline = time.monotonic() + 20
        while (accepted := http.post(f"/api/queue/{session_id}/accept", headers=bearer)).status_code != 200:
            assert time.monotonic() < deadline, f"not offered within 20 s: {accepted.text}"
            time.sleep(0.2)
        room = http.get("/api/customer/session", headers={"Authorization": f"Bearer {access}"}).json()[
            "live_room"
        ]
        assert room is not None
        return Consultation(session_id, access, token, str(room["id"]))


@contextmanager
def cluster(
    data_dir: Path, url: str, apis: int = 2, workers: int = 2
) -> Iterator[tuple[list[Process], list[Process], Database, int, str]]:
    """``apis`` API processes (``serve --workers 0 --remote-workers``) and ``workers`` room workers,
    a brand on the database: yields them, the database's view, the brand's id and admin key."""
    db = Database(data_dir, url)
    try:
        with db.sessions() as s:
            brand, key = create_brand(s, "Ottica Rossi")
            brand_id = int(brand.id)
        with ExitStack() as stack:
            api_list = []
            for i in range(apis):
                (data_dir / f"api{i}").mkdir(exist_ok=True)
                api_list.append(
                    stack.enter_context(
                        api_process(
                            data_dir / f"api{i}", url, f"api{i}", "--workers", "0", "--remote-workers"
                        )
                    )
                )
            worker_list = []
            for i in range(workers):
                (data_dir / f"worker{i}").mkdir(exist_ok=True)
                worker_list.append(
                    stack.enter_context(worker_process(data_dir / f"worker{i}", url, f"worker{i}"))
                )
            deadline = time.monotonic() + 20
            while not {w.worker_id for w in worker_list} <= db.live_workers():
                assert time.monotonic() < deadline, "the workers did not heartbeat within 20 s"
                time.sleep(0.2)
            yield api_list, worker_list, db, brand_id, key
    finally:
        db.close()

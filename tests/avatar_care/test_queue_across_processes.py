"""One queue served by two API processes (with two room workers) on one PostgreSQL database, as
real processes: 60 customers join through both at once while 6 operators, signed in through both,
accept and end consultations. Every customer is served exactly once (one accept wins, every other
is refused), nothing is lost or duplicated, and the positions and estimates a waiting customer sees
are the same through either process."""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from avatar_care.core.security import make_join_token
from rooms.models import CareSession
from tests.avatar_care.worker_cluster import PASSWORD, cluster
from tests.postgres_cluster import PostgresCluster

CUSTOMERS = 60
OPERATORS = 6
#: a bound on the whole run (a loaded machine is slow, not wrong; a lost customer never comes)
SERVE_ALL_S = 240.0


def _join_token(secret: str, brand_id: int, template_id: str) -> str:
    claims = {
        "brand": brand_id,
        "room": template_id,
        "sub": f"customer-{uuid.uuid4().hex[:8]}",
        "jti": uuid.uuid4().hex,
        "exp": int(time.time()) + 3600,
        "lang": "it",
    }
    return make_join_token(secret, claims)


@pytest.mark.postgresql
def test_sixty_customers_through_two_processes_are_each_served_exactly_once(
    tmp_path: Path, postgres_cluster: PostgresCluster
) -> None:
    with (
        postgres_cluster.database() as url,
        cluster(tmp_path, url, apis=2, workers=2) as (
            apis,
            _workers,
            db,
            brand_id,
            key,
        ),
    ):
        bases = [a.base for a in apis]
        admin = {"X-API-Key": key}
        with httpx.Client(base_url=bases[0], timeout=30) as http:
            secret = http.get("/api/brand", headers=admin).json()["join_secret"]
            template = http.post(
                "/api/templates", json={"name": "Occhiali", "languages": ["it"]}, headers=admin
            )
            assert template.status_code == 201, template.text
            template_id = template.json()["id"]
            tokens = []
            for n in range(OPERATORS):
                login = f"op{n}"
                body = {"login": login, "name": login, "languages": ["it"], "password": PASSWORD}
                assert http.post("/api/operators", json=body, headers=admin).status_code == 201
                signed = httpx.post(
                    f"{bases[n % 2]}/api/operators/login",
                    json={"brand_id": brand_id, "login": login, "password": PASSWORD},
                    timeout=30,
                )
                assert signed.status_code == 200, signed.text
                tokens.append(signed.json()["token"])

        def join(n: int) -> str:
            answer = httpx.post(
                f"{bases[n % 2]}/api/customer/join",
                json={"token": _join_token(secret, brand_id, template_id)},
                timeout=60,
            )
            assert answer.status_code == 201, answer.text
            return str(answer.json()["access_token"])

        # the first half joins at once, through both processes, while nobody is at the desk
        with ThreadPoolExecutor(max_workers=10) as pool:
            first = list(pool.map(join, range(CUSTOMERS // 2)))
        seen = []
        for access in first:
            bearer = {"Authorization": f"Bearer {access}"}
            views = [httpx.get(f"{b}/api/customer/session", headers=bearer, timeout=30).json() for b in bases]
            assert views[0]["state"] == views[1]["state"] == "queued"
            assert views[0]["position"] == views[1]["position"], views
            assert views[0]["estimated_wait_s"] == views[1]["estimated_wait_s"], views
            seen.append(views[0]["position"])
        assert sorted(seen) == list(range(1, CUSTOMERS // 2 + 1))

        # the operators come to the desk, through both processes, and work while the rest join
        accepted: dict[str, list[int]] = {}
        refused = 0
        lock = threading.Lock()
        stop = threading.Event()

        def work(n: int) -> None:
            nonlocal refused
            base, bearer = bases[n % 2], {"Authorization": f"Bearer {tokens[n]}"}
            with httpx.Client(base_url=base, timeout=30, headers=bearer) as http:
                assert http.put("/api/operators/me/presence", json={"presence": "available"}).is_success
                while not stop.is_set():
                    view = http.get("/api/queue").json()
                    for sid in view["offers"]:
                        answer = http.post(f"/api/queue/{sid}/accept")
                        with lock:
                            if answer.status_code == 200:
                                accepted.setdefault(sid, []).append(n)
                            else:
                                refused += 1
                        if answer.status_code == 200:
                            ended = http.post(f"/api/sessions/{sid}/end")
                            assert ended.status_code == 200, ended.text
                    time.sleep(0.05)

        operators = [threading.Thread(target=work, args=(n,), daemon=True) for n in range(OPERATORS)]
        for t in operators:
            t.start()
        try:
            with ThreadPoolExecutor(max_workers=10) as pool:
                list(pool.map(join, range(CUSTOMERS // 2, CUSTOMERS)))
            deadline = time.monotonic() + SERVE_ALL_S
            while len(accepted) < CUSTOMERS:
                assert all(t.is_alive() for t in operators), "an operator's loop failed"
                assert time.monotonic() < deadline, f"served {len(accepted)} of {CUSTOMERS}"
                time.sleep(0.2)
        finally:
            stop.set()
            for t in operators:
                t.join(timeout=60)

        # each served exactly once, by one operator; nothing lost, nothing made twice
        assert all(len(by) == 1 for by in accepted.values()), accepted
        with db.sessions() as s:
            sessions = s.scalars(select(CareSession).where(CareSession.brand_id == brand_id)).all()
            assert len(sessions) == CUSTOMERS
            assert {cs.id for cs in sessions} == set(accepted)
            assert all(cs.state == "ended" and cs.operator_id for cs in sessions)
            assert s.scalar(select(func.count()).select_from(CareSession)) == CUSTOMERS
        # every operator took part: both processes' operators were offered customers
        assert {by[0] % 2 for by in accepted.values()} == {0, 1}

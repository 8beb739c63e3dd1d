"""A consultation on a running server, set up as a brand does it: a brand, a template, an operator
who signs in, a customer joining with a signed link, and the operator accepting them."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx

from avatar_care.core.security import make_join_token

PASSWORD = "correct horse battery"


@dataclass(frozen=True)
class Consultation:
    session_id: str
    customer_token: str
    operator_token: str
    room_id: str


def create_brand(data_dir: Path, name: str) -> tuple[int, str]:
    """A brand on the server's database, created before the server starts (as ``avatar-care brand
    create`` does): its id and admin key."""
    from avatar_care.core.config import Settings
    from avatar_care.core.db import open_database
    from rooms.brands import create_brand as create

    engine, sessions = open_database(Settings(data_dir=data_dir, database_url=""))
    try:
        with sessions() as session:
            brand, key = create(session, name)
            return int(brand.id), key
    finally:
        engine.dispose()


def open_consultation(base: str, brand_id: int, key: str) -> Consultation:
    """Run inside a namespace that reaches ``base`` (``Network.call_in``)."""
    with httpx.Client(base_url=base, timeout=30) as http:
        admin = {"X-API-Key": key}
        join_secret = http.get("/api/brand", headers=admin).json()["join_secret"]
        template = http.post(
            "/api/templates",
            json={"name": "Occhiali", "languages": ["it", "en"], "skills": ["optics"]},
            headers=admin,
        )
        assert template.status_code == 201, template.text
        operator = {
            "login": "anna",
            "name": "Anna",
            "languages": ["it", "en"],
            "skills": ["optics"],
            "role": "operator",
            "password": PASSWORD,
        }
        assert http.post("/api/operators", json=operator, headers=admin).status_code == 201
        login = http.post(
            "/api/operators/login", json={"brand_id": brand_id, "login": "anna", "password": PASSWORD}
        )
        assert login.status_code == 200, login.text
        operator_token = str(login.json()["token"])
        bearer = {"Authorization": f"Bearer {operator_token}"}
        presence = http.put("/api/operators/me/presence", json={"presence": "available"}, headers=bearer)
        assert presence.status_code == 200, presence.text
        claims = {
            "brand": brand_id,
            "room": template.json()["id"],
            "sub": "customer-7",
            "jti": uuid.uuid4().hex,
            "exp": int(time.time()) + 3600,
            "name": "Lucia",
            "lang": "it",
        }
        joined = http.post("/api/customer/join", json={"token": make_join_token(join_secret, claims)})
        assert joined.status_code == 201, joined.text
        session_id, access = joined.json()["session_id"], joined.json()["access_token"]
        accepted = http.post(f"/api/queue/{session_id}/accept", headers=bearer)
        assert accepted.status_code == 200, accepted.text
        room = http.get("/api/customer/session", headers={"Authorization": f"Bearer {access}"}).json()[
            "live_room"
        ]
        assert room is not None
        return Consultation(session_id, access, operator_token, str(room["id"]))


def customer_session(base: str, token: str) -> dict[str, object]:
    """What the server says of the customer's session (run inside a namespace that reaches ``base``)."""
    r = httpx.get(f"{base}/api/customer/session", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert r.status_code == 200, r.text
    return dict(r.json())


def metric(base: str, name: str, room: str, token: str) -> float | None:
    """One room's gauge or counter from ``/metrics`` (``token``: the server's metrics token)."""
    answer = httpx.get(f"{base}/metrics", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert answer.status_code == 200, answer.text
    text = answer.text
    for line in text.splitlines():
        if line.startswith(name + "{") and f'room="{room}"' in line:
            return float(line.rsplit(" ", 1)[1])
    return None

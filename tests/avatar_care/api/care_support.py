"""A real app on a temporary SQLite file, with the desk on a manual clock, and helpers to set up a brand."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient

from avatar_care.core.security import make_join_token
from rooms.clock import ManualClock
from rooms.desk import CareDesk


@dataclass
class BrandSetup:
    id: int
    key: str
    join_secret: str
    webhook_secret: str
    template_id: str

    @property
    def admin(self) -> dict[str, str]:
        return {"X-API-Key": self.key}


def new_brand(client: TestClient, name: str, **template: Any) -> BrandSetup:
    desk: CareDesk = client.app.state.desk  # type: ignore[attr-defined]
    from rooms.brands import create_brand

    with desk.sessions() as s:
        brand, key = create_brand(s, name)
    info = client.get("/api/brand", headers={"X-API-Key": key}).json()
    body = {"name": "Occhiali", "languages": ["it", "en"], "skills": ["optics"]} | template
    tpl = client.post("/api/templates", json=body, headers={"X-API-Key": key})
    assert tpl.status_code == 201, tpl.text
    return BrandSetup(brand.id, key, info["join_secret"], info["webhook_secret"], tpl.json()["id"])


def join_token(brand: BrandSetup, clock: ManualClock, **claims: Any) -> str:
    base = {
        "brand": brand.id,
        "room": brand.template_id,
        "sub": "customer-42",
        "jti": uuid.uuid4().hex,
        "exp": int(clock.now().timestamp()) + 600,
        "name": "Lucia",
        "lang": "it",
    }
    return make_join_token(brand.join_secret, base | claims)


def operator(
    client: TestClient,
    brand: BrandSetup,
    login: str,
    role: str = "operator",
    skills: tuple[str, ...] = ("optics",),
) -> str:
    """A new operator, signed in with a password and available; their bearer token."""
    body = {
        "login": login,
        "name": login.title(),
        "languages": ["it", "en"],
        "skills": list(skills),
        "role": role,
        "password": "correct horse battery",
    }
    assert client.post("/api/operators", json=body, headers=brand.admin).status_code == 201
    r = client.post(
        "/api/operators/login",
        json={"brand_id": brand.id, "login": login, "password": "correct horse battery"},
    )
    assert r.status_code == 200, r.text
    token = str(r.json()["token"])
    r = client.put("/api/operators/me/presence", json={"presence": "available"}, headers=bearer(token))
    assert r.status_code == 200, r.text
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def wait_until(check: Any, timeout_s: float = 10.0) -> None:
    """Polls a condition the server reaches on its own (never asserts on how long it took)."""
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.05)

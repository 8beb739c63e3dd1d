"""A real server is stopped and started again: queued customers, chat and a callback are all still there."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import func, select

from avatar_care.core.config import Settings
from avatar_care.core.db import open_database
from avatar_care.core.security import make_join_token
from rooms.brands import create_brand
from rooms.models import CareSession
from tests.support import running_server


def _token(brand_id: int, secret: str, room: str, sub: str) -> str:
    exp = int((datetime.now(UTC) + timedelta(minutes=10)).timestamp())
    claims = {"brand": brand_id, "room": room, "sub": sub, "jti": uuid.uuid4().hex, "exp": exp, "lang": "it"}
    return make_join_token(secret, claims)


def test_everything_survives_a_restart(tmp_path: Path, database_url: str) -> None:
    engine, sessions = open_database(Settings(data_dir=tmp_path, database_url=database_url))
    with sessions() as s:
        brand, key = create_brand(s, "Ottica Rossi")
    engine.dispose()
    admin = {"X-API-Key": key}
    with (
        running_server("serve", tmp_path, database_url) as (base, _),
        httpx.Client(base_url=base, timeout=10) as http,
    ):
        secret = http.get("/api/brand", headers=admin).json()["join_secret"]
        room = http.post(
            "/api/templates", json={"name": "Occhiali", "languages": ["it"]}, headers=admin
        ).json()
        http.post(
            "/api/operators",
            json={
                "login": "anna",
                "name": "Anna",
                "languages": ["it"],
                "password": "correct horse battery",
            },
            headers=admin,
        )
        op = http.post(
            "/api/operators/login",
            json={"brand_id": brand.id, "login": "anna", "password": "correct horse battery"},
        ).json()["token"]
        oph = {"Authorization": f"Bearer {op}"}
        talking = http.post(
            "/api/customer/join", json={"token": _token(brand.id, secret, room["id"], "c0")}
        ).json()
        http.put("/api/operators/me/presence", json={"presence": "available"}, headers=oph)
        assert http.post(f"/api/queue/{talking['session_id']}/accept", headers=oph).status_code == 200
        talker = {"Authorization": f"Bearer {talking['access_token']}"}
        assert (
            http.post(
                "/api/customer/chat", json={"text": "Vorrei provare la Aria"}, headers=talker
            ).status_code
            == 201
        )
        waiting = [
            http.post(
                "/api/customer/join", json={"token": _token(brand.id, secret, room["id"], f"c{i}")}
            ).json()
            for i in (1, 2, 3)
        ]
        when = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)
        leaver = {"Authorization": f"Bearer {waiting[2]['access_token']}"}
        r = http.post(
            "/api/customer/contact-request",
            headers=leaver,
            json={"kind": "callback", "contact": "+39 02 1234", "callback_at": when.isoformat()},
        )
        assert r.status_code == 201
        before = [
            http.get("/api/customer/session", headers={"Authorization": f"Bearer {w['access_token']}"}).json()
            for w in waiting[:2]
        ]
        assert [b["position"] for b in before] == [1, 2]
    with (
        running_server("serve", tmp_path, database_url) as (base, _),
        httpx.Client(base_url=base, timeout=10) as http,
    ):
        after = [
            http.get("/api/customer/session", headers={"Authorization": f"Bearer {w['access_token']}"}).json()
            for w in waiting[:2]
        ]
        assert [(a["state"], a["position"]) for a in after] == [("queued", 1), ("queued", 2)]
        chat = http.get("/api/customer/session", headers=talker).json()
        assert chat["state"] == "connected" and [m["text"] for m in chat["chat"]] == [
            "Vorrei provare la Aria"
        ]
        view = http.get("/api/queue", headers=oph).json()
        assert [(c["kind"], c["contact"]) for c in view["contact_requests"]] == [("callback", "+39 02 1234")]
        assert datetime.fromisoformat(view["contact_requests"][0]["callback_at"]) == when
        assert [w["session_id"] for w in view["waiting"]] == [
            waiting[0]["session_id"],
            waiting[1]["session_id"],
        ]
        assert view["presence"] == "offline"  # the operator's console must connect again
    # Both servers worked on the database under test (SQLite file or PostgreSQL), not a default one.
    engine, sessions = open_database(Settings(data_dir=tmp_path, database_url=database_url))
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(CareSession)) == 4
    engine.dispose()

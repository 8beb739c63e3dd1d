"""A copied join link opened in several browsers at once, against a real server: one gets in."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import select

from avatar_care.core.config import Settings
from avatar_care.core.db import open_database
from avatar_care.core.security import make_join_token
from rooms.brands import create_brand
from rooms.models import CareSession
from tests.support import running_server

BROWSERS = 8


def test_one_join_link_used_at_once_admits_exactly_one(tmp_path: Path, database_url: str) -> None:
    settings = Settings(data_dir=tmp_path, database_url=database_url)
    engine, sessions = open_database(settings)
    with sessions() as s:
        brand, key = create_brand(s, "Ottica Rossi")
    admin = {"X-API-Key": key}
    with running_server("serve", tmp_path, database_url) as (base, _):
        with httpx.Client(base_url=base, timeout=30) as http:
            secret = http.get("/api/brand", headers=admin).json()["join_secret"]
            room = http.post("/api/templates", json={"name": "Occhiali", "languages": ["it"]}, headers=admin)
        exp = int((datetime.now(UTC) + timedelta(minutes=10)).timestamp())
        claims = {
            "brand": brand.id,
            "room": room.json()["id"],
            "sub": "c1",
            "jti": uuid.uuid4().hex,
            "exp": exp,
        }
        token = make_join_token(secret, claims)
        start = threading.Barrier(BROWSERS)

        def open_link(_i: int) -> int:
            with httpx.Client(base_url=base, timeout=60) as browser:
                start.wait(timeout=30)
                return browser.post("/api/customer/join", json={"token": token}).status_code

        with ThreadPoolExecutor(BROWSERS) as pool:
            codes = list(pool.map(open_link, range(BROWSERS)))
    assert sorted(codes) == [201] + [401] * (BROWSERS - 1)
    with sessions() as s:
        states = [cs.state for cs in s.scalars(select(CareSession))]
    engine.dispose()
    # Late arrivals were refused before a session; racing ones had theirs abandoned at once.
    assert states.count("queued") == 1 and set(states) <= {"queued", "abandoned"}

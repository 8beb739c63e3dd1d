"""Joins at the same moment against a real server: a copied link opened in several browsers lets one
in, and a burst of customers with links of their own all get in."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
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

#: past the web framework's 40 threads, so requests also wait for a thread, not only for the database
BURST = 48


@contextmanager
def room_on_a_server(tmp_path: Path, database_url: str) -> Iterator[tuple[str, Callable[[str, str], str]]]:
    """A served brand with one room; yields the base URL and ``link(sub, jti)`` making join tokens."""
    engine, sessions = open_database(Settings(data_dir=tmp_path, database_url=database_url))
    with sessions() as s:
        brand, key = create_brand(s, "Ottica Rossi")
    engine.dispose()
    admin = {"X-API-Key": key}
    with running_server("serve", tmp_path, database_url) as (base, _):
        with httpx.Client(base_url=base, timeout=30) as http:
            secret = http.get("/api/brand", headers=admin).json()["join_secret"]
            room = http.post("/api/templates", json={"name": "Occhiali", "languages": ["it"]}, headers=admin)
        exp = int((datetime.now(UTC) + timedelta(minutes=10)).timestamp())

        def link(sub: str, jti: str) -> str:
            claims = {"brand": brand.id, "room": room.json()["id"], "sub": sub, "jti": jti, "exp": exp}
            return make_join_token(secret, claims)

        yield base, link


def join_at_once(base: str, tokens: list[str]) -> list[int]:
    """Every token posted by its own browser, all released at the same moment; the status codes."""
    start = threading.Barrier(len(tokens))

    def open_link(token: str) -> int:
        with httpx.Client(base_url=base, timeout=120) as browser:
            start.wait(timeout=60)
            return browser.post("/api/customer/join", json={"token": token}).status_code

    with ThreadPoolExecutor(len(tokens)) as pool:
        return list(pool.map(open_link, tokens))


def states(tmp_path: Path, database_url: str) -> list[str]:
    engine, sessions = open_database(Settings(data_dir=tmp_path, database_url=database_url))
    with sessions() as s:
        found = [cs.state for cs in s.scalars(select(CareSession))]
    engine.dispose()
    return found


def test_one_join_link_used_at_once_admits_exactly_one(tmp_path: Path, database_url: str) -> None:
    with room_on_a_server(tmp_path, database_url) as (base, link):
        codes = join_at_once(base, [link("c1", uuid.uuid4().hex)] * 8)
    assert sorted(codes) == [201] + [401] * 7
    # Late arrivals were refused before a session; racing ones had theirs abandoned at once.
    found = states(tmp_path, database_url)
    assert found.count("queued") == 1 and set(found) <= {"queued", "abandoned"}


def test_a_burst_of_customers_joining_at_once_all_get_in(tmp_path: Path, database_url: str) -> None:
    with room_on_a_server(tmp_path, database_url) as (base, link):
        codes = join_at_once(base, [link(f"c{i}", uuid.uuid4().hex) for i in range(BURST)])
    assert codes == [201] * BURST
    assert states(tmp_path, database_url) == ["queued"] * BURST

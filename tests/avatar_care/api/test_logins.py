"""Signing in: throttling per account and address, no timing oracle, argon2 off the event loop,
and passwords after NIST SP 800-63B."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from avatar_care.app import create_app
from avatar_care.core.config import Settings
from avatar_care.core.login_guard import LoginGuard
from rooms.passwords import common_passwords
from tests.avatar_care.api.care_support import BrandSetup, new_brand
from tests.avatar_care.api.serving import serving

PASSWORD = "correct horse battery"


def make_operator(client: TestClient, brand: BrandSetup, login: str, password: str | None = PASSWORD) -> None:
    body = {"login": login, "name": login.title(), "languages": ["it"], "password": password}
    r = client.post("/api/operators", json=body, headers=brand.admin)
    assert r.status_code == 201, r.text


def sign_in(client: TestClient, brand: BrandSetup, login: str, password: str) -> httpx.Response:
    return client.post(
        "/api/operators/login", json={"brand_id": brand.id, "login": login, "password": password}
    )


@pytest.fixture
def throttled(tmp_path: Path, database_url: str) -> Iterator[TestClient]:
    settings = Settings(
        data_dir=tmp_path,
        database_url=database_url,
        login_failures_per_account="3 per minute",
        login_rate_per_address="8 per minute",
    )
    with TestClient(create_app(settings)) as c:
        yield c


def test_failed_sign_ins_are_throttled_per_account(throttled: TestClient) -> None:
    brand = new_brand(throttled, "Ottica Rossi")
    make_operator(throttled, brand, "anna")
    make_operator(throttled, brand, "bruno")
    for _ in range(3):
        assert sign_in(throttled, brand, "anna", "wrong guess 1").status_code == 401
    refused = sign_in(throttled, brand, "anna", PASSWORD)  # even the right password, while throttled
    assert refused.status_code == 429 and 1 <= int(refused.headers["Retry-After"]) <= 60
    assert "this account" in refused.json()["detail"]
    assert sign_in(throttled, brand, "bruno", PASSWORD).status_code == 200


def test_sign_ins_are_throttled_per_address_across_accounts(throttled: TestClient) -> None:
    brand = new_brand(throttled, "Ottica Rossi")
    codes = [sign_in(throttled, brand, f"user{n}", "wrong guess 1").status_code for n in range(8)]
    assert codes == [401] * 8
    refused = sign_in(throttled, brand, "user9", "wrong guess 1")
    assert refused.status_code == 429 and "this address" in refused.json()["detail"]
    assert int(refused.headers["Retry-After"]) >= 1


def test_an_unknown_login_costs_the_same_password_check_as_a_known_one(client: TestClient) -> None:
    brand = new_brand(client, "Ottica Rossi")
    make_operator(client, brand, "anna")
    make_operator(client, brand, "token-only", password=None)
    guard: LoginGuard = client.app.state.login_guard  # type: ignore[attr-defined]
    for login in ("anna", "nobody", "token-only"):
        before = guard.verified
        r = sign_in(client, brand, login, "wrong guess 1")
        assert r.status_code == 401 and r.json()["detail"] == "wrong brand, login or password"
        assert guard.verified == before + 1, login  # one argon2 check each, hit or miss
    assert sign_in(client, brand, "anna", PASSWORD).status_code == 200


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short1!", "at least 8"),
        ("x" * 129, "at most 128"),
        ("password1", "most common"),
        ("qwertyuiop", "most common"),
        ("Marco.Rossi", "not be the login"),
    ],
)
def test_passwords_follow_nist_800_63b(client: TestClient, password: str, reason: str) -> None:
    brand = new_brand(client, "Ottica Rossi")
    body = {"login": "marco.rossi", "name": "Marco", "languages": ["it"], "password": password}
    r = client.post("/api/operators", json=body, headers=brand.admin)
    assert r.status_code == 422 and reason in r.json()["detail"]


def test_a_long_passphrase_without_composition_rules_is_welcome(client: TestClient) -> None:
    brand = new_brand(client, "Ottica Rossi")
    passphrase = "il gatto dorme sul divano rosso " * 4  # 128 characters, no digits or symbols needed
    make_operator(client, brand, "anna", passphrase[:128])
    assert sign_in(client, brand, "anna", passphrase[:128]).status_code == 200
    assert len(common_passwords()) > 8000


def test_health_answers_while_a_burst_of_logins_waits_for_its_password_checks(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path, login_rate_per_address="1000 per minute"))
    with TestClient(app) as c:
        brand = new_brand(c, "Ottica Rossi")
        make_operator(c, brand, "anna")
    guard: LoginGuard = app.state.login_guard
    with serving(app) as base:

        async def burst() -> tuple[list[int], list[tuple[int, int]]]:
            async with httpx.AsyncClient(base_url=base, timeout=120) as http:
                body = {"brand_id": brand.id, "login": "anna", "password": PASSWORD}
                logins = [
                    asyncio.create_task(http.post("/api/operators/login", json=body)) for _ in range(50)
                ]
                while guard.waiting < 10:  # the burst has reached the server and queued
                    assert not all(t.done() for t in logins), "the logins ended before they queued"
                    await asyncio.sleep(0.01)
                seen: list[tuple[int, int]] = []
                for _ in range(5):  # health, answered while logins still wait their turn
                    r = await http.get("/api/health")
                    seen.append((r.status_code, guard.waiting))
                codes = [r.status_code for r in await asyncio.gather(*logins)]
                return codes, seen

        codes, seen = asyncio.run(burst())
    assert codes == [200] * 50
    assert all(code == 200 for code, _ in seen)
    assert all(waiting > 0 for _, waiting in seen), seen  # every health answer came while logins queued
    assert guard.verified == 50

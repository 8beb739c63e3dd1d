"""Hostile input gets a 4xx with a reason, never a 500: one class of value per test, several values each."""

from __future__ import annotations

import json
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from avatar_care.core.config import Settings
from avatar_care.core.security import make_join_token
from rooms.clock import ManualClock
from tests.avatar_care.api.care_support import BrandSetup, bearer, join_token, new_brand, operator


@pytest.fixture
def brand(client: TestClient) -> BrandSetup:
    return new_brand(client, "Ottica Rossi", allow_anonymous=True)


def refused(response: Any, *codes: int) -> str:
    """The response is one of ``codes`` (any 4xx when none given) and says why in JSON."""
    assert response.status_code < 500, response.text
    assert 400 <= response.status_code < 500 and (not codes or response.status_code in codes), response.text
    detail = response.json()["detail"]
    assert detail, "a refusal says why"
    return json.dumps(detail)


def raw_json(
    client: TestClient, method: str, path: str, text: str, headers: dict[str, str] | None = None
) -> Any:
    """A body sent exactly as written (Python's JSON encoder would not write these values)."""
    return client.request(
        method, path, content=text.encode("utf-8", "surrogatepass"),
        headers={"Content-Type": "application/json", **(headers or {})},
    )  # fmt: skip


BIG = str(2**64 + 1)


def test_integers_beyond_64_bits_in_ids_and_bodies(client: TestClient, brand: BrandSetup) -> None:
    anna = operator(client, brand, "anna")
    refused(client.post(f"/api/queue/contact-requests/{BIG}/done", headers=bearer(anna)))
    refused(client.post(f"/api/queue/contact-requests/-{BIG}/done", headers=bearer(anna)))
    login = f'{{"brand_id": {BIG}, "login": "anna", "password": "correct horse battery"}}'
    assert "64 bits" in refused(raw_json(client, "POST", "/api/operators/login", login), 422)
    login = f'{{"brand_id": {2**63 - 1}, "login": "anna", "password": "correct horse battery"}}'
    refused(raw_json(client, "POST", "/api/operators/login", login))
    cart = f'{{"quantity": {"9" * 5000}}}'
    refused(raw_json(client, "PUT", "/api/sessions/x/cart/y", cart, bearer(anna)), 422)


def test_join_token_claims_beyond_64_bits_or_malformed_are_refused_before_any_lookup(
    client: TestClient, brand: BrandSetup, clock: ManualClock
) -> None:
    for brand_claim in (2**64 + 1, -(2**70), 2**63, 2**31, 0, True, "1", 1.5):
        token = make_join_token(
            brand.join_secret, {"room": "x", "sub": "s", "jti": "j", "exp": 1, "brand": brand_claim}
        )
        assert "brand" in refused(client.post("/api/customer/join", json={"token": token}), 401)
    # a well-formed brand id nobody has, signed with a made-up secret: the same answer as a bad signature
    forged = jwt.encode({"brand": 2**31 - 1, "room": "x", "sub": "s", "jti": "j", "exp": 1}, "guess")
    assert "signature" in refused(client.post("/api/customer/join", json={"token": forged}), 401)
    forged = jwt.encode({"brand": brand.id, "room": "x", "sub": "s", "jti": "j", "exp": 1}, "guess")
    assert "signature" in refused(client.post("/api/customer/join", json={"token": forged}), 401)


@pytest.mark.parametrize("exp", ["soon", 1e300, -1e300, [1], {"at": 1}, None, 2**70, True])
def test_a_join_token_with_a_malformed_exp_is_refused(
    client: TestClient, brand: BrandSetup, clock: ManualClock, exp: Any
) -> None:
    token = join_token(brand, clock, exp=exp)
    refused(client.post("/api/customer/join", json={"token": token}), 401)


def test_dates_beyond_the_calendar(client: TestClient, brand: BrandSetup, clock: ManualClock) -> None:
    for when in (
        "9999-12-31T23:59:59-23:59",
        "0001-01-01T00:00:00+23:59",
        "9999-12-31T23:59:59.999999-00:01",
    ):
        body = {
            "template_id": brand.template_id,
            "kind": "callback",
            "contact": "+39 333",
            "callback_at": when,
        }
        refused(client.post("/api/customer/contact", json=body))
        refused(client.get("/api/figures", params={"since": when}, headers=brand.admin), 422)
    refused(client.get("/api/figures", params={"until": "10000-01-01T00:00:00Z"}, headers=brand.admin), 422)


@pytest.mark.parametrize("number", ["1e400", "-1e400", "NaN", "Infinity", "-Infinity"])
def test_non_finite_numbers_anywhere(client: TestClient, brand: BrandSetup, number: str) -> None:
    template = f'{{"name": "x", "languages": ["it"], "max_wait_s": {number}}}'
    assert refused(raw_json(client, "POST", "/api/templates", template, brand.admin), 422)
    hours = f'{{"name": "x", "languages": ["it"], "hours": {{"zone": "UTC", "weekly": {{}}, "x": {number}}}}}'
    refused(raw_json(client, "POST", "/api/templates", hours, brand.admin), 422)
    survey = f'{{"csat": {number}}}'
    refused(raw_json(client, "POST", "/api/customer/survey", survey, bearer("nobody")))


@pytest.mark.parametrize("text", ["\\ud800", "a\\udfffb", "\\udc00\\ud800", "\\u0000"])
def test_a_lone_surrogate_or_nul_in_any_json_string(client: TestClient, brand: BrandSetup, text: str) -> None:
    joined = client.post("/api/customer/join", json={"template_id": brand.template_id, "language": "it"})
    access = joined.json()["access_token"]
    for path, body, headers in (
        ("/api/customer/chat", f'{{"text": "{text}"}}', bearer(access)),
        ("/api/customer/join", f'{{"template_id": "{text}"}}', {}),
        ("/api/templates", f'{{"name": "{text}", "languages": ["it"]}}', brand.admin),
        ("/api/templates", f'{{"name": "n", "languages": ["it"], "hours": {{"{text}": 1}}}}', brand.admin),
        ("/api/customer/chat", f'{{"text": 5, "{text}": 1}}', bearer(access)),  # FastAPI's 422 echoes it
    ):
        refused(raw_json(client, "POST", path, body, headers), 422)


@pytest.mark.parametrize(
    "hours",
    [
        {"zone": "Europe", "weekly": {}},  # a folder of the zone database
        {"zone": "America/", "weekly": {}},
        {"zone": 5, "weekly": {}},
        {"zone": ["UTC"], "weekly": {}},
        {"zone": "UTC", "weekly": ["mon"]},
        {"zone": "UTC", "weekly": {"mon": "09:00-13:00"}},
        {"zone": "UTC", "weekly": {"mon": [9]}},
        {"zone": "UTC", "weekly": {"mon": [None]}},
        {"zone": "UTC", "weekly": {"mon": ["09:00-13:00"]}, "closed_dates": "2026-12-25"},
        {"zone": "UTC", "weekly": {"mon": ["09:00-13:00"]}, "closed_dates": [20261225]},
        {"zone": "UTC", "weekly": {"mon": ["09:00-13:00"]}, "closed_dates": ["99999-01-01"]},
        {"weekly": {}},
    ],
)
def test_malformed_business_hours(client: TestClient, brand: BrandSetup, hours: Any) -> None:
    body = {"name": "Occhiali", "languages": ["it"], "hours": hours}
    assert "hours" in refused(client.post("/api/templates", json=body, headers=brand.admin), 422)
    update = client.put(f"/api/templates/{brand.template_id}", json=body, headers=brand.admin)
    refused(update, 422)


def test_nesting_deeper_than_the_policy(client: TestClient, brand: BrandSetup) -> None:
    deep = '{"name": "x", "languages": ["it"], "hours": ' + '{"a": ' * 5000 + "1" + "}" * 5000 + "}"
    assert "deeper" in refused(raw_json(client, "POST", "/api/templates", deep, brand.admin), 422)
    deep = "[" * 100_000
    refused(raw_json(client, "POST", "/api/customer/join", deep), 422)


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "1e400", "0", "-1"])
def test_server_settings_refuse_non_finite_or_non_positive_times(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AVATAR_CARE_ACCEPT_TIMEOUT_S", value)
    with pytest.raises(ValidationError, match="accept_timeout_s"):
        Settings()

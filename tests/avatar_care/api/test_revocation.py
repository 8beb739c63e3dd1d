"""Revocation and lifetimes: what is withdrawn stops working at once, and what ends, ends."""

from __future__ import annotations

from fastapi.testclient import TestClient

from rooms.clock import ManualClock
from tests.avatar_care.api.care_support import BrandSetup, bearer, join_token, new_brand, operator

PASSWORD = "correct horse battery"


def me(client: TestClient, token: str) -> int:
    return client.get("/api/operators/me", headers=bearer(token)).status_code


def operator_id(client: TestClient, brand: BrandSetup, login: str) -> str:
    return next(
        o["id"] for o in client.get("/api/operators", headers=brand.admin).json() if o["login"] == login
    )


def test_signing_out_revokes_that_token_only(client: TestClient) -> None:
    brand = new_brand(client, "Ottica Rossi")
    first = operator(client, brand, "anna")
    second = client.post(
        "/api/operators/login", json={"brand_id": brand.id, "login": "anna", "password": PASSWORD}
    ).json()["token"]
    assert client.post("/api/operators/me/logout", headers=bearer(first)).status_code == 204
    assert me(client, first) == 401
    assert client.post("/api/operators/me/logout", headers=bearer(first)).status_code == 401
    assert me(client, second) == 200  # signed in elsewhere: still in


def test_tokens_expire(client: TestClient, clock: ManualClock) -> None:
    brand = new_brand(client, "Ottica Rossi")
    signed_in = operator(client, brand, "anna")
    issued = client.post(f"/api/operators/{operator_id(client, brand, 'anna')}/tokens", headers=brand.admin)
    issued_token = issued.json()["token"]
    clock.advance(12 * 3600 - 1)
    assert me(client, signed_in) == 200
    clock.advance(2)
    assert me(client, signed_in) == 401  # a sign-in lasts 12 hours
    assert me(client, issued_token) == 200
    clock.advance(30 * 86400)
    assert me(client, issued_token) == 401  # an issued token 30 days


def test_a_disabled_operator_is_out_at_once_and_cannot_sign_in(client: TestClient) -> None:
    brand = new_brand(client, "Ottica Rossi")
    other = new_brand(client, "Moda Bianchi")
    token = operator(client, brand, "anna")
    anna = operator_id(client, brand, "anna")
    assert (
        client.put(
            f"/api/operators/{anna}/disabled", json={"disabled": True}, headers=other.admin
        ).status_code
        == 404
    )
    r = client.put(f"/api/operators/{anna}/disabled", json={"disabled": True}, headers=brand.admin)
    assert r.status_code == 200 and r.json()["disabled"] is True and r.json()["presence"] == "offline"
    assert me(client, token) == 401
    login = {"brand_id": brand.id, "login": "anna", "password": PASSWORD}
    assert client.post("/api/operators/login", json=login).status_code == 401
    issued = client.post(f"/api/operators/{anna}/tokens", headers=brand.admin).json()["token"]
    assert me(client, issued) == 401  # nor with a token the admin issues
    client.put(f"/api/operators/{anna}/disabled", json={"disabled": False}, headers=brand.admin)
    assert client.post("/api/operators/login", json=login).status_code == 200
    actions = [e["action"] for e in client.get("/api/brand/audit", headers=brand.admin).json()]
    assert "operator.disable" in actions and "operator.enable" in actions


def test_a_disabled_operator_gets_no_customers(client: TestClient, clock: ManualClock) -> None:
    brand = new_brand(client, "Ottica Rossi")
    anna_token = operator(client, brand, "anna")
    anna = operator_id(client, brand, "anna")
    client.put(f"/api/operators/{anna}/disabled", json={"disabled": True}, headers=brand.admin)
    bruno = operator(client, brand, "bruno")
    joined = client.post("/api/customer/join", json={"token": join_token(brand, clock)}).json()
    assert client.get("/api/queue", headers=bearer(bruno)).json()["offers"] == [joined["session_id"]]
    assert me(client, anna_token) == 401


def test_a_deleted_operator_is_gone_with_their_tokens(client: TestClient) -> None:
    brand = new_brand(client, "Ottica Rossi")
    token = operator(client, brand, "anna")
    anna = operator_id(client, brand, "anna")
    assert client.delete(f"/api/operators/{anna}", headers=brand.admin).status_code == 204
    assert me(client, token) == 401
    assert client.get("/api/operators", headers=brand.admin).json() == []
    login = {"brand_id": brand.id, "login": "anna", "password": PASSWORD}
    assert client.post("/api/operators/login", json=login).status_code == 401
    assert client.delete(f"/api/operators/{anna}", headers=brand.admin).status_code == 404


def test_rotating_the_api_key_stops_the_old_one_at_once(client: TestClient) -> None:
    brand = new_brand(client, "Ottica Rossi")
    r = client.post("/api/brand/api-key", headers=brand.admin)
    new_key = r.json()["api_key"]
    assert new_key.startswith("acb_") and new_key != brand.key
    assert client.get("/api/brand", headers=brand.admin).status_code == 401
    assert client.get("/api/brand", headers={"X-API-Key": new_key}).status_code == 200


def test_rotating_the_join_secret_refuses_links_signed_with_the_old(
    client: TestClient, clock: ManualClock
) -> None:
    brand = new_brand(client, "Ottica Rossi")
    old_link = join_token(brand, clock)
    fresh = client.post("/api/brand/join-secret", headers=brand.admin).json()
    assert fresh["join_secret"] != brand.join_secret and fresh["webhook_secret"] == brand.webhook_secret
    r = client.post("/api/customer/join", json={"token": old_link})
    assert r.status_code == 401 and "signature" in r.json()["detail"]
    brand.join_secret = fresh["join_secret"]
    assert client.post("/api/customer/join", json={"token": join_token(brand, clock)}).status_code == 201
    rotated = client.post("/api/brand/webhook-secret", headers=brand.admin).json()
    assert (
        rotated["webhook_secret"] != brand.webhook_secret and rotated["join_secret"] == fresh["join_secret"]
    )
    actions = [e["action"] for e in client.get("/api/brand/audit", headers=brand.admin).json()]
    assert "brand.join_secret_rotate" in actions and "brand.webhook_secret_rotate" in actions


def test_a_customers_token_stops_writing_when_the_consultation_ends(
    client: TestClient, clock: ManualClock
) -> None:
    brand = new_brand(client, "Ottica Rossi")
    anna = operator(client, brand, "anna")
    joined = client.post("/api/customer/join", json={"token": join_token(brand, clock)}).json()
    customer, sid = bearer(joined["access_token"]), joined["session_id"]
    client.post(f"/api/queue/{sid}/accept", headers=bearer(anna))
    assert client.post("/api/customer/chat", json={"text": "Buongiorno"}, headers=customer).status_code == 201
    client.post(f"/api/sessions/{sid}/end", headers=bearer(anna))
    assert client.post("/api/customer/chat", json={"text": "ancora"}, headers=customer).status_code == 409
    assert client.post("/api/customer/checkout", headers=customer).status_code == 409
    contact = {"kind": "message", "contact": "lucia@example.com", "text": "x"}
    assert client.post("/api/customer/contact-request", json=contact, headers=customer).status_code == 409
    # the closing screen: the survey, for an hour
    clock.advance(3600)
    assert client.post("/api/customer/survey", json={"csat": 5}, headers=customer).status_code == 201
    clock.advance(1)
    for path, body in (("/api/customer/problem", {"text": "x"}), ("/api/customer/chat", {"text": "x"})):
        r = client.post(path, json=body, headers=customer)
        assert r.status_code == 401 and "ended" in r.json()["detail"]
    assert client.get("/api/customer/session", headers=customer).status_code == 401

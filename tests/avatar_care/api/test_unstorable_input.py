"""Values a database cannot hold (too long, NUL characters, past 32 bits) are refused the same way on
SQLite and PostgreSQL, with a message, and leave nothing half-made behind."""

from __future__ import annotations

from fastapi.testclient import TestClient

from rooms.clock import ManualClock
from tests.avatar_care.api.care_support import bearer, join_token, new_brand, operator


def test_admin_input_past_the_columns_is_refused_and_not_stored(client: TestClient) -> None:
    brand = new_brand(client, "Ottica Rossi")
    huge = client.post(
        "/api/templates", json={"name": "x", "languages": ["it"], "max_wait_s": 2**40}, headers=brand.admin
    )
    assert huge.status_code == 422 and "max wait s is outside the range" in huge.json()["detail"]
    nul = client.post(
        "/api/templates", json={"name": "Occhi\x00ali", "languages": ["it"]}, headers=brand.admin
    )
    assert nul.status_code == 422 and "NUL" in nul.json()["detail"]
    who = client.post(
        "/api/operators", json={"login": "anna", "name": "An\x00na", "languages": ["it"]}, headers=brand.admin
    )
    assert who.status_code == 422
    assert [t["id"] for t in client.get("/api/templates", headers=brand.admin).json()] == [brand.template_id]
    assert client.get("/api/operators", headers=brand.admin).json() == []
    actions = [e["action"] for e in client.get("/api/brand/audit", headers=brand.admin).json()]
    assert actions == ["brand.create", "template.create"]  # the audit entries went with the refusals
    # The same login works once the name is storable: the refusal left no half-made account.
    operator(client, brand, "anna")


def test_join_claims_the_database_cannot_hold_refuse_the_token_before_any_session(
    client: TestClient, clock: ManualClock
) -> None:
    brand = new_brand(client, "Ottica Rossi")
    anna = operator(client, brand, "anna")
    for claim, value in [("sub", "s" * 201), ("jti", "j" * 201), ("name", "Lu\x00cia"), ("topic", "t" * 501)]:
        r = client.post("/api/customer/join", json={"token": join_token(brand, clock, **{claim: value})})
        assert r.status_code == 401 and repr(claim) in r.json()["detail"], (claim, r.text)
    view = client.get("/api/queue", headers=bearer(anna)).json()
    assert view["waiting"] == [] and view["sessions"] == []
    longest = join_token(brand, clock, sub="s" * 200, jti="j" * 200)  # right at the limits: accepted
    joined = client.post("/api/customer/join", json={"token": longest})
    assert joined.status_code == 201, joined.text
    session_id = joined.json()["session_id"]
    assert client.post(f"/api/queue/{session_id}/accept", headers=bearer(anna)).status_code == 200
    customer = bearer(joined.json()["access_token"])
    nul = client.post("/api/customer/chat", json={"text": "ciao\x00"}, headers=customer)
    assert nul.status_code == 422 and "NUL" in nul.json()["detail"]
    assert client.post("/api/customer/chat", json={"text": "ciao"}, headers=customer).status_code == 201
    chat = client.get("/api/customer/session", headers=customer).json()["chat"]
    assert [m["text"] for m in chat] == ["ciao"]

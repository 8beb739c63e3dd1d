"""People sign in, keys are for machines: administrators are accounts with a role, named in the audit log."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.avatar_care.api.care_support import bearer, new_brand

PASSWORD = "la cassa chiude alle sette"


def sign_in(client: TestClient, brand_id: int, login: str) -> str:
    r = client.post("/api/operators/login", json={"brand_id": brand_id, "login": login, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return str(r.json()["token"])


def test_an_administrator_signs_in_and_manages_the_brand_as_a_person(client: TestClient) -> None:
    brand = new_brand(client, "Ottica Rossi")
    other = new_brand(client, "Moda Bianchi")
    for login, role in (("giulia", "admin"), ("anna", "operator"), ("boss", "supervisor")):
        body = {
            "login": login,
            "name": login.title(),
            "languages": ["it"],
            "role": role,
            "password": PASSWORD,
        }
        assert client.post("/api/operators", json=body, headers=brand.admin).status_code == 201
    giulia = bearer(sign_in(client, brand.id, "giulia"))
    assert client.get("/api/brand", headers=giulia).json()["id"] == brand.id
    r = client.post("/api/templates", json={"name": "Vetrina", "languages": ["it"]}, headers=giulia)
    assert r.status_code == 201
    assert client.get(f"/api/templates/{other.template_id}", headers=giulia).status_code == 404
    assert client.get("/api/figures", headers=giulia).status_code == 200
    # the audit log names the person; the brand's servers are named by their key
    audit = client.get("/api/brand/audit", headers=giulia).json()
    assert {"actor": "Giulia (giulia)", "action": "template.create"} in [
        {"actor": e["actor"], "action": e["action"]} for e in audit
    ]
    assert [e["actor"] for e in audit if e["action"] == "operator.create"] == ["API key"] * 3
    # operators and supervisors do not administer; an administrator takes no customers
    for login in ("anna", "boss"):
        r = client.get("/api/templates", headers=bearer(sign_in(client, brand.id, login)))
        assert r.status_code == 403
    r = client.put("/api/operators/me/presence", json={"presence": "available"}, headers=giulia)
    assert r.status_code == 403
    # signing out ends the administrator's token at once; the API key goes on working
    assert client.post("/api/operators/me/logout", headers=giulia).status_code == 204
    assert client.get("/api/brand", headers=giulia).status_code == 401
    assert client.get("/api/brand", headers=brand.admin).status_code == 200


def test_an_administrator_creates_an_operator_and_the_log_says_who(client: TestClient) -> None:
    brand = new_brand(client, "Ottica Rossi")
    body = {"login": "giulia", "name": "Giulia", "languages": ["it"], "role": "admin", "password": PASSWORD}
    client.post("/api/operators", json=body, headers=brand.admin)
    giulia = bearer(sign_in(client, brand.id, "giulia"))
    new = {"login": "marco", "name": "Marco", "languages": ["it"], "password": "occhiali da sole blu"}
    created = client.post("/api/operators", json=new, headers=giulia)
    assert created.status_code == 201
    client.put(f"/api/operators/{created.json()['id']}/disabled", json={"disabled": True}, headers=giulia)
    audit = [(e["actor"], e["action"]) for e in client.get("/api/brand/audit", headers=giulia).json()]
    assert ("Giulia (giulia)", "operator.create") in audit and (
        "Giulia (giulia)",
        "operator.disable",
    ) in audit

"""Transfers and after-call work over HTTP (SQLite and PostgreSQL): the console's view names where a
consultation may go; cold to a template and to a colleague, a warm transfer after a consult, the
wrap-up code required before the next offer, the figures; bad input refused with a reason and
nothing lost."""

from __future__ import annotations

import csv
import io

from fastapi.testclient import TestClient

from rooms.clock import ManualClock
from tests.avatar_care.api.care_support import bearer, join_token, new_brand, operator


def _join(client: TestClient, brand: object, clock: ManualClock, name: str) -> tuple[str, str]:
    r = client.post("/api/customer/join", json={"token": join_token(brand, clock, name=name)})  # type: ignore[arg-type]
    assert r.status_code == 201, r.text
    access = r.json()["access_token"]
    session = client.get("/api/customer/session", headers=bearer(access)).json()
    return session["session_id"], access


def _queue(client: TestClient, token: str) -> dict:  # type: ignore[type-arg]
    r = client.get("/api/queue", headers=bearer(token))
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def test_warm_transfer_and_a_required_code_over_http(client: TestClient, clock: ManualClock) -> None:
    brand = new_brand(client, "Ottica Rossi", wrap_up_codes=["vendita", "reso"], wrap_up_required=True)
    anna = operator(client, brand, "anna")
    clock.advance(1)
    bruno = operator(client, brand, "bruno")
    session_id, access = _join(client, brand, clock, "Lucia")
    assert client.post(f"/api/queue/{session_id}/accept", headers=bearer(anna)).status_code == 200
    client.post("/api/customer/chat", json={"text": "Ciao"}, headers=bearer(access))
    view = _queue(client, anna)
    bruno_id = next(c["id"] for c in view["colleagues"] if c["name"] == "Bruno")
    assert [c["presence"] for c in view["colleagues"]] == ["available"]
    assert [t["id"] for t in view["templates"]] == [brand.template_id]

    for body in ({}, {"colleague_id": ""}, {"colleague_id": "x" * 33}, {"colleague_id": 7}):
        assert (
            client.post(f"/api/sessions/{session_id}/consult", json=body, headers=bearer(anna)).status_code
            == 422
        )
    r = client.post(
        f"/api/sessions/{session_id}/consult", json={"colleague_id": "nobody"}, headers=bearer(anna)
    )
    assert r.status_code == 404
    r = client.post(
        f"/api/sessions/{session_id}/consult", json={"colleague_id": bruno_id}, headers=bearer(bruno)
    )
    assert r.status_code == 403  # not bruno's to ask
    r = client.post(
        f"/api/sessions/{session_id}/consult", json={"colleague_id": bruno_id}, headers=bearer(anna)
    )
    assert r.status_code == 201
    asked = _queue(client, bruno)["consults"]
    assert [(c["session_id"], c["from_name"], c["accepted"]) for c in asked] == [(session_id, "Anna", False)]
    assert client.post(f"/api/sessions/{session_id}/hand-over", headers=bearer(anna)).status_code == 409
    r = client.post(
        f"/api/sessions/{session_id}/consult/answer", json={"accept": True}, headers=bearer(bruno)
    )
    assert r.status_code == 200
    r = client.post(
        f"/api/sessions/{session_id}/consult/messages", json={"text": "Te la passo"}, headers=bearer(anna)
    )
    assert r.status_code == 201
    consult = _queue(client, anna)["sessions"][0]["consult"]
    assert consult["accepted"] and [m["text"] for m in consult["messages"]] == ["Te la passo"]
    customer = client.get("/api/customer/session", headers=bearer(access)).json()
    assert "Te la passo" not in str(customer)  # the customer never sees the consult
    r = client.post(f"/api/sessions/{session_id}/hand-over", headers=bearer(anna))
    assert r.status_code == 200 and r.json()["operator_id"] == bruno_id
    customer = client.get("/api/customer/session", headers=bearer(access)).json()
    assert customer["state"] == "connected" and customer["operator_name"] == "Bruno"
    assert [m["text"] for m in customer["chat"]] == ["Ciao"]
    assert customer["live_room"]["id"] == _queue(client, bruno)["sessions"][0]["live_room_id"]
    assert _queue(client, anna)["sessions"] == []

    assert client.post(f"/api/sessions/{session_id}/end", headers=bearer(bruno)).status_code == 200
    after_call = _queue(client, bruno)["after_call"]
    assert [(a["session_id"], a["required"], a["codes"]) for a in after_call] == [
        (session_id, True, ["vendita", "reso"])
    ]
    client.put("/api/operators/me/presence", json={"presence": "away"}, headers=bearer(anna))
    second, _ = _join(client, brand, clock, "Marco")
    assert _queue(client, bruno)["offers"] == []
    for body, status in (({}, 422), ({"code": None}, 422), ({"code": "nope"}, 422), ({"code": 5}, 422)):
        r = client.post(f"/api/sessions/{session_id}/wrap-up", json=body, headers=bearer(bruno))
        assert r.status_code == status, (body, r.text)
    assert (
        client.post(
            f"/api/sessions/{session_id}/wrap-up", json={"code": "vendita"}, headers=bearer(anna)
        ).status_code
        == 403
    )
    r = client.post(f"/api/sessions/{session_id}/wrap-up", json={"code": "vendita"}, headers=bearer(bruno))
    assert r.status_code == 200
    assert _queue(client, bruno)["offers"] == [second]
    assert (
        client.post(
            f"/api/sessions/{session_id}/wrap-up", json={"code": "reso"}, headers=bearer(bruno)
        ).status_code
        == 409
    )
    f = client.get("/api/figures", headers=brand.admin).json()
    assert f["wrap_up_codes"] == {"vendita": 1} and f["average_after_call_s"] == 0
    # and in the exports a brand takes away
    day = clock.now().date().isoformat()
    daily = list(
        csv.DictReader(
            io.StringIO(
                client.get(
                    "/api/exports/figures-daily.csv", params={"first_day": day}, headers=brand.admin
                ).text
            )
        )
    )
    assert [(d["wrap_up_codes"], d["average_after_call_s"]) for d in daily] == [("vendita=1", "0.0")]
    ops = csv.DictReader(
        io.StringIO(client.get("/api/exports/figures-operators.csv", headers=brand.admin).text)
    )
    assert {o["login"]: o["average_after_call_s"] for o in ops} == {"anna": "", "bruno": "0.0"}


def test_cold_transfers_over_http_and_bad_targets(client: TestClient, clock: ManualClock) -> None:
    brand = new_brand(client, "Ottica Rossi")
    other = client.post(
        "/api/templates",
        json={"name": "Fatture", "languages": ["it"], "skills": ["billing"]},
        headers=brand.admin,
    ).json()
    anna = operator(client, brand, "anna")
    session_id, access = _join(client, brand, clock, "Lucia")
    client.post(f"/api/queue/{session_id}/accept", headers=bearer(anna))
    url = f"/api/sessions/{session_id}/transfer"
    for body, status in (
        ({}, 422),
        ({"to_template": "nosuch"}, 404),
        ({"to_operator": "nosuch"}, 404),
        ({"to_template": other["id"], "to_operator": "x"}, 422),
        ({"skills": [""]}, 422),
        ({"skills": "billing"}, 422),
        ({"to_template": "x" * 40}, 422),
    ):
        r = client.post(url, json=body, headers=bearer(anna))
        assert r.status_code == status, (body, r.text)
        assert client.get("/api/customer/session", headers=bearer(access)).json()["state"] == "connected"
    assert client.post(url, json={"to_template": other["id"]}, headers=bearer(anna)).status_code == 200
    customer = client.get("/api/customer/session", headers=bearer(access)).json()
    assert customer["state"] == "transferred" and customer["position"] == 1
    assert customer["template_id"] == other["id"]
    carla = operator(client, brand, "carla", skills=("billing",))
    assert _queue(client, carla)["offers"] == [session_id]
    # a colleague who declines sends the customer back to the one who transferred them
    client.post(f"/api/queue/{session_id}/accept", headers=bearer(carla))
    anna_id = next(c["id"] for c in _queue(client, carla)["colleagues"] if c["name"] == "Anna")
    assert client.post(url, json={"to_operator": anna_id}, headers=bearer(carla)).status_code == 200
    assert client.post(f"/api/queue/{session_id}/decline", headers=bearer(anna)).status_code == 200
    assert _queue(client, carla)["offers"] == [session_id]

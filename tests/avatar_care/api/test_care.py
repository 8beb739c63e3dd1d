"""The customer-care API for every role, and every refusal: forged, expired, replayed, cross-brand."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from rooms.clock import ManualClock
from tests.avatar_care.api.care_support import BrandSetup, bearer, join_token, new_brand, operator
from tests.avatar_care.api.https_receiver import Receiver, https_receiver


@pytest.fixture
def brand(client: TestClient) -> BrandSetup:
    return new_brand(client, "Ottica Rossi")


def join(client: TestClient, token: str) -> Any:
    return client.post("/api/customer/join", json={"token": token})


def test_brand_admin_manages_only_their_brand(client: TestClient, brand: BrandSetup) -> None:
    other = new_brand(client, "Moda Bianchi")
    assert client.get("/api/templates").status_code == 401
    assert client.get("/api/templates", headers={"X-API-Key": "acb_wrong"}).status_code == 401
    assert [t["id"] for t in client.get("/api/templates", headers=brand.admin).json()] == [brand.template_id]
    r = client.get(f"/api/templates/{other.template_id}", headers=brand.admin)
    assert r.status_code == 404 and "no room template" in r.json()["detail"]
    bad = client.post(
        "/api/templates",
        json={"name": "x", "languages": ["it"], "hours": {"zone": "Mars/Base"}},
        headers=brand.admin,
    )
    assert bad.status_code == 422 and "time zone" in bad.json()["detail"]
    operator(client, brand, "anna")
    dup = client.post(
        "/api/operators", json={"login": "anna", "name": "A", "languages": ["it"]}, headers=brand.admin
    )
    assert dup.status_code == 409
    actions = [e["action"] for e in client.get("/api/brand/audit", headers=brand.admin).json()]
    assert actions == ["brand.create", "template.create", "operator.create"]


def test_operator_sign_in_and_role_refusals(client: TestClient, brand: BrandSetup) -> None:
    other = new_brand(client, "Moda Bianchi")
    anna = operator(client, brand, "anna")
    wrong = client.post(
        "/api/operators/login", json={"brand_id": brand.id, "login": "anna", "password": "nope nope"}
    )
    assert wrong.status_code == 401
    assert (
        client.post(
            "/api/operators/login",
            json={"brand_id": other.id, "login": "anna", "password": "correct horse battery"},
        ).status_code
        == 401
    )
    assert client.get("/api/queue").status_code == 401
    assert client.get("/api/queue", headers=bearer("aco_forged")).status_code == 401
    assert client.get("/api/figures", headers=bearer(anna)).status_code == 403
    boss = operator(client, brand, "boss", role="supervisor")
    assert client.get("/api/figures", headers=bearer(boss)).status_code == 200
    # a token the brand admin issues works like a signed-in one
    ops = client.get("/api/operators", headers=brand.admin).json()
    issued = client.post(f"/api/operators/{ops[0]['id']}/tokens", headers=brand.admin).json()["token"]
    assert client.get("/api/operators/me", headers=bearer(issued)).json()["login"] == "anna"
    # another brand's admin cannot issue tokens for this brand's operator
    assert client.post(f"/api/operators/{ops[0]['id']}/tokens", headers=other.admin).status_code == 404


def test_join_tokens_forged_expired_replayed_and_cross_brand(
    client: TestClient, brand: BrandSetup, clock: ManualClock
) -> None:
    other = new_brand(client, "Moda Bianchi", allow_anonymous=True)
    forged = BrandSetup(
        brand.id, brand.key, "not-the-brand-secret-but-long-enough-0123", "", brand.template_id
    )
    r = join(client, join_token(forged, clock))
    assert r.status_code == 401 and "signature" in r.json()["detail"]
    r = join(client, join_token(brand, clock, exp=int(clock.now().timestamp()) - 1))
    assert r.status_code == 401 and "expired" in r.json()["detail"]
    assert join(client, "not.a.jwt").status_code == 401
    token = join_token(brand, clock)
    first = join(client, token)
    assert first.status_code == 201
    replay = join(client, token)
    assert replay.status_code == 401 and "already used" in replay.json()["detail"]
    # signed by brand A but naming brand B's room: that room does not exist for A
    assert join(client, join_token(brand, clock, room=other.template_id)).status_code == 404
    # anonymous: refused where the template does not allow it
    r = client.post("/api/customer/join", json={"template_id": brand.template_id})
    assert r.status_code == 403
    r = client.post("/api/customer/join", json={"template_id": other.template_id, "language": "en"})
    assert r.status_code == 201
    r = client.post("/api/customer/join", json={"template_id": other.template_id, "language": "de"})
    assert r.status_code == 422
    # a customer's token sees only their own session; operators of another brand see nothing of it
    sid = first.json()["session_id"]
    mine = client.get("/api/customer/session", headers=bearer(first.json()["access_token"])).json()
    assert mine["session_id"] == sid and mine["position"] == 1
    assert client.get("/api/customer/session", headers=bearer("guess")).status_code == 401
    stranger = operator(client, other, "zoe")
    assert client.post(f"/api/queue/{sid}/accept", headers=bearer(stranger)).status_code == 404
    assert client.get(f"/api/sessions/{sid}", headers=bearer(stranger)).status_code == 404
    assert sid not in [
        w["session_id"] for w in client.get("/api/queue", headers=bearer(stranger)).json()["waiting"]
    ]


@pytest.fixture
def checkout_server(client: TestClient, tmp_path: Path) -> Iterator[Receiver]:
    """The brand's checkout, on loopback: allowed here by the server's setting, as a brand inside the
    server's own network would be."""
    with https_receiver(tmp_path) as receiver:
        settings = client.app.state.settings  # type: ignore[attr-defined]
        settings.webhook_allowed_networks = ["127.0.0.0/8"]
        settings.webhook_ca_file = receiver.ca_file
        yield receiver


def test_a_whole_consultation_with_chat_products_cart_checkout_and_survey(
    client: TestClient, brand: BrandSetup, clock: ManualClock, checkout_server: Receiver
) -> None:
    anna = operator(client, brand, "anna")
    r = client.put("/api/brand/checkout", json={"checkout_url": checkout_server.url}, headers=brand.admin)
    assert r.status_code == 200, r.text
    item = client.post(
        "/api/catalogue",
        json={
            "name": "Montatura Aria",
            "kind": "model",
            "media_url": "/assets/x.glb",
            "link": "https://shop.example/aria",
            "price": "120 EUR",
        },
        headers=brand.admin,
    ).json()
    joined = join(client, join_token(brand, clock, context={"page": "/aria"})).json()
    customer = bearer(joined["access_token"])
    sid = joined["session_id"]
    assert client.get("/api/queue", headers=bearer(anna)).json()["offers"] == [sid]
    assert client.post("/api/customer/chat", json={"text": "too early"}, headers=customer).status_code == 409
    assert client.post(f"/api/queue/{sid}/accept", headers=bearer(anna)).json()["state"] == "connected"
    clock.advance(5)
    assert client.post("/api/customer/chat", json={"text": "Buongiorno"}, headers=customer).status_code == 201
    assert (
        client.post(f"/api/sessions/{sid}/chat", json={"text": "Salve!"}, headers=bearer(anna)).status_code
        == 201
    )
    assert (
        client.post(
            f"/api/sessions/{sid}/show", json={"item_id": item["id"]}, headers=bearer(anna)
        ).status_code
        == 200
    )
    r = client.put(f"/api/sessions/{sid}/cart/{item['id']}", json={"quantity": 2}, headers=bearer(anna))
    assert r.json()[0]["quantity"] == 2
    view = client.get("/api/customer/session", headers=customer).json()
    assert [m["text"] for m in view["chat"]] == ["Buongiorno", "Salve!"]
    assert view["shown"]["name"] == "Montatura Aria" and view["cart"][0]["quantity"] == 2
    assert client.post("/api/customer/checkout", headers=customer).json() == {"status": 202}
    body, signature = checkout_server.received[-1].body, checkout_server.received[-1].signature
    expected = "sha256=" + hmac.new(brand.webhook_secret.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(signature, expected)
    assert json.loads(body)["lines"][0]["name"] == "Montatura Aria"
    assert (
        client.post("/api/customer/problem", json={"text": "audio gracchiante"}, headers=customer).status_code
        == 201
    )
    assert (
        client.put(
            f"/api/sessions/{sid}/notes", json={"notes": "vuole la Aria"}, headers=bearer(anna)
        ).status_code
        == 200
    )
    clock.advance(100)
    assert client.post(f"/api/sessions/{sid}/end", headers=bearer(anna)).json()["state"] == "ended"
    assert client.post("/api/customer/survey", json={"csat": 9}, headers=customer).status_code == 422
    assert (
        client.post(
            "/api/customer/survey", json={"csat": 5, "comment": "ottimo"}, headers=customer
        ).status_code
        == 201
    )
    assert client.post("/api/customer/survey", json={"csat": 4}, headers=customer).status_code == 409
    figures = client.get("/api/figures", headers=brand.admin).json()
    assert figures["answered"] == 1 and figures["csat"] == 5.0 and figures["service_level"] == 1.0
    assert figures["average_handle_time_s"] == 105.0 and figures["abandonment_rate"] == 0.0


def test_accept_timeout_transfer_and_operator_refusals(
    client: TestClient, brand: BrandSetup, clock: ManualClock
) -> None:
    anna = operator(client, brand, "anna")
    clock.advance(1)
    bruno = operator(client, brand, "bruno", skills=("optics", "billing"))
    sid = join(client, join_token(brand, clock)).json()["session_id"]
    assert client.get("/api/queue", headers=bearer(anna)).json()["offers"] == [sid]
    assert client.post(f"/api/queue/{sid}/accept", headers=bearer(bruno)).status_code == 409
    clock.advance(21)
    client.app.state.desk.tick()  # type: ignore[attr-defined]
    assert client.get("/api/queue", headers=bearer(bruno)).json()["offers"] == [sid]
    assert client.get("/api/operators/me", headers=bearer(anna)).json()["presence"] == "away"
    assert client.post(f"/api/queue/{sid}/accept", headers=bearer(anna)).status_code == 409
    assert client.post(f"/api/queue/{sid}/accept", headers=bearer(bruno)).status_code == 200
    assert (
        client.post(f"/api/sessions/{sid}/chat", json={"text": "x"}, headers=bearer(anna)).status_code == 403
    )
    assert client.post(f"/api/sessions/{sid}/end", headers=bearer(anna)).status_code == 403
    assert client.post(f"/api/sessions/{sid}/listen", headers=bearer(anna)).status_code == 403
    boss = operator(client, brand, "boss", role="supervisor", skills=())
    assert client.post(f"/api/sessions/{sid}/listen", headers=bearer(boss)).json()["mode"] == "listen-only"
    assert client.get(f"/api/sessions/{sid}", headers=bearer(boss)).json()["state"] == "connected"
    client.put("/api/operators/me/presence", json={"presence": "available"}, headers=bearer(anna))
    r = client.post(f"/api/sessions/{sid}/transfer", json={}, headers=bearer(bruno))
    assert r.status_code == 422
    r = client.post(f"/api/sessions/{sid}/transfer", json={"skills": ["optics"]}, headers=bearer(bruno))
    assert r.status_code == 200
    assert client.get("/api/queue", headers=bearer(anna)).json()["offers"] == [sid]


def test_closed_room_leaves_a_callback_with_the_same_link(client: TestClient, clock: ManualClock) -> None:
    hours = {"zone": "Asia/Tokyo", "weekly": {"mon": ["09:00-17:00"]}}
    brand = new_brand(client, "Kimono", hours=hours)
    boss = operator(client, brand, "boss", role="supervisor")
    token = join_token(brand, clock)  # Monday 10:00 UTC is 19:00 in Tokyo: closed
    r = join(client, token)
    assert r.status_code == 409 and r.json()["next_open"] == "2026-03-09T00:00:00+00:00"  # 09:00 in Tokyo
    when = (clock.now() + timedelta(days=1)).isoformat()
    body = {"token": token, "kind": "callback", "contact": "+81 3 1234", "callback_at": when}
    assert client.post("/api/customer/contact", json=body).status_code == 201
    assert client.post("/api/customer/contact", json=body).status_code == 401  # the link is spent now
    requests = client.get("/api/queue", headers=bearer(boss)).json()["contact_requests"]
    assert [(c["kind"], c["contact"]) for c in requests] == [("callback", "+81 3 1234")]


def test_live_queue_updates_over_websocket(client: TestClient, brand: BrandSetup, clock: ManualClock) -> None:
    first = join(client, join_token(brand, clock)).json()
    second = join(client, join_token(brand, clock)).json()
    with client.websocket_connect("/ws/queue/customer") as ws:
        ws.send_json({"type": "auth", "token": second["access_token"]})
        assert ws.receive_json()["position"] == 2
        client.post("/api/customer/leave", headers=bearer(first["access_token"]))
        snapshot = ws.receive_json()
        while snapshot["position"] != 1:
            snapshot = ws.receive_json()
        anna = operator(client, brand, "anna")
        with client.websocket_connect("/ws/queue/operator") as ops:
            ops.send_json({"type": "auth", "token": anna})
            assert ops.receive_json()["offers"] == [second["session_id"]]
            client.post(f"/api/queue/{second['session_id']}/accept", headers=bearer(anna))
            while snapshot["state"] != "connected":
                snapshot = ws.receive_json()
            assert snapshot["operator_name"] == "Anna"
    with client.websocket_connect("/ws/queue/customer") as ws:
        ws.send_json({"type": "auth", "token": "guess"})
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
        assert closed.value.code == 4401


def test_openapi_lists_every_care_resource(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in (
        "/api/templates",
        "/api/operators/login",
        "/api/queue",
        "/api/customer/join",
        "/api/figures",
        "/api/sessions/{session_id}/transfer",
        "/api/catalogue",
        "/api/brand/audit",
    ):
        assert path in paths
    assert client.get("/docs").status_code == 200


def test_template_updates_and_per_room_figures(
    client: TestClient, brand: BrandSetup, clock: ManualClock
) -> None:
    other = new_brand(client, "Moda Bianchi")
    body = {"name": "Occhiali da sole", "languages": ["it"], "max_wait_s": 60}
    r = client.put(f"/api/templates/{brand.template_id}", json=body, headers=brand.admin)
    assert r.status_code == 200 and r.json()["max_wait_s"] == 60
    assert (
        client.put(f"/api/templates/{brand.template_id}", json=body, headers=other.admin).status_code == 404
    )
    join(client, join_token(brand, clock))
    f = client.get("/api/figures", params={"template_id": brand.template_id}, headers=brand.admin).json()
    assert f["queue_length"] == 1 and f["sessions"] == 1 and f["answered"] == 0
    r = client.get("/api/figures", params={"template_id": brand.template_id}, headers=other.admin)
    assert r.status_code == 404
    r = client.get("/api/figures", params={"since": "2026-01-01T00:00:00"}, headers=brand.admin)
    assert r.status_code == 422
    assert "template.update" in [
        e["action"] for e in client.get("/api/brand/audit", headers=brand.admin).json()
    ]


def test_a_long_wait_reaches_the_waiting_page_without_any_event(
    client: TestClient, brand: BrandSetup, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from avatar_care.api.routes import queue_ws

    monkeypatch.setattr(queue_ws, "REFRESH_S", 0.05)
    anna = operator(client, brand, "anna")
    talking = join(client, join_token(brand, clock)).json()
    client.post(f"/api/queue/{talking['session_id']}/accept", headers=bearer(anna))
    waiting = join(client, join_token(brand, clock)).json()  # first in line, one 180 s round away
    with client.websocket_connect("/ws/queue/customer") as ws:
        ws.send_json({"type": "auth", "token": waiting["access_token"]})
        first = ws.receive_json()
        assert first["position"] == 1 and first["estimated_wait_s"] == 180 and not first["may_leave_message"]
        clock.advance(301)  # past the template's max_wait_s (300): no event happens, only time passes
        assert ws.receive_json()["may_leave_message"] is True

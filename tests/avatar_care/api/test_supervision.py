"""Supervisors who coach, through the server: the grants, whisper and barge over signaling with
real aiortc peers, the audit log's start and end of each, and what the customer is told."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession

from avatar_care.app import create_app
from avatar_care.core.config import Settings
from avatar_care.live.ice import use_loopback_only
from avatar_care.live.registry import LiveRooms
from rooms.clock import ManualClock
from tests.avatar_care.api.care_support import BrandSetup, bearer, new_brand, operator, wait_until
from tests.avatar_care.api.test_live_rooms import (
    Watching,
    accept,
    connect,
    customer,
    joins,
    live_room_of,
    refusal,
    until,
)
from tests.avatar_care.live.test_audio_mix import levels
from tests.avatar_care.live.test_audio_relay import Person

OPERATOR_HZ, CUSTOMER_HZ, SUPERVISOR_HZ = 440.0, 1000.0, 2500.0


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def client(tmp_path: Path, clock: ManualClock) -> Iterator[TestClient]:
    use_loopback_only()
    app = create_app(Settings(data_dir=tmp_path, queue_tick_s=3600), demo=True)
    app.state.desk.clock = clock
    with TestClient(app) as c:
        yield c
    use_loopback_only(False)


def supervision_audit(client: TestClient, key: str) -> list[dict[str, Any]]:
    audit = client.get("/api/brand/audit", headers={"X-API-Key": key}).json()
    return [e for e in audit if e["action"].startswith("supervision.")]


def told(client: TestClient, access: str) -> list[str]:
    return list(client.get("/api/customer/session", headers=bearer(access)).json()["supervision"])


def operator_hears_of(client: TestClient, operator_token: str) -> list[str]:
    """The supervisors the operator's console says they hear, in their one consultation."""
    sessions = client.get("/api/queue", headers=bearer(operator_token)).json()["sessions"]
    return list(sessions[0]["supervision"])


def supervised_consultation(
    client: TestClient, clock: ManualClock
) -> tuple[BrandSetup, str, str, str, str, str]:
    """A brand with operator anna and supervisor boss, and a customer anna accepted: the brand,
    anna's and boss's tokens, the session, the customer's access token and the live room's id."""
    brand = new_brand(client, "Ottica Rossi")
    anna = operator(client, brand, "anna")
    boss = operator(client, brand, "boss", role="supervisor")
    sid, access = customer(client, brand, clock)
    accept(client, sid, anna)
    return brand, anna, boss, sid, access, str(live_room_of(client, access)["id"])


def test_each_mode_needs_its_own_grant_and_only_a_supervisor_gets_one(
    client: TestClient, clock: ManualClock
) -> None:
    brand, anna, boss, sid, access, room_id = supervised_consultation(client, clock)
    for verb, role in (("whisper", "whisperer"), ("barge", "barger")):
        code, message = refusal(client, room_id, role=role, token=boss)
        assert code == 4403 and f"ask to {verb} first" in message
        assert client.post(f"/api/sessions/{sid}/{verb}", headers=bearer(anna)).status_code == 403
    client.post(f"/api/sessions/{sid}/listen", headers=bearer(boss))
    code, message = refusal(client, room_id, role="whisperer", token=boss)  # listening is not whispering
    assert code == 4403 and "ask to whisper first" in message
    grant = client.post(f"/api/sessions/{sid}/whisper", headers=bearer(boss)).json()
    assert grant == grant | {"role": "whisperer", "mode": "whisper", "live_room_id": room_id}
    assert joins(client, room_id, role="whisperer", token=boss) == "whisperer"
    code, message = refusal(client, room_id, role="whisperer", token=anna)
    assert code == 4403 and "for supervisors" in message
    code, message = refusal(client, "demo", role="barger", token=boss)
    assert code == 4403 and "consultations' rooms" in message
    # the join and its end (the socket closed) are both in the audit log, without a peer
    wait_until(lambda: len(supervision_audit(client, brand.key)) == 2)
    start, end = supervision_audit(client, brand.key)
    assert (start["action"], end["action"]) == ("supervision.start", "supervision.end")
    assert "boss" in start["actor"]
    assert start["detail"] == {
        "supervisor": start["detail"]["supervisor"],
        "mode": "whisperer",
        "sessions": [sid],
        "customer_told": False,
    }
    assert end["detail"]["seconds"] >= 0
    # another brand's supervisor, no session, no token, no such role
    other = new_brand(client, "Moda Bianchi")
    vera = operator(client, other, "vera", role="supervisor")
    assert client.post(f"/api/sessions/{sid}/barge", headers=bearer(vera)).status_code == 404
    assert client.post("/api/sessions/nope/whisper", headers=bearer(boss)).status_code == 404
    assert client.post(f"/api/sessions/{sid}/whisper").status_code == 401
    code, message = refusal(client, room_id, role="barger", token=vera)
    assert code == 4403 and "another brand" in message
    assert refusal(client, room_id, role="barger")[0] == 4401
    with client.websocket_connect(f"/ws/rooms/{room_id}") as ws:
        ws.send_json({"type": "join", "role": "boss", "token": boss})
        error = ws.receive_json()
        assert error["type"] == "error" and "join.role" in error["message"] and "barger" in error["message"]
    client.post("/api/customer/leave", headers=bearer(access))
    r = client.post(f"/api/sessions/{sid}/barge", headers=bearer(boss))
    assert r.status_code == 409  # only while connected
    assert len(supervision_audit(client, brand.key)) == 2  # refusals record no supervision


def test_whisper_then_barge_with_real_peers_audited_and_the_customer_told_of_the_barge(
    client: TestClient, clock: ManualClock
) -> None:
    brand, anna, boss, sid, access, room_id = supervised_consultation(client, clock)
    rooms: LiveRooms = client.app.state.live_rooms  # type: ignore[attr-defined]
    client.post(f"/api/sessions/{sid}/whisper", headers=bearer(boss))
    client.post(f"/api/sessions/{sid}/barge", headers=bearer(boss))

    async def scenario(sockets: list[WebSocketTestSession]) -> None:
        op_ws, customer_ws, whisper_ws, barge_ws = sockets
        operator_peer = Person("landmarks", hz=OPERATOR_HZ)
        watcher = Watching()
        await connect(operator_peer, op_ws, {"role": "operator", "token": anna})
        await connect(watcher, customer_ws, {"role": "customer", "token": access})
        whisperer = Person("motion", hz=SUPERVISOR_HZ)
        await connect(whisperer, whisper_ws, {"role": "whisperer", "token": boss})
        await until(lambda: min(len(operator_peer.heard), len(watcher.heard)) >= 75)
        assert levels(operator_peer.heard[-50:], (SUPERVISOR_HZ,))[0] > 0.3  # the operator hears it
        assert levels(watcher.heard[-50:], (SUPERVISOR_HZ,))[0] < 0.02  # the customer does not
        assert await asyncio.to_thread(told, client, access) == []  # nor is told of it
        # the operator's console says who whispers
        assert await asyncio.to_thread(operator_hears_of, client, anna) == ["whisperer"]

        # the supervisor barges in from another socket: the whisper ends, the customer hears them
        barger = Person("motion", hz=SUPERVISOR_HZ)
        await connect(barger, barge_ws, {"role": "barger", "token": boss})
        live = rooms.get(room_id)
        assert live is not None
        await until(lambda: "boss" not in str(live.whisperers) and len(live.bargers) == 1)
        heard = len(watcher.heard)
        await until(lambda: len(watcher.heard) >= heard + 75)
        assert min(levels(watcher.heard[-50:], (OPERATOR_HZ, SUPERVISOR_HZ))) > 0.3
        await until(lambda: told(client, access) == ["barger"], 5.0)
        assert await asyncio.to_thread(operator_hears_of, client, anna) == ["barger"]
        for person in (operator_peer, watcher, whisperer, barger):
            await person.close()

    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(client.websocket_connect(f"/ws/rooms/{room_id}")) for _ in range(4)]
        asyncio.run(scenario(sockets))
    # every socket closed: the barge's end is recorded, and the customer is no longer told of it
    wait_until(lambda: len(supervision_audit(client, brand.key)) == 4)
    actions = [
        (e["action"], e["detail"]["mode"], e["detail"]["customer_told"])
        for e in supervision_audit(client, brand.key)
    ]
    assert sorted(actions) == sorted(
        [
            ("supervision.start", "whisperer", False),
            ("supervision.end", "whisperer", False),
            ("supervision.start", "barger", True),
            ("supervision.end", "barger", True),
        ]
    )
    assert actions[0] == ("supervision.start", "whisperer", False)
    assert told(client, access) == []


def test_the_brand_chooses_whether_customers_are_told_of_listening(
    client: TestClient, clock: ManualClock
) -> None:
    brand, _anna, boss, sid, access, room_id = supervised_consultation(client, clock)
    client.post(f"/api/sessions/{sid}/listen", headers=bearer(boss))
    assert client.get("/api/brand", headers=brand.admin).json()["listening_announced"] is False
    seen: list[list[str]] = []
    with client.websocket_connect(f"/ws/rooms/{room_id}") as ws:
        ws.send_json({"type": "join", "role": "listener", "token": boss})
        assert ws.receive_json()["type"] == "joined"
        seen.append(told(client, access))
    r = client.put("/api/brand/listening", json={"listening_announced": True}, headers=brand.admin)
    assert r.status_code == 200 and r.json()["listening_announced"] is True
    with client.websocket_connect(f"/ws/rooms/{room_id}") as ws:
        ws.send_json({"type": "join", "role": "listener", "token": boss})
        assert ws.receive_json()["type"] == "joined"
        seen.append(told(client, access))
    wait_until(lambda: told(client, access) == [])
    assert seen == [[], ["listener"]]
    assert (
        client.put(
            "/api/brand/listening", json={"listening_announced": "maybe"}, headers=brand.admin
        ).status_code
        == 422
    )
    audit = client.get("/api/brand/audit", headers=brand.admin).json()
    assert [e["detail"] for e in audit if e["action"] == "brand.listening_announced"] == [{"announced": True}]
    told_flags = [
        e["detail"]["customer_told"]
        for e in supervision_audit(client, brand.key)
        if e["action"] == "supervision.start"
    ]
    assert told_flags == [False, True]

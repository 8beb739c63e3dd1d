"""Signaling refuses what is malformed, oversized, out of order or from the wrong role."""

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from avatar_care.app import create_app
from avatar_care.core.config import Settings


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(data_dir=tmp_path), demo=True)) as c:
        yield c


def test_refusals_name_the_problem_and_the_socket_stays_usable(client: TestClient) -> None:
    with client.websocket_connect("/ws/rooms/demo") as ws:
        ws.send_text("{not json")
        assert "malformed message" in ws.receive_json()["message"]
        ws.send_text(json.dumps({"type": "dance"}))
        assert ws.receive_json()["type"] == "error"
        ws.send_text(json.dumps({"type": "offer", "sdp": "v=0"}))
        assert ws.receive_json()["message"] == "join first, then send the offer"
        ws.send_text("x" * 70_000)
        assert "too large" in ws.receive_json()["message"]
        ws.send_text(json.dumps({"type": "join", "role": "customer"}))
        joined = {"type": "joined", "role": "customer", "room": "demo"}
        assert ws.receive_json() == joined | {"ice": {"iceServers": [], "iceTransportPolicy": "all"}}
        ws.send_text(json.dumps({"type": "join", "role": "customer"}))
        assert ws.receive_json()["message"] == "already joined"
        ws.send_text(json.dumps({"type": "offer", "sdp": "this is not SDP"}))
        assert "SDP" in ws.receive_json()["message"]


def test_an_operator_needs_the_rooms_key(client: TestClient) -> None:
    with client.websocket_connect("/ws/rooms/demo") as ws:
        ws.send_text(json.dumps({"type": "join", "role": "operator", "operator_key": "guess"}))
        assert "operator key" in ws.receive_json()["message"]
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
        assert closed.value.code == 4403
    key = client.app.state.demo_operator_key  # type: ignore[attr-defined]
    with client.websocket_connect("/ws/rooms/demo") as ws:
        ws.send_text(json.dumps({"type": "join", "role": "operator", "operator_key": key}))
        assert ws.receive_json()["role"] == "operator"


def test_an_unknown_room_is_refused(client: TestClient) -> None:
    with client.websocket_connect("/ws/rooms/nowhere") as ws:
        assert ws.receive_json()["message"] == "no live room nowhere"
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
        assert closed.value.code == 4404

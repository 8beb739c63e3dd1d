"""Sockets at the edges: a binary or malformed frame gets an error and a defined close code; the
queue socket refuses a bad token with 4401 after accepting, so the page sees the code."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from avatar_care.api.routes.signaling import MAX_MALFORMED
from avatar_care.app import create_app
from avatar_care.core.config import Settings


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(data_dir=tmp_path, queue_tick_s=3600), demo=True)) as c:
        yield c


def test_a_binary_frame_on_signaling_gets_an_error_and_closes_1003(demo: TestClient) -> None:
    with demo.websocket_connect("/ws/rooms/demo") as ws:
        ws.send_bytes(b'{"type": "join", "role": "customer"}')
        assert "binary" in ws.receive_json()["message"]
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
        assert closed.value.code == 1003


@pytest.mark.parametrize(
    "text",
    [
        '{"type": "join", "role": "customer", "token": "\\ud800"}',
        "[" * 5000,
        '{"type": 1e999}',
        "NaN",
        "\x00",
    ],
)
def test_malformed_messages_get_errors_and_the_tenth_in_a_row_closes_1008(
    demo: TestClient, text: str
) -> None:
    with demo.websocket_connect("/ws/rooms/demo") as ws:
        for _ in range(MAX_MALFORMED):
            ws.send_text(text)
            reply = ws.receive_json()
            assert reply["type"] == "error" and "malformed" in reply["message"], reply
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
        assert closed.value.code == 1008


def test_a_good_message_resets_the_count_of_malformed_ones(demo: TestClient) -> None:
    with demo.websocket_connect("/ws/rooms/demo") as ws:
        for _ in range(MAX_MALFORMED - 1):
            ws.send_text("{")
            ws.receive_json()
        ws.send_text(json.dumps({"type": "join", "role": "customer"}))
        assert ws.receive_json()["type"] == "joined"
        ws.send_text("{")
        assert ws.receive_json()["type"] == "error"


@pytest.mark.parametrize(
    "first", [{"type": "auth", "token": "guess"}, {"type": "auth"}, {"token": 5}, "not json"]
)
@pytest.mark.parametrize("who", ["customer", "operator"])
def test_the_queue_socket_accepts_then_closes_4401_on_a_bad_token(
    demo: TestClient, who: str, first: object
) -> None:
    with demo.websocket_connect(f"/ws/queue/{who}") as ws:  # accepted: the handshake succeeds
        if isinstance(first, str):
            ws.send_text(first)
        else:
            ws.send_json(first)
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
        assert closed.value.code == 4401 and closed.value.reason


def test_the_queue_socket_closes_4401_on_a_binary_first_message(demo: TestClient) -> None:
    with demo.websocket_connect("/ws/queue/customer") as ws:
        ws.send_bytes(b"\x00\x01")
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
        assert closed.value.code == 4401

"""A page whose connection dies comes back in the same session: it joins again with the same token
and offers a new peer; the room replaces the old one, and motion and voice resume. aiortc peers on
loopback against the real app, as in test_live_rooms.py."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession

from avatar_care.live.registry import LiveRooms
from avatar_care.live.room import wait_open
from rigging.codec import decode
from rooms.clock import ManualClock
from tests.avatar_care.api.care_support import bearer, new_brand, operator
from tests.avatar_care.api.test_live_rooms import (  # noqa: F401 (fixtures)
    Watching,
    accept,
    client,
    clock,
    connect,
    customer,
    live_room_of,
    send_frames,
    until,
)
from tests.avatar_care.live.test_audio_relay import Person


def raised(packet: bytes) -> bool:
    return bool(decode(packet).pose.bones["rightUpperArm"][2] < -0.5)


def test_a_customer_whose_connection_died_comes_back_in_the_same_session(
    client: TestClient,  # noqa: F811
    clock: ManualClock,  # noqa: F811
) -> None:
    brand = new_brand(client, "Ottica Rossi")
    anna = operator(client, brand, "anna")
    sid, access = customer(client, brand, clock)
    accept(client, sid, anna)
    room_id = live_room_of(client, access)["id"]
    rooms: LiveRooms = client.app.state.live_rooms  # type: ignore[attr-defined]
    assert (
        client.post("/api/customer/chat", json={"text": "prima"}, headers=bearer(access)).status_code == 201
    )

    async def scenario(
        op_ws: WebSocketTestSession, first_ws: WebSocketTestSession, again_ws: WebSocketTestSession
    ) -> None:
        operator_peer = Person("landmarks", hz=440.0)
        await connect(operator_peer, op_ws, {"role": "operator", "token": anna})
        await wait_open(operator_peer.channel)
        before = Watching()
        await connect(before, first_ws, {"role": "customer", "token": access})
        await wait_open(before.channel)
        await send_frames(operator_peer, 20)
        await until(lambda: len(before.packets) >= 7, timeout_s=30)
        assert raised(before.packets[-1])
        live = rooms.get(room_id)
        assert live is not None
        old_peer = live.customers[sid]

        # The phone loses its network: its peer and socket go silent, nothing is said. The page
        # makes a new peer and joins again with the same token on a new socket.
        silent: dict[str, Any] = {"peer": before}
        again = Watching()
        await connect(again, again_ws, {"role": "customer", "token": access})
        left = await asyncio.to_thread(first_ws.receive_json)  # the old socket, were it still there
        assert left == {"type": "left", "message": "joined again from another connection"}
        await wait_open(again.channel)
        await asyncio.sleep(1.0)  # the old peer's closing has run its course on the server
        assert live.customers.get(sid) is not None and live.customers[sid] is not old_peer
        assert old_peer.connectionState == "closed"
        assert rooms.get(room_id) is live and live.operator is not None  # the room went on

        await send_frames(operator_peer, 20, start_ms=2000)
        await until(lambda: len(again.packets) >= 7, timeout_s=30)  # motion resumed
        assert raised(again.packets[-1])
        await until(lambda: len(again.heard) >= 50, timeout_s=30)  # and the operator's voice
        assert abs(again.loudest_hz() - 440) < 30
        for person in (operator_peer, again, silent["peer"]):
            await person.close()

    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(client.websocket_connect(f"/ws/rooms/{room_id}")) for _ in range(3)]
        asyncio.run(scenario(*sockets))
    # the same session throughout: its chat and its room are still there
    session = client.get("/api/customer/session", headers=bearer(access)).json()
    assert session["session_id"] == sid and session["live_room"]["id"] == room_id
    assert session["state"] != "ended"

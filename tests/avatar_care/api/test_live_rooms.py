"""Consultations' live rooms over signaling: who may join as what, shared rooms, supervisors
listening, and the room let go when the consultation ends. Refusals through the test client's
WebSocket; media with real aiortc peers on loopback against the same app."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiortc import RTCSessionDescription
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession
from starlette.websockets import WebSocketDisconnect

from avatar_care.app import create_app
from avatar_care.core.config import Settings
from avatar_care.live.ice import use_loopback_only
from avatar_care.live.registry import LiveRooms
from avatar_care.live.room import wait_open
from rigging.codec import decode
from rooms.clock import ManualClock
from rooms.desk import CareDesk
from tests.avatar_care.api.care_support import BrandSetup, bearer, join_token, new_brand, operator, wait_until
from tests.avatar_care.live.test_audio_relay import Person
from tests.rigging.posed_landmarks import make_frame, rq

RAISED = {"rightUpperArm": rq((0, 0, 1), -80)}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def client(tmp_path: Path, clock: ManualClock) -> Iterator[TestClient]:
    use_loopback_only()
    app = create_app(Settings(data_dir=tmp_path, queue_tick_s=3600), demo=True)
    desk: CareDesk = app.state.desk
    desk.clock = clock
    with TestClient(app) as c:
        yield c
    use_loopback_only(False)


def customer(client: TestClient, brand: BrandSetup, clock: ManualClock) -> tuple[str, str]:
    """A customer who joined with a signed link: their session id and access token."""
    r = client.post("/api/customer/join", json={"token": join_token(brand, clock)})
    assert r.status_code == 201, r.text
    return r.json()["session_id"], r.json()["access_token"]


def accept(client: TestClient, session_id: str, operator_token: str) -> None:
    r = client.post(f"/api/queue/{session_id}/accept", headers=bearer(operator_token))
    assert r.status_code == 200, r.text


def live_room_of(client: TestClient, access: str) -> dict[str, Any]:
    room = client.get("/api/customer/session", headers=bearer(access)).json()["live_room"]
    assert room is not None
    return dict(room)


def refusal(client: TestClient, room_id: str, **join: Any) -> tuple[int, str]:
    """Join ``room_id``; the close code and the error message of the refusal."""
    with client.websocket_connect(f"/ws/rooms/{room_id}") as ws:
        ws.send_text(json.dumps({"type": "join"} | join))
        message = ws.receive_json()
        assert message["type"] == "error", message
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert message["code"] == closed.value.code
    return closed.value.code, str(message["message"])


def joins(client: TestClient, room_id: str, **join: Any) -> str:
    with client.websocket_connect(f"/ws/rooms/{room_id}") as ws:
        ws.send_text(json.dumps({"type": "join"} | join))
        message = ws.receive_json()
    assert message["type"] == "joined", message
    return str(message["role"])


def test_who_may_join_a_consultations_room_as_what(
    client: TestClient, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    brand = new_brand(client, "Ottica Rossi")
    other = new_brand(client, "Moda Bianchi")
    anna = operator(client, brand, "anna")
    sid, access = customer(client, brand, clock)
    assert client.get("/api/customer/session", headers=bearer(access)).json()["live_room"] is None
    accept(client, sid, anna)
    room = live_room_of(client, access)
    room_id = room["id"]
    assert sid not in room_id and "customer-42" not in room_id and room["avatar_url"] is None
    view = client.get("/api/queue", headers=bearer(anna)).json()
    assert view["sessions"][0]["live_room_id"] == room_id
    bruno = operator(client, brand, "bruno")
    clock.advance(1)
    second_sid, second_access = customer(client, brand, clock)
    accept(client, second_sid, bruno)  # another consultation, in another room
    zoe = operator(client, other, "zoe")
    boss = operator(client, brand, "boss", role="supervisor")
    vera = operator(client, other, "vera", role="supervisor")

    assert refusal(client, room_id, role="customer", token="forged") == (4401, "unknown session token")
    assert refusal(client, room_id, role="customer")[0] == 4401
    assert refusal(client, room_id, role="operator", token="aco_forged")[0] == 4401
    code, message = refusal(client, room_id, role="customer", token=second_access)
    assert (code, message) == (4403, "this live room is not your consultation's")
    code, message = refusal(client, room_id, role="operator", token=zoe)
    assert code == 4403 and "another brand" in message
    code, message = refusal(client, room_id, role="operator", token=bruno)
    assert code == 4403 and "only the operator connected" in message
    code, message = refusal(client, room_id, role="listener", token=vera)
    assert code == 4403 and "another brand" in message
    code, message = refusal(client, room_id, role="listener", token=anna)
    assert code == 4403 and "for supervisors" in message
    code, message = refusal(client, room_id, role="listener", token=boss)
    assert code == 4403 and "ask to listen first" in message  # nobody listens unrecorded
    assert refusal(client, "lr-nowhere", role="customer", token=access)[0] == 4404
    code, message = refusal(client, "demo", role="listener", token=boss)
    assert code == 4403 and "consultations' rooms" in message
    assert sum("refused (44" in r.getMessage() for r in caplog.records) == 11  # every refusal is logged

    listenable = client.get("/api/queue", headers=bearer(boss)).json()["listenable"]
    rows = [(r["session_id"], r["operator_name"], r["live_room_id"] == room_id) for r in listenable]
    assert rows == [(sid, "Anna", True), (second_sid, "Bruno", False)]
    assert client.get("/api/queue", headers=bearer(anna)).json()["listenable"] == []
    assert client.get("/api/queue", headers=bearer(vera)).json()["listenable"] == []
    assert joins(client, room_id, role="customer", token=access) == "customer"
    assert joins(client, room_id, role="operator", token=anna) == "operator"
    grant = client.post(f"/api/sessions/{sid}/listen", headers=bearer(boss)).json()
    assert grant["live_room_id"] == room_id
    assert joins(client, room_id, role="listener", token=boss) == "listener"
    assert joins(client, "demo", role="customer") == "customer"  # the demo stays open to customers

    client.post("/api/customer/leave", headers=bearer(access))  # the customer ends: the room closes
    rooms: LiveRooms = client.app.state.live_rooms  # type: ignore[attr-defined]
    wait_until(lambda: rooms.get(room_id) is None)
    assert refusal(client, room_id, role="customer", token=access)[0] == 4404


def test_an_ended_customer_of_a_shared_room_is_refused_while_the_room_goes_on(
    client: TestClient, clock: ManualClock
) -> None:
    brand = new_brand(client, "Ottica Rossi", max_customers=3)
    anna = operator(client, brand, "anna")
    first, first_access = customer(client, brand, clock)
    accept(client, first, anna)
    second, second_access = customer(client, brand, clock)
    accept(client, second, anna)  # a seat in anna's room
    room_id = live_room_of(client, first_access)["id"]
    assert live_room_of(client, second_access)["id"] == room_id
    client.post(f"/api/sessions/{first}/end", headers=bearer(anna))
    code, message = refusal(client, room_id, role="customer", token=first_access)
    assert code == 4403 and "your consultation is ended" in message
    assert joins(client, room_id, role="customer", token=second_access) == "customer"
    # each customer keeps their own session: the ended one is rated, the other still chats
    assert (
        client.post("/api/customer/survey", json={"csat": 5}, headers=bearer(first_access)).status_code == 201
    )
    r = client.post("/api/customer/chat", json={"text": "ancora qui"}, headers=bearer(second_access))
    assert r.status_code == 201


# -- media -------------------------------------------------------------------------------------


def handshake(ws: WebSocketTestSession, join: dict[str, Any], sdp: str) -> str:
    ws.send_text(json.dumps({"type": "join"} | join))
    joined = ws.receive_json()
    assert joined["type"] == "joined", joined
    ws.send_text(json.dumps({"type": "offer", "sdp": sdp}))
    answer = ws.receive_json()
    assert answer["type"] == "answer", answer
    return str(answer["sdp"])


async def connect(person: Person, ws: WebSocketTestSession, join: dict[str, Any]) -> None:
    await person.pc.setLocalDescription(await person.pc.createOffer())
    answer = await asyncio.to_thread(handshake, ws, join, person.pc.localDescription.sdp)
    await person.pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))


class Watching(Person):
    """A customer's page: motion packets on the unordered channel, and what it hears."""

    def __init__(self) -> None:
        super().__init__("motion", hz=None)
        self.packets: list[bytes] = []
        self.channel.on("message", self.packets.append)


async def send_frames(operator: Person, n: int, start_ms: float = 0.0) -> None:
    # the operator's own channel may still be opening on a busy machine (its peer connected, the
    # customer's channel open): a send before then is refused
    await wait_open(operator.channel)
    for i in range(n):
        operator.channel.send(json.dumps(make_frame(RAISED, t_ms=start_ms + i * 33.3).to_json()))
        await asyncio.sleep(0.033)
    await asyncio.sleep(0.3)


async def until(check: Any, timeout_s: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached"
        await asyncio.sleep(0.05)


def test_a_shared_room_with_one_avatar_a_listening_supervisor_and_its_end(
    client: TestClient, clock: ManualClock
) -> None:
    brand = new_brand(client, "Ottica Rossi", max_customers=2)
    anna = operator(client, brand, "anna")
    boss = operator(client, brand, "boss", role="supervisor")
    first, first_access = customer(client, brand, clock)
    accept(client, first, anna)
    second, second_access = customer(client, brand, clock)
    accept(client, second, anna)
    room_id = live_room_of(client, first_access)["id"]
    client.post(f"/api/sessions/{second}/listen", headers=bearer(boss))
    rooms: LiveRooms = client.app.state.live_rooms  # type: ignore[attr-defined]

    async def scenario(sockets: list[WebSocketTestSession]) -> None:
        op_ws, c1_ws, c2_ws, boss_ws = sockets
        operator_peer = Person("landmarks", hz=440.0)
        watchers = [Watching(), Watching()]
        supervisor = Person("listen", hz=None)  # an audio line to hear on, a channel it never uses
        await connect(operator_peer, op_ws, {"role": "operator", "token": anna})
        await wait_open(operator_peer.channel)
        for watcher, ws, access in zip(watchers, (c1_ws, c2_ws), (first_access, second_access), strict=True):
            await connect(watcher, ws, {"role": "customer", "token": access})
            await wait_open(watcher.channel)
        await connect(supervisor, boss_ws, {"role": "listener", "token": boss})
        live = rooms.get(room_id)
        assert live is not None and set(live.customers) == {first, second}
        await send_frames(operator_peer, 20)
        for watcher in watchers:  # one avatar: the same operator's motion in both pages
            assert len(watcher.packets) >= 15
            assert decode(watcher.packets[-1]).pose.bones["rightUpperArm"][2] < -0.5
        await until(lambda: len(supervisor.heard) >= 50)  # the supervisor hears the operator's tone
        assert abs(supervisor.loudest_hz() - 440) < 30
        assert supervisor.pc.getTransceivers()[0].currentDirection == "recvonly"  # and says nothing

        # the first customer ends: only their part goes, the room and the others go on
        await asyncio.to_thread(client.post, "/api/customer/leave", headers=bearer(first_access))
        left = await asyncio.to_thread(c1_ws.receive_json)
        assert left == {"type": "left", "message": "your consultation has ended"}
        await until(lambda: set(live.customers) == {second})
        before = len(watchers[1].packets)
        await send_frames(operator_peer, 10, start_ms=2000)
        assert len(watchers[1].packets) - before >= 7

        # the operator ends the last consultation: peers closed, motion and voice stopped
        await asyncio.to_thread(client.post, f"/api/sessions/{second}/end", headers=bearer(anna))
        for ws, why in ((c2_ws, "your"), (op_ws, "the"), (boss_ws, "the")):
            message = await asyncio.to_thread(ws.receive_json)
            assert message == {"type": "left", "message": f"{why} consultation has ended"}
        assert rooms.get(room_id) is None
        assert live.operator is None and live.customers == {} and live.operator_audio.source is None
        heard = len(supervisor.heard)
        await asyncio.sleep(0.5)
        assert len(supervisor.heard) - heard <= 2  # the listener's voice stopped with the room
        for person in (operator_peer, *watchers, supervisor):
            await person.close()

    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(client.websocket_connect(f"/ws/rooms/{room_id}")) for _ in range(4)]
        asyncio.run(scenario(sockets))


def test_signing_out_stops_the_operators_media_in_the_room_and_the_consultation_goes_on(
    client: TestClient, clock: ManualClock
) -> None:
    brand = new_brand(client, "Ottica Rossi")
    anna = operator(client, brand, "anna")
    sid, access = customer(client, brand, clock)
    accept(client, sid, anna)
    room_id = live_room_of(client, access)["id"]
    rooms: LiveRooms = client.app.state.live_rooms  # type: ignore[attr-defined]

    async def scenario(op_ws: WebSocketTestSession, customer_ws: WebSocketTestSession) -> None:
        operator_peer = Person("landmarks", hz=440.0)
        watcher = Watching()
        await connect(operator_peer, op_ws, {"role": "operator", "token": anna})
        await wait_open(operator_peer.channel)
        await connect(watcher, customer_ws, {"role": "customer", "token": access})
        await wait_open(watcher.channel)
        live = rooms.get(room_id)
        assert live is not None
        await send_frames(operator_peer, 20)
        assert len(watcher.packets) >= 15  # the avatar moves while the operator is signed in
        await until(lambda: live.operator_audio.source is not None)  # and speaks with their voice

        r = await asyncio.to_thread(client.post, "/api/operators/me/logout", headers=bearer(anna))
        assert r.status_code == 204
        refusal = await asyncio.to_thread(op_ws.receive_json)
        assert refusal == {"type": "error", "message": "signed out", "code": 4401}
        # the server closed the operator's peer: camera, voice and motion stop at the server
        await until(lambda: live.operator is None)
        assert live.operator_audio.source is None  # this room has no fallback voice
        # and the page's end of it closed too: its landmarks have nowhere to go
        await until(lambda: operator_peer.channel.readyState == "closed", timeout_s=30)
        # the consultation and the customer's place in the room go on (a colleague may take over)
        assert rooms.get(room_id) is live and set(live.customers) == {sid}
        state = await asyncio.to_thread(client.get, "/api/customer/session", headers=bearer(access))
        assert state.json()["state"] == "connected"
        for person in (operator_peer, watcher):
            await person.close()

    with contextlib.ExitStack() as stack:
        op_ws, customer_ws = (
            stack.enter_context(client.websocket_connect(f"/ws/rooms/{room_id}")) for _ in range(2)
        )
        asyncio.run(scenario(op_ws, customer_ws))


def test_a_transfer_lets_the_customer_go_and_the_colleague_opens_a_new_room(
    client: TestClient, clock: ManualClock
) -> None:
    brand = new_brand(client, "Ottica Rossi")
    anna = operator(client, brand, "anna")
    clock.advance(1)
    bruno = operator(client, brand, "bruno")
    sid, access = customer(client, brand, clock)
    accept(client, sid, anna)
    first_room = live_room_of(client, access)["id"]
    with client.websocket_connect(f"/ws/rooms/{first_room}") as ws:
        ws.send_text(json.dumps({"type": "join", "role": "customer", "token": access}))
        assert ws.receive_json()["type"] == "joined"
        r = client.post(
            f"/api/sessions/{sid}/transfer", json={"to_operator": _id(client, bruno)}, headers=bearer(anna)
        )
        assert r.status_code == 200, r.text
        assert ws.receive_json() == {"type": "left", "message": "you are being transferred to a colleague"}
    assert client.get("/api/customer/session", headers=bearer(access)).json()["live_room"] is None
    accept(client, sid, bruno)
    second_room = live_room_of(client, access)["id"]
    assert second_room != first_room
    assert refusal(client, first_room, role="customer", token=access)[0] == 4404
    assert joins(client, second_room, role="operator", token=bruno) == "operator"
    code, _ = refusal(client, second_room, role="operator", token=anna)
    assert code == 4403  # the transferring operator is no longer this consultation's


def _id(client: TestClient, token: str) -> str:
    return str(client.get("/api/operators/me", headers=bearer(token)).json()["id"])


async def test_a_room_that_fails_to_close_does_not_keep_the_others_open(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from avatar_care.live.room import LiveRoom

    class Stuck(LiveRoom):
        async def close(self) -> None:
            raise RuntimeError("peer connection wedged")

    rooms = LiveRooms()
    rooms.rooms["stuck"] = Stuck("stuck")
    fine = rooms.open_care("fine")
    claim = rooms.claim("fine", "customer-session")
    await rooms.close()
    assert rooms.rooms == {} and fine.operator_audio.source is None
    assert claim.ended.is_set() and claim.reason == "the consultation has ended"
    assert "live room stuck did not close cleanly" in caplog.text

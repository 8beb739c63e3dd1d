"""Revocation reaches the sockets already open: signing out, disabling or deleting an account, or a
token that expires closes that token's queue and signaling sockets with 4401, and the operator's media
peer that socket set up; a colleague's stay open.

A real uvicorn server and real WebSocket clients; every wait is bounded, and none asserts a duration.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import websockets
from aiortc import RTCPeerConnection, RTCSessionDescription
from fastapi import FastAPI
from fastapi.testclient import TestClient
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from avatar_care.api.open_sockets import REVOKED
from avatar_care.app import create_app
from avatar_care.core.config import Settings
from avatar_care.live.ice import use_loopback_only
from rooms.clock import ManualClock
from rooms.desk import CareDesk
from tests.avatar_care.api.care_support import BrandSetup, bearer, join_token, new_brand, operator
from tests.avatar_care.api.serving import serving

#: An open socket checks its token again this often here (30 s by default).
RECHECK_S = 0.3
#: The most any socket is given to close (or to show it is still open): bounds, not timings.
BOUND_S = 20.0


@dataclass
class Served:
    app: FastAPI
    base: str
    brand: BrandSetup
    clock: ManualClock

    @property
    def ws(self) -> str:
        return self.base.replace("http://", "ws://")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    app = create_app(Settings(data_dir=tmp_path, queue_tick_s=3600, socket_recheck_s=RECHECK_S))
    clock = ManualClock()
    desk: CareDesk = app.state.desk
    desk.clock = clock
    brand = new_brand(TestClient(app), "Ottica Rossi")  # without the lifespan: the server runs it
    with serving(app) as base:
        yield Served(app, base, brand, clock)
    app.state.engine.dispose()


def sign_in(served: Served, login: str, role: str = "operator") -> str:
    return operator(TestClient(served.app), served.brand, login, role)


async def queue_socket(served: Served, who: str, token: str) -> ClientConnection:
    """A queue socket as the pages open it, once its first snapshot arrived."""
    ws = await websockets.connect(f"{served.ws}/ws/queue/{who}")
    await ws.send(json.dumps({"type": "auth", "token": token}))
    json.loads(await asyncio.wait_for(ws.recv(), BOUND_S))
    return ws


async def closed_with(ws: ClientConnection) -> tuple[int | None, str | None]:
    """Reads until the server closes the socket (within BOUND_S): its close code and reason."""

    async def until_closed() -> None:
        with contextlib.suppress(ConnectionClosed):  # a close code other than 1000 raises
            async for _ in ws:
                pass

    await asyncio.wait_for(until_closed(), BOUND_S)
    assert ws.close_code is not None
    return ws.close_code, ws.close_reason


async def still_open(ws: ClientConnection) -> bool:
    """The server still answers on this socket (a ping's pong), and has not closed it."""
    pong = await ws.ping()
    await asyncio.wait_for(pong, BOUND_S)
    return ws.close_code is None


async def http(served: Served, method: str, path: str, **kwargs: object) -> httpx.Response:
    async with httpx.AsyncClient(base_url=served.base, timeout=BOUND_S) as client:
        return await client.request(method, path, **kwargs)  # type: ignore[arg-type]


def test_signing_out_closes_that_tokens_open_socket_and_no_other(served: Served) -> None:
    first = sign_in(served, "anna")
    bruno = sign_in(served, "bruno")

    async def scenario() -> None:
        body = {"brand_id": served.brand.id, "login": "anna", "password": "correct horse battery"}
        second = (await http(served, "POST", "/api/operators/login", json=body)).json()["token"]
        mine = await queue_socket(served, "operator", first)
        elsewhere = await queue_socket(served, "operator", second)  # anna on another device
        colleague = await queue_socket(served, "operator", bruno)
        r = await http(served, "POST", "/api/operators/me/logout", headers=bearer(first))
        assert r.status_code == 204
        code, reason = await closed_with(mine)
        assert code == REVOKED and reason == "signed out"
        assert await still_open(elsewhere) and await still_open(colleague)
        for ws in (elsewhere, colleague):
            await ws.close()

    asyncio.run(scenario())


@pytest.mark.parametrize("how", ["disable", "delete"])
def test_disabling_or_deleting_an_account_closes_its_queue_and_live_room_sockets(
    served: Served, how: str
) -> None:
    anna = sign_in(served, "anna")
    bruno = sign_in(served, "bruno")

    async def scenario() -> None:
        joined = (
            await http(
                served, "POST", "/api/customer/join", json={"token": join_token(served.brand, served.clock)}
            )
        ).json()
        session_id = joined["session_id"]
        for token in (anna, bruno):  # whoever was offered the customer takes them
            offers = (await http(served, "GET", "/api/queue", headers=bearer(token))).json()["offers"]
            if session_id in offers:
                taker, other = (token, bruno if token == anna else anna)
                r = await http(served, "POST", f"/api/queue/{session_id}/accept", headers=bearer(token))
                assert r.status_code == 200, r.text
        room = (
            await http(served, "GET", "/api/customer/session", headers=bearer(joined["access_token"]))
        ).json()["live_room"]["id"]
        panel = await queue_socket(served, "operator", taker)
        colleague = await queue_socket(served, "operator", other)
        signaling = await websockets.connect(f"{served.ws}/ws/rooms/{room}")
        await signaling.send(json.dumps({"type": "join", "role": "operator", "token": taker}))
        assert json.loads(await asyncio.wait_for(signaling.recv(), BOUND_S))["type"] == "joined"
        # the operator's media: a real peer on loopback, answered by the room's
        console = RTCPeerConnection()
        console.createDataChannel("landmarks")
        await console.setLocalDescription(await console.createOffer())
        await signaling.send(json.dumps({"type": "offer", "sdp": console.localDescription.sdp}))
        answer = json.loads(await asyncio.wait_for(signaling.recv(), BOUND_S))
        assert answer["type"] == "answer", answer
        await console.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))
        live_room = served.app.state.live_rooms.get(room)
        server_peer = live_room.operator
        assert server_peer is not None

        admin = {"X-API-Key": served.brand.key}
        accounts = (await http(served, "GET", "/api/operators", headers=admin)).json()
        me = (await http(served, "GET", "/api/operators/me", headers=bearer(taker))).json()["id"]
        assert me in {a["id"] for a in accounts}
        if how == "disable":
            r = await http(
                served, "PUT", f"/api/operators/{me}/disabled", json={"disabled": True}, headers=admin
            )
            assert r.status_code == 200
            expected = "this account was disabled"
        else:
            r = await http(served, "DELETE", f"/api/operators/{me}", headers=admin)
            assert r.status_code == 204
            expected = "this account was deleted"
        assert await closed_with(panel) == (REVOKED, expected)
        refusal = json.loads(await asyncio.wait_for(signaling.recv(), BOUND_S))
        assert refusal == {"type": "error", "message": expected, "code": REVOKED}
        assert (await closed_with(signaling))[0] == REVOKED
        # and the media that socket set up stopped with it: the room's peer for the operator closed
        assert live_room.operator is None and server_peer.connectionState == "closed"
        assert await still_open(colleague)
        await colleague.close()
        await console.close()

    use_loopback_only()
    try:
        asyncio.run(scenario())
    finally:
        use_loopback_only(False)


def test_an_expired_token_closes_its_open_socket_at_the_next_check(served: Served) -> None:
    anna = sign_in(served, "anna")
    client = TestClient(served.app)
    anna_id = client.get("/api/operators/me", headers=bearer(anna)).json()["id"]
    issued = client.post(f"/api/operators/{anna_id}/tokens", headers=served.brand.admin).json()["token"]

    async def scenario() -> None:
        signed_in = await queue_socket(served, "operator", anna)  # a sign-in lasts 12 hours
        long_lived = await queue_socket(served, "operator", issued)  # an issued token 30 days
        served.clock.advance(12 * 3600 + 1)
        code, reason = await closed_with(signed_in)
        assert code == REVOKED and "expired" in (reason or "")
        assert await still_open(long_lived)
        await long_lived.close()

    asyncio.run(scenario())


def test_a_customers_queue_socket_closes_when_their_token_stops_working(served: Served) -> None:
    anna = sign_in(served, "anna")

    async def scenario() -> None:
        joined = (
            await http(
                served, "POST", "/api/customer/join", json={"token": join_token(served.brand, served.clock)}
            )
        ).json()
        customer = joined["access_token"]
        r = await http(served, "POST", f"/api/queue/{joined['session_id']}/accept", headers=bearer(anna))
        assert r.status_code == 200
        ws = await queue_socket(served, "customer", customer)
        assert (
            await http(served, "POST", "/api/customer/leave", headers=bearer(customer))
        ).status_code == 200
        # the closing screen (survey) still reads the session for an hour: the socket stays
        ended = json.loads(await asyncio.wait_for(ws.recv(), BOUND_S))
        assert ended["state"] == "ended" and await still_open(ws)
        served.clock.advance(3600 + 1)
        code, _reason = await closed_with(ws)
        assert code == REVOKED

    asyncio.run(scenario())

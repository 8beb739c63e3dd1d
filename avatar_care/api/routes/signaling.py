"""Signaling for the live rooms: one WebSocket per participant carries the WebRTC offer and answer.

Messages are JSON with a schema. The first must be ``join``, saying who you are: in a
consultation's room a customer brings their session access token, an operator or a supervisor
(role ``listener``, ``whisperer`` or ``barger``, ``avatar_care.live.roles``) their bearer token
(``avatar_care.api.room_access``); in the demo
room a customer joins without one and the operator brings the room's operator key. Then
``offer``; the server answers ``answer``. The ``joined`` message carries ``ice``, the page's
``RTCConfiguration`` (ICE servers with TURN credentials minted for this participant, and the
transport policy; avatar_care/live/ice.py). A page that lost its connection joins again the same
way and offers a new peer: the room replaces the participant's previous one, in the same session. Anything malformed, oversized, out of order or from the
wrong role gets ``{"type": "error", "message": ...}`` and is logged; a refused join also closes
the socket (4401 unknown token, 4403 not allowed, 4404 no such room); a binary frame gets the error
and closes it with 1003, and the tenth malformed message in a row with 1008. When a participant's part
ends (their consultation ended, or they joined again elsewhere) the server sends
``{"type": "left", "message": ...}`` and closes the socket normally. When an operator's or
supervisor's token is revoked or expires, or their account is disabled or deleted, while the socket
is open, the server sends the error with ``code`` 4401 and closes the socket with 4401
(``avatar_care.api.open_sockets``); the media that socket set up stops with it (the operator's
peer, a listener's peer).

With room workers (PostgreSQL, ``avatar-care serve --workers N``; docs/scale.md) a consultation's
room runs on a worker: this route, in the API process, relays the socket's messages to that
worker's own copy of this route (``avatar_care.workers.proxy``), which admits and answers as above.
When the worker dies the socket closes with 1012 and the page joins again; when no worker can take
the room it gets an error without a refusal's code, with ``retry_ms``, and a close with 1013, and
tries again that much later.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable
from typing import Annotated, Literal

from aiortc import RTCPeerConnection
from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from avatar_care.api.input_policy import HostileInput, parse_json
from avatar_care.api.open_sockets import REVOKED, Held, OpenSockets
from avatar_care.api.room_access import NO_SUCH_ROOM, NOT_ALLOWED, Admission, Refusal, admit
from avatar_care.api.supervision import audited
from avatar_care.live.ice import IceConfig
from avatar_care.live.registry import Claim, LiveRooms
from avatar_care.live.roles import ROLES, Role
from avatar_care.live.room import LiveRoom, RoomError
from avatar_care.workers.placement import Placement
from avatar_care.workers.proxy import relay
from rooms.desk import CareDesk
from rooms.operators import operator_for_token

logger = logging.getLogger(__name__)
router = APIRouter(tags=["live"])
MAX_MESSAGE = 64 * 1024
#: Close codes besides the refusals': a binary frame (the protocol is JSON text) closes with 1003;
#: MAX_MALFORMED malformed messages in a row close with 1008 (each one before gets its error).
UNSUPPORTED_DATA = 1003
POLICY_VIOLATION = 1008
MAX_MALFORMED = 10


class Join(BaseModel):
    type: Literal["join"]
    role: Role
    #: a customer's session access token, or an operator's (or supervisor's) bearer token
    token: str | None = Field(default=None, max_length=500)
    #: the demo room's operator key
    operator_key: str | None = None


class Offer(BaseModel):
    type: Literal["offer"]
    sdp: str = Field(max_length=MAX_MESSAGE)


Message = TypeAdapter(Annotated[Join | Offer, Field(discriminator="type")])


@router.websocket("/ws/rooms/{room_id}")
async def signaling(websocket: WebSocket, room_id: str) -> None:
    rooms: LiveRooms = websocket.app.state.live_rooms
    desk: CareDesk = websocket.app.state.desk
    ice: IceConfig = websocket.app.state.ice
    sockets: OpenSockets = websocket.app.state.open_sockets
    await websocket.accept()
    keyed = rooms.is_keyed(room_id)
    if not keyed and await asyncio.to_thread(desk.live_room, room_id) is None:
        await _refuse(websocket, room_id, Refusal(NO_SUCH_ROOM, f"no live room {room_id}"))
        return
    placement: Placement | None = websocket.app.state.placement
    if placement is not None and not keyed:
        # the room runs on a room worker: this process relays (the worker admits, with this code)
        await relay(websocket, room_id, placement, MAX_MESSAGE * 2)
        return
    admission: Admission | None = None
    room: LiveRoom | None = None
    claim: Claim | None = None
    held: Held | None = None  # an operator's or supervisor's token, watched while the socket is open
    operator_peer: RTCPeerConnection | None = None  # the operator's peer this socket's offer made
    malformed = 0  # malformed messages in a row
    async with contextlib.AsyncExitStack() as stack:
        try:
            while True:
                try:
                    raw = await _next_message(
                        websocket, *(e for e in (claim and claim.ended, held and held.ended) if e)
                    )
                except BinaryFrame:
                    await _error(websocket, "binary frames are not part of this protocol: send JSON text")
                    await websocket.close(code=UNSUPPORTED_DATA)
                    return
                if raw is None and held is not None and held.ended.is_set():
                    # the token was revoked or expired, or the account disabled or deleted: the
                    # media this socket set up stops too, not only the socket (a listener's peer
                    # closes as the claim is let go, below)
                    if room is not None and operator_peer is not None:
                        await room.operator_left(operator_peer)
                    await _refuse(websocket, room_id, Refusal(REVOKED, held.reason))
                    return
                if raw is None:
                    assert claim is not None
                    await websocket.send_json({"type": "left", "message": claim.reason})
                    await websocket.close()
                    return
                try:
                    message = parse_message(raw)
                except Malformed as exc:
                    malformed += 1
                    await _error(websocket, str(exc))
                    if malformed >= MAX_MALFORMED:
                        await websocket.close(code=POLICY_VIOLATION)
                        return
                    continue
                malformed = 0
                if isinstance(message, Join):
                    if admission is not None:
                        await _error(websocket, "already joined")
                        continue
                    try:
                        if keyed:
                            admission = _admit_keyed(rooms, room_id, message)
                        else:
                            admission = await asyncio.to_thread(
                                admit, desk, room_id, message.role, message.token
                            )
                    except Refusal as refusal:
                        await _refuse(websocket, room_id, refusal)
                        return
                    if keyed:
                        room = rooms.get(room_id)
                    else:
                        rooms.follow(desk)
                        room = rooms.open_care(room_id)
                    claim = rooms.claim(room_id, admission.participant)
                    if ROLES[admission.role].admission != "session" and message.token:
                        held = await stack.enter_async_context(
                            sockets.hold(
                                message.token, admission.participant, _still_valid(desk, message.token)
                            )
                        )
                    try:  # a supervisor's start and end go to the brand's audit log
                        await stack.enter_async_context(audited(desk, room_id, admission))
                    except Refusal as refusal:
                        await _refuse(websocket, room_id, refusal)
                        return
                    logger.info("room %s: a %s joined", room_id, admission.role)
                    joined = {"type": "joined", "role": admission.role, "room": room_id}
                    await websocket.send_json(joined | {"ice": ice.for_page(admission.participant)})
                else:
                    if admission is None or room is None:
                        await _error(websocket, "join first, then send the offer")
                        continue
                    try:
                        answer = await _offer(room, admission, message.sdp)
                    except RoomError as exc:
                        await _error(websocket, str(exc))
                        continue
                    except Exception:  # the WebRTC stack failed on this offer: this peer only, not the room
                        logger.exception("room %s: the %s's offer failed", room_id, admission.role)
                        await _error(websocket, "the room could not take this offer; send a new one")
                        continue
                    if admission.role == "operator":
                        operator_peer = room.operator
                    await websocket.send_json({"type": "answer", "sdp": answer})
        except WebSocketDisconnect:
            pass
        finally:
            # (released whatever the role; the room keeps its operator's peer for the next socket)
            released = claim is not None and rooms.release(claim)
            if released and room is not None and admission is not None and admission.role != "operator":
                await room.left(admission.role, admission.participant)


def _still_valid(desk: CareDesk, token: str) -> Callable[[], bool]:
    """Whether an operator's or supervisor's token still works (checked again while the socket is open)."""

    def check() -> bool:
        with desk.sessions() as db:
            return operator_for_token(db, token, desk.clock.now()) is not None

    return check


def _admit_keyed(rooms: LiveRooms, room_id: str, join: Join) -> Admission:
    """The demo room: customers join freely (each connection a new one), its operator by key."""
    if join.role == "customer":
        return Admission("customer", secrets.token_hex(6))
    if ROLES[join.role].supervises:
        raise Refusal(NOT_ALLOWED, "supervising is for consultations' rooms")
    if not rooms.operator_may_enter(room_id, join.operator_key):
        raise Refusal(NOT_ALLOWED, "this room's operator key is needed to join as its operator")
    return Admission("operator", "operator")


async def _offer(room: LiveRoom, admission: Admission, sdp: str) -> str:
    return await room.offer(admission.role, admission.participant, sdp)


class BinaryFrame(Exception):
    """The page sent a binary frame; the protocol is JSON text."""


async def _receive_text(websocket: WebSocket) -> str:
    message = await websocket.receive()
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000))
    text = message.get("text")
    if not isinstance(text, str):
        raise BinaryFrame
    return text


async def _next_message(websocket: WebSocket, *ends: asyncio.Event) -> str | None:
    """The next text from the page, or None once one of ``ends`` is set (the participant's part in
    the room ended, or their token stopped working)."""
    receive = asyncio.ensure_future(_receive_text(websocket))
    waits = {asyncio.ensure_future(e.wait()) for e in ends}
    done, _ = await asyncio.wait({receive, *waits}, return_when=asyncio.FIRST_COMPLETED)
    for wait in waits:
        wait.cancel()
    if receive in done:
        return receive.result()
    receive.cancel()
    with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect):
        await receive
    return None


class Malformed(ValueError):
    """A message the protocol does not take; the text is what the page is told."""


def parse_message(raw: str) -> Join | Offer:
    """One message from the page, checked: too large, not JSON under the input policy, or not a
    message of the protocol raises :class:`Malformed` with the reason; nothing else is raised."""
    if len(raw) > MAX_MESSAGE:
        raise Malformed(f"message too large: {len(raw)} characters, at most {MAX_MESSAGE}")
    try:
        message: Join | Offer = Message.validate_python(parse_json(raw, "message"))
    except HostileInput as exc:
        raise Malformed(f"malformed message: {exc}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "message"
        raise Malformed(f"malformed message: {where}: {_printable(first['msg'])}") from None
    return message


def _printable(text: str) -> str:
    return text.encode("utf-8", "replace").decode("utf-8")


async def _refuse(websocket: WebSocket, room_id: str, refusal: Refusal) -> None:
    logger.warning("signaling: room %s refused (%d): %s", room_id, refusal.code, refusal.message)
    await websocket.send_json({"type": "error", "message": refusal.message, "code": refusal.code})
    await websocket.close(code=refusal.code)


async def _error(websocket: WebSocket, message: str) -> None:
    logger.warning("signaling: %s", message)
    await websocket.send_json({"type": "error", "message": message})

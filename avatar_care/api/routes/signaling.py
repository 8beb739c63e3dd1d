"""Signaling for the live rooms: one WebSocket per participant carries the WebRTC offer and answer.

Messages are JSON with a schema. The first must be ``join`` (role ``customer`` or ``operator``; an
operator brings the room's operator key), then ``offer``; the server answers ``answer``. Anything
malformed, oversized, out of order or from the wrong role gets ``{"type": "error", "message": ...}``
and is logged; a refused join closes the socket.
"""

from __future__ import annotations

import logging
import secrets
from typing import Annotated, Literal

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from avatar_care.live.registry import LiveRooms
from avatar_care.live.room import RoomError

logger = logging.getLogger(__name__)
router = APIRouter(tags=["live"])
MAX_MESSAGE = 64 * 1024


class Join(BaseModel):
    type: Literal["join"]
    role: Literal["customer", "operator"]
    operator_key: str | None = None


class Offer(BaseModel):
    type: Literal["offer"]
    sdp: str = Field(max_length=MAX_MESSAGE)


Message = TypeAdapter(Annotated[Join | Offer, Field(discriminator="type")])


@router.websocket("/ws/rooms/{room_id}")
async def signaling(websocket: WebSocket, room_id: str) -> None:
    rooms: LiveRooms = websocket.app.state.live_rooms
    await websocket.accept()
    room = rooms.get(room_id)
    if room is None:
        await websocket.send_json({"type": "error", "message": f"no live room {room_id}"})
        await websocket.close(code=4404)
        return
    role: str | None = None
    customer_id = secrets.token_hex(6)
    try:
        while True:
            raw = await websocket.receive_text()
            if len(raw) > MAX_MESSAGE:
                await _error(websocket, f"message too large: {len(raw)} bytes, at most {MAX_MESSAGE}")
                continue
            try:
                message = Message.validate_json(raw)
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first["loc"]) or "message"
                await _error(websocket, f"malformed message: {where}: {first['msg']}")
                continue
            if isinstance(message, Join):
                if role is not None:
                    await _error(websocket, "already joined")
                    continue
                if message.role == "operator" and not rooms.operator_may_enter(room_id, message.operator_key):
                    await _error(websocket, "this room's operator key is needed to join as its operator")
                    await websocket.close(code=4403)
                    return
                role = message.role
                await websocket.send_json({"type": "joined", "role": role, "room": room_id})
            else:
                if role is None:
                    await _error(websocket, "join first, then send the offer")
                    continue
                try:
                    if role == "operator":
                        answer = await room.operator_offer(message.sdp)
                    else:
                        answer = await room.customer_offer(customer_id, message.sdp)
                except RoomError as exc:
                    await _error(websocket, str(exc))
                    continue
                await websocket.send_json({"type": "answer", "sdp": answer})
    except WebSocketDisconnect:
        pass
    finally:
        if role == "customer":
            await room.customer_left(customer_id)


async def _error(websocket: WebSocket, message: str) -> None:
    logger.warning("signaling: %s", message)
    await websocket.send_json({"type": "error", "message": message})

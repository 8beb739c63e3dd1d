"""A live room's peers: the operator's connection in, the customers' connections out.

One aiortc peer connection per participant. The operator's browser opens a data channel named
``landmarks`` and sends tracking frames on it; each customer's browser opens one named ``motion``
(unordered, no retransmission: every packet carries the whole pose, so a lost one costs nothing,
and SCTP's retransmission delay of a second or more would stall the motion), on which the room
sends motion packets. Signaling (offers and answers) reaches this class from the WebSocket layer.
"""

from __future__ import annotations

import asyncio
import logging

from aiortc import RTCConfiguration, RTCDataChannel, RTCPeerConnection, RTCSessionDescription

from avatar_care.live.motion_hub import MotionHub

logger = logging.getLogger(__name__)


class RoomError(ValueError):
    """A signaling step the room refuses; the message says why."""


class LiveRoom:
    def __init__(self, room_id: str, config: RTCConfiguration | None = None) -> None:
        self.room_id = room_id
        self.hub = MotionHub(room_id)
        self._config = config or RTCConfiguration(iceServers=[])
        self.operator: RTCPeerConnection | None = None
        self.customers: dict[str, RTCPeerConnection] = {}

    async def operator_offer(self, sdp: str) -> str:
        """The operator (re)connects: a new connection replaces any previous one."""
        if self.operator is not None:
            old, self.operator = self.operator, None
            await old.close()
        pc = RTCPeerConnection(self._config)
        self.operator = pc
        self.hub.operator_reconnected()

        @pc.on("datachannel")
        def on_channel(channel: RTCDataChannel) -> None:
            if channel.label != "landmarks":
                logger.warning("room %s: operator opened an unknown channel %r", self.room_id, channel.label)
                return
            channel.on("message", self.hub.on_frame)

        return await self._answer(pc, sdp)

    async def customer_offer(self, customer_id: str, sdp: str) -> str:
        if customer_id in self.customers:
            await self.customer_left(customer_id)
        pc = RTCPeerConnection(self._config)
        self.customers[customer_id] = pc

        @pc.on("datachannel")
        def on_channel(channel: RTCDataChannel) -> None:
            if channel.label != "motion":
                logger.warning(
                    "room %s: customer %s opened an unknown channel %r",
                    self.room_id,
                    customer_id,
                    channel.label,
                )
                return
            if channel.ordered or channel.maxRetransmits != 0:
                logger.info(
                    "room %s: customer %s's motion channel is reliable or ordered; motion may stall",
                    self.room_id,
                    customer_id,
                )
            self.hub.add_customer(customer_id, channel.send)

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            if pc.connectionState in ("failed", "closed"):
                await self.customer_left(customer_id)

        return await self._answer(pc, sdp)

    async def customer_left(self, customer_id: str) -> None:
        self.hub.remove_customer(customer_id)
        pc = self.customers.pop(customer_id, None)
        if pc is not None:
            await pc.close()

    async def close(self) -> None:
        for customer_id in list(self.customers):
            await self.customer_left(customer_id)
        if self.operator is not None:
            await self.operator.close()
            self.operator = None

    async def _answer(self, pc: RTCPeerConnection, sdp: str) -> str:
        if not sdp.startswith("v=0") or "m=application" not in sdp:
            await pc.close()
            raise RoomError("not a usable SDP offer: it must offer a data channel (m=application)")
        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        except (ValueError, AttributeError) as exc:
            await pc.close()
            raise RoomError(f"not a usable SDP offer: {exc}") from None
        await pc.setLocalDescription(await pc.createAnswer())
        # aiortc gathers every candidate before setLocalDescription returns: the answer is complete.
        description = pc.localDescription
        return str(description.sdp)


async def wait_open(channel: RTCDataChannel, timeout: float = 10.0) -> None:
    """Until ``channel`` is open (for peers that opened it themselves)."""
    if channel.readyState == "open":
        return
    opened = asyncio.Event()
    channel.on("open", opened.set)
    await asyncio.wait_for(opened.wait(), timeout)

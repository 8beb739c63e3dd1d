"""The live rooms of this process, by id: the demo's (entered with an operator key) and the
consultations' (opened at the first signaling join, closed when the desk says the last customer
left; admission by token is ``avatar_care.api.room_access``).

Each admitted participant holds a :class:`Claim`; it ends when their part in the room ends (their
session ended, the room closed, or they joined again from another connection), and the signaling
socket that holds it then closes.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass, field

from avatar_care.live.ice import IceConfig
from avatar_care.live.recordings import RoomRecordings
from avatar_care.live.room import LiveRoom
from rooms.desk import CareDesk
from rooms.seating import SeatFreed

logger = logging.getLogger(__name__)


@dataclass(eq=False)
class Claim:
    room_id: str
    participant: str
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    reason: str = ""

    def end(self, reason: str) -> None:
        if not self.ended.is_set():  # the first reason is the participant's own
            self.reason = reason
            self.ended.set()


class LiveRooms:
    def __init__(self, ice: IceConfig | None = None) -> None:
        self.ice = ice or IceConfig()
        self.rooms: dict[str, LiveRoom] = {}
        self.operator_keys: dict[str, str] = {}
        self._claims: dict[tuple[str, str], Claim] = {}
        self._desk: CareDesk | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        #: the consultations' recorders (set by the server; none: nothing is recorded)
        self.recordings: RoomRecordings | None = None

    def open(self, room_id: str) -> tuple[LiveRoom, str]:
        """Open a room entered with a key (the demo's); returns it and the key its operator needs."""
        room = self.rooms.get(room_id)
        if room is None:
            room = self.rooms[room_id] = LiveRoom(room_id, self.ice)
            self.operator_keys[room_id] = secrets.token_urlsafe(16)
        return room, self.operator_keys[room_id]

    def is_keyed(self, room_id: str) -> bool:
        return room_id in self.operator_keys

    def open_care(self, room_id: str) -> LiveRoom:
        """A consultation's room, opened at the first join (the desk has already admitted it)."""
        room = self.rooms.get(room_id)
        if room is None:
            room = self.rooms[room_id] = LiveRoom(room_id, self.ice)
            logger.info("live room %s opened", room_id)
        if self.recordings is not None:  # at each join: a consent may have come meanwhile
            self._track(asyncio.create_task(self.recordings.ensure(room)))
        return room

    def get(self, room_id: str) -> LiveRoom | None:
        return self.rooms.get(room_id)

    def operator_may_enter(self, room_id: str, key: str | None) -> bool:
        expected = self.operator_keys.get(room_id)
        return expected is not None and key is not None and secrets.compare_digest(expected, key)

    # -- participants ------------------------------------------------------------------------
    def claim(self, room_id: str, participant: str) -> Claim:
        """``participant`` is in the room on this connection; an earlier connection of theirs ends."""
        previous = self._claims.get((room_id, participant))
        if previous is not None:
            previous.end("joined again from another connection")
        claim = self._claims[(room_id, participant)] = Claim(room_id, participant)
        return claim

    def release(self, claim: Claim) -> bool:
        """The connection is gone; True when it was still the participant's current one."""
        if self._claims.get((claim.room_id, claim.participant)) is claim:
            del self._claims[(claim.room_id, claim.participant)]
            return True
        return False

    def _end_claims(self, room_id: str, reason: str, participant: str | None = None) -> None:
        for (rid, who), claim in list(self._claims.items()):
            if rid == room_id and (participant is None or who == participant):
                claim.end(reason)

    # -- following the care desk -------------------------------------------------------------
    def follow(self, desk: CareDesk) -> None:
        """Let customers go when the desk frees their seat (called on the event loop, idempotent)."""
        if self._desk is desk:
            return
        self._desk = desk
        self._loop = asyncio.get_running_loop()
        desk.seat_listeners.append(self._seat_freed)

    def _seat_freed(self, event: SeatFreed) -> None:
        # The desk calls from the routes' worker threads: hand over to the event loop.
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._spawn, event)

    def _spawn(self, event: SeatFreed) -> None:
        self._track(asyncio.create_task(self.let_go(event)))

    def _track(self, task: asyncio.Task[None]) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def let_go(self, event: SeatFreed) -> None:
        """A customer left the consultation: their peer closes; the room too if nobody is left."""
        why = (
            "you are being transferred to a colleague" if event.transferred else "your consultation has ended"
        )
        self._end_claims(event.room_id, why, event.session_id)
        if self.recordings is not None:
            await self.recordings.stop(event.session_id)
        if event.room_closed:
            await self.close_room(event.room_id)
            return
        room = self.rooms.get(event.room_id)
        if room is not None:
            await room.customer_left(event.session_id)

    async def close_room(self, room_id: str) -> None:
        room = self.rooms.pop(room_id, None)
        self._end_claims(room_id, "the consultation has ended")
        if self.recordings is not None:
            await self.recordings.room_closed(room_id)
        if room is not None:
            try:
                await room.close()
            except Exception:  # one room's failure to close must not stop the others
                logger.exception("live room %s did not close cleanly", room_id)
            logger.info("live room %s closed", room_id)

    async def close(self) -> None:
        for room_id in list(self.rooms):
            await self.close_room(room_id)
        self.operator_keys.clear()

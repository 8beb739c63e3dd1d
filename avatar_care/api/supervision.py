"""The audit of a supervisor's time in a live room: its start when they join in a supervising role
(``avatar_care.live.roles``), its end when their part ends, however it ends (they left, their
socket dropped, their token was revoked, the consultation ended). Recorded by ``rooms.supervision``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from avatar_care.api.room_access import NO_SUCH_ROOM, Admission, Refusal
from avatar_care.live.roles import ROLES
from rooms.desk import CareDesk
from rooms.supervision import Presence, began, ended

logger = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def audited(desk: CareDesk, room_id: str, admission: Admission) -> AsyncIterator[None]:
    """Around a participant's time in the room: a supervisor's start and end are recorded (other
    roles pass through). A start that cannot be recorded (the consultation ended meanwhile) is a
    :class:`Refusal`: nobody supervises unrecorded."""
    spec = ROLES[admission.role]
    if not spec.supervises:
        yield
        return
    try:
        presence = await asyncio.to_thread(_began, desk, room_id, admission)
    except LookupError:
        raise Refusal(NO_SUCH_ROOM, f"no live room {room_id}") from None
    try:
        yield
    finally:
        # shielded: a cancelled socket task still records the end
        await asyncio.shield(asyncio.to_thread(_ended, desk, presence))


def _began(desk: CareDesk, room_id: str, admission: Admission) -> Presence:
    info = desk.live_room(room_id)
    sessions = info.sessions if info is not None else ()
    rule = ROLES[admission.role].customer_told
    with desk.sessions() as db:
        presence = began(db, sessions, admission.participant, admission.role, rule, desk.clock.now())
        db.commit()
    desk.tell(presence.brand_id)  # the customer's page learns of it at once (when told)
    return presence


def _ended(desk: CareDesk, presence: Presence) -> None:
    try:
        with desk.sessions() as db:
            ended(db, presence, desk.clock.now())
            db.commit()
    except Exception:  # the room is gone, the database too busy: say so, the socket still closes
        logger.exception(
            "the end of supervisor %s's %s was not recorded", presence.supervisor_id, presence.mode
        )
        return
    desk.tell(presence.brand_id)

"""Who may join a consultation's live room, and as what (the signaling ``join``).

- customer: their session access token; only while the session is connected, only its own room;
- operator: their bearer token; only the operator connected to the room's consultations;
- listener, whisperer, barger: a supervisor's bearer token, of the room's brand, who asked for
  that mode first (``POST /api/sessions/{id}/listen``, ``/whisper``, ``/barge``, recorded as the
  role's grant event, ``avatar_care.live.roles``), so nobody listens, whispers or barges unrecorded.
Refusals carry the WebSocket close code: 4401 unknown token, 4403 not allowed, 4404 no such room.
"""

from __future__ import annotations

from dataclasses import dataclass

from avatar_care.live.roles import ROLES, Role
from rooms.desk import CareDesk
from rooms.operators import operator_for_token

UNKNOWN_TOKEN = 4401
NOT_ALLOWED = 4403
NO_SUCH_ROOM = 4404


class Refusal(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Admission:
    role: Role
    #: the participant's id in the room: the session id of a customer, the account id otherwise
    participant: str


def admit(desk: CareDesk, room_id: str, role: Role, token: str | None) -> Admission:
    """Blocking (it reads the database): run it in a worker thread."""
    info = desk.live_room(room_id)
    if info is None:
        raise Refusal(NO_SUCH_ROOM, f"no live room {room_id}")
    if not token:
        raise Refusal(UNKNOWN_TOKEN, f"joining as {role} needs a token")
    spec = ROLES[role]
    if spec.admission == "session":
        cs = desk.session_for_access(token)
        if cs is None:
            raise Refusal(UNKNOWN_TOKEN, "unknown session token")
        if cs.state != "connected":
            raise Refusal(
                NOT_ALLOWED, f"your consultation is {cs.state}; its live room is open while connected"
            )
        if cs.id not in info.sessions:
            raise Refusal(NOT_ALLOWED, "this live room is not your consultation's")
        return Admission(role, cs.id)
    with desk.sessions() as db:
        account = operator_for_token(db, token, desk.clock.now())
        if account is None:
            raise Refusal(UNKNOWN_TOKEN, "unknown or expired operator token")
        account_id, brand_id, account_role = account.id, account.brand_id, account.role
    if brand_id != info.brand_id:
        raise Refusal(NOT_ALLOWED, "this live room belongs to another brand")
    if spec.admission == "room_operator":
        if account_id != info.operator_id:
            raise Refusal(
                NOT_ALLOWED, "only the operator connected to this consultation joins as its operator"
            )
        return Admission(role, account_id)
    if account_role != "supervisor":
        raise Refusal(NOT_ALLOWED, f"joining as {role} is for supervisors")
    assert spec.grant_event is not None and spec.verb is not None
    if not desk.supervision_granted(account_id, info.sessions, spec.grant_event):
        raise Refusal(NOT_ALLOWED, f"ask to {spec.verb} first: POST /api/sessions/{{session_id}}/{spec.verb}")
    return Admission(role, account_id)

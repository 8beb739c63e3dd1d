"""Recordings of consultations (``rooms.recordings``): the customer's consent, the operator's pause
and resume, and the brand admin's list, files and playback data.

The files are served to the brand's administrators only (a person with the admin role, or the API
key); another brand's recording is 404 as if it did not exist."""

from __future__ import annotations

import json
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from avatar_care.api.deps import CurrentBrandAdmin, CurrentCustomer, CurrentOperator, DeskDep, SessionDep
from avatar_care.live.recordings import RoomRecordings
from avatar_care.live.registry import LiveRooms
from rooms import recordings
from rooms.avatars import template_avatar_url
from rooms.clock import as_utc
from rooms.errors import Conflict, Forbidden, NotFound
from rooms.models import CareSession, OperatorAccount, Recording, SessionEvent

router = APIRouter(prefix="/api", tags=["recordings"])

SessionIdPath = Annotated[str, Path(min_length=1, max_length=32, pattern="^[A-Za-z0-9_-]+$")]
RecordingIdPath = Annotated[str, Path(min_length=1, max_length=32, pattern="^[A-Za-z0-9_-]+$")]
_MEDIA_TYPES = {
    "operator.ogg": "audio/ogg",
    "customer.ogg": "audio/ogg",
    "motion.bin": "application/octet-stream",
    "chat.jsonl": "application/x-ndjson",
}


class ConsentIn(BaseModel):
    given: bool = Field(description="true: the customer agrees to be recorded; false: declines")


def _live(request: Request) -> tuple[LiveRooms, RoomRecordings | None]:
    rooms: LiveRooms = request.app.state.live_rooms
    return rooms, rooms.recordings


def _root(request: Request) -> FilePath:
    root: FilePath = request.app.state.settings.data_dir / "recordings"
    return root


@router.post("/customer/recording-consent")
async def consent(body: ConsentIn, cs: CurrentCustomer, desk: DeskDep, request: Request) -> dict[str, object]:
    """The customer's answer where the room asks (409 where it does not, or once ended). A consent
    withdrawn stops the recording at once; what was recorded before stays (it was consented to)."""

    def answer() -> tuple[recordings.RecordingState, str | None]:
        with desk.sessions() as db:
            state = recordings.answer_consent(db, cs.id, body.given, desk.clock.now())
            fresh = db.get(CareSession, cs.id)
            return state, fresh.live_room_id if fresh is not None else None

    state, room_id = await run_in_threadpool(answer)
    rooms, recorder = _live(request)
    if recorder is not None:
        room = rooms.get(room_id) if room_id else None
        await recorder.consent_changed(cs.id, room, state.allowed)
    desk.tell(cs.brand_id, frozenset({cs.id}))  # the operator's panel shows the answer
    return state.view()


async def _pause(
    session_id: str, paused: bool, operator: OperatorAccount, desk: DeskDep, request: Request
) -> dict[str, object]:
    def store() -> None:
        with desk.sessions() as db:
            cs = desk.get_session(db, operator.brand_id, session_id)
            if cs.operator_id != operator.id:
                raise Forbidden(f"session {cs.id} is not yours")
            view = recordings.recording_view(db, cs)
            if not view["recording"]:
                raise Conflict("this consultation is not being recorded")
            if view["paused"] != paused:  # the choice is stored: the room's process follows it
                kind = "recording_paused" if paused else "recording_resumed"
                db.add(SessionEvent(session_id=cs.id, kind=kind, detail={}, at=desk.clock.now()))
                db.commit()

    await run_in_threadpool(store)
    _rooms, recorder = _live(request)
    if recorder is not None:  # where this process runs the room, at once
        await recorder.pause(session_id, paused)
    # every process is told; the one running the room (a worker) pauses or resumes there
    desk.tell(operator.brand_id, frozenset({session_id}))
    return {"paused": paused}


@router.post("/sessions/{session_id}/recording/pause")
async def pause(
    session_id: SessionIdPath, operator: CurrentOperator, desk: DeskDep, request: Request
) -> dict[str, object]:
    """The operator pauses the recording (a customer about to give card details); 409 when none runs."""
    return await _pause(session_id, True, operator, desk, request)


@router.post("/sessions/{session_id}/recording/resume")
async def resume(
    session_id: SessionIdPath, operator: CurrentOperator, desk: DeskDep, request: Request
) -> dict[str, object]:
    """The operator resumes a paused recording; 409 when none runs."""
    return await _pause(session_id, False, operator, desk, request)


def _out(rec: Recording) -> dict[str, Any]:
    return {
        "id": rec.id,
        "session_id": rec.session_id,
        "started_at": as_utc(rec.started_at).isoformat(),
        "ended_at": as_utc(rec.ended_at).isoformat() if rec.ended_at else None,
        "duration_s": rec.duration_s,
        "size_bytes": rec.size_bytes,
        "motion_packets": rec.motion_packets,
        "files": {name: f"/api/recordings/{rec.id}/files/{name}" for name in recordings.RECORDING_FILES},
    }


@router.get("/recordings")
def list_recordings(
    brand: CurrentBrandAdmin,
    db: SessionDep,
    session_id: Annotated[str | None, Query(max_length=32, pattern="^[A-Za-z0-9_-]+$")] = None,
) -> list[dict[str, Any]]:
    """The brand's recordings, oldest first (of one consultation with ``session_id``)."""
    return [_out(r) for r in recordings.brand_recordings(db, brand.id, session_id)]


@router.get("/recordings/{recording_id}")
def read_recording(
    recording_id: RecordingIdPath, brand: CurrentBrandAdmin, db: SessionDep, request: Request
) -> dict[str, Any]:
    """A recording's details, its chat, and the avatar of its room (for the playback page)."""
    rec = recordings.get_recording(db, brand.id, recording_id)
    chat_file = recordings.folder(_root(request), rec) / "chat.jsonl"
    chat = []
    if chat_file.is_file():
        chat = [
            json.loads(line) for line in chat_file.read_text(encoding="utf-8").splitlines() if line.strip()
        ]
    cs = db.get(CareSession, rec.session_id)
    avatar_url = template_avatar_url(db, cs.template_id) if cs is not None else None
    return _out(rec) | {"chat": chat, "avatar_url": avatar_url}


@router.get("/recordings/{recording_id}/files/{name}")
def recording_file(
    recording_id: RecordingIdPath,
    name: Annotated[str, Path(max_length=20)],
    brand: CurrentBrandAdmin,
    db: SessionDep,
    request: Request,
) -> FileResponse:
    """One of the recording's files: ``operator.ogg``, ``customer.ogg`` (Ogg Opus), ``motion.bin``,
    ``chat.jsonl``."""
    if name not in _MEDIA_TYPES:
        raise NotFound(f"a recording has no file {name}")
    rec = recordings.get_recording(db, brand.id, recording_id)
    path = recordings.folder(_root(request), rec) / name
    if not path.is_file():
        raise NotFound(f"recording {rec.id} has no {name} (yet)")
    return FileResponse(path, media_type=_MEDIA_TYPES[name], headers={"Cache-Control": "no-store"})

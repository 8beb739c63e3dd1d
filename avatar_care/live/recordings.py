"""Which consultations of this process's live rooms are being recorded, and their recorders.

A consultation is recorded while its live room runs (someone joined it) and its template allows it:
``always``, or ``ask`` once the customer consented (``rooms.recordings``). Its recorder
(``avatar_care.live.recorder``) is attached to the room through its hooks: a tap on the operator's
voice as customers hear it, one on the customer's own microphone, a receiver of the motion hub
(the packets customers are sent), and the desk's chat listener. It ends when the customer leaves
the room (ended, transferred), when the room closes, or when the customer withdraws consent.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from avatar_care.live.audio_relay import Encoded
from avatar_care.live.recorder import Recorder, Summary
from avatar_care.live.room import LiveRoom
from rooms import recordings
from rooms.desk.records import ChatPosted
from rooms.errors import Conflict
from rooms.models import CareSession, SessionEvent

logger = logging.getLogger(__name__)
T = TypeVar("T")
#: The motion hub's receiver key of a recording (``+ session id``).
MOTION_KEY = "recording/"


@dataclass
class Active:
    room: LiveRoom
    recorder: Recorder
    recording_id: str
    detach: list[Callable[[], None]] = field(default_factory=list)


class RoomRecordings:
    def __init__(self, sessions: sessionmaker[Session], root: Path, now: Callable[[], datetime]) -> None:
        self.sessions = sessions
        self.root = root
        self.now = now  # the desk's clock (tests move it)
        self.active: dict[str, Active] = {}  # by session id
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = asyncio.Lock()

    # -- starting and stopping ---------------------------------------------------------------------
    async def ensure(self, room: LiveRoom) -> None:
        """Record every consultation seated in ``room`` that may be recorded and is not yet."""
        self._loop = asyncio.get_running_loop()
        async with self._lock:
            due = await asyncio.to_thread(self._due, room.room_id)
            for session_id in due:
                if session_id not in self.active:
                    try:
                        await self._start(room, session_id)
                    except Exception:  # one recording's failure must not stop the room or the others
                        logger.exception("room %s: recording of %s did not start", room.room_id, session_id)

    def _due(self, room_id: str) -> list[str]:
        with self.sessions() as db:
            seated = db.scalars(
                select(CareSession).where(
                    CareSession.live_room_id == room_id, CareSession.state == "connected"
                )
            ).all()
            return [cs.id for cs in seated if recordings.recording_state(db, cs).allowed]

    async def _start(self, room: LiveRoom, session_id: str) -> None:
        rec_id, path = await asyncio.to_thread(self._new_row, session_id)
        try:
            recorder = Recorder(recordings.folder(self.root, path))
        except Exception:  # no folder, no recording: its row goes (the next join tries again)
            await asyncio.to_thread(self._drop_row, rec_id)
            raise
        active = Active(room, recorder, rec_id)

        heard_from: list[object] = [room.operator_audio.source]

        def operator_voice(packet: Encoded) -> None:
            source = room.operator_audio.source
            if source is not heard_from[0]:  # the operator connected again: a new voice's clock
                heard_from[0] = source
                recorder.new_voice_timeline("operator")
            recorder.voice("operator", packet)

        def customer_voice(customer_id: str, packet: Encoded) -> None:
            if customer_id == session_id:  # only this customer's own voice: not another seat's
                recorder.voice("customer", packet)

        room.operator_audio.taps.append(operator_voice)
        room.voice_taps.append(customer_voice)
        room.hub.add_customer(MOTION_KEY + session_id, recorder.motion)
        active.detach = [
            lambda: _discard(room.operator_audio.taps, operator_voice),
            lambda: _discard(room.voice_taps, customer_voice),
            lambda: room.hub.remove_customer(MOTION_KEY + session_id),
        ]
        self.active[session_id] = active
        logger.info("room %s: recording %s of a consultation started", room.room_id, rec_id)

    def _new_row(self, session_id: str) -> tuple[str, str]:
        with self.sessions() as db:
            cs = db.get(CareSession, session_id)
            assert cs is not None
            rec = recordings.start(db, cs, self.now())
            return rec.id, rec.path

    def _drop_row(self, rec_id: str) -> None:
        with self.sessions() as db:
            recordings.discard(db, rec_id)

    async def stop(self, session_id: str) -> Summary | None:
        """The consultation's recording ends (its customer left, the room closed, consent withdrawn)."""
        active = self.active.pop(session_id, None)
        if active is None:
            return None
        for undo in active.detach:
            undo()
        try:
            summary = active.recorder.close()
        except Exception:  # the files could not be finished (a full disk): the room goes on
            logger.exception("recording %s did not close cleanly", active.recording_id)
            summary = Summary(active.recorder.now_s(), 0, active.recorder.motion_packets, {})
        await asyncio.to_thread(self._finish, active.recording_id, summary)
        logger.info(
            "recording %s: %.1f s, %d bytes, %d motion packets",
            active.recording_id,
            summary.duration_s,
            summary.size_bytes,
            summary.motion_packets,
        )
        return summary

    def _finish(self, rec_id: str, summary: Summary) -> None:
        with self.sessions() as db:
            recordings.finish(
                db, rec_id, self.now(), summary.duration_s, summary.size_bytes, summary.motion_packets
            )

    async def room_closed(self, room_id: str) -> None:
        for session_id, active in list(self.active.items()):
            if active.room.room_id == room_id:
                await self.stop(session_id)

    async def close(self) -> None:
        for session_id in list(self.active):
            await self.stop(session_id)

    # -- the operator's pause, the customer's answer ------------------------------------------------
    async def pause(self, session_id: str, paused: bool) -> None:
        """Pause or resume the consultation's recording (409 when none is being made here)."""
        active = self.active.get(session_id)
        if active is None:
            raise Conflict("this consultation is not being recorded")
        if paused == active.recorder.paused:
            return
        if paused:
            active.recorder.pause()
        else:
            active.recorder.resume()
        kind = "recording_paused" if paused else "recording_resumed"
        await asyncio.to_thread(self._event, session_id, kind, active.recording_id)

    def _event(self, session_id: str, kind: str, rec_id: str) -> None:
        with self.sessions() as db:
            db.add(
                SessionEvent(session_id=session_id, kind=kind, detail={"recording": rec_id}, at=self.now())
            )
            db.commit()

    async def consent_changed(self, session_id: str, room: LiveRoom | None, allowed: bool) -> None:
        if not allowed:
            await self.stop(session_id)
        elif room is not None:
            await self.ensure(room)

    # -- chat, from the desk's threads --------------------------------------------------------------
    def chat_posted(self, event: ChatPosted) -> None:
        loop = self._loop
        if event.session_id in self.active and loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._chat, event.session_id, event.sender, event.text)

    def _chat(self, session_id: str, sender: str, text: str) -> None:
        active = self.active.get(session_id)
        if active is not None:
            active.recorder.chat(sender, text)


def _discard(hooks: list[T], hook: T) -> None:
    if hook in hooks:
        hooks.remove(hook)

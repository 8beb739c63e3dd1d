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
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from avatar_care.live.audio_relay import Encoded
from avatar_care.live.recorder import Recorder, Summary
from avatar_care.live.room import LiveRoom
from rooms import recordings
from rooms.desk.records import ChatPosted
from rooms.models import CareSession

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
        #: the live room of this process with this id, if any (set by the rooms: ``LiveRooms.get``)
        self.room_of: Callable[[str], LiveRoom | None] = lambda room_id: None
        self._following: set[asyncio.Future[None]] = set()

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
        """Pause or resume the consultation's recording where this process makes it (the route has
        stored the operator's choice as the session's event: ``rooms.recordings.recording_view``)."""
        active = self.active.get(session_id)
        if active is None or paused == active.recorder.paused:
            return
        if paused:
            active.recorder.pause()
        else:
            active.recorder.resume()

    async def consent_changed(self, session_id: str, room: LiveRoom | None, allowed: bool) -> None:
        if not allowed:
            await self.stop(session_id)
        elif room is not None:
            await self.ensure(room)

    # -- changes made in another process (the API process, with rooms on workers) -----------------
    def sessions_changed(self, brand_id: int, about: frozenset[str] | None = None) -> None:
        """A desk listener: a consultation changed, here or in another process on the database. The
        customer's answer and the operator's pause are stored before the desk is told, so the
        process that runs the room follows them from the database (rooms.recordings)."""
        loop = self._loop
        if about is None or loop is None or loop.is_closed():
            return
        loop.call_soon_threadsafe(lambda: self._spawn(self._follow(about)))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(work)
        self._following.add(task)
        task.add_done_callback(self._following.discard)

    async def _follow(self, about: frozenset[str]) -> None:
        try:
            wanted = await asyncio.to_thread(self._wanted, about)
            for session_id, (room_id, allowed, paused) in wanted.items():
                room = self.room_of(room_id) if room_id else None
                if not allowed:
                    await self.stop(session_id)
                elif session_id not in self.active and room is not None:
                    await self.ensure(room)
                await self.pause(session_id, paused)
        except Exception:  # a recording's bookkeeping must never stop the room's other work
            logger.exception("recordings: following a change failed")

    def _wanted(self, about: frozenset[str]) -> dict[str, tuple[str | None, bool, bool]]:
        """For each consultation of ``about`` seated in a room here: its room, whether it may be
        recorded, whether the operator paused it."""
        wanted: dict[str, tuple[str | None, bool, bool]] = {}
        with self.sessions() as db:
            for session_id in about:
                cs = db.get(CareSession, session_id)
                if cs is None or cs.live_room_id is None:
                    continue
                if session_id not in self.active and self.room_of(cs.live_room_id) is None:
                    continue  # another process runs its room
                view = recordings.recording_view(db, cs)
                allowed = recordings.recording_state(db, cs).allowed and cs.state == "connected"
                wanted[session_id] = (cs.live_room_id, allowed, bool(view["paused"]))
        return wanted

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

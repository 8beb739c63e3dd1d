"""A room worker's own row in ``room_workers``: registered at start, a heartbeat every
``HEARTBEAT_S`` with its rooms and CPU, removed when it stops. Times are the database's
(``now()``), so machines with skewed clocks agree on who is alive."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from rooms.models import RoomPlacement, RoomWorker

logger = logging.getLogger(__name__)

#: How often a worker says it is alive, and how old its last word may be before it counts as dead.
HEARTBEAT_S = 1.0
STALE_S = 3.0
#: A placement this old whose room the worker does not run (nobody joined, or it closed) is let go.
PLACEMENT_GRACE_S = 10.0
#: Rows of workers silent this long are removed by the others (they will not come back as they were).
FORGET_S = 600.0


def new_worker_id() -> str:
    return secrets.token_hex(8)


class CpuMeter:
    """This process's CPU use since the previous reading, in percent of one core."""

    def __init__(self) -> None:
        self._cpu = time.process_time()
        self._wall = time.monotonic()

    def read(self) -> float:
        cpu, wall = time.process_time(), time.monotonic()
        used = (cpu - self._cpu) / max(wall - self._wall, 1e-6)
        self._cpu, self._wall = cpu, wall
        return round(100.0 * used, 1)


class WorkerRow:
    """Blocking (database): call from a thread."""

    def __init__(self, sessions: sessionmaker[Session], worker_id: str, signaling_url: str) -> None:
        self.sessions = sessions
        self.id = worker_id
        self.signaling_url = signaling_url

    def register(self) -> None:
        with self.sessions() as db:
            now = db.scalar(select(func.now()))
            db.add(
                RoomWorker(
                    id=self.id,
                    signaling_url=self.signaling_url,
                    started_at=now,
                    heartbeat_at=now,
                    rooms=0,
                    cpu_percent=0.0,
                )
            )
            db.commit()

    def beat(self, rooms: set[str], cpu_percent: float) -> None:
        with self.sessions() as db:
            found = db.execute(
                update(RoomWorker)
                .where(RoomWorker.id == self.id)
                .values(heartbeat_at=func.now(), rooms=len(rooms), cpu_percent=cpu_percent)
            )
            if getattr(found, "rowcount", 1) == 0:
                # removed as dead (a pause longer than FORGET_S): come back under the same id
                db.rollback()
                self.register()
                return
            # placements of rooms this worker does not run (placed, but nobody came; or closed)
            stale = delete(RoomPlacement).where(
                RoomPlacement.worker_id == self.id,
                RoomPlacement.placed_at < func.now() - timedelta(seconds=PLACEMENT_GRACE_S),
            )
            if rooms:
                stale = stale.where(RoomPlacement.room_id.not_in(sorted(rooms)))
            db.execute(stale)
            # workers long dead: their rows and any placement still naming them
            gone = select(RoomWorker.id).where(
                RoomWorker.heartbeat_at < func.now() - timedelta(seconds=FORGET_S)
            )
            db.execute(delete(RoomPlacement).where(RoomPlacement.worker_id.in_(gone)))
            db.execute(
                delete(RoomWorker).where(RoomWorker.heartbeat_at < func.now() - timedelta(seconds=FORGET_S))
            )
            db.commit()

    def unregister(self) -> None:
        with self.sessions() as db:
            db.execute(delete(RoomPlacement).where(RoomPlacement.worker_id == self.id))
            db.execute(delete(RoomWorker).where(RoomWorker.id == self.id))
            db.commit()


async def heartbeat(row: WorkerRow, rooms: Callable[[], set[str]], every_s: float = HEARTBEAT_S) -> None:
    """Beats until cancelled; a failed beat (the database away for a moment) is logged and retried."""
    meter = CpuMeter()
    while True:
        try:
            await asyncio.to_thread(row.beat, rooms(), meter.read())
        except Exception:
            logger.exception("room worker %s: heartbeat failed", row.id)
        await asyncio.sleep(every_s)

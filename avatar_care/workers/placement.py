"""Which worker runs a live room: the one its placement names while that worker is alive, else the
least-loaded live worker (fewest placed rooms, then least CPU). Every participant of a room (its
operator, customers, listeners) goes through here, so they all land on the same worker.

A placement moves only by compare-and-set (``UPDATE ... WHERE worker_id = <the dead one>``), so two
API processes re-placing the same room at once agree on one worker."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session, sessionmaker

from avatar_care.workers.registry import STALE_S
from rooms.models import RoomPlacement, RoomWorker


@dataclass(frozen=True)
class Worker:
    id: str
    signaling_url: str


class Placement:
    """Blocking (database): call from a thread. PostgreSQL only (workers share the database)."""

    def __init__(self, sessions: sessionmaker[Session], stale_s: float = STALE_S) -> None:
        self.sessions = sessions
        self.stale_s = stale_s

    def live_workers(self, db: Session, avoid: Collection[str] = ()) -> dict[str, RoomWorker]:
        alive = RoomWorker.heartbeat_at >= func.now() - timedelta(seconds=self.stale_s)
        rows = db.scalars(select(RoomWorker).where(alive)).all()
        return {w.id: w for w in rows if w.id not in avoid}

    def place(self, room_id: str, avoid: Collection[str] = ()) -> Worker | None:
        """The worker for ``room_id``, placing or re-placing it if needed; ``avoid``: workers this
        caller could not reach (their heartbeat may not be stale yet). None: no live worker."""
        for _ in range(3):  # another process may move the placement between our read and write
            with self.sessions() as db:
                live = self.live_workers(db, avoid)
                current = db.get(RoomPlacement, room_id)
                if current is not None and current.worker_id in live:
                    return _worker(live[current.worker_id])
                if not live:
                    return None
                chosen = self._least_loaded(db, live)
                if current is None:
                    db.execute(
                        insert(RoomPlacement)
                        .values(room_id=room_id, worker_id=chosen.id, placed_at=func.now())
                        .on_conflict_do_nothing(index_elements=["room_id"])
                    )
                else:
                    db.execute(
                        update(RoomPlacement)
                        .where(
                            RoomPlacement.room_id == room_id,
                            RoomPlacement.worker_id == current.worker_id,
                        )
                        .values(worker_id=chosen.id, placed_at=func.now())
                    )
                db.commit()
                db.expire_all()
                now = db.get(RoomPlacement, room_id)
                if now is not None and now.worker_id in live:
                    return _worker(live[now.worker_id])
        return None

    def _least_loaded(self, db: Session, live: dict[str, RoomWorker]) -> RoomWorker:
        counts = dict(
            db.execute(
                select(RoomPlacement.worker_id, func.count())
                .where(RoomPlacement.worker_id.in_(list(live)))
                .group_by(RoomPlacement.worker_id)
            ).all()
        )
        return min(live.values(), key=lambda w: (counts.get(w.id, 0), w.cpu_percent, w.id))

    def placed_on(self, room_id: str) -> str | None:
        with self.sessions() as db:
            row = db.get(RoomPlacement, room_id)
            return row.worker_id if row is not None else None


def _worker(row: RoomWorker) -> Worker:
    return Worker(row.id, row.signaling_url)

"""Every process's own figures in the database, so ``/metrics`` of any process lists them all.

Each server process on PostgreSQL writes its own figures (Prometheus' text) every
``PUBLISH_S`` as its row of ``metrics_snapshots``, keyed by ``host:pid``; ``/metrics`` reads the
rows renewed within ``FRESH_S`` (by the database's clock, so the machines' clocks need not agree).
This needs no address of any process and no shared folder: processes on other machines are listed
as soon as they reach the database. A row not renewed for ``FORGET_S`` is deleted.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import Engine, Table, delete, func, insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from rooms.models import MetricsSnapshot

logger = logging.getLogger(__name__)
_SNAPSHOTS: Table = MetricsSnapshot.__table__  # type: ignore[assignment]

PUBLISH_S = 1.0
#: a row older than this is a process that stopped (or hangs): not listed
FRESH_S = 5.0
FORGET_S = 3600.0


def this_process() -> str:
    """``host:pid``: unique among the processes running at one time."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}"


class SharedFigures:
    """This process's row of ``metrics_snapshots`` and the other processes' fresh rows."""

    def __init__(self, engine: Engine, role: str = "api", process_id: str | None = None) -> None:
        self.engine = engine
        self.role = role
        self.process_id = process_id or this_process()

    def publish(self, body: str) -> None:
        table = _SNAPSHOTS
        with self.engine.begin() as c:
            values = {"role": self.role, "updated_at": func.now(), "body": body}
            done = c.execute(update(table).where(table.c.process_id == self.process_id).values(values))
            if done.rowcount == 0:
                c.execute(insert(table).values(process_id=self.process_id, started_at=func.now(), **values))
            c.execute(delete(table).where(table.c.updated_at < func.now() - timedelta(seconds=FORGET_S)))

    def others(self) -> dict[str, str]:
        """The other processes' figures renewed within ``FRESH_S``, by process id."""
        table = _SNAPSHOTS
        with self.engine.connect() as c:
            rows = c.execute(
                select(table.c.process_id, table.c.body).where(
                    table.c.updated_at >= func.now() - timedelta(seconds=FRESH_S),
                    table.c.process_id != self.process_id,
                )
            )
            return {process: body for process, body in rows}


async def publishing(shared: SharedFigures, body: Callable[[], str], interval_s: float = PUBLISH_S) -> None:
    """Publishes ``body()`` (read on the event loop, where the live rooms change) every interval,
    until cancelled; a failed write is logged and tried again at the next."""
    while True:
        try:
            await asyncio.to_thread(shared.publish, body())
        except SQLAlchemyError:
            logger.warning("publishing this process's figures failed; trying again", exc_info=True)
        await asyncio.sleep(interval_s)

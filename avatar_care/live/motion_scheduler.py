"""When motion is solved: every room's frames of the same moment in one batched call.

One scheduler per event loop. A tracking frame that reaches a room's hub is not solved on the spot: it waits
  until the event loop has delivered everything else that arrived in the same moment, then every
room's frame is solved in one batched call (``rigging.solver.solve_batch``). numpy's cost is per
call, not per number, so fifty rooms cost little more than one; a frame never waits longer than
the batch that was running when it arrived. A room whose frame fails gets its error alone.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import Sequence
from typing import TYPE_CHECKING

from rigging.frame import FrameError, TrackingFrame
from rigging.pose import AvatarPose
from rigging.solver import Retargeter

if TYPE_CHECKING:
    from avatar_care.live.motion_hub import MotionHub

logger = logging.getLogger(__name__)

Pending = tuple["MotionHub", TrackingFrame, float]  # hub, frame, arrival (perf_counter seconds)


def _solve_all(
    solvers: Sequence[Retargeter], frames: Sequence[TrackingFrame]
) -> list[AvatarPose | FrameError]:
    results: list[AvatarPose | FrameError] = []
    for solver, frame in zip(solvers, frames, strict=True):
        try:
            results.append(solver.solve(frame))
        except FrameError as exc:
            results.append(exc)
    return results


class MotionScheduler:
    """Batches the solving of every room's frames and runs the 30 Hz output clock (see the module)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._pending: list[Pending] = []
        self._flush_scheduled = False
        #: How many batches and frames were solved, for the benchmarks.
        self.batches = 0
        self.frames = 0

    @classmethod
    def current(cls) -> MotionScheduler | None:
        """The scheduler of the running event loop (made on first use), or None outside one."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return None
        scheduler = _SCHEDULERS.get(loop)
        if scheduler is None:
            scheduler = _SCHEDULERS[loop] = cls(loop)
        return scheduler

    # -- batching ---------------------------------------------------------------------------
    def submit(self, hub: MotionHub, frame: TrackingFrame, received: float) -> None:
        self._pending.append((hub, frame, received))
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self.loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        batch: list[Pending] = []
        later: list[Pending] = []
        seen: set[int] = set()
        for item in self._pending:
            # one frame per room per batch: a room's second frame needs the first one's state
            (later if id(item[0]) in seen else batch).append(item)
            seen.add(id(item[0]))
        self._pending = later
        if later:
            self._flush_scheduled = True
            self.loop.call_soon(self._flush)
        if not batch:
            return
        self.batches += 1
        self.frames += len(batch)
        try:
            results = _solve_all([hub.solver for hub, _, _ in batch], [frame for _, frame, _ in batch])
        except Exception:  # a fault in one frame must not cost the other rooms theirs
            logger.exception("batched solve failed; solving the %d frames one by one", len(batch))
            results = []
            for hub, frame, _ in batch:
                try:
                    results.append(hub.solver.solve(frame))
                except Exception as exc:
                    results.append(FrameError("<frame>", f"could not be solved: {exc}"))
        solved = time.perf_counter()
        for (hub, _, received), result in zip(batch, results, strict=True):
            try:
                hub.deliver(result, received, solved)
            except Exception:
                logger.exception("room %s: delivering a solved frame failed", hub.room_id)


_SCHEDULERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, MotionScheduler] = (
    weakref.WeakKeyDictionary()
)

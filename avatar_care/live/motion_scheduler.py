"""When motion is solved: every room's frames of the same moment in one batched call.

One scheduler per event loop. A tracking frame that reaches a room's hub is not solved on the
spot: it waits until the event loop has delivered everything else that arrived in the same moment,
then every room's frame is solved in one batched call (``rigging.solver.solve_batch``) and every
packet encoded in another (``rigging.codec.encode_batch``). numpy's cost is per call, not per
number, so fifty rooms cost little more than one; a frame never waits longer than the batch that
was running when it arrived. A room whose frame fails gets its error alone.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from typing import TYPE_CHECKING

import numpy as np

from rigging.codec import CodecError, encode_batch
from rigging.frame import FrameError, TrackingFrame
from rigging.pose import AvatarPose
from rigging.solver import solve_batch

if TYPE_CHECKING:
    from avatar_care.live.motion_hub import MotionHub

logger = logging.getLogger(__name__)

Pending = tuple["MotionHub", TrackingFrame, float]  # hub, frame, arrival (perf_counter seconds)


class MotionScheduler:
    """Batches the solving and encoding of every room's frames (see the module)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        # A weak reference: the loop's entry in _SCHEDULERS must not keep the loop alive (a strong
        # one from the value to its weak key would keep every closed loop, and its scheduler).
        self._loop = weakref.ref(loop)
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

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        loop = self._loop()
        if loop is None:
            raise RuntimeError("this scheduler's event loop is gone")
        return loop

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
            results = solve_batch([hub.solver for hub, _, _ in batch], [frame for _, frame, _ in batch])
        except Exception:  # a fault in one frame must not cost the other rooms theirs
            logger.exception("batched solve failed; solving the %d frames one by one", len(batch))
            results = []
            for hub, frame, _ in batch:
                try:
                    results.append(hub.solver.solve(frame))
                except Exception as exc:
                    results.append(FrameError("<frame>", f"could not be solved: {exc}"))
        solved = time.perf_counter()
        packets = self._encode(batch, results, solved)
        for (hub, _, received), result, packet in zip(batch, results, packets, strict=True):
            try:
                hub.deliver(result, received, solved, packet)
            except Exception:
                logger.exception("room %s: delivering a solved frame failed", hub.room_id)

    @staticmethod
    def _encode(
        batch: list[Pending], results: list[AvatarPose | FrameError], solved: float
    ) -> list[bytes | None]:
        """Every solved pose's packet in one batched encode (None where a hub must encode its own)."""
        now = time.perf_counter()
        index = [i for i, r in enumerate(results) if isinstance(r, AvatarPose)]
        out: list[bytes | None] = [None] * len(results)
        if not index:
            return out
        # The hop times of all poses in three array calls rather than a HopTiming each:
        # (arrival, solved, now) - arrival, in ms; the landmarks hop is 0 (they arrived then).
        marks = np.array([(batch[i][2], solved, now) for i in index])
        try:
            packets = encode_batch(
                [r for r in results if isinstance(r, AvatarPose)],
                [batch[i][0].next_seq for i in index],
                (marks - marks[:, :1]) * 1000.0,
            )
        except CodecError as exc:  # each hub then encodes its own and only the culprit fails
            logger.warning("batched encode failed, encoding one by one: %s", exc)
            return out
        for i, packet in zip(index, packets, strict=True):
            out[i] = packet
        return out


_SCHEDULERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, MotionScheduler] = (
    weakref.WeakKeyDictionary()
)

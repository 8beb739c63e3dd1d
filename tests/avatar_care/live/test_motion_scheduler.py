"""Every room's frames of a moment in one batched solve, on a real event loop.

Several ``MotionHub``s share the loop's ``MotionScheduler``; their customers are plain callables
that keep the packets, which are decoded and compared with what a solver of the same settings
gives for the same frame alone.
"""

import asyncio
import gc
import weakref
from dataclasses import replace

import numpy as np
import pytest

from avatar_care.live.motion_hub import MotionHub
from avatar_care.live.motion_scheduler import MotionScheduler
from rigging import landmark_packet
from rigging.codec import FLAG_TIMING, decode
from rigging.frame import TrackingFrame
from rigging.pose import AvatarPose
from rigging.solver import Retargeter, SolverOptions
from tests.rigging.posed_landmarks import make_frame, rq

POSES = [
    {"rightUpperArm": rq((0, 0, 1), -80)},
    {"leftUpperArm": rq((0, 0, 1), 70), "leftLowerArm": rq((0, 1, 0), 60)},
    {"rightLowerArm": rq((0, 1, 0), -90)},
    {},
]
# a quantized rotation is within about 0.1 degree of the solved one (rigging.codec)
QUANTUM = 2e-3


def frame(room: int, t_ms: float) -> TrackingFrame:
    return make_frame(POSES[room % len(POSES)], t_ms=t_ms)


def tracked(packets: list[bytes]) -> list[AvatarPose]:
    """The poses of tracked frames' packets (the output clock's fillers carry no hop times)."""
    return [decode(p).pose for p in packets if p[1] & FLAG_TIMING]


def assert_close(got: AvatarPose, want: AvatarPose) -> None:
    assert got.t_ms == want.t_ms
    for name, q in want.bones.items():
        assert min(np.abs(got.bones[name] - q).max(), np.abs(got.bones[name] + q).max()) < QUANTUM, name


def hubs_with_customers(n: int, scheduler: MotionScheduler) -> tuple[list[MotionHub], list[list[bytes]]]:
    hubs = [MotionHub(f"room-{i}", scheduler=scheduler) for i in range(n)]
    inboxes: list[list[bytes]] = [[] for _ in range(n)]
    for hub, inbox in zip(hubs, inboxes, strict=True):
        hub.add_customer("customer", inbox.append)
    return hubs, inboxes


async def test_frames_arriving_together_are_solved_in_one_batch_as_each_would_be_alone() -> None:
    scheduler = MotionScheduler(asyncio.get_running_loop())
    hubs, inboxes = hubs_with_customers(4, scheduler)
    twins = [Retargeter(SolverOptions(filter=False)) for _ in hubs]
    for step in range(3):
        frames = [frame(i, 100.0 + 33.3 * step) for i in range(len(hubs))]
        for hub, f in zip(hubs, frames, strict=True):
            assert hub.on_frame(landmark_packet.encode(f))
        assert scheduler.batches == step  # nothing solved until the loop has taken every arrival
        await asyncio.sleep(0)
        assert (scheduler.batches, scheduler.frames) == (step + 1, len(hubs) * (step + 1))
        for inbox, twin, f in zip(inboxes, twins, frames, strict=True):
            # the twin solves what the hub decoded: float16 landmarks, as the packet carries them
            assert_close(tracked(inbox)[-1], twin.solve(landmark_packet.decode(landmark_packet.encode(f))[0]))
    for hub in hubs:
        hub.close()


async def test_a_rooms_second_frame_of_a_moment_waits_for_the_next_batch() -> None:
    scheduler = MotionScheduler(asyncio.get_running_loop())
    (hub,), (inbox,) = hubs_with_customers(1, scheduler)
    hub.on_tracking(frame(0, 100.0))
    hub.on_tracking(frame(1, 133.3))  # its solver needs the first frame's state first
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert (scheduler.batches, scheduler.frames) == (2, 2)
    assert [p.t_ms for p in tracked(inbox)] == [100.0, 133.3]
    hub.close()


async def test_a_frame_refused_in_a_batch_costs_the_other_rooms_nothing() -> None:
    scheduler = MotionScheduler(asyncio.get_running_loop())
    hubs, inboxes = hubs_with_customers(3, scheduler)
    for i, hub in enumerate(hubs):
        hub.on_tracking(frame(i, 100.0))
    await asyncio.sleep(0)
    hubs[0].on_tracking(frame(0, 100.0))  # not after that room's previous frame
    hubs[1].on_tracking(frame(1, 133.3))
    hubs[2].on_tracking(frame(2, 133.3))
    await asyncio.sleep(0)
    assert hubs[0].stats.rejected == 1 and "does not come after" in (hubs[0].stats.last_error or "")
    assert [len(tracked(inbox)) for inbox in inboxes] == [1, 2, 2]
    for hub in hubs:
        hub.close()


async def test_a_broken_solver_fails_alone_when_the_batch_is_solved_one_by_one() -> None:
    scheduler = MotionScheduler(asyncio.get_running_loop())
    hubs, inboxes = hubs_with_customers(3, scheduler)
    # a solver whose memory is corrupt (the wrong size) cannot be stacked with the others
    hubs[1].solver._state = np.zeros(7)
    for i, hub in enumerate(hubs):
        hub.on_tracking(frame(i, 100.0))
    await asyncio.sleep(0)
    assert [len(tracked(inbox)) for inbox in inboxes] == [1, 0, 1]
    assert hubs[1].stats.rejected == 1
    for hub in hubs:
        hub.close()


def test_a_closed_event_loop_is_not_kept_alive_by_its_scheduler() -> None:
    loop = asyncio.new_event_loop()

    async def scheduler_of_this_loop() -> MotionScheduler | None:
        return MotionScheduler.current()

    scheduler = loop.run_until_complete(scheduler_of_this_loop())
    assert scheduler is not None and scheduler.loop is loop
    gone = weakref.ref(loop)
    loop.close()
    del loop
    gc.collect()
    assert gone() is None
    with pytest.raises(RuntimeError, match="gone"):
        _ = scheduler.loop


def test_frames_given_with_wrong_arrays_are_refused_in_their_slot() -> None:
    async def main() -> tuple[list[list[bytes]], list[MotionHub]]:
        scheduler = MotionScheduler(asyncio.get_running_loop())
        hubs, inboxes = hubs_with_customers(2, scheduler)
        hubs[0].on_tracking(replace(frame(0, 100.0), left_hand_world=np.zeros((20, 3))))
        hubs[1].on_tracking(frame(1, 100.0))
        await asyncio.sleep(0)
        for hub in hubs:
            hub.close()
        return inboxes, hubs

    inboxes, hubs = asyncio.run(main())
    assert [len(tracked(inbox)) for inbox in inboxes] == [0, 1]
    assert hubs[0].stats.rejected == 1 and "left_hand_world" in (hubs[0].stats.last_error or "")

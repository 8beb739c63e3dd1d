"""Server capture on loopback: an operator's camera track (a real clip) becomes the customers' motion."""

import asyncio
import fractions
import math
import time

import av
import numpy as np
import pytest
from aiortc import MediaStreamTrack

from avatar_care.capture.video import read_video
from avatar_care.live.ice import use_loopback_only
from avatar_care.live.room import LiveRoom
from rigging.codec import decode
from tests.avatar_care.live.test_room_peers import Peer
from tests.shared_data import shared


class Camera(MediaStreamTrack):
    """A webcam that films the signing clip, at 30 frames a second, in a loop."""

    kind = "video"

    def __init__(self) -> None:
        super().__init__()
        self.frames = [rgb for _, rgb in read_video(shared("media/asl/book.mkv"))]
        self.n = 0
        self.start = time.monotonic()

    async def recv(self) -> av.VideoFrame:
        await asyncio.sleep(max(0.0, self.start + self.n / 30 - time.monotonic()))
        frame = av.VideoFrame.from_ndarray(
            np.ascontiguousarray(self.frames[self.n % len(self.frames)]), format="rgb24"
        )
        frame.pts = self.n * 3000
        frame.time_base = fractions.Fraction(1, 90000)
        self.n += 1
        return frame


@pytest.fixture(autouse=True)
def loopback() -> object:
    use_loopback_only()
    yield
    use_loopback_only(False)


async def test_the_operators_camera_drives_the_customers_avatar_and_old_frames_are_dropped() -> None:
    room = LiveRoom("server-capture")
    try:
        operator = Peer("landmarks", unordered=True)
        operator.pc.addTrack(Camera())
        await operator.connect(room.operator_offer)
        customer = Peer("motion", unordered=True)
        await customer.connect(lambda sdp: room.customer_offer("c", sdp))
        await asyncio.sleep(6.0)  # the landmarker loads, then tracks
        capture = room.capture
        assert capture is not None
        stats = capture.stats
        assert stats.processed >= 10 and stats.failed == 0
        # latest frame wins: every frame offered was processed, dropped, or is the one pending
        assert stats.offered - stats.processed - stats.dropped in (0, 1, 2)
        poses = [decode(p).pose for p in customer.received]
        assert len(poses) >= 10

        def spread(bone: str) -> float:
            qs = [p.bones[bone] for p in poses if bone in p.bones]
            return max(math.degrees(2 * math.acos(min(1.0, abs(float(np.dot(q, qs[0])))))) for q in qs)

        # the person signs "book" with both hands in front of the chest
        assert max(spread("rightLowerArm"), spread("leftLowerArm")) > 5
        assert len(room.hub.stats.hops["capture"]) >= 10
        await operator.pc.close()
        await customer.pc.close()
    finally:
        await room.close()

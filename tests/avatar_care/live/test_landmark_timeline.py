"""A frame stamped far from the room's clock is refused, and the room's later frames still flow."""

from __future__ import annotations

import json
import struct
import time

from avatar_care.live.motion_hub import REANCHOR_AFTER, MotionHub
from rigging import landmark_packet
from tests.rigging.posed_landmarks import make_frame


def hub_with_inbox() -> tuple[MotionHub, list[bytes]]:
    hub = MotionHub("room-1")  # outside an event loop: every frame is solved at once
    inbox: list[bytes] = []
    hub.add_customer("c1", inbox.append)
    return hub, inbox


T0 = time.perf_counter()


def camera_ms(start_ms: float = 1000.0) -> float:
    """The operator's camera clock: started at ``start_ms`` when the tests were loaded, real time since."""
    return start_ms + (time.perf_counter() - T0) * 1000.0


def good(hub: MotionHub, start_ms: float = 1000.0) -> bool:
    """A frame stamped by the camera's clock now, arriving now (as the room measures arrivals)."""
    time.sleep(0.002)  # frames of one camera never share a stamp
    return hub.on_tracking(make_frame({}, t_ms=camera_ms(start_ms)))


def as_json(t_ms: float) -> str:
    frame = make_frame({}, t_ms=1000.0).to_json()
    return json.dumps(frame | {"t_ms": t_ms})


def as_packet(t_ms: float) -> bytes:
    packet = bytearray(landmark_packet.encode(make_frame({}, t_ms=1000.0)))
    struct.pack_into("<d", packet, 4, t_ms)  # the header's t_ms (docs/landmark-packet.md)
    return bytes(packet)


def test_hostile_stamps_are_refused_and_the_next_good_frame_flows() -> None:
    hub, inbox = hub_with_inbox()
    assert good(hub) and good(hub)
    hostile: list[str | bytes] = [
        as_json(1e300), as_packet(1e300), as_json(-5.0), as_packet(-1e300), as_json(1e15),
        as_packet(float("nan")), as_packet(float("inf")), as_json(camera_ms() + 60_000),
    ]  # fmt: skip
    for k, message in enumerate(hostile):
        assert not hub.on_frame(message), k
    assert hub.stats.rejected == len(hostile)
    sent = len(inbox)
    for _ in range(4):
        assert good(hub), hub.stats.last_error
    assert len(inbox) == sent + 4 and hub.stats.rejected == len(hostile)


def test_a_hostile_first_frame_costs_the_room_a_few_frames_not_its_motion() -> None:
    hub, inbox = hub_with_inbox()
    assert hub.on_frame(as_json(1e300))  # nothing to compare with yet: it sets the clock
    accepted = [good(hub) for _ in range(REANCHOR_AFTER + 5)]
    assert accepted[: REANCHOR_AFTER - 1] == [False] * (REANCHOR_AFTER - 1)
    assert all(accepted[REANCHOR_AFTER - 1 :])  # the camera's own clock is followed again
    assert len(inbox) == 1 + 6


def test_an_operator_clock_that_restarts_is_followed() -> None:
    hub, _ = hub_with_inbox()
    for _ in range(10):
        assert good(hub, start_ms=50_000.0)
    # the operator's page reloaded: its clock starts again near zero, frames keep arriving
    restarted = [good(hub, start_ms=0.0) for _ in range(REANCHOR_AFTER + 3)]
    assert restarted[REANCHOR_AFTER - 1 :] == [True] * 4

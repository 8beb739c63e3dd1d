"""The landmark packet decoder under property-based fuzzing: any bytes give a checked frame or a
FrameError with a reason, never another exception; the room's hub refuses or takes them likewise."""

from __future__ import annotations

import struct

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from avatar_care.live.motion_hub import MotionHub
from rigging import landmark_packet
from rigging.frame import FrameError
from tests.rigging.posed_landmarks import make_frame

FUZZ = settings(max_examples=300, deadline=None)
GOOD = landmark_packet.encode(make_frame({}, t_ms=1000.0), capture_age_ms=12.0)
ANY_FLOAT = st.floats(allow_nan=True, allow_infinity=True)


def outcome(data: bytes) -> None:
    try:
        frame, age = landmark_packet.decode(data)
    except FrameError as exc:
        assert str(exc)
    else:
        assert frame.t_ms == frame.t_ms and abs(frame.t_ms) != float("inf")
        assert age is None or 0 <= age < 60_000


@FUZZ
@given(st.binary(max_size=2048))
def test_any_bytes(data: bytes) -> None:
    outcome(b"AL" + data[2:] if data[:1] == b"A" else data)  # half of them past the magic


@FUZZ
@given(
    present=st.integers(0, 255), t_ms=ANY_FLOAT, age=ANY_FLOAT, cut=st.integers(0, 64),
    flips=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=16),
)  # fmt: skip
def test_a_damaged_packet(
    present: int, t_ms: float, age: float, cut: int, flips: list[tuple[int, int]]
) -> None:
    data = bytearray(GOOD)
    struct.pack_into("<B", data, 3, present)  # the mask of parts present (docs/landmark-packet.md)
    struct.pack_into("<d", data, 4, t_ms)
    with np.errstate(over="ignore"):
        data[12:16] = np.array([age], dtype="<f4").tobytes()  # float32: large values become infinite
    for at, byte in flips:
        data[at % len(data)] = byte
    outcome(bytes(data[: len(data) - cut]))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.binary(max_size=1200) | st.text(max_size=200), max_size=6))
def test_the_rooms_hub_refuses_or_takes_any_message(messages: list[bytes | str]) -> None:
    hub = MotionHub("fuzz")
    hub.add_customer("c", lambda _packet: None)
    for message in [*messages, GOOD]:
        assert hub.on_frame(message) in (True, False)

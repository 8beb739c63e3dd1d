"""The binary form of a tracking frame, for the operator's landmark channel.

The JSON form (``rigging.frame``) is the contract for files and tools; on the live data channel
a frame is this packet instead: about 0.96 KB where the JSON is 5 to 6 KB. Size matters twice
there: a WebRTC data channel splits a message into SCTP chunks of at most 1200 bytes, and each
chunk costs a DTLS record and a UDP datagram on both ends, in Python on the server; and JSON's
text has to be parsed number by number. One chunk, decoded by ``numpy.frombuffer``, instead.

Layout (little-endian; docs/landmark-packet.md has it byte by byte)::

    0   2   magic "AL"
    2   1   version (1)
    3   1   parts present: bit 0 pose_world, 1 pose_image, 2 left_hand_world,
            3 right_hand_world, 4 face_blendshapes, 5 face_matrix, 6 capture_age_ms
    4   8   t_ms, float64
    12  4   capture_age_ms, float32 (0 when absent)
    16  ..  the parts present, in bit order: pose_world 33x4 and pose_image 33x4 as float16,
            each hand 21x3 float16, the 51 blendshapes float16 in ``BLENDSHAPES`` order,
            the face matrix 16 float32 (row-major)

float16 keeps landmarks to half a millimetre within a metre of the hips, ten times finer than
MediaPipe's own noise, and it can carry NaN, so the bad-input rule (``rigging.frame``) repairs a
binary frame exactly as it repairs a JSON one.
"""

from __future__ import annotations

import struct
from typing import Final

import numpy as np

from rigging.frame import (
    HAND_POINTS,
    POSE_POINTS,
    FloatArray,
    FrameError,
    TrackingFrame,
    add_blendshape,
    repair_hand,
    repair_matrix,
    repair_pose,
)

MAGIC: Final = b"AL"
VERSION: Final = 1
#: MediaPipe's face blendshapes, in the order its face landmarker gives them (without "_neutral").
BLENDSHAPES: Final[tuple[str, ...]] = (
    "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight",
    "cheekPuff", "cheekSquintLeft", "cheekSquintRight", "eyeBlinkLeft", "eyeBlinkRight",
    "eyeLookDownLeft", "eyeLookDownRight", "eyeLookInLeft", "eyeLookInRight", "eyeLookOutLeft",
    "eyeLookOutRight", "eyeLookUpLeft", "eyeLookUpRight", "eyeSquintLeft", "eyeSquintRight",
    "eyeWideLeft", "eyeWideRight", "jawForward", "jawLeft", "jawOpen", "jawRight", "mouthClose",
    "mouthDimpleLeft", "mouthDimpleRight", "mouthFrownLeft", "mouthFrownRight", "mouthFunnel",
    "mouthLeft", "mouthLowerDownLeft", "mouthLowerDownRight", "mouthPressLeft", "mouthPressRight",
    "mouthPucker", "mouthRight", "mouthRollLower", "mouthRollUpper", "mouthShrugLower",
    "mouthShrugUpper", "mouthSmileLeft", "mouthSmileRight", "mouthStretchLeft", "mouthStretchRight",
    "mouthUpperUpLeft", "mouthUpperUpRight", "noseSneerLeft", "noseSneerRight",
)  # fmt: skip
_HEADER: Final = struct.Struct("<2sBBdf")
# (bit, name, dtype, shape) of each part, in wire order
_PARTS: Final = (
    (0, "pose_world", "<f2", (POSE_POINTS, 4)),
    (1, "pose_image", "<f2", (POSE_POINTS, 4)),
    (2, "left_hand_world", "<f2", (HAND_POINTS, 3)),
    (3, "right_hand_world", "<f2", (HAND_POINTS, 3)),
    (4, "face_blendshapes", "<f2", (len(BLENDSHAPES),)),
    (5, "face_matrix", "<f4", (16,)),
)
_AGE_BIT: Final = 6
_SIZES: Final = {name: int(np.prod(shape)) * np.dtype(dtype).itemsize for _, name, dtype, shape in _PARTS}


def is_landmark_packet(message: bytes | str) -> bool:
    return isinstance(message, bytes) and message[:2] == MAGIC


def encode(frame: TrackingFrame, capture_age_ms: float | None = None) -> bytes:
    """The packet for ``frame`` (blendshapes outside ``BLENDSHAPES`` are left out)."""
    present = 0
    body: list[bytes] = []
    for bit, name, dtype, _ in _PARTS:
        value = getattr(frame, name)
        if value is None:
            continue
        if name == "face_blendshapes":
            value = np.array([value.get(k, 0.0) for k in BLENDSHAPES])
        present |= 1 << bit
        body.append(np.asarray(value, dtype=dtype).tobytes())
    if capture_age_ms is not None:
        present |= 1 << _AGE_BIT
    header = _HEADER.pack(MAGIC, VERSION, present, frame.t_ms, capture_age_ms or 0.0)
    return header + b"".join(body)


def decode(data: bytes) -> tuple[TrackingFrame, float | None]:
    """The frame in a packet and its capture age; :class:`FrameError` says what is wrong."""
    if len(data) < _HEADER.size:
        raise FrameError("<packet>", f"{len(data)} bytes, shorter than the {_HEADER.size}-byte header")
    magic, version, present, t_ms, age = _HEADER.unpack_from(data)
    if magic != MAGIC:
        raise FrameError("<packet>", "not a landmark packet (no 'AL' magic)")
    if version != VERSION:
        raise FrameError("<packet>", f"version {version}; this server reads version {VERSION}")
    if present >> (_AGE_BIT + 1):
        raise FrameError("<packet>", f"unknown parts in the mask 0x{present:02x}")
    if not np.isfinite(t_ms):
        raise FrameError("t_ms", f"expected a finite number, got {t_ms}")
    expected = _HEADER.size + sum(_SIZES[name] for bit, name, _, _ in _PARTS if present >> bit & 1)
    if len(data) != expected:
        raise FrameError("<packet>", f"{len(data)} bytes, the parts announced take {expected}")
    warnings: list[str] = []
    parts: dict[str, FloatArray] = {}
    offset = _HEADER.size
    for bit, name, dtype, shape in _PARTS:
        if present >> bit & 1:
            raw = np.frombuffer(data, dtype=dtype, count=int(np.prod(shape)), offset=offset)
            parts[name] = raw.astype(np.float64).reshape(shape)
            offset += _SIZES[name]
    shapes: dict[str, float] | None = None
    if "face_blendshapes" in parts:
        weights = parts["face_blendshapes"]
        if np.isfinite(weights).all():  # the usual case, in one step
            shapes = dict(zip(BLENDSHAPES, np.clip(weights, 0.0, 1.0).tolist(), strict=True))
        else:
            shapes = {}
            for key, weight in zip(BLENDSHAPES, weights.tolist(), strict=True):
                add_blendshape(shapes, key, weight, warnings)
    hands = [
        repair_hand(parts[n], n, warnings) if n in parts else None
        for n in ("left_hand_world", "right_hand_world")
    ]
    frame = TrackingFrame(
        t_ms=float(t_ms),
        # no pose_world part: nobody was detected (JSON's null)
        pose_world=repair_pose(parts["pose_world"], "pose_world", warnings)
        if "pose_world" in parts
        else None,
        pose_image=repair_pose(parts["pose_image"], "pose_image", warnings)
        if "pose_image" in parts
        else None,
        left_hand_world=hands[0],
        right_hand_world=hands[1],
        face_blendshapes=shapes,
        face_matrix=repair_matrix(parts["face_matrix"], warnings) if "face_matrix" in parts else None,
        warnings=tuple(warnings),
    )
    has_age = present >> _AGE_BIT & 1 and np.isfinite(age) and 0.0 <= age < 60_000.0
    return frame, float(age) if has_age else None


__all__ = ["BLENDSHAPES", "MAGIC", "decode", "encode", "is_landmark_packet"]

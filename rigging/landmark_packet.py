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

import math
import struct
from dataclasses import dataclass
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
_HALF_PARTS: Final = tuple(part for part in _PARTS if part[2] == "<f2")  # first on the wire, back to back


@dataclass(frozen=True)
class _Layout:
    """Where a packet's parts lie, for one mask of parts present (worked out once per mask)."""

    size: int  # the whole packet, bytes
    halves: int  # float16 numbers from the end of the header on: every part but the matrix
    parts: tuple[tuple[str, slice, tuple[int, ...]], ...]  # the float16 parts: name, span, shape
    visibility: tuple[slice, ...]  # the poses' visibility columns within the float16 numbers
    blendshapes: slice | None
    matrix_at: int | None  # byte offset of the face matrix


def _layout(present: int) -> _Layout:
    parts: list[tuple[str, slice, tuple[int, ...]]] = []
    at = 0
    for bit, name, _, shape in _HALF_PARTS:
        if present >> bit & 1:
            count = int(np.prod(shape))
            parts.append((name, slice(at, at + count), shape))
            at += count
    spans = {name: span for name, span, _ in parts}
    poses = [spans[n] for n in ("pose_world", "pose_image") if n in spans]
    if len(poses) == 2:  # back to back: one strided view covers both
        poses = [slice(poses[0].start, poses[1].stop)]
    has_matrix = bool(present >> 5 & 1)
    return _Layout(
        size=_HEADER.size + 2 * at + (_SIZES["face_matrix"] if has_matrix else 0),
        halves=at,
        parts=tuple(parts),
        visibility=tuple(slice(span.start + 3, span.stop, 4) for span in poses),
        blendshapes=spans.get("face_blendshapes"),
        matrix_at=_HEADER.size + 2 * at if has_matrix else None,
    )


_LAYOUTS: Final = tuple(_layout(present) for present in range(1 << _AGE_BIT))


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
    if not math.isfinite(t_ms):
        raise FrameError("t_ms", f"expected a finite number, got {t_ms}")
    layout = _LAYOUTS[present & ((1 << _AGE_BIT) - 1)]
    if len(data) != layout.size:
        raise FrameError("<packet>", f"{len(data)} bytes, the parts announced take {layout.size}")
    # One conversion of all the float16 parts; each part is a view of it.
    halves = np.frombuffer(data, dtype="<f2", count=layout.halves, offset=_HEADER.size).astype(np.float64)
    parts = {name: halves[span].reshape(shape) for name, span, shape in layout.parts}
    matrix = None
    if layout.matrix_at is not None:
        matrix = np.frombuffer(data, dtype="<f4", count=16, offset=layout.matrix_at).astype(np.float64)
    # The usual packet is all finite: one check (a sum of squares is finite only then; these
    # numbers are too small to overflow it) instead of each part's repair.
    if math.isfinite(halves @ halves) and (matrix is None or math.isfinite(matrix @ matrix)):
        frame = _finite_frame(t_ms, halves, parts, matrix, layout)
    else:
        frame = _repaired_frame(t_ms, parts, matrix)
    has_age = present >> _AGE_BIT & 1 and math.isfinite(age) and 0.0 <= age < 60_000.0
    return frame, float(age) if has_age else None


def _finite_frame(
    t_ms: float, halves: FloatArray, parts: dict[str, FloatArray], matrix: FloatArray | None, layout: _Layout
) -> TrackingFrame:
    """The frame of a packet with no NaN or infinity: the repairs come down to clipping."""
    for visibility in layout.visibility:  # as repair_pose clips them (written through the views)
        column = halves[visibility]
        column.clip(0.0, 1.0, out=column)
    shapes = None
    if layout.blendshapes is not None:
        weights = halves[layout.blendshapes].clip(0.0, 1.0).tolist()
        shapes = dict(zip(BLENDSHAPES, weights, strict=True))
    return TrackingFrame(
        t_ms=t_ms,
        pose_world=parts.get("pose_world"),  # no pose_world part: nobody was detected (JSON's null)
        pose_image=parts.get("pose_image"),
        left_hand_world=parts.get("left_hand_world"),
        right_hand_world=parts.get("right_hand_world"),
        face_blendshapes=shapes,
        face_matrix=None if matrix is None else matrix.reshape(4, 4),
    )


def _repaired_frame(t_ms: float, parts: dict[str, FloatArray], matrix: FloatArray | None) -> TrackingFrame:
    """The frame of a packet with a NaN or infinity somewhere: the bad-input rule's repairs."""
    warnings: list[str] = []
    shapes: dict[str, float] | None = None
    if "face_blendshapes" in parts:
        weights = parts["face_blendshapes"]
        if np.isfinite(weights).all():
            shapes = dict(zip(BLENDSHAPES, np.clip(weights, 0.0, 1.0).tolist(), strict=True))
        else:
            shapes = {}
            for key, weight in zip(BLENDSHAPES, weights.tolist(), strict=True):
                add_blendshape(shapes, key, weight, warnings)
    hands = [
        repair_hand(parts[n], n, warnings) if n in parts else None
        for n in ("left_hand_world", "right_hand_world")
    ]
    poses = [repair_pose(parts[n], n, warnings) if n in parts else None for n in ("pose_world", "pose_image")]
    return TrackingFrame(
        t_ms=t_ms,
        pose_world=poses[0],
        pose_image=poses[1],
        left_hand_world=hands[0],
        right_hand_world=hands[1],
        face_blendshapes=shapes,
        face_matrix=None if matrix is None else repair_matrix(matrix, warnings),
        warnings=tuple(warnings),
    )


__all__ = ["BLENDSHAPES", "MAGIC", "decode", "encode", "is_landmark_packet"]

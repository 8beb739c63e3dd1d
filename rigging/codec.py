"""The motion codec: one avatar pose as a compact binary packet.

Sent about 30 times a second to every customer on an unordered data channel without
retransmission, so each packet carries the whole pose and a lost one costs nothing. The layout
(little-endian; docs/motion-codec.md has it byte by byte):

====== ======== =============================================================================
offset size     field
====== ======== =============================================================================
0      1        format version (1)
1      1        flags: bit 0 = timing trailer present
2      2        sequence number, uint16, wraps (compare with :func:`seq_newer`)
4      8        capture timestamp t_ms, float64 (milliseconds on the capturing clock)
12     6        hips position, 3 x int16 millimetres (+-32.767 m, clamped)
18     7        bone mask: bit i set when ``BONES[i]`` follows (55 bits, LSB first)
25     4 x n    one rotation per bone present: smallest-three, uint32 =
                index of the largest component (2 bits) << 30 | three 10-bit components
                of the others (in x, y, z, w order, largest left out), each quantized over
                [-1/sqrt(2), 1/sqrt(2)]; the sign is chosen so the largest is positive
..     3        expression mask: bit i set when ``EXPRESSIONS[i]`` follows (18 bits)
..     1 x m    one weight byte per expression present, round(w * 255)
..     6        timing trailer (when flagged): landmarks ready, solve done, sent, as uint16
                tenths of a millisecond after capture, saturating at 6553.5 ms
====== ======== =============================================================================

A full body with all 55 bones and every expression is 272 bytes; the worst rotation error after
decoding is about 0.14 degrees (tests/rigging/test_codec.py measures both).
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

from rigging.pose import AvatarPose
from rigging.skeleton import BONE_INDEX, BONES, EXPRESSION_INDEX, EXPRESSIONS

VERSION: Final = 1
FLAG_TIMING: Final = 0x01
_HEADER: Final = struct.Struct("<BBHd3h")  # version, flags, seq, t_ms, hips mm
_BONE_MASK_BYTES: Final = (len(BONES) + 7) // 8
_EXPR_MASK_BYTES: Final = (len(EXPRESSIONS) + 7) // 8
_TIMING: Final = struct.Struct("<3H")
_RANGE: Final = 1.0 / math.sqrt(2.0)  # the three smallest components of a unit quaternion lie within
_LEVELS: Final = 1023
SEQ_MODULUS: Final = 1 << 16


class CodecError(ValueError):
    """A packet that cannot be decoded, or a pose that cannot be encoded."""


@dataclass(frozen=True)
class HopTiming:
    """When the server finished each hop, in milliseconds after the frame's capture."""

    landmarks_ms: float
    solve_ms: float
    send_ms: float


@dataclass(frozen=True)
class MotionPacket:
    seq: int
    pose: AvatarPose
    timing: HopTiming | None = None


def seq_newer(a: int, b: int) -> bool:
    """Whether sequence number ``a`` comes after ``b``, across the uint16 wrap (RFC 1982 style)."""
    return a != b and ((a - b) % SEQ_MODULUS) < SEQ_MODULUS // 2


def _mask(indices: list[int], n_bytes: int) -> bytes:
    value = 0
    for i in indices:
        value |= 1 << i
    return value.to_bytes(n_bytes, "little")


def _unmask(data: bytes, count: int, what: str) -> list[int]:
    value = int.from_bytes(data, "little")
    if value >> count:
        raise CodecError(f"{what} mask has bits beyond its {count} entries")
    return [i for i in range(count) if value >> i & 1]


def quantize_rotations(q: np.ndarray) -> np.ndarray:
    """Smallest-three packing of unit quaternions (n, 4) into uint32 (n,)."""
    largest = np.argmax(np.abs(q), axis=1)
    rows = np.arange(len(q))
    q = q * np.where(q[rows, largest] < 0, -1.0, 1.0)[:, None]
    keep = np.array([[1, 2, 3], [0, 2, 3], [0, 1, 3], [0, 1, 2]])[largest]
    small = q[rows[:, None], keep]
    levels = np.clip(np.rint((small + _RANGE) / (2 * _RANGE) * _LEVELS), 0, _LEVELS).astype(np.uint32)
    return np.asarray(
        (largest.astype(np.uint32) << 30) | (levels[:, 0] << 20) | (levels[:, 1] << 10) | levels[:, 2],
        dtype=np.uint32,
    )


def dequantize_rotations(packed: np.ndarray) -> np.ndarray:
    """Unit quaternions (n, 4) from smallest-three uint32 (n,)."""
    packed = packed.astype(np.uint32)
    largest = (packed >> 30).astype(np.intp)
    levels = np.stack(((packed >> 20) & 1023, (packed >> 10) & 1023, packed & 1023), axis=1)
    small = levels.astype(np.float64) / _LEVELS * (2 * _RANGE) - _RANGE
    big = np.sqrt(np.clip(1.0 - np.sum(small * small, axis=1), 0.0, 1.0))
    out = np.empty((len(packed), 4))
    rows = np.arange(len(packed))
    keep = np.array([[1, 2, 3], [0, 2, 3], [0, 1, 3], [0, 1, 2]])[largest]
    out[rows[:, None], keep] = small
    out[rows, largest] = big
    return np.asarray(out / np.linalg.norm(out, axis=1, keepdims=True), dtype=np.float64)


def encode(pose: AvatarPose, seq: int, timing: HopTiming | None = None) -> bytes:
    """The packet for ``pose`` with sequence number ``seq`` (taken modulo 2^16)."""
    if not math.isfinite(pose.t_ms):
        raise CodecError(f"t_ms must be finite, got {pose.t_ms}")
    hips = np.asarray(pose.hips_position, dtype=np.float64)
    if hips.shape != (3,) or not np.all(np.isfinite(hips)):
        raise CodecError("hips_position must be three finite numbers")
    hips_mm = np.clip(np.rint(hips * 1000.0), -32767, 32767).astype(int)

    names = sorted(pose.bones, key=lambda name: BONE_INDEX.get(name, -1))
    for name in names:
        if name not in BONE_INDEX:
            raise CodecError(f"bones.{name}: not a VRM 1.0 humanoid bone")
    quats = np.array([pose.bones[n] for n in names], dtype=np.float64).reshape(len(names), 4)
    norms = np.linalg.norm(quats, axis=1)
    bad = ~np.isfinite(norms) | (norms < 1e-6)
    if np.any(bad):
        raise CodecError(f"bones.{names[int(np.argmax(bad))]}: not a finite, non-zero quaternion")
    packed = quantize_rotations(quats / norms[:, None]) if names else np.zeros(0, dtype=np.uint32)

    expr = sorted(pose.expressions, key=lambda name: EXPRESSION_INDEX.get(name, -1))
    weights = bytearray()
    for name in expr:
        if name not in EXPRESSION_INDEX:
            raise CodecError(f"expressions.{name}: not a VRM 1.0 preset expression")
        w = float(pose.expressions[name])
        if not math.isfinite(w):
            raise CodecError(f"expressions.{name}: weight must be finite, got {w}")
        weights.append(round(min(1.0, max(0.0, w)) * 255))

    flags = FLAG_TIMING if timing is not None else 0
    parts = [
        _HEADER.pack(VERSION, flags, seq % SEQ_MODULUS, float(pose.t_ms), *(int(v) for v in hips_mm)),
        _mask([BONE_INDEX[n] for n in names], _BONE_MASK_BYTES),
        packed.astype("<u4").tobytes(),
        _mask([EXPRESSION_INDEX[n] for n in expr], _EXPR_MASK_BYTES),
        bytes(weights),
    ]
    if timing is not None:
        parts.append(_timing_bytes(timing))
    return b"".join(parts)


@dataclass(frozen=True)
class _WireLayout:
    """What a set of bone or expression names means on the wire: their order and mask."""

    order: tuple[int, ...]  # positions in the pose's own dict order, in wire order
    mask: bytes


_LAYOUTS: dict[tuple[str, tuple[str, ...]], _WireLayout] = {}


def _wire_layout(kind: str, names: tuple[str, ...], index: dict[str, int], mask_bytes: int) -> _WireLayout:
    # The poses of one solver have the same bones, and few sets of expressions: each set's layout
    # is worked out once.
    key = (kind, names)
    layout = _LAYOUTS.get(key)
    if layout is None:
        for name in names:
            if name not in index:
                what = "humanoid bone" if kind == "bones" else "preset expression"
                raise CodecError(f"{kind}.{name}: not a VRM 1.0 {what}")
        order = tuple(sorted(range(len(names)), key=lambda k: index[names[k]]))
        layout = _WireLayout(order, _mask([index[names[k]] for k in order], mask_bytes))
        if len(_LAYOUTS) < 4096:  # a bound, for callers whose sets vary without end
            _LAYOUTS[key] = layout
    return layout


def encode_batch(
    poses: Sequence[AvatarPose], seqs: Sequence[int], timings: Sequence[HopTiming | None]
) -> list[bytes]:
    """The packets of many poses, byte for byte what :func:`encode` gives for each.

    The rotations of all poses are checked and quantized in one pass of array calls, the hips and
    the expression weights likewise. A pose that cannot be encoded raises :class:`CodecError`
    naming its index and, as :func:`encode` does, its field; no packet is returned then.
    """
    if not len(poses) == len(seqs) == len(timings):
        raise CodecError(f"{len(poses)} poses, {len(seqs)} sequence numbers and {len(timings)} timings")
    if not poses:
        return []
    try:
        return _encode_all(poses, seqs, timings)
    except (CodecError, ValueError, TypeError, KeyError):
        pass
    # Something in the batch is wrong: encode one by one, so the error is encode's own, with its index.
    packets = []
    for i, (pose, seq, timing) in enumerate(zip(poses, seqs, timings, strict=True)):
        try:
            packets.append(encode(pose, seq, timing))
        except CodecError as exc:
            raise CodecError(f"pose {i}: {exc}") from None
    return packets


def _encode_all(
    poses: Sequence[AvatarPose], seqs: Sequence[int], timings: Sequence[HopTiming | None]
) -> list[bytes]:
    """:func:`encode_batch` when every pose is good; raises at the first sign of one that is not."""
    layouts: list[_WireLayout] = []
    expression_layouts: list[_WireLayout] = []
    values: list[NDArray[np.float64]] = []
    weights: list[float] = []
    trailers: list[bytes | None] = []
    for pose, timing in zip(poses, timings, strict=True):
        if not math.isfinite(pose.t_ms):
            raise CodecError("t_ms")
        layout = _wire_layout("bones", tuple(pose.bones), BONE_INDEX, _BONE_MASK_BYTES)
        expressions = _wire_layout("expressions", tuple(pose.expressions), EXPRESSION_INDEX, _EXPR_MASK_BYTES)
        layouts.append(layout)
        expression_layouts.append(expressions)
        rotations = list(pose.bones.values())
        values += [rotations[k] for k in layout.order]
        shown = list(pose.expressions.values())
        weights += [float(shown[k]) for k in expressions.order]
        trailers.append(None if timing is None else _timing_bytes(timing))
    hips = np.array([p.hips_position for p in poses], dtype=np.float64)
    if hips.shape != (len(poses), 3) or not np.all(np.isfinite(hips)):
        raise CodecError("hips_position")
    hips_mm = np.clip(np.rint(hips * 1000.0), -32767, 32767).astype(int).tolist()

    starts = np.cumsum([0] + [len(layout.order) for layout in layouts]).tolist()
    packed = b""
    if values:
        quats = np.array(values, dtype=np.float64).reshape(len(values), 4)
        norms = np.sqrt(np.add.reduce(quats * quats, axis=1))
        if not np.all(np.isfinite(norms) & (norms >= 1e-6)):
            raise CodecError("bones")
        packed = quantize_rotations(quats / norms[:, None]).astype("<u4").tobytes()
    w = np.array(weights, dtype=np.float64)
    if not np.all(np.isfinite(w)):
        raise CodecError("expressions")
    # np.rint rounds half to even, as Python's round in encode does.
    weight_bytes = np.rint(np.minimum(1.0, np.maximum(0.0, w)) * 255).astype(np.uint8).tobytes()

    packets: list[bytes] = []
    w_at = 0
    for i, pose in enumerate(poses):
        order, expression_mask = expression_layouts[i].order, expression_layouts[i].mask
        trailer = trailers[i]
        header = _HEADER.pack(
            VERSION,
            FLAG_TIMING if trailer is not None else 0,
            seqs[i] % SEQ_MODULUS,
            float(pose.t_ms),
            *hips_mm[i],
        )
        parts = [
            header,
            layouts[i].mask,
            packed[4 * starts[i] : 4 * starts[i + 1]],
            expression_mask,
            weight_bytes[w_at : w_at + len(order)],
        ]
        if trailer is not None:
            parts.append(trailer)
        w_at += len(order)
        packets.append(b"".join(parts))
    return packets


def _timing_bytes(timing: HopTiming) -> bytes:
    tenths = [timing.landmarks_ms, timing.solve_ms, timing.send_ms]
    if not all(math.isfinite(v) for v in tenths):
        raise CodecError("timing values must be finite")
    return _TIMING.pack(*(int(min(65535, max(0, round(v * 10)))) for v in tenths))


def decode(data: bytes) -> MotionPacket:
    """The pose in a packet; :class:`CodecError` says what is wrong with a bad one."""
    data = bytes(data)
    if len(data) < _HEADER.size + _BONE_MASK_BYTES:
        raise CodecError(f"packet too short: {len(data)} bytes, the header alone is {_HEADER.size + 7}")
    version, flags, seq, t_ms, hx, hy, hz = _HEADER.unpack_from(data, 0)
    if version != VERSION:
        raise CodecError(f"unknown format version {version} (this decoder reads version {VERSION})")
    if flags & ~FLAG_TIMING:
        raise CodecError(f"unknown flags 0x{flags:02x}")
    if not math.isfinite(t_ms):
        raise CodecError("t_ms is not a finite number")
    offset = _HEADER.size
    bone_ids = _unmask(data[offset : offset + _BONE_MASK_BYTES], len(BONES), "bone")
    offset += _BONE_MASK_BYTES
    rot_end = offset + 4 * len(bone_ids)
    if len(data) < rot_end + _EXPR_MASK_BYTES:
        raise CodecError(f"packet truncated: {len(bone_ids)} rotations announced, {len(data)} bytes in all")
    packed = np.frombuffer(data[offset:rot_end], dtype="<u4")
    quats = dequantize_rotations(packed) if bone_ids else np.zeros((0, 4))
    offset = rot_end
    expr_ids = _unmask(data[offset : offset + _EXPR_MASK_BYTES], len(EXPRESSIONS), "expression")
    offset += _EXPR_MASK_BYTES
    if len(data) < offset + len(expr_ids):
        raise CodecError("packet truncated in the expression weights")
    weights = data[offset : offset + len(expr_ids)]
    offset += len(expr_ids)
    timing = None
    if flags & FLAG_TIMING:
        if len(data) < offset + _TIMING.size:
            raise CodecError("packet truncated in the timing trailer")
        a, b, c = _TIMING.unpack_from(data, offset)
        timing = HopTiming(a / 10.0, b / 10.0, c / 10.0)
        offset += _TIMING.size
    if offset != len(data):
        raise CodecError(f"{len(data) - offset} unexpected byte(s) after the packet")
    pose = AvatarPose(
        t_ms=t_ms,
        hips_position=np.array([hx, hy, hz], dtype=np.float64) / 1000.0,
        bones={BONES[i]: quats[k] for k, i in enumerate(bone_ids)},
        expressions={EXPRESSIONS[i]: weights[k] / 255.0 for k, i in enumerate(expr_ids)},
    )
    return MotionPacket(seq=seq, pose=pose, timing=timing)

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
from typing import Final, TypeVar

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


def _pack_table() -> NDArray[np.float64]:
    """(4, 4): column ``c`` weighs the levels of a quaternion whose largest component is ``c``."""
    table = np.zeros((4, 4))
    for largest in range(4):
        kept = [c for c in range(4) if c != largest]
        table[kept, largest] = (1 << 20, 1 << 10, 1)
    return table


# Smallest-three packing as arithmetic: the levels of all four components times this table give
# the packed value for each choice of the largest one, and one take picks each row's choice. Exact
# in float64 (below 2^32); a handful of calls instead of per-component fancy indexing and shifts.
_PACK: Final = _pack_table()
_TOP_BITS: Final = np.array([float(c << 30) for c in range(4)])
_ROW_STARTS: Final = np.arange(0, 4 * 4096, 4)


def quantize_rotations(q: np.ndarray) -> np.ndarray:
    """Smallest-three packing of unit quaternions (n, 4) into uint32 (n,)."""
    largest = np.abs(q).argmax(axis=1)
    n = len(q)
    flat = largest + (_ROW_STARTS[:n] if n <= len(_ROW_STARTS) else np.arange(0, 4 * n, 4))
    # the sign that makes the largest positive (it is at least 1/2 for a unit quaternion)
    q = q * np.copysign(1.0, q.take(flat))[:, None]
    levels = np.rint((q + _RANGE) / (2 * _RANGE) * _LEVELS)
    levels = np.minimum(np.maximum(levels, 0.0), float(_LEVELS))
    packed: NDArray[np.float64] = (levels @ _PACK + _TOP_BITS).take(flat)
    return packed.astype(np.uint32)


def _norms(q: NDArray[np.float64]) -> NDArray[np.float64]:
    """Each row's length, summed in np.linalg.norm's order (x² + y² + z² + w², left to right).

    Whole columns instead of a reduction along rows of four, which numpy does element by element.
    """
    squares = q * q
    total = squares[:, 0] + squares[:, 1]
    total += squares[:, 2]
    total += squares[:, 3]
    return np.sqrt(total)


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
    hips_mm = np.minimum(np.maximum(np.rint(hips * 1000.0), -32767.0), 32767.0).astype(int).tolist()

    bones = _bone_layout(tuple(pose.bones))
    names = bones.in_order(tuple(pose.bones))
    quats = pose.bone_rows() if bones.order is None else None  # the solver's own array, if intact
    if quats is None:
        quats = np.array(bones.in_order(list(pose.bones.values())), dtype=np.float64).reshape(len(names), 4)
    norms = _norms(quats)
    bad = ~np.isfinite(norms) | (norms < 1e-6)
    if np.count_nonzero(bad):
        raise CodecError(f"bones.{names[int(np.argmax(bad))]}: not a finite, non-zero quaternion")
    packed = quantize_rotations(quats / norms[:, None]) if names else np.zeros(0, dtype=np.uint32)

    shown = _expression_layout(tuple(pose.expressions))
    weights = bytearray()
    for name in shown.in_order(tuple(pose.expressions)):
        w = float(pose.expressions[name])
        if not math.isfinite(w):
            raise CodecError(f"expressions.{name}: weight must be finite, got {w}")
        weights.append(round(min(1.0, max(0.0, w)) * 255))

    flags = FLAG_TIMING if timing is not None else 0
    parts = [
        _HEADER.pack(VERSION, flags, seq % SEQ_MODULUS, float(pose.t_ms), *hips_mm),
        bones.mask,
        packed.astype("<u4", copy=False).tobytes(),
        shown.mask,
        bytes(weights),
    ]
    if timing is not None:
        parts.append(_timing_bytes(timing))
    return b"".join(parts)


_T = TypeVar("_T")


@dataclass(frozen=True)
class _WireLayout:
    """What a set of bone or expression names means on the wire: their order and mask."""

    #: positions in the pose's own dict order, in wire order; None when that is the dict order
    #: (the solver's poses), so their values are taken as they are
    order: tuple[int, ...] | None
    mask: bytes
    count: int

    def in_order(self, items: Sequence[_T]) -> Sequence[_T]:
        """``items`` (one per name, in the pose's dict order) in wire order."""
        return items if self.order is None else [items[k] for k in self.order]


_BONE_LAYOUTS: dict[tuple[str, ...], _WireLayout] = {}
_EXPRESSION_LAYOUTS: dict[tuple[str, ...], _WireLayout] = {}


def _bone_layout(names: tuple[str, ...]) -> _WireLayout:
    return _BONE_LAYOUTS.get(names) or _new_layout(names, "bones", _BONE_LAYOUTS)


def _expression_layout(names: tuple[str, ...]) -> _WireLayout:
    return _EXPRESSION_LAYOUTS.get(names) or _new_layout(names, "expressions", _EXPRESSION_LAYOUTS)


def _new_layout(names: tuple[str, ...], kind: str, cache: dict[tuple[str, ...], _WireLayout]) -> _WireLayout:
    # The poses of one solver have the same bones, and few sets of expressions: each set's layout
    # is worked out once.
    index, mask_bytes = (
        (BONE_INDEX, _BONE_MASK_BYTES) if kind == "bones" else (EXPRESSION_INDEX, _EXPR_MASK_BYTES)
    )
    for name in names:
        if name not in index:
            what = "humanoid bone" if kind == "bones" else "preset expression"
            raise CodecError(f"{kind}.{name}: not a VRM 1.0 {what}")
    order = tuple(sorted(range(len(names)), key=lambda k: index[names[k]]))
    mask = _mask([index[names[k]] for k in order], mask_bytes)
    layout = _WireLayout(None if order == tuple(range(len(names))) else order, mask, len(names))
    if len(cache) < 4096:  # a bound, for callers whose sets vary without end
        cache[names] = layout
    return layout


def encode_batch(
    poses: Sequence[AvatarPose],
    seqs: Sequence[int],
    timings: Sequence[HopTiming | None] | NDArray[np.float64],
) -> list[bytes]:
    """The packets of many poses, byte for byte what :func:`encode` gives for each.

    ``timings`` holds each pose's :class:`HopTiming` or None, or is one (len(poses), 3) array of
    every pose's hop times in ms (landmarks, solve, send), which saves making the objects.
    The rotations of all poses are checked and quantized in one pass of array calls, the hips,
    the expression weights and the timing trailers likewise. A pose that cannot be encoded raises
    :class:`CodecError` naming its index and, as :func:`encode` does, its field; no packet is
    returned then.
    """
    if not len(poses) == len(seqs) == len(timings):
        raise CodecError(f"{len(poses)} poses, {len(seqs)} sequence numbers and {len(timings)} timings")
    if isinstance(timings, np.ndarray) and timings.shape != (len(poses), 3):
        raise CodecError(f"timings: expected an array of shape [{len(poses)}, 3], got {list(timings.shape)}")
    if not poses:
        return []
    try:
        return _encode_all(poses, seqs, timings)
    except (CodecError, ValueError, TypeError, KeyError):
        pass
    # Something in the batch is wrong: encode one by one, so the error is encode's own, with its index.
    if isinstance(timings, np.ndarray):
        timings = [HopTiming(*row) for row in timings.tolist()]
    packets = []
    for i, (pose, seq, timing) in enumerate(zip(poses, seqs, timings, strict=True)):
        try:
            packets.append(encode(pose, seq, timing))
        except CodecError as exc:
            raise CodecError(f"pose {i}: {exc}") from None
    return packets


def _encode_all(
    poses: Sequence[AvatarPose],
    seqs: Sequence[int],
    timings: Sequence[HopTiming | None] | NDArray[np.float64],
) -> list[bytes]:
    """:func:`encode_batch` when every pose is good; raises at the first sign of one that is not.

    Per pose only what cannot be an array call: find its layouts (cached), collect its values,
    and in the end join its packet's parts.
    """
    layouts: list[tuple[_WireLayout, _WireLayout]] = []
    # The rotations as the solver's arrays while every pose has its own (the usual case)
    blocks: list[NDArray[np.float64]] | None = []
    hips: list[object] = []
    weights: list[object] = []
    for pose in poses:
        if not math.isfinite(pose.t_ms):
            raise CodecError("t_ms")
        position, bones, shown = pose.hips_position, pose.bones, pose.expressions
        if len(position) != 3:
            raise CodecError("hips_position")
        # (not +=, which numpy would take for an addition; an array's floats in one call)
        hips.extend(position.tolist() if type(position) is np.ndarray else position)
        bone_layout, expression_layout = _bone_layout(tuple(bones)), _expression_layout(tuple(shown))
        layouts.append((bone_layout, expression_layout))
        if blocks is not None:
            rows = pose.bone_rows() if bone_layout.order is None else None
            if rows is None:
                blocks = None
            else:
                blocks.append(rows)
        # dict views in wire order as they are: list.extend takes them in C
        weights += (
            shown.values()
            if expression_layout.order is None
            else expression_layout.in_order(list(shown.values()))
        )
    timed, hop_times = _hop_times(timings)
    hips_mm, weight_bytes, tenths = _quantized_scalars(hips, weights, hop_times)

    packed = b""
    quats = _rotations(poses, layouts, blocks)
    if len(quats):
        norms = _norms(quats)
        # NaN fails the first comparison, infinity the second (ufunc reductions: no wrappers)
        if not (np.minimum.reduce(norms) >= 1e-6 and np.maximum.reduce(norms) < math.inf):
            raise CodecError("bones")
        packed = quantize_rotations(quats / norms[:, None]).astype("<u4", copy=False).tobytes()

    packets: list[bytes] = []
    r_at = w_at = t_at = 0
    for i, (bone_layout, expression_layout) in enumerate(layouts):
        r_end, w_end = r_at + 4 * bone_layout.count, w_at + expression_layout.count
        trailer = b""
        if timed[i]:
            trailer = tenths[t_at : t_at + _TIMING.size]
            t_at += _TIMING.size
        header = _HEADER.pack(
            VERSION, FLAG_TIMING if timed[i] else 0, seqs[i] % SEQ_MODULUS, float(poses[i].t_ms), *hips_mm[i]
        )
        packets.append(
            b"".join(
                (
                    header,
                    bone_layout.mask,
                    packed[r_at:r_end],
                    expression_layout.mask,
                    weight_bytes[w_at:w_end],
                    trailer,
                )
            )
        )
        r_at, w_at = r_end, w_end
    return packets


def _rotations(
    poses: Sequence[AvatarPose],
    layouts: list[tuple[_WireLayout, _WireLayout]],
    blocks: list[NDArray[np.float64]] | None,
) -> NDArray[np.float64]:
    """Every pose's rotations in wire order, one after the other (n, 4): the poses' own arrays
    when each has one (``blocks``), else stacked from their values."""
    if blocks is not None:
        return blocks[0] if len(blocks) == 1 else np.concatenate(blocks)
    values: list[object] = []
    for pose, (layout, _) in zip(poses, layouts, strict=True):
        # dict views in wire order as they are: list.extend takes them in C
        bones = pose.bones.values()
        values += bones if layout.order is None else layout.in_order(list(bones))
    return np.array(values, dtype=np.float64).reshape(len(values), 4)


def _hop_times(timings: Sequence[HopTiming | None] | NDArray[np.float64]) -> tuple[list[bool], list[float]]:
    """Which poses are timed, and the timed ones' hop times (ms) one after the other."""
    values: list[float]
    if isinstance(timings, np.ndarray):
        values = timings.ravel().tolist()
        return [True] * len(timings), values
    values = [v for t in timings if t is not None for v in (t.landmarks_ms, t.solve_ms, t.send_ms)]
    # Python's floats and ints (and numpy's float64) round as numpy does; anything else takes
    # encode's own arithmetic
    if not set(map(type, values)) <= _PLAIN_NUMBERS:
        raise TypeError("timing values")
    return [t is not None for t in timings], values


_PLAIN_NUMBERS: Final = frozenset({float, int, np.float64})
#: How encode turns each kind of number into an integer: hips in mm, expression weights in
#: 255ths, hop times in tenths of a ms; rows: scale, then the range the integer is clamped to.
_SCALARS: Final = np.array([[1000.0, 255.0, 10.0], [-32767.0, 0.0, 0.0], [32767.0, 255.0, 65535.0]])


_SCALAR_TABLES: dict[tuple[int, int, int], NDArray[np.float64]] = {}


def _scalar_table(n_hips: int, n_weights: int, n_times: int) -> NDArray[np.float64]:
    """:data:`_SCALARS`' columns repeated for these many values of each kind (3, n).

    A batch's counts recur from one frame to the next: each table is made once.
    """
    key = (n_hips, n_weights, n_times)
    table = _SCALAR_TABLES.get(key)
    if table is None:
        table = _SCALARS.repeat(key, axis=1)
        if len(_SCALAR_TABLES) < 4096:  # a bound, for callers whose counts vary without end
            _SCALAR_TABLES[key] = table
    return table


def _quantized_scalars(
    hips: Sequence[object], weights: Sequence[object], hop_times: Sequence[float]
) -> tuple[list[list[int]], bytes, bytes]:
    """The hips in mm (one row per pose), the weight bytes and the timing trailers' bytes.

    All three kinds are scaled, rounded and clamped together, in one pass of array calls.
    np.rint rounds half to even as Python's round in encode does, and rounding before clamping the
    weights to [0, 255] gives what clamping them to [0, 1] first does.
    """
    values = np.array([*hips, *weights, *hop_times], dtype=np.float64)
    if values.ndim != 1:
        raise CodecError("hips_position, expressions or timing")
    scale, low, high = _scalar_table(len(hips), len(weights), len(hop_times))
    scaled = values * scale
    # finite after scaling, as Python's round needs; a sum of squares is finite only then (a false
    # alarm for a number near 1e150 sends the batch to encode, which gets it right)
    if not math.isfinite(scaled @ scaled):
        raise CodecError("hips_position, expressions or timing")
    whole = np.minimum(np.maximum(np.rint(scaled), low), high)
    n_hips, n_weights = len(hips), len(weights)
    return (
        whole[:n_hips].astype(np.int64).reshape(n_hips // 3, 3).tolist(),
        whole[n_hips : n_hips + n_weights].astype(np.uint8).tobytes(),
        whole[n_hips + n_weights :].astype("<u2").tobytes(),
    )


def _timing_bytes(timing: HopTiming) -> bytes:
    tenths = [timing.landmarks_ms, timing.solve_ms, timing.send_ms]
    if not all(math.isfinite(v) for v in tenths):
        raise CodecError("timing values must be finite")
    return _TIMING.pack(*(int(min(65535, max(0, round(v * 10)))) for v in tenths))


def packet_header(data: bytes) -> tuple[int, float, bool]:
    """A packet's sequence number, ``t_ms`` and whether it carries hop times, read from its header
    alone (for tools that follow a stream's timing without decoding every pose)."""
    if len(data) < _HEADER.size:
        raise CodecError(f"packet too short: {len(data)} bytes, the header alone is {_HEADER.size}")
    version, flags, seq, t_ms, *_ = _HEADER.unpack_from(data, 0)
    if version != VERSION:
        raise CodecError(f"unknown format version {version} (this decoder reads version {VERSION})")
    return seq, t_ms, bool(flags & FLAG_TIMING)


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

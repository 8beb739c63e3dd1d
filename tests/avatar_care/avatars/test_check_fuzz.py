"""The avatar checker under property-based fuzzing: any file is refused with reasons or accepted,
never an exception; an accepted file's thumbnail is made or refused as the upload refuses it."""

from __future__ import annotations

import contextlib
import copy
import json
import struct
from functools import cache
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from avatar_care.avatars.check import check_avatar
from avatar_care.avatars.glb import Glb, read_glb
from avatar_care.avatars.thumbnail import make_thumbnail
from tests.avatar_care.avatars.vrm0 import make_vrm0
from tests.shared_data import shared

SHIPPED = Path(__file__).resolve().parents[3] / "assets" / "avatars" / "Asian_F_1_Casual.vrm"
FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@cache
def bases() -> tuple[Glb, ...]:
    """A VRM 1.0, a VRM 0.x and a plain humanoid GLB: each reads different parts."""
    plain = shared("avatars/Asian_F_1_Casual.glb").read_bytes()
    return tuple(read_glb(data) for data in (SHIPPED.read_bytes(), make_vrm0(plain), plain))


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON value (the keys and indices leading to it)."""
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out += paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value[:8]):  # the first few of long lists stand for the rest
            out += paths(v, (*prefix, i))
    return out


@cache
def places(base: int) -> list[tuple[Any, ...]]:
    return paths(bases()[base].gltf)[1:]


JSON_LEAF = (
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=12)
)  # fmt: skip
JSON = st.recursive(JSON_LEAF, lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids, max_size=4), max_leaves=12)  # fmt: skip


def put(doc: Any, path: tuple[Any, ...], value: Any) -> None:
    *parents, last = path
    for key in parents:
        doc = doc[key]
    doc[last] = value


def outcome(data: bytes) -> None:
    report = check_avatar(data)
    assert report.accepted or all(isinstance(p, str) and p for p in report.problems)
    if report.accepted:
        # the upload refuses these with "its thumbnail is not a picture"
        with contextlib.suppress(OSError, ValueError, Image.DecompressionBombError):
            assert make_thumbnail(data).startswith(b"\x89PNG")


@FUZZ
@given(base=st.integers(0, 2), edits=st.lists(st.tuples(st.integers(0, 10**9), JSON), min_size=1, max_size=4))
def test_any_value_anywhere_in_the_json_is_refused_with_reasons_or_accepted(
    base: int, edits: list[tuple[int, Any]]
) -> None:
    glb = bases()[base]
    gltf = copy.deepcopy(glb.gltf)
    for choice, value in edits:
        path = places(base)[choice % len(places(base))]
        try:
            put(gltf, path, value)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier edit replaced this place's parent
    text = json.dumps(gltf).encode()  # NaN and Infinity written as JSON cannot: the checker refuses them
    outcome(_with_json(text, glb.binary))


def _with_json(text: bytes, binary: bytes | None) -> bytes:
    """A GLB around this JSON text exactly (write_glb would re-encode it)."""
    text += b" " * (-len(text) % 4)
    chunks = struct.pack("<II", len(text), 0x4E4F534A) + text
    if binary is not None:
        padded = binary + b"\0" * (-len(binary) % 4)
        chunks += struct.pack("<II", len(padded), 0x004E4942) + padded
    return struct.pack("<4sII", b"glTF", 2, 12 + len(chunks)) + chunks


@FUZZ
@given(st.binary(max_size=4096))
def test_any_bytes_are_refused_with_reasons(data: bytes) -> None:
    report = check_avatar(data)
    assert not report.accepted and report.problems


@FUZZ
@given(
    cut=st.integers(0, 10**9),
    flips=st.lists(st.tuples(st.integers(0, 10**9), st.integers(0, 255)), max_size=8),
)
def test_a_damaged_container_is_refused_with_reasons_or_accepted(
    cut: int, flips: list[tuple[int, int]]
) -> None:
    data = bytearray(SHIPPED.read_bytes())
    header_and_json = 12 + 8 + int.from_bytes(data[12:16], "little")  # damage where parsing happens
    for at, byte in flips:
        data[at % header_and_json] = byte
    outcome(bytes(data[: max(0, len(data) - cut % 64)]))

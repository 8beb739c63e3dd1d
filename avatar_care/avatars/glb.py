"""glTF binary (GLB) containers: the JSON chunk and the binary chunk, read and written.

Only the container is handled here; meshes and textures stay as they are (the shipped avatars use
meshopt compression, which the browser's loader decodes), so editing an avatar means editing JSON.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from typing import Any, Final

from avatar_care.core.json_depth import json_nesting

MAGIC: Final = b"glTF"
CHUNK_JSON: Final = 0x4E4F534A
CHUNK_BIN: Final = 0x004E4942


#: glTF documents nest a few levels (extensions inside objects inside lists); deeper is refused
#: before parsing, so a hostile file cannot exhaust the parser's recursion.
MAX_JSON_DEPTH: Final = 64


class GlbError(ValueError):
    """Not a readable glTF binary; the message says what is wrong."""


def _no_constant(name: str) -> float:
    raise GlbError(name)


@dataclass
class Glb:
    gltf: dict[str, Any]
    binary: bytes | None


def read_glb(data: bytes) -> Glb:
    if len(data) < 12:
        raise GlbError(f"not a glTF binary: {len(data)} bytes, the header alone is 12")
    magic, version, length = struct.unpack_from("<4sII", data, 0)
    if magic != MAGIC:
        raise GlbError("not a glTF binary: the file does not start with 'glTF'")
    if version != 2:
        raise GlbError(f"glTF binary version {version}; only version 2 is supported")
    if length != len(data):
        raise GlbError(f"truncated or padded: the header says {length} bytes, the file has {len(data)}")
    offset = 12
    gltf: dict[str, Any] | None = None
    binary: bytes | None = None
    while offset < length:
        if offset + 8 > length:
            raise GlbError(f"truncated chunk header at byte {offset}")
        chunk_len, chunk_type = struct.unpack_from("<II", data, offset)
        start, end = offset + 8, offset + 8 + chunk_len
        if end > length:
            raise GlbError(f"chunk at byte {offset} runs past the end of the file")
        if chunk_type == CHUNK_JSON and gltf is None:
            chunk = bytes(data[start:end])
            if json_nesting(chunk) > MAX_JSON_DEPTH:
                raise GlbError(f"the JSON chunk is nested deeper than {MAX_JSON_DEPTH} levels")
            try:
                parsed = json.loads(chunk.decode("utf-8"), parse_constant=_no_constant)
            except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
                raise GlbError(f"the JSON chunk is not valid JSON: {exc}") from None
            except GlbError:
                raise GlbError("the JSON chunk holds NaN or Infinity, which JSON does not allow") from None
            if not isinstance(parsed, dict):
                raise GlbError("the JSON chunk is not an object")
            gltf = parsed
        elif chunk_type == CHUNK_BIN and binary is None:
            binary = bytes(data[start:end])
        offset = end
    if gltf is None:
        raise GlbError("no JSON chunk")
    return Glb(gltf=gltf, binary=binary)


def write_glb(glb: Glb) -> bytes:
    text = json.dumps(glb.gltf, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 4)  # chunks are 4-byte aligned: JSON pads with spaces
    chunks = struct.pack("<II", len(text), CHUNK_JSON) + text
    if glb.binary is not None:
        binary = glb.binary + b"\x00" * (-len(glb.binary) % 4)
        chunks += struct.pack("<II", len(binary), CHUNK_BIN) + binary
    return struct.pack("<4sII", MAGIC, 2, 12 + len(chunks)) + chunks

"""The check every avatar passes before a brand may use it (uploads, the command line, the build).

A file is refused, with every reason, when it cannot be shown or animated: it is not a valid glTF
binary, is too large, refers to anything outside itself (external URIs), needs a glTF extension the
pages cannot load, lacks a required humanoid bone that cannot be mapped from common names, or
carries a texture over the size limit. The JSON's shape is checked first (``gltf_shape``): wrong
types, indices out of range or a node hierarchy that is not a forest are refused with where they
are, before anything reads the parts.

A humanoid without the face's morphs (no mouth or blink expression) is accepted with a warning:
the pages show and animate its body, arms and fingers, and its face stays still, which a brand
should know before choosing it.
"""

from __future__ import annotations

import logging
import struct
from dataclasses import dataclass, field
from typing import Any, Final

from avatar_care.avatars.glb import GlbError, read_glb
from avatar_care.avatars.gltf_shape import shape_problems
from avatar_care.avatars.humanoid_map import REQUIRED_BONES, map_bones, map_expressions

logger = logging.getLogger(__name__)

#: glTF extensions the customer page's loader handles (three.js GLTFLoader with the meshopt decoder).
SUPPORTED_EXTENSIONS: Final = frozenset(
    {
        "KHR_mesh_quantization", "EXT_meshopt_compression", "EXT_texture_webp", "KHR_texture_transform",
        "KHR_materials_unlit", "KHR_materials_emissive_strength", "KHR_texture_basisu",
        "VRMC_vrm", "VRMC_springBone", "VRMC_materials_mtoon", "VRMC_node_constraint", "VRM",
    }
)  # fmt: skip
#: What a face needs in order to speak and to blink; without them it is still (a warning).
FACE_EXPRESSIONS: Final = ("aa", "blink")


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 40 * 1024 * 1024
    max_texture_side: int = 4096


@dataclass
class AvatarReport:
    format: str = "unknown"  # "vrm1", "vrm0", "glb"
    size_bytes: int = 0
    bones: dict[str, str] = field(default_factory=dict)  # VRM bone -> node name
    expressions: dict[str, int] = field(default_factory=dict)  # VRM expression -> number of morph binds
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # what the avatar will not do, accepted or not

    @property
    def accepted(self) -> bool:
        return not self.problems


def image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from a PNG, JPEG or WebP header, without decoding the picture."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        w, h = struct.unpack(">II", data[16:24])
        return int(w), int(h)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP" and len(data) >= 30:
        kind = data[12:16]
        if kind == b"VP8 ":
            w, h = struct.unpack("<HH", data[26:30])
            return w & 0x3FFF, h & 0x3FFF
        if kind == b"VP8L":
            b = data[21:25]
            w = 1 + (((b[1] & 0x3F) << 8) | b[0])
            h = 1 + (((b[3] & 0x0F) << 10) | (b[2] << 2) | ((b[1] & 0xC0) >> 6))
            return w, h
        if kind == b"VP8X":
            w = 1 + int.from_bytes(data[24:27], "little")
            h = 1 + int.from_bytes(data[27:30], "little")
            return w, h
    if data[:2] == b"\xff\xd8":
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                i += 1
                continue
            marker = data[i + 1]
            seg = struct.unpack(">H", data[i + 2 : i + 4])[0]
            if marker in (0xC0, 0xC1, 0xC2):
                h, w = struct.unpack(">HH", data[i + 5 : i + 9])
                return int(w), int(h)
            i += 2 + seg
    return None


def _images(gltf: dict[str, Any], binary: bytes | None) -> list[tuple[int, bytes | None]]:
    out: list[tuple[int, bytes | None]] = []
    views = gltf.get("bufferViews", [])
    for i, image in enumerate(gltf.get("images", [])):
        view = image.get("bufferView")
        if isinstance(view, int) and binary is not None and view < len(views):
            start = int(views[view].get("byteOffset", 0))
            out.append((i, binary[start : start + int(views[view].get("byteLength", 0))]))
        else:
            out.append((i, None))
    return out


def missing_face_expressions(expressions: dict[str, int] | list[str]) -> list[str]:
    """Which of ``FACE_EXPRESSIONS`` a face with these expressions (name -> morph binds, or the
    names that have any) lacks, in that order: what pages name in their own language."""
    have = {e for e in expressions if not isinstance(expressions, dict) or expressions[e]}
    return [e for e in FACE_EXPRESSIONS if e not in have]


def face_warnings(expressions: dict[str, int] | list[str]) -> list[str]:
    """What a face with these expressions (name -> morph binds, or the names that have any) cannot do."""
    lacking = missing_face_expressions(expressions)
    if not lacking:
        return []
    what = {"aa": "the mouth will not move with speech", "blink": "the eyes will not blink"}
    return [
        f"no face morphs for {', '.join(lacking)}: {'; '.join(what[e] for e in lacking)} "
        "(the body, arms, hands and fingers are animated)"
    ]


def check_avatar(data: bytes, limits: Limits | None = None) -> AvatarReport:
    """Everything wrong with an avatar file, and what was found in it."""
    limits = limits or Limits()
    report = AvatarReport(size_bytes=len(data))
    if len(data) > limits.max_bytes:
        report.problems.append(f"file too large: {len(data):,} bytes, the limit is {limits.max_bytes:,}")
        return report
    try:
        glb = read_glb(data)
    except GlbError as exc:
        report.problems.append(str(exc))
        return report
    gltf = glb.gltf
    shape = shape_problems(gltf)
    if shape:  # what follows reads these parts: a file of the wrong shape is refused here
        report.problems.extend(f"malformed glTF: {problem}" for problem in shape)
        return report
    try:
        _inspect(gltf, glb.binary, limits, report)
    except (TypeError, KeyError, IndexError, AttributeError, ValueError, OverflowError) as exc:
        # The shape check should have caught it: refuse the file rather than fail the request.
        logger.warning("avatar check: a malformed part got past the shape check: %r", exc)
        report.problems.append(f"malformed glTF: a part could not be read ({type(exc).__name__})")
    return report


def _inspect(gltf: dict[str, Any], binary: bytes | None, limits: Limits, report: AvatarReport) -> None:
    ext = gltf.get("extensions", {})
    report.format = "vrm1" if "VRMC_vrm" in ext else "vrm0" if "VRM" in ext else "glb"
    if str(gltf.get("asset", {}).get("version", "")) != "2.0":
        report.problems.append("asset.version must be 2.0")

    for kind in ("buffers", "images"):
        for i, item in enumerate(gltf.get(kind, [])):
            uri = item.get("uri")
            if isinstance(uri, str) and not uri.startswith("data:"):
                report.problems.append(
                    f"{kind}[{i}] refers to an external file ({uri[:60]}): everything must be inside"
                )
    for name in gltf.get("extensionsRequired", []):
        if name not in SUPPORTED_EXTENSIONS:
            report.problems.append(f"requires the glTF extension {name}, which the pages cannot load")

    nodes = gltf.get("nodes", [])
    bones = map_bones(gltf)
    report.bones = {b: str(nodes[i].get("name", f"node {i}")) for b, i in bones.items() if i < len(nodes)}
    missing = [b for b in REQUIRED_BONES if b not in bones]
    if missing:
        report.problems.append(
            "humanoid bones missing (not found, nor mappable from Mixamo or Ready Player Me "
            f"names): {', '.join(missing)}"
        )
    expressions = map_expressions(gltf)
    if report.format == "vrm1":
        preset = ext["VRMC_vrm"].get("expressions", {}).get("preset", {})
        report.expressions = {k: len(v.get("morphTargetBinds", [])) for k, v in preset.items()}
    else:
        report.expressions = {k: len(v) for k, v in expressions.binds.items()}
    report.warnings.extend(face_warnings(report.expressions))

    for i, image in _images(gltf, binary):
        if image is None:
            continue
        size = image_size(image)
        if size is None:
            report.problems.append(f"images[{i}] is not a PNG, JPEG or WebP picture")
        elif max(size) > limits.max_texture_side:
            report.problems.append(
                f"images[{i}] is {size[0]}x{size[1]}: textures may be at most {limits.max_texture_side} pixels a side"
            )

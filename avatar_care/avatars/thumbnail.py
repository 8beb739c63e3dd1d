"""A thumbnail for an accepted avatar, made on the server without a GPU.

A VRM 1.0 file may carry its own thumbnail (``meta.thumbnailImage``): that one is used. Otherwise
the server draws the avatar's skeleton from the front, in its rest pose, as a clean figure on a
light card: enough to tell avatars apart in a list, with no renderer to install.
"""

from __future__ import annotations

import io

from PIL import Image, ImageDraw

from avatar_care.avatars.check import image_size
from avatar_care.avatars.glb import read_glb
from avatar_care.avatars.humanoid_map import map_bones
from avatar_care.avatars.vrm_build import _Skeleton
from rigging.skeleton import PARENT

SIZE = 256


def _embedded(data: bytes) -> bytes | None:
    glb = read_glb(data)
    meta = glb.gltf.get("extensions", {}).get("VRMC_vrm", {}).get("meta", {})
    index = meta.get("thumbnailImage")
    images = glb.gltf.get("images", [])
    if not isinstance(index, int) or index >= len(images) or glb.binary is None:
        return None
    view_index = images[index].get("bufferView")
    if not isinstance(view_index, int):
        return None
    view = glb.gltf["bufferViews"][view_index]
    start = int(view.get("byteOffset", 0))
    picture = glb.binary[start : start + int(view["byteLength"])]
    return picture if image_size(picture) is not None else None


def make_thumbnail(data: bytes, colour: str = "#2f6f8f") -> bytes:
    """PNG bytes of the avatar's thumbnail."""
    embedded = _embedded(data)
    if embedded is not None:
        with Image.open(io.BytesIO(embedded)) as picture:
            picture.thumbnail((SIZE, SIZE))
            out = io.BytesIO()
            picture.convert("RGB").save(out, "PNG")
            return out.getvalue()
    gltf = read_glb(data).gltf
    bones = map_bones(gltf)
    skeleton = _Skeleton(gltf)
    points = {b: skeleton.position(i) for b, i in bones.items()}
    xs = [p[0] for p in points.values()]
    ys = [p[1] for p in points.values()]
    span = max(max(xs) - min(xs), max(ys) - min(ys), 1e-6)
    scale = (SIZE * 0.8) / span
    cx, cy = (max(xs) + min(xs)) / 2, (max(ys) + min(ys)) / 2

    def at(bone: str) -> tuple[float, float]:
        p = points[bone]
        return SIZE / 2 + (p[0] - cx) * scale, SIZE / 2 - (p[1] - cy) * scale

    image = Image.new("RGB", (SIZE, SIZE), "#f3efe8")
    draw = ImageDraw.Draw(image)
    for bone in points:
        parent = PARENT.get(bone)
        while parent is not None and parent not in points:
            parent = PARENT.get(parent)
        if parent is not None:
            draw.line(
                [at(parent), at(bone)],
                fill=colour,
                width=4 if "Thumb" not in bone and "Index" not in bone else 2,
            )
    if "head" in points:
        hx, hy = at("head")
        r = 0.09 * scale
        draw.ellipse([hx - r, hy - 2 * r, hx + r, hy], outline=colour, width=4)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()

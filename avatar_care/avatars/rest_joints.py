"""Where a model's humanoid joints sit at rest: node transforms composed down the glTF node tree.

Used to measure the solver against another skeleton family's proportions (the shipped and shared
avatars are Mixamo rigs): each mapped bone's joint in the model's own frame (glTF's: +Y up, the
model facing +Z, its left at +X, as the avatar frame), and for each distal finger bone the joint of
its child (Mixamo's ``...4`` end bones) as ``<bone>Tip``. Only the JSON is read; meshes are not.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from avatar_care.avatars.humanoid_map import map_bones

F64 = NDArray[np.float64]


def _local(node: dict[str, Any]) -> F64:
    """A node's 4x4 transform relative to its parent (glTF: a matrix, or T * R * S)."""
    if "matrix" in node:
        return np.asarray(node["matrix"], dtype=np.float64).reshape(4, 4).T  # column-major
    x, y, z, w = (float(v) for v in node.get("rotation", (0.0, 0.0, 0.0, 1.0)))
    rot = np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )
    out = np.eye(4)
    out[:3, :3] = rot * np.asarray(node.get("scale", (1.0, 1.0, 1.0)), dtype=np.float64)
    out[:3, 3] = node.get("translation", (0.0, 0.0, 0.0))
    return out


def rest_joints(gltf: dict[str, Any]) -> dict[str, F64]:
    """Rest position of every humanoid bone's joint the model maps, and ``<bone>Tip`` of distal fingers."""
    nodes = gltf.get("nodes", [])
    parent: dict[int, int] = {}
    for i, node in enumerate(nodes):
        for child in node.get("children", []):
            parent[int(child)] = i
    cache: dict[int, F64] = {}

    def world(i: int) -> F64:
        if i not in cache:
            up = parent.get(i)
            cache[i] = _local(nodes[i]) if up is None else world(up) @ _local(nodes[i])
        return cache[i]

    out: dict[str, F64] = {}
    for bone, index in map_bones(gltf).items():
        out[bone] = world(index)[:3, 3].copy()
        children = nodes[index].get("children", [])
        if bone.endswith("Distal") and children:
            out[f"{bone}Tip"] = world(int(children[0]))[:3, 3].copy()
    return out

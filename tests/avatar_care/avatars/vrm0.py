"""A VRM 0.x avatar for tests, made from a humanoid GLB: turned to face -Z as VRM 0.x models do,
with the 0.x humanoid (0.x thumb names) and blend shape groups."""

from __future__ import annotations

from typing import Any

import numpy as np

from avatar_care.avatars.glb import read_glb, write_glb
from avatar_care.avatars.humanoid_map import map_bones, map_expressions
from rigging.quaternion import multiply

_V0_THUMBS = {"ThumbMetacarpal": "ThumbProximal", "ThumbProximal": "ThumbIntermediate"}
_V0_PRESETS = {
    "aa": "a",
    "ih": "i",
    "ou": "u",
    "ee": "e",
    "oh": "o",
    "blink": "blink",
    "happy": "joy",
    "angry": "angry",
    "sad": "sorrow",
    "relaxed": "fun",
    "blinkLeft": "blink_l",
    "blinkRight": "blink_r",
}


def make_vrm0(glb_bytes: bytes) -> bytes:
    glb = read_glb(glb_bytes)
    gltf: dict[str, Any] = glb.gltf
    bones = map_bones(gltf)
    expressions = map_expressions(gltf)
    for root in gltf["scenes"][0]["nodes"]:
        node = gltf["nodes"][root]
        node["rotation"] = [
            float(v)
            for v in multiply(np.array([0.0, 1.0, 0.0, 0.0]), np.array(node.get("rotation", [0, 0, 0, 1.0])))
        ]
    human_bones = []
    for bone, node in bones.items():
        for v1, v0 in _V0_THUMBS.items():
            if bone.endswith(v1):
                bone = bone[: -len(v1)] + v0
                break
        human_bones.append({"bone": bone, "node": node, "useDefaultValues": True})
    groups = []
    for name, preset in _V0_PRESETS.items():
        binds = expressions.binds.get(name, [])
        groups.append(
            {
                "name": preset,
                "presetName": preset,
                "isBinary": False,
                "binds": [
                    {"mesh": gltf["nodes"][b.node]["mesh"], "index": b.index, "weight": 100 * b.weight}
                    for b in binds
                ],
            }
        )
    gltf.setdefault("extensions", {})["VRM"] = {
        "exporterVersion": "avatar-care tests",
        "specVersion": "0.0",
        "meta": {
            "title": "legacy test avatar",
            "version": "1",
            "author": "tests",
            "licenseName": "Other",
            "otherLicenseUrl": "https://opensource.org/licenses/MIT",
            "allowedUserName": "Everyone",
        },
        "humanoid": {"humanBones": human_bones},
        "blendShapeMaster": {"blendShapeGroups": groups},
    }
    gltf.setdefault("extensionsUsed", []).append("VRM")
    return write_glb(glb)

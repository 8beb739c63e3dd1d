"""Turning a humanoid glTF binary into a VRM 1.0 avatar.

Adds the ``VRMC_vrm`` extension (meta with licence and authors, the humanoid bone map, eye-bone
look-at, preset expressions bound to the model's morph targets) and brings the rest pose to what
VRM 1.0 asks: facing +Z, arms straight out along X, legs straight down. Only the JSON changes:
node rotations are turned, inverse bind matrices are kept, so the skinned mesh follows its bones
into the corrected rest pose.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np

from avatar_care.avatars.check import check_avatar
from avatar_care.avatars.glb import Glb, read_glb, write_glb
from avatar_care.avatars.humanoid_map import map_bones, map_expressions
from rigging.quaternion import F64, from_matrix, rotation_between, to_matrix

VRM_LICENSE: Final = "https://vrm.dev/licenses/1.0/"
#: How far (degrees) a limb may be from the VRM rest direction before the build straightens it.
TOLERANCE_DEG: Final = 5.0


class BuildError(ValueError):
    """A model that cannot become a VRM avatar; the message says why."""


@dataclass(frozen=True)
class Meta:
    name: str
    authors: tuple[str, ...]
    copyright: str
    license_url: str  # the model's own licence (VRM's licence field points at the VRM Public License)
    version: str = "1.0"


@dataclass
class BuildReport:
    corrections: list[str] = field(default_factory=list)
    bones: int = 0
    expressions: list[str] = field(default_factory=list)


def _local(node: dict[str, Any]) -> F64:
    m = np.eye(4)
    if "matrix" in node:
        return np.array(node["matrix"], dtype=np.float64).reshape(4, 4).T
    m[:3, :3] = to_matrix(np.array(node.get("rotation", [0, 0, 0, 1]), dtype=np.float64)) * np.array(
        node.get("scale", [1, 1, 1]), dtype=np.float64
    )
    m[:3, 3] = node.get("translation", [0, 0, 0])
    return m


class _Skeleton:
    def __init__(self, gltf: dict[str, Any]) -> None:
        self.nodes: list[dict[str, Any]] = gltf.get("nodes", [])
        self.parent: dict[int, int] = {c: i for i, n in enumerate(self.nodes) for c in n.get("children", [])}

    def world(self, i: int) -> F64:
        m = _local(self.nodes[i])
        while i in self.parent:
            i = self.parent[i]
            m = _local(self.nodes[i]) @ m
        return m

    def position(self, i: int) -> F64:
        return np.asarray(self.world(i)[:3, 3], dtype=np.float64)

    def turn(self, i: int, world_turn: F64) -> None:
        """Turn node ``i`` (and so its subtree) by a rotation given in world axes."""
        node = self.nodes[i]
        if "matrix" in node:
            raise BuildError(f"node {node.get('name', i)} uses a matrix; the build can only turn TRS nodes")
        parent = self.world(self.parent[i])[:3, :3] if i in self.parent else np.eye(3)
        scale = np.linalg.norm(parent, axis=0)
        p_rot = parent / scale  # the parent's rotation without its scale
        local = to_matrix(np.array(node.get("rotation", [0, 0, 0, 1]), dtype=np.float64))
        new = p_rot.T @ world_turn @ p_rot @ local
        node["rotation"] = [round(float(v), 8) for v in from_matrix(new)]


_STRAIGHT: Final = (
    ("leftUpperArm", "leftLowerArm", (1.0, 0.0, 0.0)),
    ("leftLowerArm", "leftHand", (1.0, 0.0, 0.0)),
    ("rightUpperArm", "rightLowerArm", (-1.0, 0.0, 0.0)),
    ("rightLowerArm", "rightHand", (-1.0, 0.0, 0.0)),
    ("leftUpperLeg", "leftLowerLeg", (0.0, -1.0, 0.0)),
    ("leftLowerLeg", "leftFoot", (0.0, -1.0, 0.0)),
    ("rightUpperLeg", "rightLowerLeg", (0.0, -1.0, 0.0)),
    ("rightLowerLeg", "rightFoot", (0.0, -1.0, 0.0)),
)


def _fix_rest_pose(gltf: dict[str, Any], bones: dict[str, int], report: BuildReport) -> None:
    sk = _Skeleton(gltf)
    left, right = sk.position(bones["leftUpperArm"]), sk.position(bones["rightUpperArm"])
    toe = bones.get("leftToes", bones["leftFoot"])
    forward = sk.position(toe) - sk.position(bones["leftFoot"]) if "leftToes" in bones else None
    faces_back = left[0] < right[0] or (forward is not None and forward[2] < -0.01)
    if faces_back:
        half_turn = to_matrix(np.array([0.0, 1.0, 0.0, 0.0]))
        roots = gltf["scenes"][gltf.get("scene", 0)]["nodes"]
        for root in roots:
            sk.turn(root, half_turn)
        report.corrections.append("turned half a turn to face +Z")
    for bone, child, target in _STRAIGHT:
        if bone not in bones or child not in bones:
            continue
        d = sk.position(bones[child]) - sk.position(bones[bone])
        target_v = np.array(target)
        off = math.degrees(math.acos(max(-1.0, min(1.0, float(d @ target_v / np.linalg.norm(d))))))
        if off > TOLERANCE_DEG:
            sk.turn(bones[bone], rotation_between(d, target_v))
            report.corrections.append(f"{bone} straightened by {off:.1f} degrees")


def build_vrm(data: bytes, meta: Meta) -> tuple[bytes, BuildReport]:
    """The VRM 1.0 avatar made from a humanoid GLB, and what the build did."""
    before = check_avatar(data)
    if before.problems:
        raise BuildError("; ".join(before.problems))
    glb = read_glb(data)
    gltf = glb.gltf
    report = BuildReport()
    bones = map_bones(gltf)
    _fix_rest_pose(gltf, bones, report)

    expressions = map_expressions(gltf)
    preset = {
        name: {
            "morphTargetBinds": [{"node": b.node, "index": b.index, "weight": b.weight} for b in binds],
            "isBinary": False,
            "overrideBlink": "block" if name in ("happy", "sad", "angry", "relaxed", "surprised") else "none",
            "overrideLookAt": "none",
            "overrideMouth": "none",
        }
        for name, binds in expressions.binds.items()
        if not name.startswith("look")  # the eyes turn as bones (lookAt below), not as morphs
    }
    range_map = {"inputMaxValue": 90.0, "outputScale": 10.0}
    head = _Skeleton(gltf).position(bones["head"])
    eyes = [_Skeleton(gltf).position(bones[e]) for e in ("leftEye", "rightEye") if e in bones]
    offset = (np.mean(eyes, axis=0) - head).tolist() if eyes else [0.0, 0.06, 0.0]
    gltf.setdefault("extensions", {})["VRMC_vrm"] = {
        "specVersion": "1.0",
        "meta": {
            "name": meta.name,
            "version": meta.version,
            "authors": list(meta.authors),
            "copyrightInformation": meta.copyright,
            "licenseUrl": VRM_LICENSE,
            "otherLicenseUrl": meta.license_url,
            "avatarPermission": "everyone",
            "commercialUsage": "corporation",
            "creditNotation": "required",
            "allowRedistribution": True,
            "modification": "allowModificationRedistribution",
            "allowExcessivelyViolentUsage": False,
            "allowExcessivelySexualUsage": False,
            "allowPoliticalOrReligiousUsage": False,
            "allowAntisocialOrHateUsage": False,
        },
        "humanoid": {"humanBones": {b: {"node": i} for b, i in bones.items()}},
        "lookAt": {
            "type": "bone",
            "offsetFromHeadBone": [round(v, 5) for v in offset],
            "rangeMapHorizontalInner": range_map,
            "rangeMapHorizontalOuter": range_map,
            "rangeMapVerticalDown": range_map,
            "rangeMapVerticalUp": range_map,
        },
        "expressions": {"preset": preset},
    }
    used = gltf.setdefault("extensionsUsed", [])
    if "VRMC_vrm" not in used:
        used.append("VRMC_vrm")
    report.bones = len(bones)
    report.expressions = sorted(preset)
    out = write_glb(Glb(gltf=gltf, binary=glb.binary))
    after = check_avatar(out)
    if after.problems:
        raise BuildError("the built avatar fails its own check: " + "; ".join(after.problems))
    return out, report

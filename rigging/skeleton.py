"""The VRM 1.0 humanoid: bone names, hierarchy and a canonical rest skeleton.

The rest skeleton is the T-pose that three-vrm's *normalized* bones use: every rotation is identity,
the avatar faces +Z, +Y is up and +X is the avatar's own left. Its bone lengths are those of an
adult of about 1.7 m; they matter only where a solver needs a rest direction (which way a bone
points at rest) and for forward kinematics in tests and benchmarks, never for the output itself,
which is a set of local rotations that fit any VRM.

The order of ``BONES`` and ``EXPRESSIONS`` is part of the motion codec's wire format: append only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

_SIDES: Final = ("left", "right")
_FINGERS: Final = ("Index", "Middle", "Ring", "Little")
_FINGER_JOINTS: Final = ("Proximal", "Intermediate", "Distal")
_THUMB_JOINTS: Final = ("Metacarpal", "Proximal", "Distal")


def _build_bones() -> tuple[str, ...]:
    names = ["hips", "spine", "chest", "upperChest", "neck", "head", "leftEye", "rightEye", "jaw"]
    for side in _SIDES:
        names += [f"{side}UpperLeg", f"{side}LowerLeg", f"{side}Foot", f"{side}Toes"]
    for side in _SIDES:
        names += [f"{side}Shoulder", f"{side}UpperArm", f"{side}LowerArm", f"{side}Hand"]
    for side in _SIDES:
        names += [f"{side}Thumb{j}" for j in _THUMB_JOINTS]
        for finger in _FINGERS:
            names += [f"{side}{finger}{j}" for j in _FINGER_JOINTS]
    return tuple(names)


#: Every VRM 1.0 humanoid bone, in wire order (55 bones).
BONES: Final[tuple[str, ...]] = _build_bones()
BONE_INDEX: Final[dict[str, int]] = {name: i for i, name in enumerate(BONES)}

#: VRM 1.0 preset expressions, in wire order.
EXPRESSIONS: Final[tuple[str, ...]] = (
    "aa", "ih", "ou", "ee", "oh",
    "blink", "blinkLeft", "blinkRight",
    "happy", "angry", "sad", "relaxed", "surprised",
    "lookUp", "lookDown", "lookLeft", "lookRight",
    "neutral",
)  # fmt: skip
EXPRESSION_INDEX: Final[dict[str, int]] = {name: i for i, name in enumerate(EXPRESSIONS)}


def _parents() -> dict[str, str | None]:
    parent: dict[str, str | None] = {
        "hips": None,
        "spine": "hips",
        "chest": "spine",
        "upperChest": "chest",
        "neck": "upperChest",
        "head": "neck",
        "leftEye": "head",
        "rightEye": "head",
        "jaw": "head",
    }
    for side in _SIDES:
        parent[f"{side}UpperLeg"] = "hips"
        parent[f"{side}LowerLeg"] = f"{side}UpperLeg"
        parent[f"{side}Foot"] = f"{side}LowerLeg"
        parent[f"{side}Toes"] = f"{side}Foot"
        parent[f"{side}Shoulder"] = "upperChest"
        parent[f"{side}UpperArm"] = f"{side}Shoulder"
        parent[f"{side}LowerArm"] = f"{side}UpperArm"
        parent[f"{side}Hand"] = f"{side}LowerArm"
        chain = [f"{side}Thumb{j}" for j in _THUMB_JOINTS]
        parent[chain[0]] = f"{side}Hand"
        parent[chain[1]], parent[chain[2]] = chain[0], chain[1]
        for finger in _FINGERS:
            chain = [f"{side}{finger}{j}" for j in _FINGER_JOINTS]
            parent[chain[0]] = f"{side}Hand"
            parent[chain[1]], parent[chain[2]] = chain[0], chain[1]
    return parent


#: Parent of each bone (``None`` for the root).
PARENT: Final[dict[str, str | None]] = _parents()


def children(bone: str) -> list[str]:
    return [b for b in BONES if PARENT[b] == bone]


# Rest offsets of each joint from its parent joint, for the avatar's own left side (metres).
# The right side mirrors X. The hips entry is the absolute rest position of the hips joint.
_LEFT_AND_CENTRE_OFFSETS: Final[dict[str, tuple[float, float, float]]] = {
    "hips": (0.0, 0.95, 0.0),
    "spine": (0.0, 0.08, 0.0),
    "chest": (0.0, 0.12, 0.0),
    "upperChest": (0.0, 0.12, 0.0),
    "neck": (0.0, 0.14, 0.0),
    "head": (0.0, 0.09, 0.0),
    "leftEye": (0.032, 0.07, 0.08),
    "jaw": (0.0, -0.01, 0.03),
    "leftUpperLeg": (0.09, -0.06, 0.0),
    "leftLowerLeg": (0.0, -0.42, 0.0),
    "leftFoot": (0.0, -0.41, 0.0),
    "leftToes": (0.0, -0.06, 0.13),
    "leftShoulder": (0.025, 0.09, 0.0),
    "leftUpperArm": (0.11, 0.0, 0.0),
    "leftLowerArm": (0.27, 0.0, 0.0),
    "leftHand": (0.25, 0.0, 0.0),
    "leftThumbMetacarpal": (0.02, -0.01, 0.025),
    "leftThumbProximal": (0.03, 0.0, 0.025),
    "leftThumbDistal": (0.03, 0.0, 0.02),
    "leftIndexProximal": (0.09, 0.0, 0.025),
    "leftIndexIntermediate": (0.04, 0.0, 0.0),
    "leftIndexDistal": (0.025, 0.0, 0.0),
    "leftMiddleProximal": (0.09, 0.0, 0.005),
    "leftMiddleIntermediate": (0.045, 0.0, 0.0),
    "leftMiddleDistal": (0.028, 0.0, 0.0),
    "leftRingProximal": (0.085, 0.0, -0.015),
    "leftRingIntermediate": (0.04, 0.0, 0.0),
    "leftRingDistal": (0.026, 0.0, 0.0),
    "leftLittleProximal": (0.075, 0.0, -0.035),
    "leftLittleIntermediate": (0.032, 0.0, 0.0),
    "leftLittleDistal": (0.022, 0.0, 0.0),
}

# Where a leaf bone ends (offset of its tip from its own joint), so that every bone has a direction.
_LEFT_AND_CENTRE_TIPS: Final[dict[str, tuple[float, float, float]]] = {
    "head": (0.0, 0.2, 0.0),
    "leftEye": (0.0, 0.0, 0.02),
    "jaw": (0.0, -0.04, 0.08),
    "leftToes": (0.0, 0.0, 0.05),
    "leftThumbDistal": (0.022, 0.0, 0.012),
    "leftIndexDistal": (0.022, 0.0, 0.0),
    "leftMiddleDistal": (0.024, 0.0, 0.0),
    "leftRingDistal": (0.022, 0.0, 0.0),
    "leftLittleDistal": (0.02, 0.0, 0.0),
}


def _mirrored(table: dict[str, tuple[float, float, float]]) -> dict[str, NDArray[np.float64]]:
    out: dict[str, NDArray[np.float64]] = {}
    for name, (x, y, z) in table.items():
        out[name] = np.array((x, y, z))
        if name.startswith("left"):
            out["right" + name[4:]] = np.array((-x, y, z))
    return out


@dataclass(frozen=True)
class RestSkeleton:
    """Joint offsets of a humanoid in the VRM rest pose (T-pose, facing +Z)."""

    offsets: dict[str, NDArray[np.float64]]
    tips: dict[str, NDArray[np.float64]]

    def direction(self, bone: str) -> NDArray[np.float64]:
        """Unit vector along ``bone`` at rest: towards its main child, or its tip for a leaf."""
        v = self.tips[bone] if bone in self.tips else self.offsets[MAIN_CHILD[bone]]
        return np.asarray(v / np.linalg.norm(v), dtype=np.float64)

    def rest_positions(self) -> dict[str, NDArray[np.float64]]:
        """Absolute joint positions at rest."""
        pos: dict[str, NDArray[np.float64]] = {}
        for bone in BONES:
            parent = PARENT[bone]
            pos[bone] = self.offsets[bone] + (pos[parent] if parent else 0.0)
        return pos


#: The child a bone points at when it has several (the hips point up the spine, the hand along
#: the middle finger, the head up, the upper chest to the neck).
MAIN_CHILD: Final[dict[str, str]] = {
    "hips": "spine",
    "spine": "chest",
    "chest": "upperChest",
    "upperChest": "neck",
    "neck": "head",
    **{f"{s}UpperLeg": f"{s}LowerLeg" for s in _SIDES},
    **{f"{s}LowerLeg": f"{s}Foot" for s in _SIDES},
    **{f"{s}Foot": f"{s}Toes" for s in _SIDES},
    **{f"{s}Shoulder": f"{s}UpperArm" for s in _SIDES},
    **{f"{s}UpperArm": f"{s}LowerArm" for s in _SIDES},
    **{f"{s}LowerArm": f"{s}Hand" for s in _SIDES},
    **{f"{s}Hand": f"{s}MiddleProximal" for s in _SIDES},
    **{f"{s}Thumb{a}": f"{s}Thumb{b}" for s in _SIDES for a, b in (("Metacarpal", "Proximal"),
                                                                    ("Proximal", "Distal"))},
    **{f"{s}{f}{a}": f"{s}{f}{b}" for s in _SIDES for f in _FINGERS
       for a, b in (("Proximal", "Intermediate"), ("Intermediate", "Distal"))},
}  # fmt: skip

#: The canonical rest skeleton used by the solvers and by forward kinematics in tests.
REST: Final[RestSkeleton] = RestSkeleton(
    offsets=_mirrored(_LEFT_AND_CENTRE_OFFSETS), tips=_mirrored(_LEFT_AND_CENTRE_TIPS)
)

FINGER_NAMES: Final = ("Thumb", *_FINGERS)
FINGER_BONES: Final[dict[str, tuple[str, ...]]] = {
    side: tuple(b for b in BONES if b.startswith(side) and any(f in b for f in FINGER_NAMES))
    for side in _SIDES
}

"""Which node of a model is which VRM humanoid bone, and which morph targets make which expression.

Bone names are recognized in the common rigs: VRM's own names, Mixamo's (``mixamorig:`` prefix or
not) and Ready Player Me's (Mixamo's names without the prefix). Morph targets are recognized in
the viseme and face naming of the shipped humanoids (``AE_AA``, ``TD_I``, ``LeyeClose``…), in
ARKit's 52 blendshapes (Ready Player Me, many others) and in the Oculus viseme set (``viseme_aa``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Final

from rigging.skeleton import BONES

_SIDE: Final = {"Left": "left", "Right": "right"}
_MIXAMO_FINGERS: Final = {
    "Thumb": "Thumb",
    "Index": "Index",
    "Middle": "Middle",
    "Ring": "Ring",
    "Pinky": "Little",
}


def _mixamo_names() -> dict[str, str]:
    names = {
        "hips": "hips", "spine": "spine", "spine1": "chest", "spine2": "upperChest", "neck": "neck",
        "head": "head", "lefteye": "leftEye", "righteye": "rightEye",
    }  # fmt: skip
    for mixamo_side, side in _SIDE.items():
        s = mixamo_side.lower()
        names |= {
            f"{s}shoulder": f"{side}Shoulder", f"{s}arm": f"{side}UpperArm", f"{s}forearm": f"{side}LowerArm",
            f"{s}hand": f"{side}Hand", f"{s}upleg": f"{side}UpperLeg", f"{s}leg": f"{side}LowerLeg",
            f"{s}foot": f"{side}Foot", f"{s}toebase": f"{side}Toes",
        }  # fmt: skip
        for finger, vrm_finger in _MIXAMO_FINGERS.items():
            joints = (
                ("Metacarpal", "Proximal", "Distal")
                if finger == "Thumb"
                else ("Proximal", "Intermediate", "Distal")
            )
            for k, joint in enumerate(joints, start=1):
                names[f"{s}hand{finger.lower()}{k}"] = f"{side}{vrm_finger}{joint}"
    return names


_BY_KEY: Final[dict[str, str]] = _mixamo_names() | {b.lower(): b for b in BONES}


def _key(name: str) -> str:
    name = re.sub(r"^(mixamorig\d*[:_]?|armature[|:/])", "", name, flags=re.IGNORECASE)
    return re.sub(r"[^a-z0-9]", "", name.lower())


def map_bones(gltf: dict[str, Any]) -> dict[str, int]:
    """VRM bone name to node index, from a VRM extension if there is one, else from node names."""
    ext = gltf.get("extensions", {})
    vrm1 = ext.get("VRMC_vrm", {}).get("humanoid", {}).get("humanBones")
    if isinstance(vrm1, dict):
        return {
            b: int(v["node"]) for b, v in vrm1.items() if b in BONES and isinstance(v, dict) and "node" in v
        }
    vrm0 = ext.get("VRM", {}).get("humanoid", {}).get("humanBones")
    if isinstance(vrm0, list):
        out: dict[str, int] = {}
        for entry in vrm0:
            bone = entry.get("bone")
            if bone == "leftThumbIntermediate" or bone == "rightThumbIntermediate":
                bone = bone.replace("Intermediate", "Proximal")
            elif bone in ("leftThumbProximal", "rightThumbProximal"):
                bone = bone.replace("Proximal", "Metacarpal")
            if bone in BONES and isinstance(entry.get("node"), int):
                out[bone] = entry["node"]
        return out
    out = {}
    for i, node in enumerate(gltf.get("nodes", [])):
        bone = _BY_KEY.get(_key(str(node.get("name", ""))))
        if bone is not None and bone not in out:
            out[bone] = i
    return out


#: VRM 1.0 says a humanoid must have these.
REQUIRED_BONES: Final = (
    "hips", "spine", "head",
    "leftUpperArm", "leftLowerArm", "leftHand", "rightUpperArm", "rightLowerArm", "rightHand",
    "leftUpperLeg", "leftLowerLeg", "leftFoot", "rightUpperLeg", "rightLowerLeg", "rightFoot",
)  # fmt: skip


@dataclass(frozen=True)
class Bind:
    node: int
    index: int
    weight: float


# For each expression, patterns (matched against normalized morph target names) and their weights.
_EXPRESSION_PATTERNS: Final[dict[str, tuple[tuple[str, float], ...]]] = {
    "aa": (("aeaa", 1.0), ("visemeaa", 1.0), ("jawopen", 0.7)),
    "ih": (("tdi", 1.0), ("visemei", 1.0), ("visemeih", 1.0)),
    "ou": (("uwu", 1.0), ("visemeu", 1.0), ("mouthpucker", 1.0)),
    "ee": (("axe", 1.0), ("visemee", 1.0), ("mouthstretch", 0.6)),
    "oh": (("aoa", 1.0), ("visemeo", 1.0), ("mouthfunnel", 1.0)),
    "blink": (("leyeclose", 1.0), ("reyeclose", 1.0), ("eyeblinkleft", 1.0), ("eyeblinkright", 1.0)),
    "blinkLeft": (("leyeclose", 1.0), ("eyeblinkleft", 1.0)),
    "blinkRight": (("reyeclose", 1.0), ("eyeblinkright", 1.0)),
    "happy": (("lsmileclose", 1.0), ("rsmileclose", 1.0), ("mouthsmile", 1.0), ("cheeksquint", 0.5)),
    "angry": (("lbrowdown", 1.0), ("rbrowdown", 1.0), ("llbrowdown", 0.5), ("rrbrowdown", 0.5), ("browdown", 1.0),
              ("mouthfrown", 0.3)),
    "sad": (("lmouthsad", 1.0), ("rmouthsad", 1.0), ("lsad", 0.6), ("rsad", 0.6), ("mouthfrown", 1.0),
            ("browinnerup", 0.6)),
    "relaxed": (("lsmileclose", 0.5), ("rsmileclose", 0.5), ("lsquint", 0.4), ("rsquint", 0.4),
                ("mouthsmile", 0.5), ("eyesquint", 0.4)),
    "surprised": (("lbrowup", 1.0), ("rbrowup", 1.0), ("llbrowup", 1.0), ("rrbrowup", 1.0), ("leyeopen", 0.8),
                  ("reyeopen", 0.8), ("mouthopen", 0.4), ("browouterup", 1.0), ("eyewide", 0.8)),
    "lookUp": (("eyelookup", 1.0),),
    "lookDown": (("eyelookdown", 1.0),),
    "lookLeft": (("eyelookoutleft", 1.0), ("eyelookinright", 1.0)),
    "lookRight": (("eyelookinleft", 1.0), ("eyelookoutright", 1.0)),
}  # fmt: skip


def _target_key(name: str) -> str:
    name = name.split(".")[-1]  # "h_expressions.AE_AA_h" -> "AE_AA_h"
    name = re.sub(r"^t_", "", name)  # the teeth's copy of a viseme moves with it
    name = re.sub(r"_h$", "", name)
    return re.sub(r"[^a-z0-9]", "", name.lower())


@dataclass
class ExpressionMap:
    binds: dict[str, list[Bind]] = field(default_factory=dict)


def map_expressions(gltf: dict[str, Any]) -> ExpressionMap:
    """Morph target binds for each VRM preset expression found in the model's target names."""
    result = ExpressionMap()
    targets: list[tuple[int, int, str]] = []
    for node_index, node in enumerate(gltf.get("nodes", [])):
        mesh_index = node.get("mesh")
        if not isinstance(mesh_index, int) or mesh_index >= len(gltf.get("meshes", [])):
            continue
        mesh = gltf["meshes"][mesh_index]
        names = (mesh.get("extras") or {}).get("targetNames") or []
        targets += [(node_index, i, _target_key(str(n))) for i, n in enumerate(names)]
    for expression, patterns in _EXPRESSION_PATTERNS.items():
        binds = []
        for node_index, target_index, key in targets:
            weight = next((w for p, w in patterns if key == p or key.startswith(p)), None)
            if weight is not None:
                binds.append(Bind(node_index, target_index, weight))
        if binds:
            result.binds[expression] = binds
    return result

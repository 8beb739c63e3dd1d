"""Tracking frames with an exactly known answer, for the solver's unit tests.

A pose (local rotations) is put on the canonical rest skeleton by forward kinematics, and the
joints are read out as MediaPipe would report them: pose landmarks at the matching joints and the
21 hand landmarks at the finger joints, in MediaPipe's world axes with the origin between the hips.
"""

from __future__ import annotations

import math

import numpy as np

from rigging.frame import TrackingFrame
from rigging.kinematics import forward
from rigging.quaternion import F64, from_axis_angle, to_matrix
from rigging.skeleton import BONES, PARENT

_TO_MEDIAPIPE = np.array([1.0, -1.0, -1.0])


def rq(axis: tuple[float, float, float], degrees: float) -> F64:
    return from_axis_angle(np.array(axis, dtype=np.float64), math.radians(degrees))


def _pose_points(world: dict[str, F64], pos: dict[str, F64]) -> F64:
    pts = np.zeros((33, 3))
    head, rh = pos["head"], to_matrix(world["head"])
    face = {
        0: (0, 0.05, 0.1),
        1: (0.02, 0.08, 0.08), 2: (0.035, 0.08, 0.08), 3: (0.05, 0.08, 0.07),
        4: (-0.02, 0.08, 0.08), 5: (-0.035, 0.08, 0.08), 6: (-0.05, 0.08, 0.07),
        7: (0.075, 0.07, 0.0), 8: (-0.075, 0.07, 0.0), 9: (0.025, 0.02, 0.09), 10: (-0.025, 0.02, 0.09),
    }  # fmt: skip
    for i, off in face.items():
        pts[i] = head + rh @ np.array(off, dtype=np.float64)
    for side, o in (("left", 0), ("right", 1)):
        pts[11 + o] = pos[f"{side}UpperArm"]
        pts[13 + o] = pos[f"{side}LowerArm"]
        pts[15 + o] = pos[f"{side}Hand"]
        pts[17 + o] = pos[f"{side}LittleProximal"]
        pts[19 + o] = pos[f"{side}IndexProximal"]
        pts[21 + o] = pos[f"{side}ThumbProximal"]
        pts[23 + o] = pos[f"{side}UpperLeg"]
        pts[25 + o] = pos[f"{side}LowerLeg"]
        pts[27 + o] = pos[f"{side}Foot"]
        pts[29 + o] = pos[f"{side}Foot"] + to_matrix(world[f"{side}Foot"]) @ np.array([0.0, -0.06, -0.05])
        pts[31 + o] = pos[f"{side}Toes"]
    return pts


def _hand_points(pos: dict[str, F64], tips: dict[str, F64], side: str) -> F64:
    pts = [pos[f"{side}Hand"]]
    for finger in ("Thumb", "Index", "Middle", "Ring", "Little"):
        joints = (
            ("Metacarpal", "Proximal", "Distal")
            if finger == "Thumb"
            else ("Proximal", "Intermediate", "Distal")
        )
        pts += [pos[f"{side}{finger}{j}"] for j in joints]
        pts.append(tips[f"{side}{finger}Distal"])
    arr = np.array(pts)
    return np.asarray((arr - arr.mean(axis=0)) * _TO_MEDIAPIPE, dtype=np.float64)


def make_frame(
    locals_: dict[str, F64], t_ms: float = 0.0, *, hands: bool = True, visibility: F64 | None = None
) -> TrackingFrame:
    """A frame showing the pose; ``visibility`` (33,) overrides the all-visible default."""
    world, pos, tips = forward(locals_)
    pts = _pose_points(world, pos)
    mid = 0.5 * (pts[23] + pts[24])
    world_pts = (pts - mid) * _TO_MEDIAPIPE
    vis = np.ones(33) if visibility is None else visibility
    return TrackingFrame(
        t_ms=t_ms,
        pose_world=np.concatenate((world_pts, vis[:, None]), axis=1),
        left_hand_world=_hand_points(pos, tips, "left") if hands else None,
        right_hand_world=_hand_points(pos, tips, "right") if hands else None,
    )


def segment_errors(truth: dict[str, F64], solved: dict[str, F64]) -> dict[str, float]:
    """Angle in degrees between each parent-to-child joint segment of two poses."""
    _, pa, _ = forward(truth)
    _, pb, _ = forward(solved)
    out: dict[str, float] = {}
    for bone in BONES:
        parent = PARENT[bone]
        if parent is None:
            continue
        va, vb = pa[bone] - pa[parent], pb[bone] - pb[parent]
        cos = float(np.dot(va, vb) / (np.linalg.norm(va) * np.linalg.norm(vb)))
        out[f"{parent}->{bone}"] = math.degrees(math.acos(min(1.0, max(-1.0, cos))))
    return out

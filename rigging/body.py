"""Torso, arms and legs: world orientations of the body bones from 3D pose landmarks.

Every function here takes points already in the avatar frame (see ``rigging.landmarks.to_avatar``)
and returns world rotation matrices: the rotation that takes a bone from its rest (T-pose)
orientation to the observed one. ``rigging.solver`` turns them into local rotations.

Each bone is aligned by two directions: its own axis (matched exactly, so the bone points where
the landmarks say) and a second direction that fixes its twist: the plane in which the next joint
bends (elbow, knee), or the palm for the forearm. Near a straight limb that plane is undefined,
so the twist then follows the parent bone without turning about the limb (a twist-free transport)
and blends smoothly into the bend plane as the joint bends.
"""

from __future__ import annotations

from typing import Final

import numpy as np

from rigging.landmarks import PosePoint as P
from rigging.quaternion import F64, align, from_two_vectors, to_matrix, unit
from rigging.skeleton import REST

X: Final = np.array([1.0, 0.0, 0.0])
Y: Final = np.array([0.0, 1.0, 0.0])
Z: Final = np.array([0.0, 0.0, 1.0])

# Bend (as sine of the joint angle) under which the bend plane is not trusted at all, and over
# which it is trusted fully; in between the twist blends from the transported frame to it.
_BEND_UNTRUSTED: Final = 0.08
_BEND_TRUSTED: Final = 0.3


def _perp(v: F64, axis_unit: F64) -> F64:
    return np.asarray(v - np.dot(v, axis_unit) * axis_unit, dtype=np.float64)


def _smoothstep(x: float, lo: float, hi: float) -> float:
    t = min(1.0, max(0.0, (x - lo) / (hi - lo)))
    return t * t * (3.0 - 2.0 * t)


def transport(parent_world: F64, rest_dir: F64, observed_dir: F64) -> F64:
    """World rotation of a bone following its parent with the least turn to point along ``observed_dir``."""
    current = parent_world @ rest_dir
    swing = to_matrix(from_two_vectors(current, observed_dir))
    return np.asarray(swing @ parent_world, dtype=np.float64)


def _twist_reference(bone_dir: F64, bend_dir: F64, fallback: F64) -> F64:
    """A direction perpendicular to the bone: the bend plane when the joint bends, else ``fallback``."""
    u = unit(bone_dir)
    bend = _perp(bend_dir, u)
    child_len = float(np.linalg.norm(bend_dir)) or 1.0
    w = _smoothstep(float(np.linalg.norm(bend)) / child_len, _BEND_UNTRUSTED, _BEND_TRUSTED)
    fb = unit(_perp(fallback, u))
    if w <= 0.0:
        return fb
    mixed = w * unit(bend) + (1.0 - w) * fb
    if np.linalg.norm(mixed) < 1e-6:  # bend plane opposite to the fallback: trust the bend
        return unit(bend)
    return unit(mixed)


def torso(points: F64, legs_seen: float = 1.0) -> tuple[F64, F64]:
    """World rotations of the hips and of the upper chest (shoulder girdle).

    Pose landmarks give the hip line, the shoulder line and the line between their midpoints; how a
    lean splits between pelvis and spine they do not say. With the legs in view the pelvis takes the
    lean, which keeps the legs where they are seen; with the legs out of view (a seated operator at
    a webcam) the pelvis stays upright and the spine bends, so the unseen legs keep standing.
    ``legs_seen`` in [0, 1] blends between the two.
    """
    hip_line = points[P.LEFT_HIP] - points[P.RIGHT_HIP]
    shoulder_line = points[P.LEFT_SHOULDER] - points[P.RIGHT_SHOULDER]
    up = 0.5 * (points[P.LEFT_SHOULDER] + points[P.RIGHT_SHOULDER]) - 0.5 * (
        points[P.LEFT_HIP] + points[P.RIGHT_HIP]
    )
    hips_up = legs_seen * unit(up) + (1.0 - legs_seen) * Y
    hips = align(X, Y, hip_line, hips_up)
    upper = align(X, Y, shoulder_line, up)
    return hips, upper


def upper_arm(side: str, parent_world: F64, shoulder: F64, elbow: F64, wrist: F64) -> F64:
    """The upper arm points at the elbow; its twist follows the plane the elbow bends in.

    At rest the forearm would bend forward (+Z) for both arms, so +Z is the rest bend direction.
    """
    rest_dir = REST.direction(f"{side}UpperArm")
    d1 = elbow - shoulder
    fallback = transport(parent_world, rest_dir, d1) @ Z
    ref = _twist_reference(d1, wrist - elbow, fallback)
    return align(rest_dir, Z, d1, ref)


def lower_arm(side: str, upper_world: F64, elbow: F64, wrist: F64, hand_world: F64 | None) -> F64:
    """The forearm points at the wrist; its twist (pronation) follows the palm when it is known.

    The thumb-side direction across the palm is perpendicular to the forearm at rest (+Z) and stays
    nearly so under wrist flexion, so it fixes the forearm's twist without the wrist's bend.
    """
    rest_dir = REST.direction(f"{side}LowerArm")
    d2 = wrist - elbow
    if hand_world is None:
        return transport(upper_world, rest_dir, d2)
    across = hand_world @ Z
    if np.linalg.norm(_perp(across, unit(d2))) < 0.2:  # hand bent 90 degrees sideways: no twist cue
        return transport(upper_world, rest_dir, d2)
    return align(rest_dir, Z, d2, across)


def legs(side: str, hips_world: F64, points: F64) -> tuple[F64, F64, F64]:
    """World rotations of the thigh, shin and foot of one leg."""
    idx = 0 if side == "left" else 1
    hip = points[P.LEFT_HIP + idx]
    knee = points[P.LEFT_KNEE + idx]
    ankle = points[P.LEFT_ANKLE + idx]
    heel = points[P.LEFT_HEEL + idx]
    toe = points[P.LEFT_FOOT_INDEX + idx]
    rest_thigh = REST.direction(f"{side}UpperLeg")
    d1 = knee - hip
    # A knee bends backward: the shin's offset from the thigh's line points to the leg's back.
    fallback = toe - heel
    ref = _twist_reference(d1, knee - ankle, fallback)
    thigh = align(rest_thigh, Z, d1, ref)
    shin = transport(thigh, REST.direction(f"{side}LowerLeg"), ankle - knee)
    foot = transport(shin, REST.direction(f"{side}Foot"), toe - ankle)
    return thigh, shin, foot


def hand_from_pose(side: str, points: F64) -> F64:
    """A coarse hand orientation from the pose's wrist, index and pinky points (no hand landmarks)."""
    idx = 0 if side == "left" else 1
    wrist = points[P.LEFT_WRIST + idx]
    index = points[P.LEFT_INDEX + idx]
    pinky = points[P.LEFT_PINKY + idx]
    return hand_frame(side, 0.5 * (index + pinky) - wrist, index - pinky)


def hand_frame(side: str, along: F64, across: F64) -> F64:
    """World rotation of a hand from the wrist-to-middle-knuckle and little-to-index directions."""
    off = REST.offsets
    rest_along = off[f"{side}MiddleProximal"]
    rest_across = off[f"{side}IndexProximal"] - off[f"{side}LittleProximal"]
    return align(rest_along, rest_across, along, across)

"""Torso, arms and legs: world orientations of the body bones from 3D pose landmarks.

Every function here takes points already in the avatar frame (see ``rigging.landmarks.to_avatar``)
and returns world rotation matrices: the rotation that takes a bone from its rest (T-pose)
orientation to the observed one. ``rigging.solver`` turns them into local rotations. Arms, hands
and legs are solved for both sides at once (an axis of 2: left, right), and every function takes
any number of leading axes (many operators' frames at once), because on arrays this small numpy's
cost is per call, not per number.

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
from rigging.quaternion import F64, apply, frame, rotation_between, unit
from rigging.skeleton import REST

X: Final = np.array([1.0, 0.0, 0.0])
Y: Final = np.array([0.0, 1.0, 0.0])
Z: Final = np.array([0.0, 0.0, 1.0])
SIDES: Final = ("left", "right")

# Bend (as sine of the joint angle) under which the bend plane is not trusted at all, and over
# which it is trusted fully; in between the twist blends from the transported frame to it.
_BEND_UNTRUSTED: Final = 0.08
_BEND_TRUSTED: Final = 0.3


def _rest(bone: str) -> F64:
    return np.array([REST.direction(f"{side}{bone}") for side in SIDES])


def _rest_frame_t(primary: F64, secondary: F64) -> F64:
    return np.asarray(np.swapaxes(frame(primary, secondary), -1, -2), dtype=np.float64)


_UPPER_ARM: Final = _rest("UpperArm")
_LOWER_ARM: Final = _rest("LowerArm")
_UPPER_LEG: Final = _rest("UpperLeg")
_LOWER_LEG: Final = _rest("LowerLeg")
_FOOT: Final = _rest("Foot")
_Z2: Final = np.array([Z, Z])
_ARM_REST_T: Final = _rest_frame_t(_UPPER_ARM, _Z2)
_FOREARM_REST_T: Final = _rest_frame_t(_LOWER_ARM, _Z2)
_THIGH_REST_T: Final = _rest_frame_t(_UPPER_LEG, _Z2)
_TORSO_REST_T: Final = _rest_frame_t(X, Y)
_HAND_REST_T: Final = _rest_frame_t(
    np.array([REST.offsets[f"{s}MiddleProximal"] for s in SIDES]),
    np.array([REST.offsets[f"{s}IndexProximal"] - REST.offsets[f"{s}LittleProximal"] for s in SIDES]),
)

_SHOULDERS: Final = [P.LEFT_SHOULDER, P.RIGHT_SHOULDER]
_ELBOWS: Final = [P.LEFT_ELBOW, P.RIGHT_ELBOW]
_WRISTS: Final = [P.LEFT_WRIST, P.RIGHT_WRIST]
_HIPS: Final = [P.LEFT_HIP, P.RIGHT_HIP]
_KNEES: Final = [P.LEFT_KNEE, P.RIGHT_KNEE]
_ANKLES: Final = [P.LEFT_ANKLE, P.RIGHT_ANKLE]
_HEELS: Final = [P.LEFT_HEEL, P.RIGHT_HEEL]
_TOES: Final = [P.LEFT_FOOT_INDEX, P.RIGHT_FOOT_INDEX]
_INDEX: Final = [P.LEFT_INDEX, P.RIGHT_INDEX]
_PINKY: Final = [P.LEFT_PINKY, P.RIGHT_PINKY]
# Each limb's points picked in one call (numpy's cost is per call): left and right of each joint.
_ARM_POINTS: Final = _SHOULDERS + _ELBOWS + _WRISTS
_LEG_POINTS: Final = _HIPS + _KNEES + _ANKLES + _HEELS + _TOES
_HAND_POINTS: Final = _WRISTS + _INDEX + _PINKY


def _dot(a: F64, b: F64) -> F64:
    return np.asarray(np.add.reduce(a * b, axis=-1, keepdims=True), dtype=np.float64)


def transport(parent_world: F64, rest_dir: F64, observed_dir: F64) -> F64:
    """World rotations of bones following their parents with the least turn toward ``observed_dir``.

    (Used where a joint gives no twist cue of its own.)
    """
    return np.asarray(rotation_between(apply(parent_world, rest_dir), observed_dir) @ parent_world)


def _twist_reference(bone_dir: F64, bend_dir: F64, fallback: F64) -> F64:
    """Directions perpendicular to each bone: the bend plane when the joint bends, else ``fallback``."""
    u = unit(bone_dir)
    bend = bend_dir - _dot(bend_dir, u) * u
    child_len = np.maximum(np.sqrt(_dot(bend_dir, bend_dir)), 1e-9)
    trust = (np.sqrt(_dot(bend, bend)) / child_len - _BEND_UNTRUSTED) / (_BEND_TRUSTED - _BEND_UNTRUSTED)
    x = np.minimum(np.maximum(trust, 0.0), 1.0)  # np.clip, without its Python wrapper
    w = x * x * (3.0 - 2.0 * x)
    fb = unit(fallback - _dot(fallback, u) * u)
    bend_u = unit(bend)
    mixed = w * bend_u + (1.0 - w) * fb
    # A bend plane opposite to the fallback would cancel it out: then trust the bend alone.
    return np.asarray(np.where(_dot(mixed, mixed) < 1e-12, bend_u, unit(mixed)), dtype=np.float64)


def torso(points: F64, legs_seen: F64 | float = 1.0) -> F64:
    """World rotations of the hips and of the upper chest (shoulder girdle), shape (..., 2, 3, 3).

    Pose landmarks give the hip line, the shoulder line and the line between their midpoints; how a
    lean splits between pelvis and spine they do not say. With the legs in view the pelvis takes the
    lean, which keeps the legs where they are seen; with the legs out of view (a seated operator at
    a webcam) the pelvis stays upright and the spine bends, so the unseen legs keep standing.
    ``legs_seen`` in [0, 1] blends between the two.
    """
    hips, shoulders = points[..., _HIPS, :], points[..., _SHOULDERS, :]
    lines = np.concatenate(
        (hips[..., 0:1, :] - hips[..., 1:2, :], shoulders[..., 0:1, :] - shoulders[..., 1:2, :]), axis=-2
    )
    up = unit(0.5 * (shoulders[..., 0, :] + shoulders[..., 1, :] - hips[..., 0, :] - hips[..., 1, :]))
    seen = np.asarray(legs_seen, dtype=np.float64)[..., None]
    hips_up = seen * up + (1.0 - seen) * Y
    seconds = np.concatenate((hips_up[..., None, :], up[..., None, :]), axis=-2)
    return np.asarray(frame(lines, seconds) @ _TORSO_REST_T)


def arms(upper_chest: F64, points: F64, hands: F64, hands_known: np.ndarray) -> tuple[F64, F64]:
    """World rotations of both upper arms and forearms, each (..., 2, 3, 3).

    Upper arm: points at the elbow; its twist follows the plane the elbow bends in (at rest the
    forearm would bend forward, +Z, on both sides). Forearm: points at the wrist; its twist
    (pronation) follows the thumb-side direction across the palm, which is perpendicular to the
    forearm at rest and stays nearly so under wrist flexion, so the wrist's bend does not leak in.
    ``hands`` holds the hands' world rotations, trusted where ``hands_known`` (..., 2) is true.
    """
    joints = points[..., _ARM_POINTS, :]
    shoulder, elbow, wrist = joints[..., 0:2, :], joints[..., 2:4, :], joints[..., 4:6, :]
    d1, d2 = elbow - shoulder, wrist - elbow
    # Where the carried frame takes +Z: its third column (a product with Z, without the product).
    fallback = transport(upper_chest[..., None, :, :], _UPPER_ARM, d1)[..., :, 2]
    ref = _twist_reference(d1, d2, fallback)
    upper = frame(d1, ref) @ _ARM_REST_T
    carried = transport(upper, _LOWER_ARM, d2)
    across = hands[..., :, 2]
    u2 = unit(d2)
    usable = hands_known & (np.sqrt(np.sum((across - _dot(across, u2) * u2) ** 2, axis=-1)) > 0.2)
    lower = np.where(usable[..., None, None], frame(d2, across) @ _FOREARM_REST_T, carried)
    return np.asarray(upper), np.asarray(lower)


def legs(points: F64) -> tuple[F64, F64, F64]:
    """World rotations of both thighs, shins and feet, each (..., 2, 3, 3).

    A knee bends backward, so the shin's offset from the thigh's line points to the leg's back; a
    straight leg takes its twist from the foot (heel to toe).
    """
    joints = points[..., _LEG_POINTS, :]
    hip, knee, ankle = joints[..., 0:2, :], joints[..., 2:4, :], joints[..., 4:6, :]
    heel, toe = joints[..., 6:8, :], joints[..., 8:10, :]
    d1 = knee - hip
    thigh = frame(d1, _twist_reference(d1, knee - ankle, toe - heel)) @ _THIGH_REST_T
    shin = transport(thigh, _LOWER_LEG, ankle - knee)
    foot = transport(shin, _FOOT, toe - ankle)
    return np.asarray(thigh), shin, foot


def hands_from_pose(points: F64) -> F64:
    """Coarse hand orientations from the pose's wrist, index and pinky points, (..., 2, 3, 3)."""
    joints = points[..., _HAND_POINTS, :]
    wrist, index, pinky = joints[..., 0:2, :], joints[..., 2:4, :], joints[..., 4:6, :]
    return hand_frames(0.5 * (index + pinky) - wrist, index - pinky)


def hand_frames(along: F64, across: F64) -> F64:
    """World rotations of both hands from wrist-to-middle-knuckle and little-to-index directions."""
    return np.asarray(frame(along, across) @ _HAND_REST_T)

"""Torso, arms and legs: the tables and steps that give the body bones' world orientations.

Points are in the avatar frame (see ``rigging.landmarks.to_avatar``); a world rotation is the
rotation that takes a bone from its rest (T-pose) orientation to the observed one.
``rigging.local_rotations`` runs the solve for a batch of frames and interleaves the body's steps
with those of the hands and the head, so that all the frames (or all the turns) whose inputs are
ready are built in one call: on arrays this small numpy's cost is per call, not per number. This
module holds the body's part: which landmark differences the directions are, the rest frames, and
the twist reference.

The hips and the upper chest (shoulder girdle) come from the hip line, the shoulder line and the
line between their midpoints. How a lean splits between pelvis and spine the landmarks do not say:
with the legs in view the pelvis takes the lean, which keeps the legs where they are seen; with the
legs out of view (a seated operator at a webcam) the pelvis stays upright and the spine bends, so
the unseen legs keep standing.

Each limb bone is aligned by two directions: its own axis (matched exactly, so the bone points
where the landmarks say) and a second direction that fixes its twist: the plane in which the next
joint bends (elbow, knee), or the palm for the forearm. Near a straight limb that plane is
undefined, so the twist then follows the parent bone without turning about the limb (a twist-free
transport: the least turn from where the parent carries the bone) and blends smoothly into the
bend plane as the joint bends. Upper arm: points at the elbow, twisting with the plane the elbow
bends in (at rest the forearm would bend forward, +Z). Forearm: points at the wrist; its twist
(pronation) is the hand's, carried back along the wrist's bend (``rigging.local_rotations``): a
wrist bends but does not twist; without a usable hand it is carried by the upper arm. Thigh: a knee bends backward, so the shin's offset from
the thigh's line points to the leg's back; a straight leg takes its twist from the foot (heel to
toe). Shin and foot are carried by their parents. Both sides are solved at once (left, right).
"""

from __future__ import annotations

from typing import Final

import numpy as np

from rigging.landmarks import PosePoint as P
from rigging.quaternion import F64, dot_last, frame
from rigging.skeleton import REST

X: Final = np.array([1.0, 0.0, 0.0])
Y: Final = np.array([0.0, 1.0, 0.0])
Z: Final = np.array([0.0, 0.0, 1.0])
SIDES: Final = ("left", "right")

# Bend (as sine of the joint angle) under which the bend plane is not trusted at all, and over
# which it is trusted fully; in between the twist blends from the transported frame to it.
_BEND_UNTRUSTED: Final = 0.08
_BEND_TRUSTED: Final = 0.3
_EPS: Final = 1e-9


def _rest(bone: str) -> F64:
    return np.array([REST.direction(f"{side}{bone}") for side in SIDES])


def rest_frame_t(primary: F64, secondary: F64) -> F64:
    """The inverse (transpose) of the rest frame of a pair of rest directions (see quaternion.align)."""
    return np.asarray(np.swapaxes(frame(primary, secondary), -1, -2), dtype=np.float64)


UPPER_ARM: Final = _rest("UpperArm")
LOWER_ARM: Final = _rest("LowerArm")
LOWER_LEG: Final = _rest("LowerLeg")
FOOT: Final = _rest("Foot")
_Z2: Final = np.array([Z, Z])
ARM_REST_T: Final = rest_frame_t(UPPER_ARM, _Z2)
FOREARM_REST_T: Final = rest_frame_t(LOWER_ARM, _Z2)
THIGH_REST_T: Final = rest_frame_t(_rest("UpperLeg"), _Z2)
TORSO_REST_T: Final = rest_frame_t(X, Y)  # the hips' and the upper chest's
HAND_REST_T: Final = rest_frame_t(
    np.array([REST.offsets[f"{s}MiddleProximal"] for s in SIDES]),
    np.array([REST.offsets[f"{s}IndexProximal"] - REST.offsets[f"{s}LittleProximal"] for s in SIDES]),
)


def _both(left: P, terms: dict[int, float]) -> list[dict[int, float]]:
    """A direction's terms for the left side (point offsets from ``left``) and the right side.

    Each right point follows its left one in MediaPipe's numbering.
    """
    return [{left + k + side: c for k, c in terms.items()} for side in (0, 1)]


def _direction_table() -> F64:
    """The rows of :data:`DIRECTIONS`: each a sum of pose points with coefficients."""
    e, s, w, i, p = P.LEFT_ELBOW, P.LEFT_SHOULDER, P.LEFT_WRIST, P.LEFT_INDEX, P.LEFT_PINKY
    h, k, a, hl, t = P.LEFT_HIP, P.LEFT_KNEE, P.LEFT_ANKLE, P.LEFT_HEEL, P.LEFT_FOOT_INDEX
    up: dict[int, float] = {P.LEFT_SHOULDER: 0.5, P.RIGHT_SHOULDER: 0.5, P.LEFT_HIP: -0.5, P.RIGHT_HIP: -0.5}
    rows: list[dict[int, float]] = [
        {P.LEFT_HIP: 1.0, P.RIGHT_HIP: -1.0},
        {P.LEFT_SHOULDER: 1.0, P.RIGHT_SHOULDER: -1.0},
        {P.LEFT_EAR: 1.0, P.RIGHT_EAR: -1.0},
        *_both(w, {i - w: 0.5, p - w: 0.5, 0: -1.0}),
        up,
        up,
        {P.NOSE: 1.0, P.LEFT_EAR: -0.5, P.RIGHT_EAR: -0.5},
        *_both(i, {0: 1.0, p - i: -1.0}),
        *_both(s, {e - s: 1.0, 0: -1.0}),
        *_both(h, {k - h: 1.0, 0: -1.0}),
        *_both(e, {w - e: 1.0, 0: -1.0}),
        *_both(a, {k - a: 1.0, 0: -1.0}),
        *_both(hl, {t - hl: 1.0, 0: -1.0}),
        *_both(k, {a - k: 1.0, 0: -1.0}),
        *_both(a, {t - a: 1.0, 0: -1.0}),
    ]
    table = np.zeros((len(rows), len(P)))
    for r, terms in enumerate(rows):
        for point, c in terms.items():
            table[r, point] = c
    return table


#: Every direction the body's solve needs, as one linear map of the pose's points (rows, 33): one
#: product ``DIRECTIONS @ points`` instead of dozens of picks and differences. Rows 0-9 are the
#: first frames' inputs, primaries then second directions, in the order hips, upper chest, head,
#: left hand, right hand (the hands' from the pose's wrist, index and pinky). Row 5 (the hips' up)
#: is written over by the solve; until then it holds the torso's up like row 6.
DIRECTIONS: Final = _direction_table()
HIP_LINE, SHOULDER_LINE, EARS = 0, 1, 2
HIPS_UP, UP, NOSE_FROM_EARS = 5, 6, 7
FIRST_FRAMES: Final = slice(0, 10)  # (primaries, seconds) x (hips, upper chest, head, hands)
POSE_HANDS: Final = slice(3, 5)  # within each half of FIRST_FRAMES
UPPER_ARM_DIR: Final = slice(10, 12)  # shoulder to elbow
THIGH_DIR: Final = slice(12, 14)  # hip to knee
LOWER_ARM_DIR: Final = slice(14, 16)  # elbow to wrist
KNEE_BEND: Final = slice(16, 18)  # ankle to knee
HEEL_TO_TOE: Final = slice(18, 20)
LOWER_LEG_DIR: Final = slice(20, 22)  # knee to ankle
FOOT_DIR: Final = slice(22, 24)  # ankle to toe


_EPS_A: Final = np.array(_EPS)
_ONES3: Final = np.ones((3, 1))
# The trust's ramp as one multiply-add: (ratio - untrusted) / (trusted - untrusted).
_RAMP: Final = np.array(1.0 / (_BEND_TRUSTED - _BEND_UNTRUSTED))
_RAMP_START: Final = np.array(_BEND_UNTRUSTED / (_BEND_TRUSTED - _BEND_UNTRUSTED))
_ZERO_A: Final = np.array(0.0)
_ONE_A: Final = np.array(1.0)


def twist_reference(u: F64, bend_dir: F64, fallback: F64) -> F64:
    """Directions perpendicular to each bone: the bend plane when the joint bends, else ``fallback``.

    ``u`` (..., k, 3) are the bones' unit directions, ``bend_dir`` the child bones' directions.
    """
    # Rows: the child bone, its part perpendicular to the bone (the bend), the fallback's such part;
    # every projection and length in one call each (numpy's cost here is per call, and sums over
    # the last axis are cheaper as products with ones).
    v = np.empty((*u.shape, 3))
    v[..., 0, :] = bend_dir
    v[..., 1, :] = bend_dir
    v[..., 2, :] = fallback
    tail = v[..., 1:, :]
    tail -= (tail @ u[..., :, None]) * u[..., None, :]
    n = np.sqrt(dot_last(v * v, _ONES3))  # (..., 3, 1): |bend_dir|, |bend|, |fallback's part|
    floor = np.maximum(n, _EPS_A)  # every length kept off zero in one call
    trust = n[..., 1, :] / floor[..., 0, :] * _RAMP - _RAMP_START
    x = np.minimum(np.maximum(trust, _ZERO_A), _ONE_A)  # np.clip, without its Python wrapper
    w = x * x * (3.0 - 2.0 * x)
    units = tail / floor[..., 1:, :]
    bend_u, fb = units[..., 0, :], units[..., 1, :]
    mixed = fb + w * (bend_u - fb)
    m2 = dot_last(mixed * mixed, _ONES3)
    unit_mixed = mixed / np.maximum(np.sqrt(m2), _EPS_A)
    if np.count_nonzero(m2 < 1e-12):
        # A bend plane opposite to the fallback would cancel it out: then trust the bend alone.
        return np.asarray(np.where(m2 < 1e-12, bend_u, unit_mixed), dtype=np.float64)
    return np.asarray(unit_mixed, dtype=np.float64)

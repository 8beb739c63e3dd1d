"""The head's orientation and the face's expressions.

Head: from MediaPipe's facial transformation matrix when the face landmarker gives one, else from
the face points of the pose (ears, nose). Expressions: VRM 1.0 presets from the 52 ARKit-style
blendshapes MediaPipe estimates.
"""

from __future__ import annotations

from typing import Final

import numpy as np

from rigging.landmarks import PosePoint as P
from rigging.quaternion import F64, align

X: Final = np.array([1.0, 0.0, 0.0])
# With the head at rest, the nose sits in front of and a little below the line between the ears.
_REST_NOSE_FROM_EARS: Final = np.array([0.0, -0.2, 1.0])


def head_from_matrix(matrix: F64) -> F64:
    """World rotation of the head from the facial transformation matrix (row-major 4x4).

    MediaPipe's face geometry works in a camera frame with x right, y up and z toward the viewer,
    which is the avatar frame, and its canonical face looks along +z as the avatar does; so the
    matrix's rotation part, with its scale removed, is the head's world rotation.
    """
    r = np.asarray(matrix[:3, :3], dtype=np.float64)
    u, _, vt = np.linalg.svd(r)  # nearest rotation: drops scale and numerical shear
    rot = u @ vt
    if np.linalg.det(rot) < 0:
        u[:, -1] *= -1
        rot = u @ vt
    return np.asarray(rot, dtype=np.float64)


def head_from_points(points: F64) -> F64:
    """World rotation of the head from the ears and the nose of the pose (avatar frame)."""
    ears = points[P.LEFT_EAR] - points[P.RIGHT_EAR]
    nose = points[P.NOSE] - 0.5 * (points[P.LEFT_EAR] + points[P.RIGHT_EAR])
    return align(X, _REST_NOSE_FROM_EARS, ears, nose)


def _avg(shapes: dict[str, float], *names: str) -> float:
    return sum(shapes.get(n, 0.0) for n in names) / len(names)


def _clip(x: float) -> float:
    return min(1.0, max(0.0, x))


def expressions(shapes: dict[str, float]) -> dict[str, float]:
    """VRM 1.0 preset expression weights from MediaPipe blendshapes (ARKit names).

    The visemes share one mouth: the jaw opening sets how much mouth there is, lip rounding splits
    it between "ou"/"oh", lip stretch between "ee"/"ih", the rest is "aa"; their sum never exceeds
    the opening so they do not add up to an impossible mouth. "left" in a blendshape name is the
    person's own left, as on the avatar.
    """
    jaw = _clip(shapes.get("jawOpen", 0.0) * 1.6)
    pucker = shapes.get("mouthPucker", 0.0)
    funnel = shapes.get("mouthFunnel", 0.0)
    stretch = _avg(shapes, "mouthStretchLeft", "mouthStretchRight")
    smile = _avg(shapes, "mouthSmileLeft", "mouthSmileRight")
    rounded = _clip(max(pucker, funnel) * 1.5)
    wide = _clip((stretch + 0.5 * smile) * 1.5) * (1.0 - rounded)
    open_amount = max(jaw, 0.6 * rounded)
    ou = open_amount * rounded * (pucker / (pucker + funnel + 1e-6))
    oh = open_amount * rounded - ou
    ee = open_amount * wide * (1.0 - jaw)
    ih = open_amount * wide * jaw
    aa = max(0.0, open_amount - ou - oh - ee - ih)

    blink_l = _clip(shapes.get("eyeBlinkLeft", 0.0) * 1.2)
    blink_r = _clip(shapes.get("eyeBlinkRight", 0.0) * 1.2)
    both = min(blink_l, blink_r)

    brow_down = _avg(shapes, "browDownLeft", "browDownRight")
    brow_outer_up = _avg(shapes, "browOuterUpLeft", "browOuterUpRight")
    brow_inner_up = shapes.get("browInnerUp", 0.0)
    frown = _avg(shapes, "mouthFrownLeft", "mouthFrownRight")
    eye_wide = _avg(shapes, "eyeWideLeft", "eyeWideRight")
    squint = _avg(shapes, "eyeSquintLeft", "eyeSquintRight")
    cheek = _avg(shapes, "cheekSquintLeft", "cheekSquintRight")

    # The eyes look toward the avatar's left when the left eye turns out and the right eye in.
    look_left = _avg(shapes, "eyeLookOutLeft", "eyeLookInRight")
    look_right = _avg(shapes, "eyeLookInLeft", "eyeLookOutRight")
    look_up = _avg(shapes, "eyeLookUpLeft", "eyeLookUpRight")
    look_down = _avg(shapes, "eyeLookDownLeft", "eyeLookDownRight")

    out = {
        "aa": aa,
        "ih": ih,
        "ou": ou,
        "ee": ee,
        "oh": oh,
        "blink": both,
        "blinkLeft": blink_l - both,
        "blinkRight": blink_r - both,
        "happy": _clip(1.3 * smile + 0.3 * cheek - 0.5 * frown),
        "angry": _clip(1.5 * brow_down - 0.5 * smile),
        "sad": _clip(1.2 * frown + 0.6 * brow_inner_up * (1.0 - brow_outer_up) - 0.5 * smile),
        "relaxed": _clip(min(smile, squint) * 1.5),
        "surprised": _clip(0.8 * brow_outer_up + 0.8 * eye_wide + 0.4 * jaw - 0.4 * brow_down),
        "lookUp": _clip(look_up * 1.5),
        "lookDown": _clip(look_down * 1.5),
        "lookLeft": _clip(look_left * 1.5),
        "lookRight": _clip(look_right * 1.5),
    }
    return {k: _clip(v) for k, v in out.items()}

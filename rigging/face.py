"""The head's orientation and the face's expressions.

Head: from MediaPipe's facial transformation matrix when the face landmarker gives one, else from
the face points of the pose (ears, nose). Expressions: VRM 1.0 presets from the 52 ARKit-style
blendshapes MediaPipe estimates.
"""

from __future__ import annotations

import operator
from typing import Final

import numpy as np

from rigging.landmarks import PosePoint as P
from rigging.quaternion import F64, frame

X: Final = np.array([1.0, 0.0, 0.0])
# With the head at rest, the nose sits in front of and a little below the line between the ears.
_REST_NOSE_FROM_EARS: Final = np.array([0.0, -0.2, 1.0])
# The rest pair's frame, inverted once here rather than on every frame (see quaternion.align).
_REST_HEAD_T: Final = np.swapaxes(frame(X, _REST_NOSE_FROM_EARS), -1, -2)
_FACE_POINTS: Final = [P.NOSE, P.LEFT_EAR, P.RIGHT_EAR]


def head_from_matrix(matrix: F64) -> F64:
    """World rotation of the head from the facial transformation matrix (row-major 4x4, or a stack).

    MediaPipe's face geometry works in a camera frame with x right, y up and z toward the viewer,
    which is the avatar frame, and its canonical face looks along +z as the avatar does; so the
    matrix's rotation part, with its scale removed, is the head's world rotation.
    """
    r = np.asarray(matrix[..., :3, :3], dtype=np.float64)
    u, _, vt = np.linalg.svd(r)  # nearest rotation: drops scale and numerical shear
    # A reflection is turned into the nearest rotation by flipping the least singular direction.
    flip = np.where(np.linalg.det(u @ vt) < 0, -1.0, 1.0)
    u[..., :, -1] *= flip[..., None]
    return np.asarray(u @ vt, dtype=np.float64)


def head_from_points(points: F64) -> F64:
    """World rotation of the head from the ears and the nose of the pose (avatar frame)."""
    face = points[..., _FACE_POINTS, :]
    ears = face[..., 1, :] - face[..., 2, :]
    nose = face[..., 0, :] - 0.5 * (face[..., 1, :] + face[..., 2, :])
    return np.asarray(frame(ears, nose) @ _REST_HEAD_T, dtype=np.float64)


#: The blendshapes the expressions are made of, in the column order of :func:`expression_matrix`.
BLENDSHAPES: Final[tuple[str, ...]] = (
    "jawOpen", "mouthPucker", "mouthFunnel", "mouthStretchLeft", "mouthStretchRight",
    "mouthSmileLeft", "mouthSmileRight", "eyeBlinkLeft", "eyeBlinkRight", "browDownLeft",
    "browDownRight", "browOuterUpLeft", "browOuterUpRight", "browInnerUp", "mouthFrownLeft",
    "mouthFrownRight", "eyeWideLeft", "eyeWideRight", "eyeSquintLeft", "eyeSquintRight",
    "cheekSquintLeft", "cheekSquintRight", "eyeLookOutLeft", "eyeLookInRight", "eyeLookInLeft",
    "eyeLookOutRight", "eyeLookUpLeft", "eyeLookUpRight", "eyeLookDownLeft", "eyeLookDownRight",
)  # fmt: skip
_COLUMN: Final = {name: i for i, name in enumerate(BLENDSHAPES)}
_TAKE_ALL: Final = operator.itemgetter(*BLENDSHAPES)
#: The expressions :func:`expression_matrix` gives, in its column order (VRM presets but neutral).
EXPRESSION_NAMES: Final[tuple[str, ...]] = (
    "aa", "ih", "ou", "ee", "oh", "blink", "blinkLeft", "blinkRight", "happy", "angry", "sad",
    "relaxed", "surprised", "lookUp", "lookDown", "lookLeft", "lookRight",
)  # fmt: skip


def blendshape_row(shapes: dict[str, float]) -> list[float] | tuple[float, ...]:
    """One row of :func:`expression_matrix`'s input; blendshapes not given count as 0."""
    try:  # MediaPipe gives every blendshape: then one C-level lookup takes them all
        values: tuple[float, ...] = _TAKE_ALL(shapes)
        return values
    except KeyError:
        return [shapes.get(name, 0.0) for name in BLENDSHAPES]


def expressions(shapes: dict[str, float]) -> dict[str, float]:
    """VRM 1.0 preset expression weights from MediaPipe blendshapes (ARKit names)."""
    weights = expression_matrix(np.array([blendshape_row(shapes)]))[0]
    return dict(zip(EXPRESSION_NAMES, weights.tolist(), strict=True))


def expression_matrix(shapes: F64) -> F64:
    """VRM 1.0 preset expression weights (..., 17) from blendshape weights (..., 30).

    Columns in, :data:`BLENDSHAPES`; columns out, :data:`EXPRESSION_NAMES`. Many frames are one call.

    The visemes share one mouth: the jaw opening sets how much mouth there is, lip rounding splits
    it between "ou"/"oh", lip stretch between "ee"/"ih", the rest is "aa"; their sum never exceeds
    the opening so they do not add up to an impossible mouth. "left" in a blendshape name is the
    person's own left, as on the avatar.
    """
    f = shapes @ _FEATURES  # every average and single blendshape below, in one product
    jaw = _clip01(f[..., _F["jawOpen"]] * 1.6)
    pucker, funnel = f[..., _F["mouthPucker"]], f[..., _F["mouthFunnel"]]
    stretch, smile = f[..., _F["mouthStretch"]], f[..., _F["mouthSmile"]]
    rounded = _clip01(np.maximum(pucker, funnel) * 1.5)
    wide = _clip01((stretch + 0.5 * smile) * 1.5) * (1.0 - rounded)
    open_amount = np.maximum(jaw, 0.6 * rounded)
    ou = open_amount * rounded * (pucker / (pucker + funnel + 1e-6))
    oh = open_amount * rounded - ou
    ee = open_amount * wide * (1.0 - jaw)
    ih = open_amount * wide * jaw
    aa = np.maximum(0.0, open_amount - ou - oh - ee - ih)

    blinks = _clip01(f[..., _F["eyeBlinkLeft"] : _F["eyeBlinkRight"] + 1] * 1.2)  # left, right
    both = np.minimum(blinks[..., 0], blinks[..., 1])

    brow_down, brow_outer_up = f[..., _F["browDown"]], f[..., _F["browOuterUp"]]
    frown = f[..., _F["mouthFrown"]]
    out = np.stack(
        (
            aa, ih, ou, ee, oh,
            both, blinks[..., 0] - both, blinks[..., 1] - both,
            1.3 * smile + 0.3 * f[..., _F["cheekSquint"]] - 0.5 * frown,
            1.5 * brow_down - 0.5 * smile,
            1.2 * frown + 0.6 * f[..., _F["browInnerUp"]] * (1.0 - brow_outer_up) - 0.5 * smile,
            np.minimum(smile, f[..., _F["eyeSquint"]]) * 1.5,
            0.8 * brow_outer_up + 0.8 * f[..., _F["eyeWide"]] + 0.4 * jaw - 0.4 * brow_down,
        ),
        axis=-1,
    )  # fmt: skip
    # The eyes look toward the avatar's left when the left eye turns out and the right eye in.
    looks = f[..., _F["lookUp"] : _F["lookRight"] + 1] * 1.5
    return _clip01(np.concatenate((out, looks), axis=-1))


def _clip01(x: F64) -> F64:
    return np.asarray(np.minimum(1.0, np.maximum(0.0, x)), dtype=np.float64)


def _feature_table() -> tuple[F64, dict[str, int]]:
    """The linear part of the expressions: blendshapes (30) to the features they average (columns)."""
    features: dict[str, tuple[str, ...]] = {
        "jawOpen": ("jawOpen",),
        "mouthPucker": ("mouthPucker",),
        "mouthFunnel": ("mouthFunnel",),
        "mouthStretch": ("mouthStretchLeft", "mouthStretchRight"),
        "mouthSmile": ("mouthSmileLeft", "mouthSmileRight"),
        "eyeBlinkLeft": ("eyeBlinkLeft",),
        "eyeBlinkRight": ("eyeBlinkRight",),
        "browDown": ("browDownLeft", "browDownRight"),
        "browOuterUp": ("browOuterUpLeft", "browOuterUpRight"),
        "browInnerUp": ("browInnerUp",),
        "mouthFrown": ("mouthFrownLeft", "mouthFrownRight"),
        "eyeWide": ("eyeWideLeft", "eyeWideRight"),
        "eyeSquint": ("eyeSquintLeft", "eyeSquintRight"),
        "cheekSquint": ("cheekSquintLeft", "cheekSquintRight"),
        "lookUp": ("eyeLookUpLeft", "eyeLookUpRight"),
        "lookDown": ("eyeLookDownLeft", "eyeLookDownRight"),
        "lookLeft": ("eyeLookOutLeft", "eyeLookInRight"),
        "lookRight": ("eyeLookInLeft", "eyeLookOutRight"),
    }
    table = np.zeros((len(BLENDSHAPES), len(features)))
    for k, names in enumerate(features.values()):
        for name in names:
            # halves, not a division by 2 after the sum: the same number, exactly
            table[_COLUMN[name], k] += 1.0 / len(names)
    return table, {name: k for k, name in enumerate(features)}


_FEATURES, _F = _feature_table()

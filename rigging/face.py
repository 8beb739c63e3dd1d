"""The head's orientation and the face's expressions.

Head: from MediaPipe's facial transformation matrix when the face landmarker gives one, else from
the face points of the pose (ears, nose). Expressions: VRM 1.0 presets from the 52 ARKit-style
blendshapes MediaPipe estimates.
"""

from __future__ import annotations

import operator
from typing import Final, cast

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

    Written as a few products with constant tables (:func:`_feature_table`) and operations on
    blocks of columns rather than on one column at a time: numpy's cost here is per call. Every
    part that is linear in what is computed so far (the rest of a split, the blinks beyond both,
    "aa"'s remainder of the open mouth) is left to the last product.
    """
    f = shapes @ _FEATURES  # every scaled average of blendshapes below, in one product
    # jaw opening, lip rounding (pucker or funnel), lip stretch, left and right blinks: scaled, clipped
    mouth = _clip01(np.maximum(f[..., 0:5], f[..., 5:10]))
    jaw, rounded = mouth[..., 0:1], mouth[..., 1:2]
    open_amount = np.maximum(jaw, 0.6 * rounded)
    # The open mouth, stretched and rounded: jaw splits the first into "ih" and "ee", the
    # pucker's share of the rounding the second into "ou" and "oh" (the last product takes each
    # second share as the whole less the first; "aa" as the open mouth less both, its clip making
    # it at least 0).
    shapes_of = open_amount * np.concatenate((mouth[..., 2:3] * (1.0 - rounded), rounded), axis=-1)
    ih_ou = shapes_of * np.concatenate((jaw, f[..., 10:11] / (f[..., 11:12] + 1e-6)), axis=-1)
    both = np.minimum.reduce(mouth[..., 3:5], axis=-1, keepdims=True)  # the blinks: both, then each beyond
    # The parts of sad and relaxed that are not linear in the blendshapes (0.6 browInnerUp times
    # browOuterUp, and the lesser of smile and squint); the linear parts of every expression come
    # from the blendshapes themselves in the last product.
    sad = f[..., 12:13] * f[..., 13:14]
    relaxed = np.minimum.reduce(f[..., 14:16], axis=-1, keepdims=True)
    parts = np.concatenate((open_amount, shapes_of, ih_ou, both, mouth, sad, relaxed, shapes), axis=-1)
    return _clip01(parts @ _ASSEMBLY)


def _clip01(x: F64) -> F64:
    return cast(F64, np.minimum(1.0, np.maximum(0.0, x)))


def _avg(*names: str, scale: float = 1.0) -> dict[str, float]:
    """``scale`` times the mean of the blendshapes ``names``, as weights by name."""
    # halves, not a division by 2 after the sum: the same number, exactly
    return {name: scale / len(names) for name in names}


def _column(*terms: dict[str, float]) -> F64:
    """A table column over the blendshapes: the sum of the weighted terms."""
    out = np.zeros(len(BLENDSHAPES))
    for term in terms:
        for name, weight in term.items():
            out[_COLUMN[name]] += weight
    return out


_SMILE: Final = ("mouthSmileLeft", "mouthSmileRight")
_FROWN: Final = ("mouthFrownLeft", "mouthFrownRight")
_BROW_DOWN: Final = ("browDownLeft", "browDownRight")
_BROW_OUTER_UP: Final = ("browOuterUpLeft", "browOuterUpRight")
# The parts expression_matrix computes, in the order of its last product's rows, and what each
# adds to which expressions there (before the blendshapes' own linear parts).
_PARTS: Final[tuple[tuple[str, dict[str, float]], ...]] = (
    ("open", {"aa": 1.0}),
    ("stretched", {"aa": -1.0, "ee": 1.0}),
    ("rounded", {"aa": -1.0, "oh": 1.0}),
    ("jaw's share of stretched", {"ih": 1.0, "ee": -1.0}),
    ("pucker's share of rounded", {"ou": 1.0, "oh": -1.0}),
    ("both blinks", {"blink": 1.0, "blinkLeft": -1.0, "blinkRight": -1.0}),
    ("jaw", {"surprised": 0.4}),
    ("rounding", {}),
    ("stretch", {}),
    ("left blink", {"blinkLeft": 1.0}),
    ("right blink", {"blinkRight": 1.0}),
    ("browInnerUp times browOuterUp", {"sad": -1.0}),  # sad's 0.6 browInnerUp (1 - browOuterUp)
    ("smile or squint", {"relaxed": 1.0}),
)


def _feature_table() -> tuple[F64, F64]:
    """The linear parts of the expressions as two tables.

    The first takes the blendshapes (30) to the features the nonlinear parts start from, in the
    columns :func:`expression_matrix` reads. The second takes its parts (:data:`_PARTS`) and the
    blendshapes to the expressions before clipping: it puts each part in its expression's column
    and adds the part of every expression that is linear in the blendshapes.
    """
    jaw = _column(_avg("jawOpen", scale=1.6))
    wide = _column(_avg("mouthStretchLeft", "mouthStretchRight", scale=1.5), _avg(*_SMILE, scale=0.75))
    blinks = [_column(_avg("eyeBlinkLeft", scale=1.2)), _column(_avg("eyeBlinkRight", scale=1.2))]
    pucker, funnel = _column(_avg("mouthPucker")), _column(_avg("mouthFunnel"))
    first = np.column_stack(
        (
            # two blocks whose maxima column by column are the mouth's and the eyes' amounts
            jaw, 1.5 * pucker, wide, *blinks,
            jaw, 1.5 * funnel, wide, *blinks,
            pucker, pucker + funnel,  # the pucker's share of the rounding
            _column(_avg("browInnerUp", scale=0.6)), _column(_avg(*_BROW_OUTER_UP)),  # sad
            _column(_avg(*_SMILE, scale=1.5)), _column(_avg("eyeSquintLeft", "eyeSquintRight", scale=1.5)),
        )
    )  # fmt: skip
    linear = {
        "happy": _column(_avg(*_SMILE, scale=1.3), _avg("cheekSquintLeft", "cheekSquintRight", scale=0.3),
                         _avg(*_FROWN, scale=-0.5)),
        "angry": _column(_avg(*_BROW_DOWN, scale=1.5), _avg(*_SMILE, scale=-0.5)),
        "sad": _column(_avg(*_FROWN, scale=1.2), _avg(*_SMILE, scale=-0.5), _avg("browInnerUp", scale=0.6)),
        "surprised": _column(_avg(*_BROW_OUTER_UP, scale=0.8), _avg("eyeWideLeft", "eyeWideRight", scale=0.8),
                             _avg(*_BROW_DOWN, scale=-0.4)),
        # The eyes look toward the avatar's left when the left eye turns out and the right eye in.
        "lookUp": _column(_avg("eyeLookUpLeft", "eyeLookUpRight", scale=1.5)),
        "lookDown": _column(_avg("eyeLookDownLeft", "eyeLookDownRight", scale=1.5)),
        "lookLeft": _column(_avg("eyeLookOutLeft", "eyeLookInRight", scale=1.5)),
        "lookRight": _column(_avg("eyeLookInLeft", "eyeLookOutRight", scale=1.5)),
    }  # fmt: skip
    assembly = np.zeros((len(_PARTS) + len(BLENDSHAPES), len(EXPRESSION_NAMES)))
    for row, (_, adds) in enumerate(_PARTS):
        for name, weight in adds.items():
            assembly[row, EXPRESSION_NAMES.index(name)] = weight
    for name, column in linear.items():
        assembly[len(_PARTS) :, EXPRESSION_NAMES.index(name)] = column
    return first, assembly


_FEATURES, _ASSEMBLY = _feature_table()
_SUM2: Final = np.ones((2, 1))

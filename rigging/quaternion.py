"""Quaternions ``[x, y, z, w]`` (three.js order) and rotation matrices, vectorized over leading axes.

Everything here accepts a single quaternion of shape (4,) or a stack of shape (..., 4).
"""

from __future__ import annotations

from typing import Final

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]

IDENTITY: F64 = np.array([0.0, 0.0, 0.0, 1.0])
_EYE3: Final = np.eye(3)
_EPS = 1e-9
# Constants as arrays: numpy takes them faster than Python floats, and sums over the last axis as
# a product with ones are cheaper than reductions (this runs dozens of times a frame).
_EPS_A: Final = np.array(_EPS)
_ONE_A: Final = np.array(1.0)
_ONES3: Final = np.ones((3, 1))
_ONES4: Final = np.ones((4, 1))


def dot_last(a: F64, table: F64) -> F64:
    """``a @ table`` for a constant 2-D ``table`` (rows, columns), as one 2-D product.

    numpy's stacked matmul steps through the leading axes of ``a`` in small loops; flattened to
    2-D it is one BLAS call: a little quicker for one frame, about ten times for fifty.
    """
    out: F64 = a.reshape(-1, table.shape[0]).dot(table).reshape((*a.shape[:-1], table.shape[1]))
    return out


_ONES_BY_LENGTH: Final = {k: np.ones((k, 1)) for k in range(1, 17)}


def _sum_last(a: F64, keepdims: bool = False) -> F64:
    """Sum over the last axis: ``a.sum(-1)`` as a product with ones (see :func:`dot_last`)."""
    ones = _ONES_BY_LENGTH.get(a.shape[-1])
    if ones is None:
        return np.asarray(a.sum(axis=-1, keepdims=keepdims), dtype=np.float64)
    s = dot_last(a, ones)
    return s if keepdims else s[..., 0]


def normalize(q: F64) -> F64:
    n = np.sqrt(_sum_last(q * q, keepdims=True))
    return np.asarray(q / np.maximum(n, _EPS), dtype=np.float64)


def unit(v: F64) -> F64:
    """Unit vectors along the last axis; zero vectors stay zero."""
    # A zero vector divides to zero, so it needs no special case. (np.add.reduce is .sum(-1)
    # without its Python wrapper: this runs dozens of times a frame.)
    return np.asarray(v / np.maximum(np.sqrt(_sum_last(v * v, keepdims=True)), _EPS), dtype=np.float64)


def _product_table(terms: dict[int, list[tuple[float, int, int]]], n_a: int, n_b: int, n_out: int) -> F64:
    """A bilinear product as one matrix: out[k] = sum of sign * a[i] * b[j] over ``terms[k]``."""
    table = np.zeros((n_a * n_b, n_out))
    for k, entries in terms.items():
        for sign, i, j in entries:
            table[i * n_b + j, k] = sign
    return table


# cross(a, b)[k] and the Hamilton product (a * b)[k] as tables over the outer product a_i b_j: one
# outer product and one matrix product instead of a dozen calls on single components (numpy's cost
# on arrays this small is per call).
_CROSS: Final = _product_table(
    {0: [(1, 1, 2), (-1, 2, 1)], 1: [(1, 2, 0), (-1, 0, 2)], 2: [(1, 0, 1), (-1, 1, 0)]}, 3, 3, 3
)
_HAMILTON: Final = _product_table(
    {
        0: [(1, 3, 0), (1, 0, 3), (1, 1, 2), (-1, 2, 1)],
        1: [(1, 3, 1), (-1, 0, 2), (1, 1, 3), (1, 2, 0)],
        2: [(1, 3, 2), (1, 0, 1), (-1, 1, 0), (1, 2, 3)],
        3: [(1, 3, 3), (-1, 0, 0), (-1, 1, 1), (-1, 2, 2)],
    },
    4,
    4,
    4,
)


def _bilinear(a: F64, b: F64, table: F64) -> F64:
    outer = a[..., :, None] * b[..., None, :]
    return np.asarray(outer.reshape(-1, table.shape[0]).dot(table).reshape((*a.shape[:-1], table.shape[1])))


def cross(a: F64, b: F64) -> F64:
    """Cross product along the last axis (numpy's own is slow for small arrays)."""
    return _bilinear(a, b, _CROSS)


def _turn_table() -> F64:
    """Rodrigues' terms as one linear map of the outer product of the pair ``[a, b]`` (6 x 6).

    Columns: K = b a^T - a b^T, S = b a^T + a b^T, Q = a a^T + b b^T (9 each, row-major), then
    c = a . b: one product instead of four outer products and a dot (numpy's cost is per call).
    """
    t = np.zeros((6, 6, 28))
    for i in range(3):
        for j in range(3):
            k = 3 * i + j
            t[3 + i, j, k], t[i, 3 + j, k] = 1.0, -1.0
            t[3 + i, j, 9 + k] = t[i, 3 + j, 9 + k] = 1.0
            t[i, j, 18 + k] = t[3 + i, 3 + j, 18 + k] = 1.0
        t[i, 3 + i, 27] = 1.0
    return t.reshape(36, 28)


_TURN: Final = _turn_table()
_EYE_FLAT: Final = _EYE3.reshape(9)
_X: Final = np.array([1.0, 0.0, 0.0])
_Y: Final = np.array([0.0, 1.0, 0.0])
_NEAR_OPPOSITE: Final = np.array(-1.0 + 1e-9)


def turns(pairs: F64) -> tuple[F64, F64]:
    """Rotation matrices (..., 3, 3) of the shortest turns taking ``pairs[..., 0, :]`` to ``pairs[..., 1, :]``.

    Also gives the pairs made unit (..., 2, 3), which callers reuse. Many independent turns stacked
    along the leading axes cost what one does. See :func:`rotation_between` for the formula.
    """
    u = pairs / np.maximum(np.sqrt(dot_last(pairs * pairs, _ONES3)), _EPS_A)
    lead = u.shape[:-2]
    # Flat rows (N, 6) throughout: 2-D products and slices are the quickest numpy has; the second
    # step in place, without a temporary per operation.
    x = u.reshape(-1, 6)
    t = (x[:, :, None] * x[:, None, :]).reshape(-1, 36).dot(_TURN)
    c = t[:, 27:28]
    flat = c * t[:, 9:18]
    flat -= t[:, 18:27]
    flat /= np.maximum(c + _ONE_A, _EPS_A)
    flat += t[:, 0:9]
    flat += _EYE_FLAT
    r: F64 = flat.reshape((*lead, 3, 3))
    if np.count_nonzero(
        c < _NEAR_OPPOSITE
    ):  # opposite directions (rare): a half turn about a perpendicular axis
        opposite = (c < _NEAR_OPPOSITE).reshape(lead)
        a = u[..., 0, :]
        helper = np.where(np.abs(a[..., :1]) < 0.9, _X, _Y)
        axis = unit(cross(a, helper))
        half_turn = 2.0 * axis[..., :, None] * axis[..., None, :] - _EYE3
        r = np.where(opposite[..., None, None], half_turn, r)
    return r, u


def rotation_between(a: F64, b: F64) -> F64:
    """Rotation matrices (..., 3, 3) of the shortest turn taking direction ``a`` to ``b``.

    Rodrigues' formula with K = [a x b]x, which for unit vectors is b a^T - a b^T:
    R = I + K + K^2 / (1 + c), K^2 = c (b a^T + a b^T) - a a^T - b b^T, c = a . b; built from outer
    products only (numpy's cost here is per call, not per number). Opposite vectors (c = -1) get a
    half turn about an axis perpendicular to ``a``.
    """
    pairs = np.empty((*np.broadcast(a, b).shape[:-1], 2, 3))
    pairs[..., 0, :] = a
    pairs[..., 1, :] = b
    return turns(pairs)[0]


def multiply(a: F64, b: F64) -> F64:
    """Hamilton product ``a * b`` (apply ``b`` first, then ``a``)."""
    return _bilinear(a, b, _HAMILTON)


_CONJUGATE: Final = np.array([-1.0, -1.0, -1.0, 1.0])
# The Hamilton product with the second factor conjugated: its rows of b's vector part negated
# (exact sign flips), so ``a * conj(b)`` is one product like ``a * b``.
_HAMILTON_CONJ: Final = _HAMILTON * np.tile(_CONJUGATE, 4)[:, None]


def conjugate(q: F64) -> F64:
    return np.asarray(q * _CONJUGATE, dtype=np.float64)


def multiply_conjugate(a: F64, b: F64) -> F64:
    """``a * conjugate(b)``: the same numbers as the two calls, in one product."""
    return _bilinear(a, b, _HAMILTON_CONJ)


def rotate(q: F64, v: F64) -> F64:
    """Rotate vectors ``v`` (..., 3) by unit quaternions ``q`` (..., 4)."""
    u = q[..., :3]
    w = q[..., 3:4]
    t = 2.0 * cross(u, v)
    return np.asarray(v + w * t + cross(u, t), dtype=np.float64)


def from_axis_angle(axis: F64, angle: F64 | float) -> F64:
    axis = unit(np.asarray(axis, dtype=np.float64))
    half = np.asarray(angle, dtype=np.float64)[..., None] * 0.5
    return np.concatenate((axis * np.sin(half), np.cos(half)), axis=-1)


def to_matrix(q: F64) -> F64:
    x, y, z, w = np.moveaxis(q, -1, 0)
    xx, yy, zz = x * x, y * y, z * z
    xy, xz, yz, wx, wy, wz = x * y, x * z, y * z, w * x, w * y, w * z
    m = np.stack(
        (
            1 - 2 * (yy + zz), 2 * (xy - wz), 2 * (xz + wy),
            2 * (xy + wz), 1 - 2 * (xx + zz), 2 * (yz - wx),
            2 * (xz - wy), 2 * (yz + wx), 1 - 2 * (xx + yy),
        ),
        axis=-1,
    )  # fmt: skip
    return m.reshape((*np.shape(q)[:-1], 3, 3))


def _candidate_tables() -> tuple[F64, F64]:
    """Shepperd's four candidate solutions as one linear map of the matrix entries.

    Candidate k is 4·q·q_k (up to sign): each of its components is a sum of matrix entries plus a
    constant, so all four come out of one matrix product (numpy's cost here is per call).
    """
    coef = np.zeros((4, 4, 3, 3))
    const = np.zeros((4, 4))
    # candidate 0 (x largest): [1+m00-m11-m22, m01+m10, m02+m20, m21-m12]
    const[0, 0] = 1
    coef[0, 0, 0, 0], coef[0, 0, 1, 1], coef[0, 0, 2, 2] = 1, -1, -1
    coef[0, 1, 0, 1] = coef[0, 1, 1, 0] = 1
    coef[0, 2, 0, 2] = coef[0, 2, 2, 0] = 1
    coef[0, 3, 2, 1], coef[0, 3, 1, 2] = 1, -1
    # candidate 1 (y largest): [m01+m10, 1-m00+m11-m22, m12+m21, m02-m20]
    coef[1, 0, 0, 1] = coef[1, 0, 1, 0] = 1
    const[1, 1] = 1
    coef[1, 1, 0, 0], coef[1, 1, 1, 1], coef[1, 1, 2, 2] = -1, 1, -1
    coef[1, 2, 1, 2] = coef[1, 2, 2, 1] = 1
    coef[1, 3, 0, 2], coef[1, 3, 2, 0] = 1, -1
    # candidate 2 (z largest): [m02+m20, m12+m21, 1-m00-m11+m22, m10-m01]
    coef[2, 0, 0, 2] = coef[2, 0, 2, 0] = 1
    coef[2, 1, 1, 2] = coef[2, 1, 2, 1] = 1
    const[2, 2] = 1
    coef[2, 2, 0, 0], coef[2, 2, 1, 1], coef[2, 2, 2, 2] = -1, -1, 1
    coef[2, 3, 1, 0], coef[2, 3, 0, 1] = 1, -1
    # candidate 3 (w largest): [m21-m12, m02-m20, m10-m01, 1+m00+m11+m22]
    coef[3, 0, 2, 1], coef[3, 0, 1, 2] = 1, -1
    coef[3, 1, 0, 2], coef[3, 1, 2, 0] = 1, -1
    coef[3, 2, 1, 0], coef[3, 2, 0, 1] = 1, -1
    const[3, 3] = 1
    coef[3, 3, 0, 0] = coef[3, 3, 1, 1] = coef[3, 3, 2, 2] = 1
    return coef.reshape(16, 9).T.copy(), const.reshape(16)


_CAND_COEF, _CAND_CONST = _candidate_tables()
# Which candidate is well-conditioned: the one whose diagonal term is largest (m00, m11, m22, trace).
_PICK = np.array([[1, 0, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 1, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0, 1],
                  [1, 0, 0, 0, 1, 0, 0, 0, 1]], dtype=np.float64).T  # fmt: skip


def from_matrix(m: F64) -> F64:
    """Unit quaternion of rotation matrices (..., 3, 3); robust for every angle (Shepperd's method)."""
    m = np.asarray(m, dtype=np.float64)
    shape = m.shape[:-2]
    flat = m.reshape(-1, 9)
    cands = (flat @ _CAND_COEF + _CAND_CONST).reshape(-1, 4, 4)
    # The chosen candidate of each matrix by one take on the flattened rows (fancy indexing with
    # two index arrays is several times slower).
    pick = (flat @ _PICK).argmax(axis=1)
    pick += np.arange(0, 4 * len(pick), 4)
    q = cands.reshape(-1, 4).take(pick, axis=0)
    # Made unit and turned to w >= 0 in one product.
    q = q * (np.where(q[:, 3:4] < 0, -1.0, 1.0) / np.sqrt(q * q @ _ONES4))
    return np.asarray(q.reshape((*shape, 4)), dtype=np.float64)


def from_two_vectors(a: F64, b: F64) -> F64:
    """The shortest rotation taking direction ``a`` to direction ``b`` (a swing with no twist)."""
    a = unit(np.asarray(a, dtype=np.float64))
    b = unit(np.asarray(b, dtype=np.float64))
    d = _sum_last(a * b, keepdims=True)
    axis = cross(a, b)
    q = np.concatenate((axis, 1.0 + d), axis=-1)
    # Opposite vectors: any perpendicular axis will do; pick one stable for the input.
    opposite = (1.0 + d)[..., 0] < 1e-8
    if np.any(opposite):
        helper = np.where(np.abs(a[..., :1]) < 0.9, np.array([1.0, 0, 0]), np.array([0, 1.0, 0]))
        perp = unit(cross(a, helper))
        q = np.where(opposite[..., None], np.concatenate((perp, np.zeros_like(d)), axis=-1), q)
    return normalize(q)


def swing_twist(q: F64, axis: F64) -> tuple[F64, F64]:
    """Split ``q`` into ``swing * twist`` where ``twist`` turns about ``axis`` (unit, in q's frame)."""
    axis = np.asarray(axis, dtype=np.float64)
    proj = _sum_last(q[..., :3] * axis, keepdims=True) * axis
    twist = np.concatenate((proj, q[..., 3:4]), axis=-1)
    n = np.sqrt(_sum_last(twist * twist, keepdims=True))
    twist = np.where(n > _EPS, twist / np.maximum(n, _EPS), IDENTITY)
    swing = multiply(q, conjugate(twist))
    return swing, twist


def angle(q: F64) -> F64:
    """Rotation angle in radians, in [0, pi]."""
    w = np.clip(np.abs(q[..., 3]), 0.0, 1.0)
    v = np.sqrt(_sum_last(q[..., :3] ** 2))
    return np.asarray(2.0 * np.arctan2(v, w), dtype=np.float64)


def angle_between(a: F64, b: F64) -> F64:
    d = np.abs(_sum_last(a * b))
    return np.asarray(2.0 * np.arccos(np.clip(d, 0.0, 1.0)), dtype=np.float64)


def power(q: F64, t: F64 | float) -> F64:
    """``q`` raised to ``t``: the same axis, ``t`` times the angle (shortest way round)."""
    q = np.where(q[..., 3:4] < 0, -q, q)
    v = q[..., :3]
    n = np.sqrt(_sum_last(v * v, keepdims=True))
    ht = np.arctan2(n[..., 0], q[..., 3]) * np.asarray(t, dtype=np.float64)
    out = np.empty(q.shape)
    out[..., :3] = v / np.maximum(n, _EPS_A) * np.sin(ht)[..., None]
    out[..., 3] = np.cos(ht)
    return out


def slerp(a: F64, b: F64, t: F64 | float) -> F64:
    """Spherical interpolation from ``a`` to ``b`` by ``t`` (broadcast), shortest way round."""
    t = np.asarray(t, dtype=np.float64)
    d = _sum_last(a * b, keepdims=True)
    b = np.where(d < 0, -b, b)
    d = np.abs(d)
    theta = np.arccos(np.minimum(np.maximum(d, -1.0), 1.0))  # np.clip, without its wrapper
    s = np.sin(theta)
    tt = t[..., None] if t.ndim and t.shape == d.shape[:-1] else t
    small = s < 1e-6
    wa = np.where(small, 1.0 - tt, np.sin((1.0 - tt) * theta) / np.where(small, 1.0, s))
    wb = np.where(small, tt, np.sin(tt * theta) / np.where(small, 1.0, s))
    return normalize(wa * a + wb * b)


def frame_rows(primary: F64, secondary: F64) -> F64:
    """The transpose of :func:`frame`: the basis vectors as rows (..., 3, 3)."""
    e1 = primary / np.maximum(np.sqrt(dot_last(primary * primary, _ONES3)), _EPS_A)
    rest = secondary - dot_last(secondary * e1, _ONES3) * e1
    rows = np.empty((*rest.shape[:-1], 3, 3))
    rows[..., 0, :] = e1
    rows[..., 1, :] = rest
    # e1 x rest has the length of rest (e1 is unit and perpendicular to it), so both rows are made
    # unit in one call: the same numbers as normalising rest first, zero vectors included.
    rows[..., 2, :] = cross(e1, rest)
    tail = rows[..., 1:, :]
    tail /= np.maximum(np.sqrt(dot_last(tail * tail, _ONES3)), _EPS_A)
    return rows


def frame(primary: F64, secondary: F64) -> F64:
    """Orthonormal basis (columns) from a primary axis and a second direction in its plane.

    Column 0 is ``primary``; column 1 is ``secondary`` made perpendicular to it; column 2 their cross.
    """
    return frame_rows(primary, secondary).swapaxes(-1, -2)


def align(rest_primary: F64, rest_secondary: F64, primary: F64, secondary: F64) -> F64:
    """Rotation matrix taking the rest pair of directions onto the observed pair.

    The primary direction is matched exactly; the secondary fixes the turn about it.
    """
    return np.asarray(frame(primary, secondary) @ np.swapaxes(frame(rest_primary, rest_secondary), -1, -2))


def apply(m: F64, v: F64) -> F64:
    """Matrices (..., 3, 3) times vectors (..., 3)."""
    return np.asarray((m @ v[..., None])[..., 0], dtype=np.float64)


def log(q: F64) -> F64:
    """Rotation vectors (axis times angle, radians) of unit quaternions (..., 4), shortest way round."""
    q = np.where(q[..., 3:4] < 0, -q, q)
    v = q[..., :3]
    n = np.sqrt(_sum_last(v * v, keepdims=True))
    ang = 2.0 * np.arctan2(n, q[..., 3:4])
    return np.asarray(np.where(n > 1e-12, v / np.maximum(n, 1e-12) * ang, 2.0 * v), dtype=np.float64)


def exp(r: F64) -> F64:
    """Unit quaternions of rotation vectors (..., 3): the inverse of :func:`log`."""
    a = np.sqrt(_sum_last(r * r, keepdims=True))
    axis = np.where(a > 1e-12, r / np.maximum(a, 1e-12), 0.0)
    return np.concatenate((axis * np.sin(0.5 * a), np.cos(0.5 * a)), axis=-1)

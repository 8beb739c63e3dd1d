"""The temporal filter for bone rotations: a One Euro filter that tracks angular velocity.

A plain One Euro filter is a first-order low-pass: on a limb moving at a steady speed its output
trails the input by its time constant, so a cutoff low enough to take out webcam jitter (three
times less of it) costs 50 to 70 ms of lag, well over one frame. This filter predicts each bone's
rotation from its filtered angular velocity (an alpha-beta tracker on the rotation group, the
critically damped kind: beta = alpha^2 / (2 - alpha)) and corrects the prediction by the measured
error with a One Euro gain, whose cutoff rises with angular speed. A steady motion is then followed
with no lag at all, while noise is still averaged; tests/rigging/test_filter.py measures both.

Rotations stay on the sphere throughout: the error and the velocity are rotation vectors (log map)
and updates are applied with the exponential map, so no step ever crosses to the antipodal
quaternion or leaves unit length.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final, cast

import numpy as np

from rigging.quaternion import F64, multiply

# The Hamilton product a * b as one product with a constant table over the outer product a_i b_j,
# and that outer product as two products with constant tables, (a @ _LEFT) * (b @ _RIGHT): numpy's
# cost on arrays this small is per call, and a product with a table also spends less per number
# than broadcasting over a trailing axis of four (many operators' bones go through here at once).
_BASIS: Final = np.eye(4)
_HAMILTON: Final = np.array([multiply(_BASIS[i], _BASIS[j]) for i in range(4) for j in range(4)])
_LEFT: Final = np.repeat(_BASIS, 4, axis=1)  # _LEFT[i, 4i + j] = 1
_RIGHT: Final = np.tile(_BASIS, (1, 4))  # _RIGHT[j, 4i + j] = 1
_RIGHT_CONJUGATE: Final = _RIGHT * np.array([[-1.0], [-1.0], [-1.0], [1.0]])  # for a * conj(b)
# Sums of squares along the last axis as products too (a reduction over so short an axis is slow).
_SUM3: Final = np.ones((3, 1))
_SUM4: Final = np.ones((4, 1))
_SUM_VECTOR: Final = np.array([[1.0], [1.0], [1.0], [0.0]])  # a quaternion's vector part
_TWO_PI: Final = 2.0 * math.pi
# The floor of the divisions by a length: far below any real one, it only keeps 0 / 0 at 0.
_TINY: Final = 1e-300


@dataclass(frozen=True)
class RotationFilterParams:
    #: Cutoff (Hz) of the correction when the bone is still: lower is smoother. 3.0 with beta
    #: 0.55 keeps the lag on the fastest tenth of a recorded walk's frames within a frame at its
    #: speed and at two and three times it (28.5 ms at the worst joint; 2.8 with beta 0.4 lagged
    #: 42 ms at 3x, 2.0 with 0.5 44 ms at 1x) while still cutting webcam-sized jitter about 3x
    #: (2.95x at 5 mm; docs/accuracy.md, tests/rigging/test_filter.py).
    min_cutoff_hz: float = 3.0
    #: How fast the cutoff rises with angular speed (Hz per rad/s): higher follows quick moves sooner.
    beta: float = 0.55


def _product(a: F64, b: F64, right: F64) -> F64:
    """``a * b`` (``right`` is _RIGHT) or ``a * conj(b)`` (_RIGHT_CONJUGATE) of stacks (..., 4)."""
    return cast(F64, ((a @ _LEFT) * (b @ right)) @ _HAMILTON)


def rotation_filter_step(
    q: F64, prev_q: F64, velocity: F64, dt_s: F64, min_cutoff_hz: F64, beta: F64
) -> tuple[F64, F64]:
    """One step for stacks of rotations (..., n, 4): the filtered rotations and their velocities.

    Broadcasts over leading axes, so one call steps the filters of many operators: ``dt_s``,
    ``min_cutoff_hz`` and ``beta`` broadcast against (..., n, 1), e.g. shaped (B, 1, 1).

    The steps: predict ``exp(velocity dt) * prev_q``, measure the error ``log(q * conj(predicted))``,
    correct by ``exp(alpha error) * predicted`` and normalise, and move the velocity by
    ``alpha^2 / (2 - alpha)`` of the error per second. Written out, the exponentials and the log
    share their lengths and angles instead of recomputing them (numpy's cost here is per call).
    """
    velocity = np.ascontiguousarray(velocity)  # a view of many solvers' state rows is strided
    speed = np.sqrt((velocity * velocity) @ _SUM3)  # (..., n, 1)
    half_dt = 0.5 * dt_s
    half_step = speed * half_dt  # half the predicted turn's angle
    # exp(velocity dt): a bone standing still predicts exactly where it was.
    step = np.concatenate(
        (velocity * (np.sin(half_step) / np.maximum(speed, _TINY)), np.cos(half_step)), axis=-1
    )
    predicted = _product(step, prev_q, _RIGHT)
    error_q = _product(q, predicted, _RIGHT_CONJUGATE)
    # log(error_q), the shortest way round (error_q and -error_q are the same rotation): its axis
    # is the vector part over its length, turned with w's sign; its angle is twice half_error.
    w = error_q[..., 3:4]
    length = np.sqrt((error_q * error_q) @ _SUM_VECTOR)
    half_error = np.arctan2(length, np.abs(w))
    axis_scale = np.where(w < 0.0, -1.0, 1.0) / np.maximum(length, _TINY)
    # The One Euro gain 1 / (1 + tau / dt) with tau = 1 / (2 pi cutoff), as x / (1 + x).
    x = (_TWO_PI * dt_s) * (min_cutoff_hz + beta * speed)
    alpha = x / (x + 1.0)
    # exp(alpha error): the same axis, alpha times the angle.
    turned = alpha * half_error
    correction = error_q * (np.sin(turned) * axis_scale)
    correction[..., 3:4] = np.cos(turned)
    new_q = _product(correction, predicted, _RIGHT)
    # Normalised against rounding drift (a product of unit quaternions is never near zero).
    new_q = new_q / np.sqrt((new_q * new_q) @ _SUM4)
    # velocity + alpha^2 / (2 - alpha) * error / dt, the error being axis * 2 half_error (the 2
    # of the gain taken as half of dt).
    gain = alpha * alpha / ((2.0 - alpha) * half_dt)
    new_velocity = velocity + (gain * (half_error * axis_scale)) * error_q[..., :3]
    return new_q, cast(F64, new_velocity)


class RotationFilter:
    """Filters a stack of unit quaternions (n, 4) given with increasing timestamps (ms)."""

    def __init__(self, params: RotationFilterParams | None = None) -> None:
        self.params = params or RotationFilterParams()
        self._q: F64 | None = None
        self._velocity: F64 | None = None  # rad/s, world-frame rotation vectors (n, 3)
        self._t_ms = 0.0

    def reset(self) -> None:
        self._q = self._velocity = None

    def __call__(self, q: F64, t_ms: float) -> F64:
        if self._q is None or self._velocity is None or q.shape != self._q.shape:
            self._q, self._velocity, self._t_ms = q.copy(), np.zeros((q.shape[0], 3)), t_ms
            return q
        dt = np.array([[max((t_ms - self._t_ms) / 1000.0, 1e-4)]])
        self._t_ms = t_ms
        self._q, self._velocity = rotation_filter_step(
            q,
            self._q,
            self._velocity,
            dt,
            np.array([[self.params.min_cutoff_hz]]),
            np.array([[self.params.beta]]),
        )
        return self._q.copy()

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

import numpy as np

from rigging.quaternion import F64, conjugate, exp, log, multiply, normalize


@dataclass(frozen=True)
class RotationFilterParams:
    #: Cutoff (Hz) of the correction when the bone is still: lower is smoother.
    min_cutoff_hz: float = 2.0
    #: How fast the cutoff rises with angular speed (Hz per rad/s): higher follows quick moves sooner.
    beta: float = 0.5


def rotation_filter_step(
    q: F64, prev_q: F64, velocity: F64, dt_s: F64, min_cutoff_hz: F64, beta: F64
) -> tuple[F64, F64]:
    """One step for stacks of rotations (..., n, 4): the filtered rotations and their velocities.

    Broadcasts over leading axes, so one call steps the filters of many operators: ``dt_s``,
    ``min_cutoff_hz`` and ``beta`` have the leading shape with a trailing axis of 1.
    """
    predicted = multiply(exp(velocity * dt_s[..., None]), prev_q)
    error = log(multiply(q, conjugate(predicted)))
    cutoff = min_cutoff_hz + beta * np.sqrt(np.add.reduce(velocity * velocity, axis=-1))
    tau = 1.0 / (2.0 * math.pi * cutoff)
    alpha = (1.0 / (1.0 + tau / dt_s))[..., None]
    new_q = normalize(multiply(exp(alpha * error), predicted))
    new_velocity = velocity + (alpha * alpha / (2.0 - alpha)) * error / dt_s[..., None]
    return new_q, new_velocity


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
        dt = np.array([max((t_ms - self._t_ms) / 1000.0, 1e-4)])
        self._t_ms = t_ms
        self._q, self._velocity = rotation_filter_step(
            q,
            self._q,
            self._velocity,
            dt,
            np.array([self.params.min_cutoff_hz]),
            np.array([self.params.beta]),
        )
        return self._q.copy()

"""One Euro filter (Casiez, Roussel and Vogel, CHI 2012) driven by frame timestamps.

A first-order low-pass whose cutoff rises with the signal's speed: still values are smoothed hard
(jitter gone), fast ones pass with little lag. Used for the hips' position and the expression
weights; rotations use ``rigging.rotation_filter``, which adds velocity tracking to the same idea.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from rigging.quaternion import F64


@dataclass(frozen=True)
class OneEuroParams:
    min_cutoff_hz: float = 1.0
    beta: float = 0.5
    d_cutoff_hz: float = 1.0


def _alpha(cutoff_hz: F64 | float, dt_s: F64 | float) -> F64:
    tau = 1.0 / (2.0 * math.pi * np.asarray(cutoff_hz, dtype=np.float64))
    return np.asarray(1.0 / (1.0 + tau / dt_s), dtype=np.float64)


def one_euro_step(x: F64, prev_x: F64, prev_dx: F64, dt_s: F64 | float, params: F64) -> tuple[F64, F64]:
    """One filter step: the filtered value and its filtered rate of change.

    Broadcasts over leading axes, so one call steps many filters with their own parameters:
    ``dt_s`` and the columns of ``params`` (``[..., (min_cutoff_hz, beta, d_cutoff_hz)]``) each
    have the leading shape of ``x`` with a trailing axis of 1.
    """
    min_cutoff, beta, d_cutoff = params[..., 0:1], params[..., 1:2], params[..., 2:3]
    dx = (x - prev_x) / dt_s
    new_dx = prev_dx + _alpha(d_cutoff, dt_s) * (dx - prev_dx)
    a = _alpha(min_cutoff + beta * np.abs(new_dx), dt_s)
    return prev_x + a * (x - prev_x), new_dx


def param_vector(params: OneEuroParams) -> F64:
    """The parameters as :func:`one_euro_step` takes them."""
    return np.array([params.min_cutoff_hz, params.beta, params.d_cutoff_hz])


class VectorOneEuro:
    """Filters an array of any fixed shape element by element."""

    def __init__(self, params: OneEuroParams) -> None:
        self.params = params
        self._x: F64 | None = None
        self._dx: F64 | None = None
        self._t_ms: float | None = None

    def reset(self) -> None:
        self._x = self._dx = None
        self._t_ms = None

    def __call__(self, x: F64, t_ms: float) -> F64:
        if self._x is None or self._t_ms is None or self._dx is None or x.shape != self._x.shape:
            self._x, self._dx, self._t_ms = x.copy(), np.zeros_like(x), t_ms
            return x
        dt = max((t_ms - self._t_ms) / 1000.0, 1e-4)
        self._x, self._dx = one_euro_step(x, self._x, self._dx, dt, param_vector(self.params))
        self._t_ms = t_ms
        return self._x.copy()

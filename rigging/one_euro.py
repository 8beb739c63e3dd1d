"""One Euro filter (Casiez, Roussel and Vogel, CHI 2012) driven by frame timestamps.

A first-order low-pass whose cutoff rises with the signal's speed: still values are smoothed hard
(jitter gone), fast ones pass with little lag. Used for the hips' position and the expression
weights; rotations use ``rigging.rotation_filter``, which adds velocity tracking to the same idea.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np

from rigging.quaternion import F64

_TWO_PI: Final = 2.0 * math.pi


@dataclass(frozen=True)
class OneEuroParams:
    min_cutoff_hz: float = 1.0
    beta: float = 0.5
    d_cutoff_hz: float = 1.0


def _alpha(cutoff_hz: F64, two_pi_dt: F64 | float) -> F64:
    # The smoothing factor 1 / (1 + tau / dt), tau = 1 / (2 pi cutoff), as x / (1 + x).
    x = two_pi_dt * cutoff_hz
    return x / (x + 1.0)


def one_euro_step(
    x: F64, prev_x: F64, prev_dx: F64, dt_s: F64 | float, min_cutoff_hz: F64, beta: F64, d_cutoff_hz: F64
) -> tuple[F64, F64]:
    """One filter step: the filtered value and its filtered rate of change.

    Broadcasts, so one call steps many filters with their own parameters: ``dt_s`` and the
    parameters each broadcast against ``x`` (e.g. ``dt_s`` (B, 1) and a parameter per column).
    """
    change = x - prev_x
    two_pi_dt = _TWO_PI * dt_s
    new_dx = prev_dx + _alpha(d_cutoff_hz, two_pi_dt) * (change / dt_s - prev_dx)
    a = _alpha(min_cutoff_hz + beta * np.abs(new_dx), two_pi_dt)
    return prev_x + a * change, new_dx


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
        p = self.params
        self._x, self._dx = one_euro_step(
            x, self._x, self._dx, dt, np.array(p.min_cutoff_hz), np.array(p.beta), np.array(p.d_cutoff_hz)
        )
        self._t_ms = t_ms
        return self._x.copy()

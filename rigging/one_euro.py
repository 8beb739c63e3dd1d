"""One Euro filters (Casiez, Roussel and Vogel, CHI 2012) driven by frame timestamps.

A first-order low-pass whose cutoff rises with the signal's speed: still poses are smoothed hard
(jitter gone), fast moves pass with little lag. The quaternion version measures speed as angular
speed and blends on the sphere (normalized lerp after sign alignment, which for the small steps
between two frames equals slerp to well under a hundredth of a degree), so it never flips through
the antipodal quaternion.
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


def _alpha(cutoff_hz: F64 | float, dt_s: float) -> F64:
    tau = 1.0 / (2.0 * math.pi * np.asarray(cutoff_hz, dtype=np.float64))
    return np.asarray(1.0 / (1.0 + tau / dt_s), dtype=np.float64)


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
        dx = (x - self._x) / dt
        a_d = _alpha(self.params.d_cutoff_hz, dt)
        self._dx = self._dx + a_d * (dx - self._dx)
        cutoff = self.params.min_cutoff_hz + self.params.beta * np.abs(self._dx)
        a = _alpha(cutoff, dt)
        self._x = self._x + a * (x - self._x)
        self._t_ms = t_ms
        return self._x.copy()


class QuaternionOneEuro:
    """Filters a stack of unit quaternions (n, 4), each with its own adaptive cutoff."""

    def __init__(self, params: OneEuroParams) -> None:
        self.params = params
        self._q: F64 | None = None
        self._speed: F64 | None = None
        self._t_ms: float | None = None

    def reset(self) -> None:
        self._q = self._speed = None
        self._t_ms = None

    def __call__(self, q: F64, t_ms: float) -> F64:
        if self._q is None or self._speed is None or self._t_ms is None or q.shape != self._q.shape:
            self._q, self._speed, self._t_ms = q.copy(), np.zeros(q.shape[0]), t_ms
            return q
        dt = max((t_ms - self._t_ms) / 1000.0, 1e-4)
        dot = np.sum(self._q * q, axis=1, keepdims=True)
        q = np.where(dot < 0, -q, q)  # the same rotation, on the previous value's hemisphere
        step = 2.0 * np.arccos(np.clip(np.abs(dot[:, 0]), 0.0, 1.0))  # radians since the last output
        a_d = _alpha(self.params.d_cutoff_hz, dt)
        self._speed = self._speed + a_d * (step / dt - self._speed)
        a = _alpha(self.params.min_cutoff_hz + self.params.beta * self._speed, dt)[:, None]
        blended = self._q + a * (q - self._q)
        self._q = blended / np.linalg.norm(blended, axis=1, keepdims=True)
        self._t_ms = t_ms
        return self._q.copy()

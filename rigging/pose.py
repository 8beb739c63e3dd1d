"""The solver's output: one pose of a VRM 1.0 humanoid.

JSON form (a public contract)::

    {"t_ms": float,
     "hips_position": [x, y, z],
     "bones": {VRM 1.0 humanoid bone name: [x, y, z, w]},
     "expressions": {VRM 1.0 expression name: weight in [0, 1]}}

Rotations are normalized local rotations as three-vrm's normalized bones use them: identity is the
T-pose rest, the avatar faces +Z, +Y is up, +X is the avatar's own left, each rotation relative to
the parent bone. A bone left out is at rest. ``hips_position`` is the displacement of the hips from
their rest position, in metres, in the same frame (standing still at the calibrated spot is 0).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from rigging.skeleton import BONE_INDEX, EXPRESSION_INDEX


class PoseError(ValueError):
    """A pose document that does not follow the contract."""


@dataclass
class AvatarPose:
    t_ms: float
    hips_position: NDArray[np.float64] = field(default_factory=lambda: np.zeros(3))
    bones: dict[str, NDArray[np.float64]] = field(default_factory=dict)
    expressions: dict[str, float] = field(default_factory=dict)
    # The (n, 4) array the solver made ``bones``' values as rows of, and those rows in order. Not
    # part of the pose: neither compared, shown nor copied by dataclasses.replace; see bone_rows.
    _rows: tuple[NDArray[np.float64], list[NDArray[np.float64]]] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    @classmethod
    def _of_rows(
        cls,
        t_ms: float,
        hips_position: NDArray[np.float64],
        names: list[str],
        array: NDArray[np.float64],
        rows: list[NDArray[np.float64]],
        expressions: dict[str, float],
    ) -> AvatarPose:
        """A pose whose bones ``names`` are ``rows``, the rows of ``array`` (n, 4), in order."""
        pose = cls(t_ms, hips_position, dict(zip(names, rows, strict=True)), expressions)
        pose._rows = (array, rows)
        return pose

    def bone_rows(self) -> NDArray[np.float64] | None:
        """``bones``' values as one (n, 4) array in the dict's order, when there is one ready.

        There is for a pose the solver made, as long as ``bones`` still holds exactly the rows it
        was made of, in their order (rows changed in place are still those rows); None otherwise.
        An identity test of the values: far cheaper than stacking them again (numpy's cost on
        arrays this small is per array).
        """
        if self._rows is None:
            return None
        array, rows = self._rows
        values = list(self.bones.values())
        if len(values) != len(rows):
            return None
        # A list comparison takes identical items as equal without comparing them, all in C (a
        # third of the time of testing each for identity). An item replaced by anything else
        # numpy compares with a row element by element (an array, a list, a number) gives four
        # results, whose truth numpy refuses with a ValueError: that is a change too.
        try:
            return array if values == rows else None
        except ValueError:
            return None

    def to_json(self, digits: int = 6) -> dict[str, Any]:
        return {
            "t_ms": self.t_ms,
            "hips_position": [round(float(v), digits) for v in self.hips_position],
            "bones": {name: [round(float(v), digits) for v in q] for name, q in self.bones.items()},
            "expressions": {name: round(float(w), 4) for name, w in self.expressions.items()},
        }

    @classmethod
    def from_json(cls, obj: Any) -> AvatarPose:
        if not isinstance(obj, dict):
            raise PoseError("a pose must be a JSON object")
        try:
            t_ms = float(obj["t_ms"])
            hips = np.array(obj.get("hips_position", [0.0, 0.0, 0.0]), dtype=np.float64)
            bones_in = obj.get("bones", {})
            expressions_in = obj.get("expressions", {})
        except (KeyError, TypeError, ValueError) as exc:
            raise PoseError(f"malformed pose: {exc}") from None
        if hips.shape != (3,) or not np.all(np.isfinite(hips)) or not math.isfinite(t_ms):
            raise PoseError("hips_position must be three finite numbers and t_ms finite")
        bones: dict[str, NDArray[np.float64]] = {}
        for name, q in bones_in.items():
            if name not in BONE_INDEX:
                raise PoseError(f"bones.{name}: not a VRM 1.0 humanoid bone")
            arr = np.array(q, dtype=np.float64)
            norm = float(np.linalg.norm(arr)) if arr.shape == (4,) else 0.0
            if not math.isfinite(norm) or norm < 1e-6:
                raise PoseError(f"bones.{name}: expected a non-zero quaternion [x, y, z, w]")
            bones[name] = arr / norm
        expressions: dict[str, float] = {}
        for name, w in expressions_in.items():
            if name not in EXPRESSION_INDEX:
                raise PoseError(f"expressions.{name}: not a VRM 1.0 preset expression")
            expressions[name] = min(1.0, max(0.0, float(w)))
        return cls(t_ms=t_ms, hips_position=hips, bones=bones, expressions=expressions)

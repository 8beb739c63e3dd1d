"""The solver's options: what an operator's setup asks of the retargeting (``rigging.solver``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from rigging.one_euro import OneEuroParams
from rigging.rotation_filter import RotationFilterParams


@dataclass(frozen=True)
class SolverOptions:
    #: Apply the One Euro filter. Turn it off when the landmarks were already smoothed upstream.
    filter: bool = True
    #: Landmarks less visible than this count as not seen.
    min_visibility: float = 0.5
    #: How long an unseen limb takes to reach rest, and a returning one to reach its pose.
    ease_ms: float = 300.0
    rotation_filter: RotationFilterParams = field(default_factory=RotationFilterParams)
    position_filter: OneEuroParams = field(default_factory=lambda: OneEuroParams(1.5, 2.0, 1.0))
    expression_filter: OneEuroParams = field(default_factory=lambda: OneEuroParams(3.0, 5.0, 1.0))
    #: Horizontal field of view assumed for the camera when turning image motion into metres.
    camera_fov_deg: float = 60.0

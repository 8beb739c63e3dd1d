"""A solver's memory and settings as two flat vectors, so a batch gathers them in one call each.

:func:`rigging.solver.solve_batch` stacks the vectors of every solver in a batch into (B, n)
matrices, reads and writes named column ranges of them, and hands each solver its row back. The
layouts below name those ranges; :func:`view` gives a range shaped as its field.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np

from rigging.calibration import Calibration
from rigging.hips import focal_length
from rigging.presence import GROUP_NAMES, GROUPED_BONES, REST_LOCALS, SETTLE
from rigging.quaternion import F64, to_matrix
from rigging.skeleton import EXPRESSIONS
from rigging.solver_options import SolverOptions

N_GROUPS: Final = len(GROUP_NAMES)
N_GROUPED: Final = len(GROUPED_BONES)
N_EXPRESSIONS: Final = len(EXPRESSIONS) - 1  # all but "neutral"
#: The values one One Euro step filters: the hips' position (3), then the expressions.
N_EURO: Final = 3 + N_EXPRESSIONS


@dataclass(frozen=True)
class Field:
    start: int
    stop: int
    shape: tuple[int, ...]
    # Made once rather than on every view: the columns, and the shape of a stack of the field
    # (None when the columns are that already).
    columns: slice
    stacked: tuple[int, ...] | None


def _layout(fields: dict[str, tuple[int, ...]]) -> tuple[dict[str, Field], int]:
    out: dict[str, Field] = {}
    offset = 0
    for name, shape in fields.items():
        stop = offset + math.prod(shape)
        out[name] = Field(offset, stop, shape, slice(offset, stop), None if len(shape) == 1 else (-1, *shape))
        offset = stop
    return out, offset


def layouts(n_driven: int) -> tuple[dict[str, Field], int, dict[str, Field], int]:
    """State and settings layouts for a solver driving ``n_driven`` bones."""
    state, state_size = _layout(
        {
            "last_t": (1,),  # the previous frame's timestamp
            "has_last": (1,),  # 1 once a frame was solved since the last reset
            "seen": (N_GROUPS,),  # presence: the groups seen in the previous frame (0 or 1)
            "since": (N_GROUPS,),  # presence: when each group was last toggled (ms)
            "start": (N_GROUPED, 4),  # presence: where each bone's transition started
            "shown": (N_GROUPED, 4),  # presence: what each bone showed last
            "rot_q": (n_driven, 4),  # rotation filter: the filtered rotations
            "rot_velocity": (n_driven, 3),  # rotation filter: their angular velocities (rad/s)
            "euro_x": (N_EURO,),  # hips and expression filters: values and rates
            "euro_dx": (N_EURO,),
            "hips_ref": (3,),  # the hips' rest spot in the image
            "has_ref": (1,),
        }
    )
    settings, settings_size = _layout(
        {
            "camera_t": (3, 3),  # camera correction, transposed (it multiplies row vectors)
            "camera": (3, 3),
            "head": (4,),  # calibrated head turn, removed from the tracked one
            "min_visibility": (1,),
            "ease_ms": (1,),
            # The longest a group's transition takes (its hold and its ease), or -inf for none:
            # every group has arrived when no group was toggled less than this ago.
            "settle_ms": (1,),
            "filter": (1,),  # 1: filter on
            # Rotation filter: min cutoff (Hz), beta; shaped to broadcast against (bones, 1).
            "rot_min_cutoff": (1, 1),
            "rot_beta": (1, 1),
            # One Euro, a column for each value it filters (the hips', then the expressions'):
            # min cutoff (Hz), beta, derivative cutoff (Hz).
            "euro_min_cutoff": (N_EURO,),
            "euro_beta": (N_EURO,),
            "euro_d_cutoff": (N_EURO,),
            "focal": (1,),  # camera focal length in image widths
        }
    )
    return state, state_size, settings, settings_size


def view(matrix: F64, field: Field) -> F64:
    """Columns of a stacked (B, n) matrix shaped (B, *field.shape); a view, so it can be written."""
    columns = matrix[:, field.columns]
    return columns if field.stacked is None else columns.reshape(field.stacked)


def fields(matrix: F64, layout: dict[str, Field]) -> dict[str, F64]:
    """Every field of ``layout`` as :func:`view` gives it, in one pass (the solver reads them all)."""
    out = {}
    for name, field in layout.items():
        columns = matrix[:, field.columns]
        out[name] = columns if field.stacked is None else columns.reshape(field.stacked)
    return out


def pack(layout: dict[str, Field], fields: dict[str, F64]) -> F64:
    """A (B, n) matrix of every field of ``layout``, each (B, *shape), in one concatenation."""
    n = len(next(iter(fields.values())))
    # Only the fields of more than one axis need a reshape (each call counts on arrays this small).
    return np.concatenate(
        [a if a.ndim == 2 else a.reshape(n, -1) for a in map(fields.__getitem__, layout)], axis=1
    )


def initial_state(layout: dict[str, Field], size: int, calibration: Calibration) -> F64:
    """The memory of a solver that has seen nothing since its calibration."""
    state = np.zeros(size)
    flat = state[None]
    view(flat, layout["since"])[:] = -np.inf
    view(flat, layout["start"])[:] = REST_LOCALS[GROUPED_BONES]
    view(flat, layout["shown"])[:] = REST_LOCALS[GROUPED_BONES]
    view(flat, layout["rot_q"])[..., 3] = 1.0
    if calibration.hips is not None:
        view(flat, layout["hips_ref"])[:] = calibration.hips
        view(flat, layout["has_ref"])[:] = 1.0
    return state


def settings_vector(
    layout: dict[str, Field], size: int, settings: SolverOptions, calibration: Calibration
) -> F64:
    """The settings of a solver with these options and this calibration."""
    out = np.zeros(size)
    flat = out[None]
    camera = to_matrix(calibration.camera)
    view(flat, layout["camera"])[:] = camera
    # A correction within rounding of none leaves the points exactly as they are.
    view(flat, layout["camera_t"])[:] = np.eye(3) if np.allclose(camera, np.eye(3)) else camera.T
    view(flat, layout["head"])[:] = calibration.head
    view(flat, layout["min_visibility"])[:] = settings.min_visibility
    view(flat, layout["ease_ms"])[:] = settings.ease_ms
    view(flat, layout["settle_ms"])[:] = (
        SETTLE * max(settings.ease_ms, 1e-12) if settings.ease_ms > 0 else -math.inf
    )
    view(flat, layout["filter"])[:] = 1.0 if settings.filter else 0.0
    view(flat, layout["rot_min_cutoff"])[:] = settings.rotation_filter.min_cutoff_hz
    view(flat, layout["rot_beta"])[:] = settings.rotation_filter.beta
    # The One Euro parameters of each filtered column: the hips' three, then the expressions'.
    position, expression = settings.position_filter, settings.expression_filter
    for name, of_hips, of_expressions in (
        ("euro_min_cutoff", position.min_cutoff_hz, expression.min_cutoff_hz),
        ("euro_beta", position.beta, expression.beta),
        ("euro_d_cutoff", position.d_cutoff_hz, expression.d_cutoff_hz),
    ):
        view(flat, layout[name])[:] = [of_hips] * 3 + [of_expressions] * N_EXPRESSIONS
    view(flat, layout["focal"])[:] = focal_length(settings.camera_fov_deg)
    return out

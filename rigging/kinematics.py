"""Forward kinematics of a pose on the canonical rest skeleton: where each joint ends up."""

from __future__ import annotations

import numpy as np

from rigging.pose import AvatarPose
from rigging.quaternion import F64, IDENTITY, multiply, to_matrix
from rigging.skeleton import BONES, PARENT, REST


def forward(
    locals_: dict[str, F64], hips_position: F64 | None = None
) -> tuple[dict[str, F64], dict[str, F64], dict[str, F64]]:
    """World quaternions, joint positions and leaf tips of local rotations on :data:`REST`.

    Bones left out are at rest (identity); ``hips_position`` displaces the hips from their rest spot.
    """
    world: dict[str, F64] = {}
    pos: dict[str, F64] = {}
    for bone in BONES:
        parent = PARENT[bone]
        q = locals_.get(bone, IDENTITY)
        if parent is None:
            world[bone] = q
            pos[bone] = REST.offsets[bone] + (0.0 if hips_position is None else hips_position)
        else:
            world[bone] = multiply(world[parent], q)
            pos[bone] = pos[parent] + to_matrix(world[parent]) @ REST.offsets[bone]
    tips = {b: pos[b] + to_matrix(world[b]) @ REST.tips[b] for b in REST.tips}
    return world, pos, tips


def pose_joints(pose: AvatarPose) -> dict[str, F64]:
    """Joint positions of an :class:`AvatarPose`, leaf tips included as ``<bone>Tip``."""
    _, pos, tips = forward(pose.bones, np.asarray(pose.hips_position))
    return pos | {f"{b}Tip": p for b, p in tips.items()}

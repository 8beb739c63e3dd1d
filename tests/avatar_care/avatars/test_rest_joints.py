"""Rest joint positions read from a model's node tree (the Mixamo rigs in ../shared/avatars)."""

import numpy as np

from avatar_care.avatars.glb import read_glb
from avatar_care.avatars.rest_joints import rest_joints
from rigging.skeleton import FINGER_BONES
from tests.shared_data import shared


def test_a_mixamo_rig_stands_in_the_avatar_frame_with_mirrored_sides() -> None:
    joints = rest_joints(read_glb(shared("avatars/Asian_F_1_Casual.glb").read_bytes()).gltf)
    # The hips' node scales its children by 0.01 (centimetres): composed, the figure is in metres.
    assert 0.85 < joints["hips"][1] < 1.05 and joints["head"][1] > 1.4 and joints["leftToes"][1] < 0.1
    assert joints["leftHand"][0] > 0.5 and joints["rightHand"][0] < -0.5  # its left at +X
    for bone in ("Hand", "UpperLeg", "Foot", *(b[4:] for b in FINGER_BONES["left"])):
        left, right = joints[f"left{bone}"], joints[f"right{bone}"]
        assert np.allclose(left * [-1, 1, 1], right, atol=2e-3), bone
    # Each distal finger bone's end is its child's joint (Mixamo's "...4" bones), beyond it.
    for bone in FINGER_BONES["left"]:
        if bone.endswith("Distal"):
            assert np.linalg.norm(joints[f"{bone}Tip"] - joints[bone]) > 0.01

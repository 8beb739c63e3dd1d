"""Each shipped avatar loads in Chromium with three-vrm, has its bones and expressions, and moves."""

import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import Browser, Page

from rigging.quaternion import from_axis_angle
from tests.avatar_care.avatars.vrm0 import make_vrm0
from tests.shared_data import shared

SHIPPED = ("Asian_F_1_Casual", "Black_F_1_Casual")
FINGER_BONES = [
    f"{s}{f}{j}"
    for s in ("left", "right")
    for f in ("Index", "Middle", "Ring", "Little")
    for j in ("Proximal", "Intermediate", "Distal")
] + [f"{s}Thumb{j}" for s in ("left", "right") for j in ("Metacarpal", "Proximal", "Distal")]
EXPRESSIONS = [
    "aa",
    "ih",
    "ou",
    "ee",
    "oh",
    "blink",
    "blinkLeft",
    "blinkRight",
    "happy",
    "angry",
    "sad",
    "relaxed",
    "surprised",
]


def q(axis: tuple[float, float, float], degrees: float) -> list[float]:
    return [float(v) for v in from_axis_angle(np.array(axis), math.radians(degrees))]


def open_avatar(browser: Browser, server: str, path: str) -> Page:
    page = browser.new_page(viewport={"width": 480, "height": 360})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{server}/app/dev/avatar_preview.html?avatar={path}")
    page.wait_for_function(
        "window.avatarCare && (window.avatarCare.ready || window.avatarCare.error)", timeout=60000
    )
    state = page.evaluate("({ready: window.avatarCare.ready, error: window.avatarCare.error})")
    assert state["ready"], f"{state['error']} {errors}"
    return page


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_avatar_loads_with_its_bones_and_expressions(
    browser: Browser, server: str, artifacts: Path, name: str
) -> None:
    page = open_avatar(browser, server, f"/assets/avatars/{name}.vrm")
    assert page.evaluate("window.avatarCare.kind") == "vrm1"
    bones = set(page.evaluate("window.avatarCare.bones"))
    assert {"hips", "spine", "chest", "upperChest", "neck", "head", "leftEye", "rightEye"} <= bones
    assert set(FINGER_BONES) <= bones
    assert set(EXPRESSIONS) <= set(page.evaluate("window.avatarCare.expressions"))
    relaxed = {
        "leftUpperArm": q((0, 0, 1), -72),
        "rightUpperArm": q((0, 0, 1), 72),
        "leftLowerArm": q((0, -1, 0), 15),
        "rightLowerArm": q((0, 1, 0), 15),
    }
    page.evaluate(
        "pose => window.avatarCare.applyPose(pose)", {"bones": relaxed, "expressions": {"happy": 0.6}}
    )
    page.wait_for_timeout(300)
    page.screenshot(path=str(artifacts / f"avatar-{name}.png"))
    page.close()


@pytest.mark.parametrize("name", SHIPPED)
def test_fingers_move_when_a_hand_pose_is_applied(browser: Browser, server: str, name: str) -> None:
    page = open_avatar(browser, server, f"/assets/avatars/{name}.vrm")
    tip_before = page.evaluate("window.avatarCare.boneWorldPosition('leftIndexDistal')")
    curl = {
        f"left{f}{j}": q((0, 0, -1), 60)
        for f in ("Index", "Middle", "Ring", "Little")
        for j in ("Proximal", "Intermediate", "Distal")
    }
    page.evaluate("pose => window.avatarCare.applyPose(pose)", {"bones": curl, "expressions": {}})
    tip_after = page.evaluate("window.avatarCare.boneWorldPosition('leftIndexDistal')")
    moved = math.dist(tip_before, tip_after)
    assert moved > 0.03  # a fist brings the fingertip bone several centimetres in
    assert tip_after[1] < tip_before[1]  # toward the palm: down, for a hand held palm-down
    page.close()


def test_the_same_pose_raises_the_same_arm_on_vrm1_vrm0_and_plain_glb(
    browser: Browser, server: str, data_dir: Path
) -> None:
    """A plain GLB humanoid (bones found by name) and the VRM take the same rotations the same way."""
    (data_dir / "avatars").mkdir(exist_ok=True)
    shutil.copy(shared("avatars/Asian_F_1_Casual.glb"), data_dir / "avatars" / "plain.glb")
    (data_dir / "avatars" / "legacy.vrm").write_bytes(
        make_vrm0(shared("avatars/Asian_F_1_Casual.glb").read_bytes())
    )
    raise_right = {"bones": {"rightUpperArm": q((0, 0, 1), -80)}, "expressions": {}}
    heights = {}
    sides = {}
    for kind, path in (
        ("vrm1", "/assets/avatars/Asian_F_1_Casual.vrm"),
        ("vrm0", "/media/avatars/legacy.vrm"),
        ("glb", "/media/avatars/plain.glb"),
    ):
        page = open_avatar(browser, server, path)
        assert page.evaluate("window.avatarCare.kind") == kind
        shoulder = page.evaluate("window.avatarCare.boneWorldPosition('rightUpperArm')")
        page.evaluate("pose => window.avatarCare.applyPose(pose)", raise_right)
        hand = page.evaluate("window.avatarCare.boneWorldPosition('rightHand')")
        heights[kind] = hand[1] - shoulder[1]
        sides[kind] = hand[0]
        page.close()
    # the right hand is raised on every kind, and is on the avatar's right (-X, the avatar faces +Z)
    assert heights["vrm1"] > 0.4 and heights["vrm0"] > 0.4 and heights["glb"] > 0.35, heights
    assert all(x < -0.1 for x in sides.values()), sides

"""Signing at a webcam, through MediaPipe and the solver: the avatar's hands and face follow.

Every clip in ``../shared/media/asl/`` is captured here (real MediaPipe, VIDEO mode, as server
capture runs it) and solved as the live room solves a prefiltered capture. Fingers: each finger
segment of the avatar (forward kinematics) against the same segment of the tracked hand
(``rigging.hand_fidelity``), median at most 5 degrees and p90 at most 20 over the tracked hands,
leaving out only hands for which one of the solver's causes is named (arm out of view or easing
in, a joint held at its limit): those are counted, and must stay a minority. Face: the
non-manual signals the clips hold (raised and furrowed brows, pursed lips, a smile, the mouth
opening) reach the avatar's expressions.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

from rigging.frame import TrackingFrame
from rigging.hand_fidelity import CAUSES, SOLVER_CAUSES, HandFidelity, figures
from rigging.pose import AvatarPose
from rigging.solver import Retargeter, SolverOptions
from tests.avatar_care.capture.conftest import capture_clip
from tests.shared_data import SHARED

pytestmark = pytest.mark.video

CLIPS = sorted(p.stem for p in (SHARED / "media" / "asl").glob("*.mkv"))
LIVE = SolverOptions(filter=False)  # MediaPipe's VIDEO mode has smoothed already


@functools.cache
def solved(name: str) -> tuple[list[TrackingFrame], list[AvatarPose]]:
    """A clip's tracking frames and the solver's poses (captured once per test session)."""
    frames, _ = capture_clip(name)
    solver = Retargeter(LIVE)
    return frames, [solver.solve(f) for f in frames]


def test_the_clips_are_there() -> None:
    assert len(CLIPS) >= 14


@pytest.mark.parametrize("clip", CLIPS)
def test_fingers_follow_the_tracked_hand(clip: str) -> None:
    frames, poses = solved(clip)
    fidelity = HandFidelity(LIVE.ease_ms, LIVE.min_visibility)
    samples = [s for frame, pose in zip(frames, poses, strict=True) for s in fidelity.step(frame, pose)]
    f = figures(samples)
    print(
        f"{clip}: {f.hands} hands, all {f.median:.1f}/{f.p90:.1f}, clean {f.clean_median:.1f}/"
        f"{f.clean_p90:.1f} over {f.clean_hands}; hand p90 {f.hand_p90:.1f}, palm median {f.palm_median:.1f}; "
        + ", ".join(f"{c}: {f.causes[c]}" for c in CAUSES)
    )
    assert f.hands >= 20
    assert f.clean_hands >= 0.5 * f.hands  # the named causes explain a minority, not the clip
    assert f.clean_median <= 5.0
    assert f.clean_p90 <= 20.0
    assert f.clean_hand_p90 <= 20.0  # the hand itself points where the tracked one does
    # Any excess over all hands lies in hands a cause of the solver's was named for.
    if f.median > 5.0 or f.p90 > 20.0:
        assert sum(f.causes[c] for c in SOLVER_CAUSES) > 0
    # The handshape: the avatar bends its fingers as much as the tracked hand does.
    for joint, (avatar, tracked) in f.bends.items():
        assert abs(avatar - tracked) <= 5.0, joint


# (clip, blendshapes averaged into the signal, the expression that must follow it)
SIGNALS = [
    ("learn", ("browOuterUpLeft", "browOuterUpRight"), "surprised"),  # brows raised
    ("want", ("browDownLeft", "browDownRight"), "angry"),  # brows furrowed
    ("want", ("mouthPucker",), "ou"),  # lips pursed
    ("eat", ("mouthSmileLeft", "mouthSmileRight"), "happy"),
    ("eat", ("jawOpen",), "aa"),  # the mouth opening
]


@pytest.mark.parametrize(("clip", "blendshapes", "expression"), SIGNALS)
def test_the_face_reaches_the_avatar(clip: str, blendshapes: tuple[str, ...], expression: str) -> None:
    frames, poses = solved(clip)
    faced = [(f, p) for f, p in zip(frames, poses, strict=True) if f.face_blendshapes]
    assert len(faced) >= 0.8 * len(frames)
    signal = np.array([np.mean([f.face_blendshapes[b] for b in blendshapes]) for f, _ in faced])  # type: ignore[index]
    shown = np.array([p.expressions.get(expression, 0.0) for _, p in faced])
    peak = int(np.argmax(signal))
    print(f"{clip} {'+'.join(blendshapes)} peak {signal[peak]:.2f} -> {expression} {shown[peak]:.2f}")
    assert signal[peak] >= 0.15  # the clip does show it
    assert np.ptp(shown) > 0.1  # and the avatar's face moves with it ...
    assert np.corrcoef(signal, shown)[0, 1] >= 0.8  # ... in step, frame by frame
    assert shown[peak] >= 0.5 * signal[peak]
    quiet = signal < 0.2 * signal[peak]
    if np.count_nonzero(quiet):
        assert shown[quiet].max() <= 0.6 * shown[peak]  # and rests when the face does

"""MediaPipe's holistic landmarker, turned into the rigging core's tracking frames.

The landmarker runs at one fixed size: every input frame is letterboxed into ``size`` x ``size``
pixels, so a camera that changes resolution mid-call changes nothing here (IMAGE mode crashes in
mediapipe 1.2 when the size changes). VIDEO mode, the default, tracks from frame to frame and
smooths the landmarks itself; ``prefiltered`` says so, and the solver's own temporal filter is then
left off so that motion is filtered once (docs/capture.md has the measurements).
Image coordinates in ``pose_image`` are mapped back to the original frame (0..1 of its width and
height). The model bundle is loaded from the shipped ``assets/models`` (a checkout's or the installed
package's), never from the network.

Handedness: the holistic task reports ``left_hand_*`` as the person's own left hand in an
unmirrored image (its wrist sits on pose landmark 15), which is exactly the contract's meaning,
so the hands pass through as they are; tests/avatar_care/capture checks it on real video. (The
standalone hand landmarker's "Left" label, by contrast, assumes a mirrored selfie image.)
"""

from __future__ import annotations

import logging
from pathlib import Path
from types import TracebackType
from typing import Any, Final

import cv2
import numpy as np
from numpy.typing import NDArray

from avatar_care.core.paths import default_assets_dir
from rigging.frame import TrackingFrame

logger = logging.getLogger(__name__)

MODEL: Final = default_assets_dir() / "models" / "holistic_landmarker.task"


def _landmarks(items: Any, with_visibility: bool) -> NDArray[np.float64] | None:
    if not items:
        return None
    rows = []
    for lm in items:
        row = [lm.x, lm.y, lm.z]
        if with_visibility:
            # Visibility says whether a point is in view and unoccluded; presence whether it is in
            # the frame at all. A point counts as seen only when both say so.
            vis = 1.0 if lm.visibility is None else lm.visibility
            pres = 1.0 if lm.presence is None else lm.presence
            row.append(min(vis, pres))
        rows.append(row)
    return np.array(rows, dtype=np.float64)


class HolisticCapture:
    """One operator's landmarker. Not thread-safe: one thread calls :meth:`process` at a time."""

    def __init__(
        self, size: int = 512, model: Path = MODEL, blendshapes: bool = True, video_mode: bool = True
    ) -> None:
        from mediapipe.tasks.python import BaseOptions, vision

        if not model.is_file():
            raise FileNotFoundError(f"holistic model not found at {model} (assets/models)")
        self.size = size
        self.video_mode = video_mode
        #: Whether MediaPipe has smoothed the landmarks already (it does in VIDEO mode).
        self.prefiltered = video_mode
        options = vision.HolisticLandmarkerOptions(
            base_options=BaseOptions(model_asset_buffer=model.read_bytes()),
            running_mode=vision.RunningMode.VIDEO if video_mode else vision.RunningMode.IMAGE,
            output_face_blendshapes=blendshapes,
        )
        self._landmarker = vision.HolisticLandmarker.create_from_options(options)
        self._last_ts = -1
        #: The landmarker's raw result for the last frame, for drawing and diagnostics.
        self.last_result: Any = None

    def __enter__(self) -> HolisticCapture:
        return self

    def __exit__(
        self, *exc: tuple[type[BaseException] | None, BaseException | None, TracebackType | None]
    ) -> None:
        self.close()

    def close(self) -> None:
        # Closed explicitly: left to the destructor at interpreter exit, mediapipe prints a traceback.
        if self._landmarker is not None:
            self._landmarker.close()
            self._landmarker = None

    def _letterbox(self, rgb: NDArray[np.uint8]) -> tuple[NDArray[np.uint8], float, float, float]:
        h, w = rgb.shape[:2]
        scale = self.size / max(h, w)
        nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
        canvas = np.zeros((self.size, self.size, 3), dtype=np.uint8)
        top, left = (self.size - nh) // 2, (self.size - nw) // 2
        canvas[top : top + nh, left : left + nw] = cv2.resize(rgb, (nw, nh), interpolation=cv2.INTER_AREA)
        return canvas, scale, float(left), float(top)

    def process_i420(self, i420: NDArray[np.uint8], t_ms: float) -> TrackingFrame:
        """Landmarks of one planar I420 frame (height * 3 / 2, width), as a video decoder gives it."""
        if i420.ndim != 2 or i420.dtype != np.uint8 or i420.shape[0] % 3:
            raise ValueError(f"expected an I420 uint8 image (H * 3 / 2, W), got {i420.dtype} {i420.shape}")
        rgb = cv2.cvtColor(i420, cv2.COLOR_YUV2RGB_I420)
        return self.process(np.asarray(rgb, dtype=np.uint8), t_ms)

    def process(self, rgb: NDArray[np.uint8], t_ms: float) -> TrackingFrame:
        """Landmarks of one RGB frame (H, W, 3) captured at ``t_ms``."""
        import mediapipe as mp

        if self._landmarker is None:
            raise RuntimeError("this capture is closed")
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ValueError(f"expected an RGB uint8 image (H, W, 3), got {rgb.dtype} {rgb.shape}")
        h, w = rgb.shape[:2]
        canvas, scale, left, top = self._letterbox(rgb)
        # VIDEO mode wants strictly increasing integer milliseconds.
        ts = max(int(t_ms), self._last_ts + 1)
        self._last_ts = ts
        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=canvas)
        if self.video_mode:
            result = self._landmarker.detect_for_video(image, ts)
        else:
            result = self._landmarker.detect(image)
        self.last_result = result

        pose_image = _landmarks(result.pose_landmarks, True)
        if pose_image is not None:
            # back from the square canvas to the original frame's 0..1 coordinates
            pose_image[:, 0] = (pose_image[:, 0] * self.size - left) / (scale * w)
            pose_image[:, 1] = (pose_image[:, 1] * self.size - top) / (scale * h)
        pose_world = _landmarks(result.pose_world_landmarks, True)
        if pose_world is not None and pose_image is not None:
            pose_world[:, 3] = pose_image[:, 3]  # the image landmarks carry the reliable visibility
        shapes = None
        if result.face_blendshapes:
            shapes = {c.category_name: float(c.score) for c in result.face_blendshapes}
            shapes.pop("_neutral", None)
        return TrackingFrame(
            t_ms=float(t_ms),
            pose_world=pose_world,
            pose_image=pose_image,
            left_hand_world=_landmarks(result.left_hand_world_landmarks, False),
            right_hand_world=_landmarks(result.right_hand_world_landmarks, False),
            face_blendshapes=shapes,
            face_matrix=None,  # the holistic task gives no facial transformation matrix
        )

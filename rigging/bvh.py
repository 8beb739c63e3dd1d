"""BVH motion capture: reading the file and forward kinematics.

BVH (Biovision Hierarchy) holds a joint hierarchy with offsets and channels, then one line of
channel values per frame. Rotations are Euler angles in degrees, applied in the order the channels
list them (``Zrotation Yrotation Xrotation`` means R = Rz · Ry · Rx); a joint's world transform is
its parent's, then its offset, then its rotation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]


class BvhError(ValueError):
    """A file that is not valid BVH; the message names the line."""


@dataclass
class Joint:
    name: str
    parent: int  # index into Motion.joints, -1 for the root
    offset: F64
    channels: list[str]
    end_site: F64 | None = None  # offset of the end site, for joints that have one
    channel_start: int = 0


@dataclass
class Motion:
    joints: list[Joint]
    frame_time: float
    frames: F64  # (n_frames, n_channels)
    index: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.index = {j.name: i for i, j in enumerate(self.joints)}

    def forward(self, frame: int) -> tuple[F64, F64]:
        """World positions (joints, 3) and rotations (joints, 3, 3) of every joint in ``frame``."""
        values = self.frames[frame]
        n = len(self.joints)
        pos = np.zeros((n, 3))
        rot = np.zeros((n, 3, 3))
        for i, joint in enumerate(self.joints):
            local = np.eye(3)
            translation = joint.offset.copy()
            for k, channel in enumerate(joint.channels):
                v = values[joint.channel_start + k]
                if channel.endswith("position"):
                    translation["XYZ".index(channel[0])] = v
                else:
                    local = local @ _axis_rotation(channel[0], math.radians(v))
            if joint.parent < 0:
                pos[i], rot[i] = translation, local
            else:
                pos[i] = pos[joint.parent] + rot[joint.parent] @ translation
                rot[i] = rot[joint.parent] @ local
        return pos, rot

    def end_site(self, name: str, pos: F64, rot: F64) -> F64:
        """World position of a joint's end site, given a frame's forward kinematics."""
        i = self.index[name]
        site = self.joints[i].end_site
        if site is None:
            raise KeyError(f"{name} has no end site")
        return np.asarray(pos[i] + rot[i] @ site, dtype=np.float64)


def _axis_rotation(axis: str, a: float) -> F64:
    c, s = math.cos(a), math.sin(a)
    if axis == "X":
        return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])
    if axis == "Y":
        return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


_CHANNELS = {"Xposition", "Yposition", "Zposition", "Xrotation", "Yrotation", "Zrotation"}


def parse(text: str) -> Motion:
    lines = text.splitlines()
    tokens: list[tuple[int, str]] = [(n + 1, tok) for n, line in enumerate(lines) for tok in line.split()]
    pos = 0

    def take(expected: str | None = None) -> tuple[int, str]:
        nonlocal pos
        if pos >= len(tokens):
            raise BvhError(
                f"line {len(lines)}: file ends early" + (f", expected {expected}" if expected else "")
            )
        line, tok = tokens[pos]
        pos += 1
        if expected is not None and tok != expected:
            raise BvhError(f"line {line}: expected {expected}, found {tok!r}")
        return line, tok

    def number() -> float:
        line, tok = take()
        try:
            return float(tok)
        except ValueError:
            raise BvhError(f"line {line}: expected a number, found {tok!r}") from None

    take("HIERARCHY")
    joints: list[Joint] = []
    n_channels = 0

    def joint(parent: int, keyword_line: int) -> None:
        nonlocal n_channels
        _, name = take()
        take("{")
        take("OFFSET")
        offset = np.array([number(), number(), number()])
        line, _ = take("CHANNELS")
        count_f = number()
        if count_f != int(count_f) or not 0 <= count_f <= 6:
            raise BvhError(f"line {line}: a joint has 0 to 6 channels, not {count_f}")
        channels = [take()[1] for _ in range(int(count_f))]
        for ch in channels:
            if ch not in _CHANNELS:
                raise BvhError(f"line {line}: unknown channel {ch!r}")
        me = len(joints)
        joints.append(Joint(name, parent, offset, channels, channel_start=n_channels))
        n_channels += len(channels)
        while True:
            line, tok = take()
            if tok == "JOINT":
                joint(me, line)
            elif tok == "End":
                take("Site")
                take("{")
                take("OFFSET")
                joints[me].end_site = np.array([number(), number(), number()])
                take("}")
            elif tok == "}":
                return
            else:
                raise BvhError(f"line {line}: expected JOINT, End Site or }}, found {tok!r}")

    line, _ = take("ROOT")
    joint(-1, line)
    take("MOTION")
    take("Frames:")
    count = number()
    take("Frame")
    take("Time:")
    frame_time = number()
    if count != int(count) or count < 1 or frame_time <= 0:
        raise BvhError("the MOTION header needs a positive frame count and frame time")
    values = tokens[pos:]
    expected = int(count) * n_channels
    if len(values) != expected:
        where = values[-1][0] if values else len(lines)
        raise BvhError(
            f"line {where}: {int(count)} frames of {n_channels} channels need {expected} numbers, "
            f"found {len(values)}"
        )
    try:
        frames = np.array([float(tok) for _, tok in values]).reshape(int(count), n_channels)
    except ValueError:
        bad = next(t for t in values if not _is_number(t[1]))
        raise BvhError(f"line {bad[0]}: expected a number, found {bad[1]!r}") from None
    return Motion(joints=joints, frame_time=frame_time, frames=frames)


def _is_number(tok: str) -> bool:
    try:
        float(tok)
    except ValueError:
        return False
    return True


def load(path: Path) -> Motion:
    return parse(path.read_text(encoding="utf-8", errors="replace"))

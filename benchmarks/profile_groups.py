"""Where a server process's time goes, from py-spy's samples: ``python benchmarks/profile_groups.py FILE...``.

py-spy (a sampling profiler for Python that needs no change to the profiled process) writes, with
``--format raw``, one line per distinct stack: ``frame;frame;...;frame COUNT``, the outermost frame
first, each frame ``function (file:line)``. Each sample is given to the part of the live room its
innermost recognisable frame belongs to (``GROUPS``, first match from the innermost frame out), so
a packet's SRTP work counts as DTLS/SRTP, not as the asyncio loop that called it. Prints each group's
share of the samples; ``benchmarks/capacity.py --profile DIR`` records the files (one per server
process, over its measurement window).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

#: (group, the start of a file's path or a folder in it), tried in order for each frame from the
#: innermost out; py-spy names files as the interpreter found them, relative to a folder on
#: ``sys.path`` or absolute, so a fragment matches only after a "/" or at the path's start
GROUPS: tuple[tuple[str, str], ...] = (
    ("landmark packets (decoding)", "rigging/landmark_packet.py"),
    ("motion packets (encoding)", "rigging/codec.py"),
    ("voice visemes", "rigging/audio_visemes.py"),
    ("voice visemes", "voice_visemes.py"),
    ("liveliness at rest (idle)", "rigging/idle.py"),
    ("motion solver (rigging)", "rigging/"),
    ("voice relay and mix", "avatar_care/live/audio_"),
    ("recorder", "avatar_care/live/record"),
    ("motion hub and scheduler", "avatar_care/live/motion_"),
    ("SCTP (data channels)", "aiortc/rtcsctptransport"),
    ("DTLS and SRTP", "aiortc/rtcdtlstransport"),
    ("DTLS and SRTP", "OpenSSL/"),
    ("DTLS and SRTP", "pylibsrtp/"),
    ("RTP and RTCP", "aiortc/rtcrtpsender"),
    ("RTP and RTCP", "aiortc/rtcrtpreceiver"),
    ("RTP and RTCP", "aiortc/rtp"),
    ("RTP and RTCP", "aiortc/clock"),
    ("ICE and UDP", "aioice/"),
    ("other aiortc", "aiortc/"),
    ("rest of the live room", "avatar_care/live/"),
    ("rest of the server", "avatar_care/"),
    ("HTTP and WebSocket", "uvicorn/"),
    ("HTTP and WebSocket", "starlette/"),
    ("HTTP and WebSocket", "websockets/"),
    ("asyncio", "asyncio/"),
    ("asyncio", "selectors.py"),
)
OTHER = "other (threads, the interpreter)"


def group_of(frames: list[str]) -> str:
    """The group of one sample's stack (outermost frame first)."""
    for frame in reversed(frames):
        # "function (path:line)": the path, with a "/" before it so that every fragment can be
        # looked for after one
        opened = frame.rfind("(")
        path = "/" + frame[opened + 1 :].rsplit(":", 1)[0] if opened >= 0 else "/" + frame
        for name, fragment in GROUPS:
            if "/" + fragment in path:
                return name
    return OTHER


def samples(lines: Iterable[str]) -> Counter[str]:
    """Samples per group from py-spy's raw lines; a line that is not ``stack COUNT`` is refused."""
    counts: Counter[str] = Counter()
    for number, line in enumerate(lines, 1):
        line = line.rstrip("\n")
        if not line.strip():
            continue
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            raise ValueError(f"line {number} is not a py-spy raw stack: {line[:80]!r}")
        # a thread sampled with no Python frame at all (native code only) has an empty stack
        counts[group_of(stack.split(";")) if stack.strip() else OTHER] += int(count)
    return counts


def shares(paths: Iterable[Path]) -> tuple[dict[str, float], int]:
    """Each group's share of all the samples in ``paths`` (0-1, largest first), and their number."""
    counts: Counter[str] = Counter()
    for path in paths:
        counts += samples(path.read_text().splitlines())
    total = sum(counts.values())
    if not total:
        return {}, 0
    return {name: n / total for name, n in counts.most_common()}, total


def table(found: dict[str, float], total: int) -> str:
    rows = [f"{'part of the server':<34} | share of samples ({total})"]
    rows.append("-" * 35 + "+" + "-" * 24)
    rows += [f"{name:<34} | {share * 100:5.1f} %" for name, share in found.items()]
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("files", nargs="+", type=Path, help="py-spy --format raw output")
    args = parser.parse_args()
    found, total = shares(args.files)
    if not total:
        sys.exit("no samples in those files")
    print(table(found, total))


if __name__ == "__main__":
    main()

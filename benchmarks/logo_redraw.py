"""What a room's logo upload costs the server: ``avatar_care.logos.redraw_logo`` (check, decode,
shrink to 512 pixels a side, PNG) on pictures of the sizes brands send.

    python benchmarks/logo_redraw.py

Prints the median and the slowest of 15 runs per picture and the served PNG's size; asserts nothing.
The pictures are noise over a gradient (noise compresses badly: a worst case for the PNG encoder).
"""

from __future__ import annotations

import io
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from avatar_care.logos import MAX_UPLOAD_BYTES, redraw_logo  # noqa: E402

RUNS = 15


def picture(side: int, kind: str) -> bytes:
    rng = np.random.default_rng(side)
    gradient = np.linspace(0, 200, side, dtype=np.float32)[None, :, None]
    pixels = np.clip(gradient + rng.normal(0, 20, (side, side, 3)), 0, 255).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format=kind, quality=90)
    return out.getvalue()


def main() -> None:
    print(f"{'picture':<16} {'bytes':>10} {'median ms':>10} {'max ms':>8} {'served bytes':>13}")
    for side, kind in ((256, "PNG"), (512, "PNG"), (1024, "JPEG"), (2048, "JPEG"), (4096, "JPEG")):
        data = picture(side, kind)
        if len(data) > MAX_UPLOAD_BYTES:
            print(f"{kind} {side}x{side:<7} {len(data):>10} refused: over {MAX_UPLOAD_BYTES} bytes")
            continue
        times = []
        for _ in range(RUNS):
            start = time.perf_counter()
            served = redraw_logo(data)
            times.append((time.perf_counter() - start) * 1000)
        name = f"{kind} {side}x{side}"
        print(
            f"{name:<16} {len(data):>10} {statistics.median(times):>10.1f} {max(times):>8.1f} {len(served):>13}"
        )


if __name__ == "__main__":
    main()

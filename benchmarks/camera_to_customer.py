"""Camera to customer, per hop, in real browsers: ``python benchmarks/camera_to_customer.py``.

For each capture mode (edge: MediaPipe in the operator's console; server: the console sends its
camera and the server tracks it in a worker process), a fresh `avatar-care demo` server, an operator
console whose fake camera is the signing clip (../shared/media/asl/book.mkv as a .y4m) and whose
fake microphone is a reading voice, and a customer page, in one headless Chromium (two contexts).
After a warm-up, the room runs for ``--seconds``; then /metrics gives each hop's p50 and p95 over
the run, printed as one table with the camera-to-customer total (capture + render: the p50s added,
and the p95s added as an upper bound).

What each hop covers is in docs/live-room.md ("Latency per hop"). With server capture the capture
hop starts when the console's camera took the frame (the browser's RTCP sender reports map the
video's RTP timestamps to its clock, which on one machine is the server's), so it includes the
browser's encoding, the network and the server's decoding.

Timings depend on what else the machine runs: on two cores shared with both browsers' software
WebGL the figures are the machine's, not the product's. Quote medians, with the load.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from playwright.sync_api import sync_playwright

from tests.browser.live_scenario import (
    demo_server,
    frames_drawn_per_second,
    hop_quantiles,
    hop_table,
    launch_media_browser,
    metric,
    metrics,
    open_console,
    open_page,
)


def run_mode(
    browser: object, workdir: Path, mode: str, warmup_s: float, seconds: float
) -> tuple[dict[str, tuple[float, float]], str]:
    with demo_server(workdir / f"data-{mode}") as links:
        operator = open_console(browser, links, mode)  # type: ignore[arg-type]
        customer = open_page(browser, links["customer"], (640, 480))  # type: ignore[arg-type]
        customer.wait_for_timeout(warmup_s * 1000)
        start_frames = metric(metrics(links), "avatar_care_motion_frames_total")
        started = time.monotonic()
        load_before = os.getloadavg()[0]
        customer.wait_for_timeout(seconds * 1000)
        text = metrics(links)
        elapsed = time.monotonic() - started
        frames = metric(text, "avatar_care_motion_frames_total") - start_frames
        drawn = frames_drawn_per_second(customer)
        note = f"{frames / elapsed:.1f} frames/s solved, customer page draws {drawn:.1f}/s, load average {load_before:.1f} -> {os.getloadavg()[0]:.1f}"
        hops = hop_quantiles(text)
        customer.context.close()
        operator.context.close()
        return hops, note


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--modes", default="edge,server", help="comma-separated: edge, server")
    parser.add_argument("--warmup", type=float, default=10.0, help="seconds before measuring")
    parser.add_argument("--seconds", type=float, default=30.0, help="seconds measured per mode")
    args = parser.parse_args()
    runs: dict[str, dict[str, tuple[float, float]]] = {}
    notes: dict[str, str] = {}
    with sync_playwright() as p, tempfile.TemporaryDirectory() as tmp:
        browser = launch_media_browser(p.chromium, Path(tmp))
        try:
            for mode in args.modes.split(","):
                runs[mode], notes[mode] = run_mode(browser, Path(tmp), mode, args.warmup, args.seconds)
        finally:
            browser.close()
    # The hub keeps each hop's last thousand samples: at these frame rates the figures cover the
    # warm-up and the run together (everything since the console started tracking).
    print(hop_table(runs, notes), end="")
    print("target: camera to customer p95 <= 150 ms with server capture (goal 100)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

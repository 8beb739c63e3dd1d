"""Edge capture in the console, in a worker and on the page: ``python benchmarks/console_capture.py``.

An `avatar-care demo` server and the operator's console in headless Chromium, whose fake camera is
the signing clip (../shared/media/asl/book.mkv as a .y4m) and whose microphone a reading voice; edge
capture with MediaPipe in a Web Worker (`capture=worker`: the worker alone, without the default's
fallback to the page; camera frames transferred as ImageBitmaps, the GPU delegate where the
worker has WebGL2 on a real GPU) and on the page's own thread
(`capture=page`, as before, CPU delegate), alternately, ``--runs`` times each. Per run, after the
tracker is ready and ``--warmup`` seconds: the console's own count of tracked frames a second,
sampled every second for ``--seconds``, the inference time, and how often the page draws (its
avatar mirror: what the page's thread has left). Prints the medians, and with ``--json FILE``
writes every sample. Here WebGL (and so the GPU delegate) is software (SwiftShader): the figures
are this machine's, not an ordinary laptop's. Quote medians, with the load.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from playwright.sync_api import Browser, sync_playwright

from tests.browser.live_scenario import (
    LOAD_TIMEOUT_MS,
    demo_server,
    frames_drawn_per_second,
    launch_media_browser,
)

WHERE = ("worker", "page")
READY_TIMEOUT_MS = 600_000


def run(
    browser: Browser, links: dict[str, str], where: str, warmup: float, seconds: float
) -> dict[str, object]:
    context = browser.new_context(viewport={"width": 1100, "height": 900}, locale="en-US")
    context.set_default_timeout(LOAD_TIMEOUT_MS)
    page = context.new_page()
    page.goto(f"{links['operator']}&mode=edge&capture={where}")
    # the tracker's start (wasm, model, first inference) takes minutes on a loaded machine
    page.wait_for_function(
        "window.avatarCare && window.avatarCare.trackedPerSecond > 0", timeout=READY_TIMEOUT_MS
    )
    page.wait_for_timeout(warmup * 1000)
    rates, inference = [], []
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        page.wait_for_timeout(1000)
        state = page.evaluate("({r: window.avatarCare.trackedPerSecond, i: window.avatarCare.inferenceMs})")
        rates.append(state["r"])
        if state["i"] is not None:
            inference.append(state["i"])
    drawn = frames_drawn_per_second(page, 3.0)
    state = page.evaluate("({thread: window.avatarCare.captureThread, delegate: window.avatarCare.delegate})")
    context.close()
    return {"where": where, **state, "tracked_per_s": rates, "inference_ms": inference, "drawn_per_s": drawn}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results = []
    load_before = os.getloadavg()[0]
    with sync_playwright() as p, tempfile.TemporaryDirectory() as tmp:
        browser = launch_media_browser(p.chromium, Path(tmp))
        with demo_server(Path(tmp) / "data") as links:
            for _ in range(args.runs):
                for where in WHERE:
                    results.append(run(browser, links, where, args.warmup, args.seconds))
        browser.close()
    load = os.getloadavg()[0]
    print(
        f"console edge capture, {args.runs} runs of {args.seconds:.0f} s each way; "
        f"load average {load_before:.1f} before, {load:.1f} after"
    )
    print("capture | delegate | tracked frames/s p50 (min-max of runs) | inference ms p50 | page draws/s p50")
    medians = {}
    for where in WHERE:
        mine = [r for r in results if r["where"] == where]
        per_run = [statistics.median(r["tracked_per_s"]) for r in mine]  # type: ignore[arg-type]
        medians[where] = statistics.median(per_run)
        inference = statistics.median(x for r in mine for x in r["inference_ms"])  # type: ignore[attr-defined]
        drawn = statistics.median(float(r["drawn_per_s"]) for r in mine)  # type: ignore[arg-type]
        delegate = "/".join(sorted({f"{r['thread']} {r['delegate']}" for r in mine}))
        print(
            f"{where:7} | {delegate:8} | {medians[where]:5.1f} ({min(per_run):.0f}-{max(per_run):.0f})"
            f"{'':24} | {inference:16.0f} | {drawn:.1f}"
        )
    if medians["page"] > 0:
        print(f"ratio worker / page, tracked frames/s: {medians['worker'] / medians['page']:.2f}")
    if args.json:
        args.json.write_text(json.dumps({"load": [load_before, load], "runs": results}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

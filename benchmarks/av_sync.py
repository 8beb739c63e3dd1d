"""Voice-motion offset at the customer, aligned and not: ``python benchmarks/av_sync.py``.

An `avatar-care demo` server; an aiortc operator (tests/browser/sync_scenario.py) sends a 440 Hz
burst on its voice and a raised right arm in its landmarks at the same instants, every 2 s; two
customer pages in one headless Chromium watch the same room side by side: one aligns voice and
motion (room/av_sync.js, as every customer does), the other only measures (``?sync-off``). For
each page, after ``--settle`` seconds: when each burst is heard and each raised arm shown
(``?sync-marks``), paired into offsets (voice minus motion, ms), and the page's own published
offset (``avSyncOffsetMs``, four times a second). Prints p50 and p95 of |offset| per page, and the
share of the page's measures it left out because the voice it received was mostly made up
(a stalled sender). Timing on a shared machine: quote it with the load printed beside it.
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

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from playwright.sync_api import Page, sync_playwright

from tests.browser.conftest import launch_chromium
from tests.browser.live_scenario import demo_server, open_page
from tests.browser.sync_scenario import EVERY_S, marking_operator

PAGES = {"aligned": "", "not aligned": "&sync-off"}


def offsets_of(page: Page, since: float) -> tuple[list[float], list[float], int]:
    """(paired heard-minus-seen offsets, the page's own offsets, measures left out) after ``since``."""
    marks = page.evaluate("window.avatarCare.syncMarks")
    heard = [t for t in marks["heard"] if t > since - 500]
    seen = [t for t in marks["seen"] if t > since]
    paired = []
    for s in seen[1:]:  # the first may have been half watched
        if not heard:
            break
        h = min(heard, key=lambda h: abs(h - s))
        if abs(h - s) < EVERY_S * 1000 / 2:  # else a burst not heard at all: no pair
            paired.append(h - s)
    history = page.evaluate("window.avatarCare.avSyncHistory")
    own = [row["offsetMs"] for row in history if row["atMs"] > since]
    skipped = page.evaluate("window.avatarCare.avSync?.skipped ?? 0")
    return paired, own, skipped


def quantiles(values: list[float]) -> str:
    if not values:
        return "      -       -"
    a = np.abs(values)
    return f"{statistics.median(values):7.1f} {float(np.percentile(a, 95)):7.1f}"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=60.0, help="measured, after settling")
    parser.add_argument("--settle", type=float, default=12.0)
    parser.add_argument("--json", type=Path)
    parser.add_argument(
        "--hold",
        action="store_true",
        help="the aligned page's motion only held to the voice's delay, not following it (?hold-voice)",
    )
    args = parser.parse_args()
    pages = dict(PAGES, aligned="&hold-voice") if args.hold else PAGES
    load_before = os.getloadavg()[0]
    with sync_playwright() as p, tempfile.TemporaryDirectory() as tmp:
        browser = launch_chromium(p.chromium)
        with demo_server(Path(tmp) / "data") as links:
            pages = {
                name: open_page(browser, f"{links['customer']}&sync-marks{extra}", (480, 360))
                for name, extra in pages.items()
            }
            with marking_operator(links["operator"]) as errors:
                since = {
                    name: page.evaluate("performance.now()") + args.settle * 1000
                    for name, page in pages.items()
                }
                end = time.monotonic() + args.settle + args.seconds
                while time.monotonic() < end and not errors:
                    time.sleep(1)
                assert not errors, errors
                results = {name: offsets_of(page, since[name]) for name, page in pages.items()}
        browser.close()
    load_after = os.getloadavg()[0]
    print(
        f"voice minus motion at the customer, ms ({args.seconds:.0f} s, a burst every {EVERY_S:.0f} s); "
        f"load average {load_before:.1f} before, {load_after:.1f} after"
    )
    print(
        "page        | bursts | heard-seen p50 |offset| p95 | page's own p50 |offset| p95 | measures left out"
    )
    for name, (paired, own, skipped) in results.items():
        print(f"{name:11} | {len(paired):6} | {quantiles(paired):>26} | {quantiles(own):>27} | {skipped}")
    aligned, plain = (np.percentile(np.abs(results[n][0]), 95) if results[n][0] else None for n in PAGES)
    if aligned and plain:
        print(f"ratio of |offset| p95, aligned / not aligned: {aligned / plain:.2f}")
    if args.json:
        args.json.write_text(json.dumps({"load": [load_before, load_after], "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

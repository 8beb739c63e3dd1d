"""Voice and motion in step at the customer (EN 301 549: at most 100 ms apart).

An operator peer (aiortc, in this process) sends, at the same instants, a tone burst on its voice
and a raised right arm in its landmarks, every 2 s, through `avatar-care demo`; the customer's
page in Chromium notes when it hears each burst start (Web Audio, on the received voice) and when
its avatar's buffered pose shows the arm raised (room/av_sync.js, `?sync-marks`;
tests/browser/sync_scenario.py). The sound is found on the audio thread (an AudioWorklet looks at every
sample; each start is timed on the audio context's clock and its output timestamp) and the arm in the
buffer's pose every 2 ms, not in drawn frames (a page drawing in software shows one or two a
second). Each burst's heard and seen times must be within 100 ms of each
other; the offsets' p50/p95 go to test-artifacts/av-sync.txt (av-sync-hold.txt with the motion only held
to the voice's delay; benchmarks/av_sync.py measures them over a longer run)."""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import Browser

from tests.browser.live_scenario import LOAD_TIMEOUT_MS, demo_server, open_page
from tests.browser.sync_scenario import marking_operator, paired_offsets, wait_for_marks

pytestmark = pytest.mark.browser

#: the page as every customer gets it (the motion follows the voice pose by pose), and with the
#: motion only held to the voice's measured delay (`?hold-voice`, the earlier way: docs/live-room.md)
MODES = [
    pytest.param("", id="default"),
    pytest.param(
        "&hold-voice",
        id="hold-voice",
        # Passed 5 of 5 on a quiet machine, 4 of 6 beside a second test process (one burst in a
        # stall, 111-117 ms apart): kept to compare, not what customers get.
        marks=pytest.mark.xfail(
            reason="the hold alone is not within 100 ms repeatedly beside a second test process",
            strict=False,
        ),
    ),
]

BURSTS = 6
LIMIT_MS = 100.0
SETTLE_MS = 12_000


@pytest.fixture
def links(tmp_path: Path) -> Iterator[dict[str, str]]:
    with demo_server(tmp_path / "data") as found:
        yield found


@pytest.mark.parametrize("mode", MODES)
def test_a_tone_and_a_raised_arm_sent_together_reach_the_customer_within_100_ms(
    browser: Browser, links: dict[str, str], artifacts: Path, mode: str
) -> None:
    customer = open_page(browser, f"{links['customer']}&sync-marks{mode}", (480, 360))
    with marking_operator(links["operator"]) as errors:
        # marks from before (the demo's recording plays until an operator connects) do not count,
        # nor those of the first seconds, while the page learns both delays and the earlier one
        # is held back (at most a tenth of the time passing)
        since = customer.evaluate("performance.now()") + SETTLE_MS
        wait_for_marks(customer, since, BURSTS, LOAD_TIMEOUT_MS / 1000, errors)
        assert not errors, errors
        customer.wait_for_timeout(1000)  # the last burst's sound, if heard after its arm
        marks = customer.evaluate("window.avatarCare.syncMarks")
        history = customer.evaluate("window.avatarCare.avSyncHistory")
        state = customer.evaluate(
            "({offset: window.avatarCare.avSyncOffsetMs, sync: window.avatarCare.avSync})"
        )
    assert not errors, errors
    # every mark and the page's own measures, for reading a failure
    name = "av-sync-hold" if mode else "av-sync"
    (artifacts / f"{name}-raw.json").write_text(
        json.dumps({"since": since, "marks": marks, "state": state, "history": history})
    )
    # the bursts heard on the audio thread, every sample (not in windows read from the page's thread)
    assert marks["ears"] == "worklet", marks["ears"]
    heard = [t for t in marks["heard"] if t > since - 500]
    seen = [t for t in marks["seen"] if t > since]
    offsets = paired_offsets(heard, seen, skip_first=False)  # every arm after `since` is whole
    assert len(offsets) >= BURSTS - 2, ("too few marks", heard, seen, state)
    p50 = statistics.median(offsets)
    p95 = float(np.percentile(np.abs(offsets), 95))
    (artifacts / f"{name}.txt").write_text(
        f"bursts {len(offsets)}; voice minus motion, ms: p50 {p50:.1f}, |offset| p95 {p95:.1f}, "
        f"max {max(offsets, key=abs):.1f}\noffsets {[round(o, 1) for o in offsets]}\n"
        f"page's own measure: {state}\n"
    )
    assert state["offset"] is not None and state["sync"] is not None, state
    # the voice timed from its playout against its arrivals (room/voice_clock.js), not the stats
    assert state["sync"]["voiceMeasure"] == "playout", state
    assert all(abs(o) <= LIMIT_MS for o in offsets), offsets

"""An operator with a microphone and no camera, in real browsers: the console goes live with the
voice alone, and the customer's avatar opens its mouth when the operator speaks and keeps it
closed in the pauses; the same when the camera is lost in the middle of the call.

The operator's microphone reads two recordings with two seconds of silence before each (Chromium's
fake audio capture plays the file in a loop). What the customer hears (the page's level of the
received voice) tells speech from pause; the avatar's mouth is read in the same drawn frame."""

from __future__ import annotations

import json
import statistics
import wave
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import Browser, Page

from tests.browser.conftest import launch_chromium
from tests.browser.live_scenario import CLIP, LOAD_TIMEOUT_MS, demo_server, make_y4m, open_page
from tests.shared_data import shared

pytestmark = pytest.mark.browser

READINGS = (
    "speech/sense_and_sensibility_01_austen_64kb-0880.wav",
    "speech/sense_and_sensibility_01_austen_64kb-0890.wav",
)
PAUSE_S = 2.0
WATCH_S = 30.0
#: The customer's heard level (RMS of the received voice, full scale 1) above which the operator
#: is speaking, and below which it is a pause (the recordings' own pauses are about -45 dBFS).
SPEAKING = 0.02
PAUSING = 0.002


def reading_with_pauses(out: Path) -> Path:
    """The recordings, each after two seconds of silence, as one 16 kHz WAV."""
    parts = []
    rate = 16000
    for relative in READINGS:
        with wave.open(str(shared(relative))) as w:
            assert w.getframerate() == rate and w.getnchannels() == 1 and w.getsampwidth() == 2
            parts += [
                np.zeros(int(PAUSE_S * rate), dtype="<i2"),
                np.frombuffer(w.readframes(w.getnframes()), "<i2"),
            ]
    with wave.open(str(out), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.concatenate(parts).tobytes())
    return out


def launch(browser: Browser, workdir: Path, camera: bool) -> Browser:
    """Chromium whose microphone reads with pauses; with ``camera`` its camera is the signing clip,
    without it there is no camera at all (the fake devices with no video device)."""
    wav = reading_with_pauses(workdir / "reading.wav")
    devices = (
        [
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={make_y4m(shared(CLIP), workdir / 'clip.y4m')}",
        ]
        if camera
        else ["--use-fake-device-for-media-stream=device-count=0"]
    )
    return launch_chromium(
        browser.browser_type,
        "--use-fake-ui-for-media-stream",
        *devices,
        f"--use-file-for-fake-audio-capture={wav}",
    )


@pytest.fixture(scope="module")
def voice_browser(browser: Browser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    b = launch(browser, tmp_path_factory.mktemp("voice"), camera=False)
    yield b
    b.close()


@pytest.fixture(scope="module")
def camera_browser(browser: Browser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    b = launch(browser, tmp_path_factory.mktemp("camera"), camera=True)
    yield b
    b.close()


def watch_mouth(customer: Page, seconds: float) -> tuple[list[float], list[float], list[float]]:
    """The mouth's opening where the operator spoke, and where they paused, and the blinks, over
    ``seconds``: from the page's trace (room/av_sync.js), which every 10 ms notes the level of the
    voice heard and the pose the avatar shows at that moment (the jitter buffer's, as drawn; the
    page itself draws a frame or two a second here, in software, beside the console)."""
    start = customer.evaluate("performance.now()")
    customer.wait_for_timeout(seconds * 1000)
    rows = [r for r in customer.evaluate("window.avatarCare.trace") if r[0] >= start]
    assert len(rows) > seconds * 20, f"only {len(rows)} trace rows in {seconds} s"
    speaking = [r[2] for r in rows if r[1] > SPEAKING]
    pausing = [r[2] for r in rows if r[1] < PAUSING]
    return speaking, pausing, [r[3] for r in rows]


def assert_the_mouth_follows_the_voice(speaking: list[float], pausing: list[float]) -> None:
    assert len(speaking) >= 10 and len(pausing) >= 5, (len(speaking), len(pausing))
    assert statistics.median(speaking) > 0.2, sorted(speaking)
    assert sum(m > 0.1 for m in speaking) >= 0.6 * len(speaking), sorted(speaking)
    # closed in the pauses (a frame may fall where motion and voice are a moment apart)
    assert statistics.median(pausing) < 0.05, sorted(pausing)
    assert sum(m < 0.1 for m in pausing) >= 0.8 * len(pausing), sorted(pausing)


def test_an_operator_without_a_camera_goes_live_and_the_avatar_speaks_with_the_voice(
    voice_browser: Browser, tmp_path: Path, artifacts: Path
) -> None:
    with demo_server(tmp_path / "data") as links:
        operator = open_page(voice_browser, f"{links['operator']}&mode=edge", (1100, 900))
        assert operator.evaluate("window.avatarCare.camera") == "none"
        assert "No camera" in operator.locator(".media-camera").inner_text()
        assert operator.locator(".media-camera").get_attribute("aria-live") == "polite"
        customer = open_page(voice_browser, f"{links['customer']}&trace", (640, 480))
        customer.wait_for_function("window.avatarCare.packetsReceived > 30", timeout=LOAD_TIMEOUT_MS)
        speaking, pausing, blinks = watch_mouth(customer, WATCH_S)
        # every row, for reading a failure: [ms, level heard, mouth, blink, arm, followed, waiting,
        # gap, the pose's capture time, the newest packet's, the newest voice arrival's age, the
        # last playout's age]
        (artifacts / "voice-only-trace.json").write_text(
            json.dumps(customer.evaluate("window.avatarCare.trace"))
        )
        assert_the_mouth_follows_the_voice(speaking, pausing)
        assert max(blinks) > 0.3, "the avatar never blinked"
        (artifacts / "voice-only-mouth.txt").write_text(
            f"speaking: {len(speaking)} samples, mouth median {statistics.median(speaking):.2f}\n"
            f"pausing: {len(pausing)} samples, mouth median {statistics.median(pausing):.3f}, "
            f"open > 0.1 in {sum(m > 0.1 for m in pausing)}\n"
        )
        # the avatar at rest, arms down, alive: no tracked frame reached the room
        arms = [r[4] for r in customer.evaluate("window.avatarCare.trace")[-100:]]
        assert min(arms) > 0.5, arms
        customer.screenshot(path=str(artifacts / "voice-only-customer.png"))
        operator.screenshot(path=str(artifacts / "voice-only-operator.png"))
        customer.context.close()
        operator.context.close()


def test_when_the_camera_is_lost_mid_call_the_avatar_goes_on_with_the_voice(
    camera_browser: Browser, tmp_path: Path
) -> None:
    with demo_server(tmp_path / "data") as links:
        operator = open_page(camera_browser, f"{links['operator']}&mode=edge", (1100, 900))
        assert operator.evaluate("window.avatarCare.camera") == "on"
        customer = open_page(camera_browser, f"{links['customer']}&trace", (640, 480))
        customer.wait_for_function("window.avatarCare.packetsReceived > 30", timeout=LOAD_TIMEOUT_MS)
        operator.evaluate(
            "document.querySelector('.media-preview video').srcObject.getVideoTracks()[0].stop()"
        )
        operator.wait_for_function("window.avatarCare.camera === 'lost'", timeout=10_000)
        assert "Camera lost" in operator.locator(".media-camera").inner_text()
        sent = operator.evaluate("window.avatarCare.framesSent")
        customer.wait_for_timeout(4000)  # the held pose, then the avatar glides to rest
        assert operator.evaluate("window.avatarCare.framesSent") == sent  # nothing tracked since
        speaking, pausing, _ = watch_mouth(customer, WATCH_S)
        assert_the_mouth_follows_the_voice(speaking, pausing)
        assert operator.evaluate("window.avatarCare.connected")
        customer.context.close()
        operator.context.close()

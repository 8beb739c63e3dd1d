"""The live room in real browsers: an operator console with a fake camera and microphone drives the
avatar a customer sees and hears, over WebRTC through `avatar-care demo`."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import httpx
import pytest
from playwright.sync_api import Browser, Page

from tests.shared_data import shared
from tests.support import free_port

CLIP = "media/asl/book.mkv"  # a person signing at a webcam
SPEECH = "speech/sense_and_sensibility_01_austen_64kb-0870.wav"


def make_y4m(clip: Path, out: Path, seconds: float = 8.0) -> Path:
    """Chromium's fake camera plays a .y4m in a loop: the clip's frames as 640x480 I420."""
    capture = cv2.VideoCapture(str(clip))
    fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
    with out.open("wb") as f:
        f.write(b"YUV4MPEG2 W640 H480 F30:1 Ip A1:1 C420jpeg\n")
        n = 0
        while n < seconds * 30:
            ok, frame = capture.read()
            if not ok:
                capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
                continue
            frame = cv2.resize(frame, (640, 480))
            f.write(b"FRAME\n" + cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420).tobytes())
            n += 1
    capture.release()
    assert n > 0 and fps > 0
    return out


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """`avatar-care demo` on a free port; yields its two printed links."""
    port = free_port()
    env = os.environ | {"AVATAR_CARE_DATA_DIR": str(tmp_path_factory.mktemp("live"))}
    proc = subprocess.Popen(
        [sys.executable, "-m", "avatar_care.cli", "demo", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    links = dict(proc.stdout.readline().strip().split(": ", 1) for _ in range(2))
    assert set(links) == {"customer", "operator"}, links
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2)
            break
        except httpx.TransportError:
            assert proc.poll() is None and time.monotonic() < deadline, "avatar-care demo did not come up"
            time.sleep(0.2)
    links["metrics"] = f"http://127.0.0.1:{port}/metrics"
    try:
        yield links
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.fixture(scope="module")
def media_browser(browser: Browser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    """A Chromium whose camera is the signing clip and whose microphone is a reading voice."""
    y4m = make_y4m(shared(CLIP), tmp_path_factory.mktemp("camera") / "book.y4m")
    b = browser.browser_type.launch(
        executable_path="/usr/bin/chromium",
        args=[
            "--no-sandbox",
            "--disable-background-networking",
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={y4m}",
            f"--use-file-for-fake-audio-capture={shared(SPEECH)}",
            "--autoplay-policy=no-user-gesture-required",
        ],
    )
    yield b
    b.close()


def angle_spread(samples: list[dict[str, list[float]]], bone: str) -> float:
    qs = [s[bone] for s in samples if bone in s]
    assert qs, f"{bone} never driven"
    return max(
        math.degrees(2 * math.acos(min(1.0, abs(sum(a * b for a, b in zip(q, qs[0], strict=True))))))
        for q in qs
    )


def bones_over_time(page: Page, n: int = 16) -> list[dict[str, list[float]]]:
    samples = []
    for _ in range(n):
        samples.append(page.evaluate("window.avatarCare.lastBones"))
        page.wait_for_timeout(200)
    return samples


# Server capture is covered with real aiortc peers and real video in tests/avatar_care/live; in the
# browser, on this 2-core machine, it starves the server (HTTP requests time out while MediaPipe and
# two software-rendering browsers share the cores), so the end-to-end browser run uses edge capture
# until server capture runs in its own process (docs/live-room.md).
@pytest.mark.parametrize("mode", ["edge"])
def test_an_operators_camera_and_voice_drive_the_avatar_a_customer_sees_and_hears(
    media_browser: Browser, demo: dict[str, str], artifacts: Path, mode: str
) -> None:
    operator_context = media_browser.new_context(viewport={"width": 1100, "height": 800}, locale="en-US")
    # With server capture the server tracks video on the same two cores that render both pages in
    # software: page loads and waits get minutes, not the default half minute.
    operator_context.set_default_timeout(120000)
    operator_context.set_default_navigation_timeout(120000)
    operator = operator_context.new_page()
    operator.goto(f"{demo['operator']}&mode={mode}")
    operator.wait_for_function("window.avatarCare && window.avatarCare.connected", timeout=90000)
    if mode == "edge":  # MediaPipe's wasm runs in this page: wait until it tracks the person
        operator.wait_for_function(
            "window.avatarCare.tracking && window.avatarCare.framesSent > 5", timeout=90000
        )
    else:  # the server tracks the camera's video: wait until the mirror shows its motion
        operator.wait_for_function("window.avatarCare.packetsReceived > 5", timeout=90000)

    customer_context = media_browser.new_context(viewport={"width": 640, "height": 480}, locale="en-US")
    customer_context.set_default_timeout(120000)
    customer_context.set_default_navigation_timeout(120000)
    customer = customer_context.new_page()
    customer.goto(demo["customer"])
    customer.wait_for_function("window.avatarCare && window.avatarCare.connected", timeout=90000)
    customer.wait_for_timeout(2000)

    def frames_solved() -> int:
        text = httpx.get(demo["metrics"], timeout=60).text
        line = next(
            x for x in text.splitlines() if x.startswith('avatar_care_motion_frames_total{room="demo"}')
        )
        return int(float(line.split()[-1]))

    # The customer gets one packet per frame the operator's capture delivers. On this 2-core
    # machine, with two browsers rendering in software, capture delivers far fewer than 30 frames
    # a second, and fewer still when the machine is busy (docs/live-room.md has the figures), so
    # the check counts frames over a window long enough for a handful, not a rate.
    before = frames_solved()
    received_before = customer.evaluate("window.avatarCare.packetsReceived")
    started = time.monotonic()
    while frames_solved() - before < 6 and time.monotonic() - started < 90:
        customer.wait_for_timeout(500)
    customer.wait_for_timeout(500)  # the last packets' way to the customer
    solved = frames_solved() - before
    received = customer.evaluate("window.avatarCare.packetsReceived") - received_before
    state = customer.evaluate("window.avatarCare")
    assert state["error"] is None, state["error"]
    assert solved >= 6, f"only {solved} frames solved in 90 s"
    assert received >= 0.7 * solved - 2, (received, solved)
    samples = bones_over_time(customer)
    # the person signs "book" with both hands in front of the chest: forearms and fingers move
    assert max(angle_spread(samples, "rightLowerArm"), angle_spread(samples, "leftLowerArm")) > 5
    assert any(s.get("rightIndexProximal") or s.get("leftIndexProximal") for s in samples)
    # the operator's voice: RTP bytes keep arriving and the level is above silence
    bytes_before = customer.evaluate("window.avatarCare.audioBytesReceived")
    levels = []
    for _ in range(20):
        levels.append(customer.evaluate("window.avatarCare.audioLevel"))
        customer.wait_for_timeout(100)
    assert customer.evaluate("window.avatarCare.audioBytesReceived") > bytes_before > 0
    assert max(levels) > 0.01, levels
    customer.screenshot(path=str(artifacts / f"live-customer-{mode}.png"))
    operator.screenshot(path=str(artifacts / f"live-operator-{mode}.png"))
    text = httpx.get(demo["metrics"], timeout=60).text
    for hop in ("capture", "solve", "send", "receive", "render"):
        assert f'avatar_care_hop_ms{{room="demo",hop="{hop}",quantile="0.95"}}' in text, hop
    # the per-hop latency of this run, for docs/live-room.md (figures, not assertions)
    hops = [line for line in text.splitlines() if line.startswith("avatar_care_hop_ms")]
    inference = operator.evaluate("window.avatarCare.inferenceMs")
    (artifacts / f"live-hops-{mode}.txt").write_text(
        "\n".join(
            [
                *hops,
                f"edge inference ms (last frame): {inference}",
                f"frames solved in the window: {solved}",
                f"customer packets/s: {state['packetsPerSecond']}",
            ]
        )
        + "\n"
    )
    customer_context.close()
    operator_context.close()

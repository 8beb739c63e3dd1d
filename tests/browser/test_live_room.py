"""The live room in real browsers, with both capture modes: an operator console with a fake camera
and microphone drives the avatar a customer sees and hears, over WebRTC through `avatar-care demo`.

Edge capture tracks the person in the console (MediaPipe's wasm); server capture sends the camera
as video and the server tracks it in a worker process. The whole suite runs on two cores with both
browsers rendering WebGL in software, so the test waits generously and counts over windows; what it
asserts about the motion itself is never relaxed for that."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from tests.browser.live_scenario import (
    LOAD_TIMEOUT_MS,
    Window,
    demo_server,
    frames_drawn_per_second,
    hands_raised_in_front,
    hold_models,
    hop_quantiles,
    hop_table,
    launch_media_browser,
    metric,
    metrics,
    open_console,
    open_page,
    watch_customer,
)

MIN_FRAMES = 12  # tracked frames to watch the customer's avatar over
MIN_POSES = 10  # distinct packets' poses the customer's page shows in that window
# The fake camera loops the 3.6 s clip, whose person has both hands up in 84 of its 109 frames: a
# window shorter than a loop can fall mostly on the other 25, so it lasts at least 5 s (a whole
# loop, and the limbs' easing in and out of rest) before the share of raised hands counts.
MIN_WINDOW_S = 5.0
WINDOW_TIMEOUT_S = 180.0

# The hub's output clock sends about 30 packets a second whatever the capture's rate on this
# machine (about 1 tracked frame a second with edge capture, 2-8 with server capture, both browsers
# sharing two cores with the server): the newest pose carried forward between tracked frames.
# 20 leaves room for what an unreliable channel and a page drawing in software lose under load,
# over windows as short as 4 s.
MIN_CUSTOMER_PACKETS_PER_S = {"edge": 20.0, "server": 20.0}


def assert_customer_packet_rate(window: Window, mode: str) -> None:
    rate = window.packets_received / window.seconds
    assert rate >= MIN_CUSTOMER_PACKETS_PER_S[mode], (
        f"{rate:.1f} packets/s at the customer over {window.seconds:.0f} s"
    )


def angle_spread_deg(poses: list[dict[str, list[float]]], bone: str) -> float:
    qs = [p[bone] for p in poses if bone in p]
    assert qs, f"{bone} never driven"
    return max(
        math.degrees(2 * math.acos(min(1.0, abs(sum(a * b for a, b in zip(q, qs[0], strict=True))))))
        for q in qs
    )


@pytest.fixture(scope="module")
def media_browser(browser: Browser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    b = launch_media_browser(browser.browser_type, tmp_path_factory.mktemp("camera"))
    yield b
    b.close()


@pytest.mark.parametrize("mode", ["edge", "server"])
def test_an_operators_camera_and_voice_drive_the_avatar_a_customer_sees_and_hears(
    media_browser: Browser, tmp_path: Path, artifacts: Path, mode: str
) -> None:
    # a server of its own per mode, so that each mode's hop figures are its own
    with demo_server(tmp_path / "data") as links:
        operator = open_console(media_browser, links, mode)
        customer = open_page(media_browser, links["customer"], (640, 480))
        customer.wait_for_timeout(2000)

        window = watch_customer(customer, links, MIN_FRAMES, MIN_POSES, WINDOW_TIMEOUT_S, MIN_WINDOW_S)
        state = customer.evaluate("window.avatarCare")
        assert state["error"] is None, state["error"]
        assert window.frames_solved >= MIN_FRAMES, (
            f"only {window.frames_solved} frames in {window.seconds:.0f} s"
        )
        # unordered and unreliable, but on one machine nearly every packet arrives
        assert window.packets_received >= 0.7 * window.frames_solved - 2, window
        assert_customer_packet_rate(window, mode)

        # the avatar moves as the person signs "book": forearms turn, fingers are driven, and both
        # hands are up in front of the chest for most of the sign (the person's are in 84 of the
        # clip's 109 frames)
        poses = window.poses
        assert len(poses) >= MIN_POSES, (
            f"the page showed {len(poses)} packets' poses in {window.seconds:.0f} s"
        )
        assert max(angle_spread_deg(poses, "rightLowerArm"), angle_spread_deg(poses, "leftLowerArm")) > 5
        assert any(p.get("rightIndexProximal") or p.get("leftIndexProximal") for p in poses)
        raised = sum(hands_raised_in_front(p) for p in poses)
        assert raised >= 0.4 * len(poses), f"both hands raised in front in {raised} of {len(poses)} poses"

        # the operator's voice: RTP bytes keep arriving and the level is above silence
        bytes_before = customer.evaluate("window.avatarCare.audioBytesReceived")
        levels = []
        for _ in range(20):
            levels.append(customer.evaluate("window.avatarCare.audioLevel"))
            customer.wait_for_timeout(100)
        customer.wait_for_timeout(600)  # the page reads its RTP counters every half second
        assert customer.evaluate("window.avatarCare.audioBytesReceived") > bytes_before > 0
        assert max(levels) > 0.01, levels

        text = metrics(links)
        console = operator.evaluate("window.avatarCare")
        if mode == "server":
            assert console["capture"] and console["capture"]["state"] == "ready", console["capture"]
            assert "tracking" in operator.locator(".media-capture").inner_text()
            outcome = {
                o: metric(text, "avatar_care_capture_frames_total", f'room="demo",outcome="{o}"')
                for o in ("offered", "processed", "dropped", "failed")
            }
            assert outcome["processed"] >= MIN_FRAMES and outcome["failed"] == 0
            # latest frame wins: processed or dropped, apart from one waiting and one in inference
            assert 0 <= outcome["offered"] - outcome["processed"] - outcome["dropped"] <= 2, outcome
            assert metric(text, "avatar_care_capture_worker_crashes_total") == 0
        hops = hop_quantiles(text)
        assert {"capture", "solve", "send", "receive", "render"} <= set(hops), hops
        # server capture: the browser's sender reports gave the camera's time of each frame
        assert ("transit" in hops) == (mode == "server"), hops
        # the console shows the room's latency per hop from the same figures
        operator.wait_for_function("Object.keys(window.avatarCare.hops).length >= 5", timeout=LOAD_TIMEOUT_MS)
        assert "camera → customer" in operator.locator(".media-latency").inner_text()

        customer.screenshot(path=str(artifacts / f"live-customer-{mode}.png"))
        operator.screenshot(path=str(artifacts / f"live-operator-{mode}.png"))
        drawn = frames_drawn_per_second(customer)
        notes = {
            "customer page frames drawn/s": f"{drawn:.1f}",
            "frames solved": f"{window.frames_solved} in {window.seconds:.0f} s "
            f"({window.frames_solved / window.seconds:.1f}/s)",
            "customer packets": f"{window.packets_received} ({window.packets_received / window.seconds:.1f}/s)",
            "edge inference ms (last frame)": str(console["inferenceMs"]),
        }
        if mode == "server":
            notes["server capture frames"] = ", ".join(f"{k} {v:.0f}" for k, v in outcome.items())
        (artifacts / f"live-hops-{mode}.txt").write_text(hop_table({mode: hops}, notes))
        customer.context.close()
        operator.context.close()


def test_the_console_goes_live_while_its_mirror_model_downloads(
    media_browser: Browser, tmp_path: Path
) -> None:
    """The operator's voice and capture do not wait for the mirror's model, which only they see."""
    with demo_server(tmp_path / "data") as links:
        context = media_browser.new_context(viewport={"width": 1100, "height": 900})
        held = hold_models(context)  # the model's request waits until the test lets it go
        page = context.new_page()
        page.goto(f"{links['operator']}&mode=server")
        page.wait_for_function("window.avatarCare && window.avatarCare.connected", timeout=60000)
        assert held, "the console asked for no model"
        assert not page.evaluate("window.avatarCare.lastBones")  # live, and nothing drawn yet
        for route in held:
            route.continue_()
        page.wait_for_function("Object.keys(window.avatarCare.lastBones).length > 0", timeout=120000)
        assert page.evaluate("window.avatarCare.mirrorError") is None
        context.close()

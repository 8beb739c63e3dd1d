"""The newcomer's first minute: `avatar-care demo`, a customer page, a signing avatar over WebRTC."""

import math
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from tests.browser.live_scenario import hold_models
from tests.support import running_server


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_server("demo", tmp_path_factory.mktemp("demo")) as (_, first_line):
        assert first_line.startswith("customer: http://127.0.0.1:"), first_line
        yield first_line.split(" ", 1)[1]


def test_the_customer_sees_the_demo_operator_sign(browser: Browser, demo: str, artifacts: Path) -> None:
    context = browser.new_context(viewport={"width": 640, "height": 480}, locale="it-IT")
    page = context.new_page()
    page.goto(demo)
    page.wait_for_function("window.avatarCare && window.avatarCare.connected", timeout=30000)
    assert "Connesso" in page.locator(".room-status").inner_text()  # Italian from the browser's language
    page.wait_for_timeout(2500)
    # about 30 packets a second, counted over 5 s of the page's own clock (the page's one-second
    # count swings with what its main thread was doing when the packets came, not with the sender)
    start = page.evaluate("[window.avatarCare.packetsReceived, performance.now()]")
    page.wait_for_timeout(5000)
    end = page.evaluate("[window.avatarCare.packetsReceived, performance.now()]")
    rate = (end[0] - start[0]) / ((end[1] - start[1]) / 1000)
    assert 24 <= rate <= 36, rate
    state = page.evaluate("window.avatarCare")
    assert state["error"] is None
    # the jitter buffer publishes the delay it learned from the arrivals: at least about a packet
    # interval, and within its bound
    assert state["jitterBufferMs"] is not None and 20 < state["jitterBufferMs"] < 500, state["jitterBufferMs"]
    samples = []
    for _ in range(12):  # the arms and hands move as the person signs
        samples.append(page.evaluate("window.avatarCare.lastBones"))
        page.wait_for_timeout(150)

    def spread(bone: str) -> float:
        qs = [s[bone] for s in samples if bone in s]
        return max(
            math.degrees(2 * math.acos(min(1.0, abs(sum(a * b for a, b in zip(q, qs[0], strict=True))))))
            for q in qs
        )

    assert spread("rightLowerArm") > 5 or spread("leftLowerArm") > 5
    assert any(s.get("leftIndexProximal") for s in samples)  # the fingers are driven too
    page.locator("#language").select_option("en")
    assert "Connected" in page.locator(".room-status").inner_text()
    page.screenshot(path=str(artifacts / "demo-customer.png"))
    context.close()


def test_voice_and_motion_do_not_wait_for_the_avatar_to_load(browser: Browser, demo: str) -> None:
    """The connection is made while the model downloads: held back, the model keeps nothing waiting."""
    context = browser.new_context(viewport={"width": 320, "height": 240})
    held = hold_models(context)  # the model's request waits until the test lets it go
    page = context.new_page()
    page.goto(demo)
    page.wait_for_function("window.avatarCare && window.avatarCare.packetsReceived > 10", timeout=30000)
    state = page.evaluate("window.avatarCare")
    assert held, "the page asked for no model"
    assert state["connected"] and not state["lastBones"]  # connected, packets in, nothing drawn yet
    for route in held:
        route.continue_()
    page.wait_for_function("Object.keys(window.avatarCare.lastBones).length > 0", timeout=60000)
    assert page.evaluate("window.avatarCare.error") is None
    context.close()


def test_a_model_that_cannot_load_hangs_up_and_says_so(browser: Browser, demo: str) -> None:
    context = browser.new_context(viewport={"width": 320, "height": 240}, locale="en-GB")
    context.route("**/*.vrm", lambda route: route.abort())
    page = context.new_page()
    page.goto(demo)
    page.wait_for_function("window.avatarCare && window.avatarCare.connection === 'failed'", timeout=30000)
    assert page.evaluate("window.avatarCare.error")
    assert "failed" in page.locator(".room-status").inner_text()
    context.close()

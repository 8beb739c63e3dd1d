""" "Enter VR" in headless Chromium: iwer (Meta's WebXR emulation runtime) stands in for a Quest 3."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from tests.support import running_server

# The test-only hook, run before the page's own scripts: the emulated headset is installed while
# the room still loads its avatar, before three.js's VRButton asks whether immersive-vr is supported
# (the test then checks that the button offers to enter VR, so a lost race fails loudly).
EMULATED_HEADSET = """
window.__emulatedHeadset = import("/vendor/iwer/build/iwer.module.js").then(
  ({ XRDevice, metaQuest3 }) => new XRDevice(metaQuest3).installRuntime({ forceInstall: true })
);
"""


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_server("demo", tmp_path_factory.mktemp("xr")) as (_, first_line):
        yield first_line.split(" ", 1)[1]


def test_enter_vr_presents_the_room_with_the_avatar_in_front(
    browser: Browser, demo: str, artifacts: Path
) -> None:
    context = browser.new_context(viewport={"width": 800, "height": 600}, locale="en-US")
    page = context.new_page()
    page.add_init_script(EMULATED_HEADSET)
    page.goto(demo)
    page.wait_for_function("window.avatarCare && window.avatarCare.connected", timeout=30000)
    page.wait_for_function("document.querySelector('#enter-vr')?.textContent === 'ENTER VR'", timeout=15000)
    assert page.evaluate("window.avatarCare.xrPresenting") is False
    page.locator("#enter-vr").click()
    page.wait_for_function("window.avatarCare.xrPresenting === true", timeout=15000)
    page.wait_for_function("window.avatarCare.xrAvatarInView === true", timeout=15000)
    distance = page.evaluate("window.avatarCare.xrAvatarDistance")
    assert 0.8 < distance < 1.8, distance  # at conversational distance, not across the room
    received = page.evaluate("window.avatarCare.packetsReceived")
    page.wait_for_timeout(500)
    assert page.evaluate("window.avatarCare.packetsReceived") > received  # motion goes on in VR
    page.screenshot(path=str(artifacts / "live-customer-xr.png"))
    # the emulator draws its view over the page: press the button as a keyboard or screen reader does
    page.locator("#enter-vr").dispatch_event("click")  # EXIT VR
    page.wait_for_function("window.avatarCare.xrPresenting === false", timeout=15000)
    context.close()

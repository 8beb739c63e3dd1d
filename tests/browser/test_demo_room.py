"""The newcomer's first minute: `avatar-care demo`, a customer page, a signing avatar over WebRTC."""

import math
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser

from tests.browser.conftest import free_port


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    env = os.environ | {"AVATAR_CARE_DATA_DIR": str(tmp_path_factory.mktemp("demo"))}
    proc = subprocess.Popen(
        [sys.executable, "-m", "avatar_care.cli", "demo", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    customer = proc.stdout.readline().strip()
    assert customer.startswith("customer: http://127.0.0.1:"), customer
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2)
            break
        except httpx.TransportError:
            assert proc.poll() is None and time.monotonic() < deadline, "the demo server did not come up"
            time.sleep(0.2)
    yield customer.split(" ", 1)[1]
    proc.terminate()
    proc.wait(timeout=20)


def test_the_customer_sees_the_demo_operator_sign(browser: Browser, demo: str, artifacts: Path) -> None:
    context = browser.new_context(viewport={"width": 640, "height": 480}, locale="it-IT")
    page = context.new_page()
    page.goto(demo)
    page.wait_for_function("window.avatarCare && window.avatarCare.connected", timeout=30000)
    assert "Connesso" in page.locator("#status").inner_text()  # Italian from the browser's language
    page.wait_for_timeout(2500)
    state = page.evaluate("window.avatarCare")
    assert 24 <= state["packetsPerSecond"] <= 36, state["packetsPerSecond"]  # about 30 a second
    assert state["error"] is None
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
    assert "Connected" in page.locator("#status").inner_text()
    page.screenshot(path=str(artifacts / "demo-customer.png"))
    context.close()

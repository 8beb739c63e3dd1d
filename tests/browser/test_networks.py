"""The customer page on real networks' terms: over HTTPS with a certificate made at test time (the
microphone needs a secure context), back in the same room when the network comes back, and a
network that blocks the call named as such instead of a page that spins."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from tests.browser.conftest import launch_chromium
from tests.support import running_server
from tests.tls_certificate import self_signed

#: A name that is not loopback: only HTTPS makes a page on it a secure context.
NAME = "care.test"


@pytest.fixture(scope="module")
def secure_browser(browser: Browser) -> Iterator[Browser]:
    """Chromium that resolves care.test to loopback, accepts the test's own certificate and has a
    fake microphone that it may use without asking."""
    b = launch_chromium(
        browser.browser_type,
        f"--host-resolver-rules=MAP {NAME} 127.0.0.1",
        "--ignore-certificate-errors",
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
    )
    yield b
    b.close()


def test_over_https_the_customer_page_gets_its_microphone_and_the_room_connects(
    secure_browser: Browser, tmp_path: Path
) -> None:
    cert, key = self_signed(tmp_path)
    args = ("--tls-cert", str(cert), "--tls-key", str(key))
    with running_server("demo", tmp_path / "data", args=args, tls_cert=cert) as (base, _):
        port = base.rsplit(":", 1)[1]
        context = secure_browser.new_context(viewport={"width": 320, "height": 240}, locale="en-GB")
        page = context.new_page()
        response = page.goto(f"https://{NAME}:{port}/app/room/customer.html?room=demo", timeout=120000)
        assert response is not None and response.headers["strict-transport-security"]
        assert page.evaluate("window.isSecureContext")
        page.wait_for_function("window.avatarCare && window.avatarCare.connected", timeout=60000)
        page.wait_for_function("window.avatarCare.microphone === true", timeout=30000)
        page.wait_for_function("window.avatarCare.packetsReceived > 10", timeout=30000)
        assert "Your microphone is on" in page.locator(".room-mic").inner_text()
        assert page.evaluate("window.avatarCare.error") is None
        context.close()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_server("demo", tmp_path_factory.mktemp("demo")) as (_, first_line):
        yield first_line.split(" ", 1)[1]


def test_the_page_comes_back_to_the_room_when_the_network_does(browser: Browser, demo: str) -> None:
    context = browser.new_context(viewport={"width": 320, "height": 240}, locale="en-GB")
    page = context.new_page()
    page.goto(demo, timeout=120000)
    page.wait_for_function("window.avatarCare && window.avatarCare.packetsReceived > 10", timeout=60000)
    assert page.evaluate("window.avatarCare.peerConnections") == 1
    context.set_offline(True)  # the phone leaves the Wi-Fi...
    page.wait_for_timeout(1000)
    context.set_offline(False)  # ...and finds mobile data: the page makes a new connection
    page.wait_for_function("window.avatarCare.peerConnections >= 2", timeout=30000)
    page.wait_for_function("window.avatarCare.connected", timeout=60000)
    received = page.evaluate("window.avatarCare.packetsReceived")
    page.wait_for_function(f"window.avatarCare.packetsReceived > {received + 10}", timeout=30000)
    assert "Connected" in page.locator(".room-status").inner_text()
    context.close()


def test_a_network_that_blocks_the_call_is_named(browser: Browser, tmp_path: Path) -> None:
    """Only the relay is allowed, and the relay cannot be reached: every attempt fails, and the page
    says what is wrong and what to try, in the customer's language."""
    env = {
        "AVATAR_CARE_ICE_SERVERS": "turn:127.0.0.1:9",  # nothing listens there
        "AVATAR_CARE_TURN_SECRET": "unused",
        "AVATAR_CARE_ICE_TRANSPORT_POLICY": "relay",
    }
    with running_server("demo", tmp_path, env=env) as (_, first_line):
        context = browser.new_context(viewport={"width": 320, "height": 240}, locale="it-IT")
        page = context.new_page()
        page.goto(first_line.split(" ", 1)[1], timeout=120000)
        page.wait_for_function(
            "window.avatarCare && window.avatarCare.connection === 'blocked'", timeout=120000
        )
        status = page.locator(".room-status").inner_text()
        assert "La rete che stai usando sembra bloccare la chiamata" in status and "dati mobili" in status
        assert page.evaluate("window.avatarCare.peerConnections") >= 3  # it tried, then stopped
        page.locator("#language").select_option("en")
        assert "The network you are on seems to block the call" in page.locator(".room-status").inner_text()
        context.close()

"""The customer mutes their own microphone in the demo room, by keyboard: the toggle says it is
pressed, the page says the operator does not hear them, in English and Italian, and what goes on the
line is silence: the outgoing track is disabled (still sent, so nothing is renegotiated) and the
browser measures its level at 0; unmuting puts the voice back. Chromium's fake microphone reads a
text aloud (tests/browser/live_scenario.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.live_scenario import LOAD_TIMEOUT_MS, demo_server, launch_media_browser

pytestmark = pytest.mark.browser

# Keeps the page's peer connections, to read the outgoing audio track as the browser sends it.
RECORD_PEERS = """
(() => {
  const Native = window.RTCPeerConnection;
  window.__peers = [];
  window.RTCPeerConnection = class extends Native {
    constructor(...args) {
      super(...args);
      window.__peers.push(this);
    }
  };
})();
"""
# The outgoing audio: is the microphone's track on it and enabled, and how many bytes have gone.
OUTGOING = """async () => {
  const pc = window.__peers.at(-1);
  const sender = pc.getSenders().find((s) => s.track && s.track.kind === "audio");
  let bytes = 0;
  (await pc.getStats()).forEach((s) => {
    if (s.type === "outbound-rtp" && s.kind === "audio") bytes = s.bytesSent;
  });
  return {track: Boolean(sender), enabled: sender ? sender.track.enabled : null, bytes};
}"""


@pytest.fixture(scope="module")
def media_browser(browser: Browser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    b = launch_media_browser(browser.browser_type, tmp_path_factory.mktemp("microphone"))
    yield b
    b.close()


def level_reaches(page: Page, above: bool, threshold: float) -> None:
    """Polls the sender's measured level of the microphone (media-source stats, every 0.5 s)."""
    check = "l > t" if above else "l !== null && l <= t"
    page.wait_for_function(
        f"((l, t) => {check})(window.avatarCare.outgoingAudioLevel, {threshold})", timeout=30000
    )


def test_the_customer_mutes_their_own_microphone_by_keyboard(media_browser: Browser, tmp_path: Path) -> None:
    with demo_server(tmp_path / "data") as links:
        context = media_browser.new_context(viewport={"width": 900, "height": 700}, locale="en-US")
        context.add_init_script(RECORD_PEERS)
        page = context.new_page()
        page.goto(links["customer"])
        page.wait_for_function(
            "window.avatarCare && window.avatarCare.connected && window.avatarCare.microphoneSending",
            timeout=LOAD_TIMEOUT_MS,
        )
        page.get_by_label("Language").select_option("en")
        mute = page.get_by_role("button", name="Mute my microphone")
        expect(mute).to_have_attribute("aria-pressed", "false")
        expect(page.locator(".room-mic")).to_have_text("Your microphone is on")
        level_reaches(page, above=True, threshold=0.001)  # the reading voice goes out

        mute.focus()
        page.keyboard.press("Space")
        expect(mute).to_have_attribute("aria-pressed", "true")
        expect(page.locator(".room-mic")).to_have_text(
            "Your microphone is muted: the operator cannot hear you"
        )
        outgoing = page.evaluate(OUTGOING)
        assert outgoing["track"] is True and outgoing["enabled"] is False, outgoing
        assert page.evaluate("window.avatarCare.microphoneSending") is False
        level_reaches(page, above=False, threshold=0.0)  # silence on the line
        # silence is still sent: the line stays up, nothing to renegotiate when unmuting
        page.wait_for_timeout(1500)
        assert page.evaluate(OUTGOING)["bytes"] > outgoing["bytes"]
        assert page.evaluate("window.avatarCare.outgoingAudioLevel") == 0

        # in Italian the same toggle, still pressed; Enter unmutes
        page.get_by_label("Language").select_option("it")
        mute = page.get_by_role("button", name="Disattiva il mio microfono")
        expect(mute).to_have_attribute("aria-pressed", "true")
        expect(page.locator(".room-mic")).to_have_text(
            "Il tuo microfono è disattivato: l'operatore non ti sente"
        )
        mute.focus()
        page.keyboard.press("Enter")
        expect(mute).to_have_attribute("aria-pressed", "false")
        expect(page.locator(".room-mic")).to_have_text("Il tuo microfono è attivo")
        assert page.evaluate(OUTGOING)["enabled"] is True
        level_reaches(page, above=True, threshold=0.001)
        context.close()

"""The customer mutes their own microphone, by keyboard: the toggle says it is pressed, the page
says the operator does not hear them, in English and Italian, and what goes on the line is silence:
in the demo room the outgoing track is disabled (still sent, so nothing is renegotiated) and the
browser measures its level at 0; in a consultation the operator's side (an aiortc peer joined with
the operator's token) hears the customer's voice, then silence, then the voice again. Chromium's
fake microphone reads a text aloud (tests/browser/live_scenario.py)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError
from playwright.sync_api import Browser, Page, expect
from websockets.asyncio.client import connect as ws_connect

from tests.browser.live_scenario import LOAD_TIMEOUT_MS, demo_server, launch_media_browser
from tests.browser.test_brand_room import consultation

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


class OperatorEar:
    """The operator's side of a consultation's live room as an aiortc peer (what the console's
    connection is: a landmarks channel, the customers' voices received): joined with the operator's
    token, it keeps the level (RMS, full scale 1) of every audio frame it hears, with its time. It
    runs its own event loop in a thread: Playwright's synchronous API holds this thread's."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self.token = token
        self.levels: list[tuple[float, float]] = []
        self.error: BaseException | None = None
        self.joined = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._main, daemon=True)
        self._thread.start()

    def _main(self) -> None:
        try:
            asyncio.run(self._run())
        except BaseException as exc:  # reported to the test, which asserts on it
            self.error = exc
            self.joined.set()

    async def _listen(self, track: MediaStreamTrack) -> None:
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            samples = frame.to_ndarray().astype(np.float64) / 32768.0
            self.levels.append((time.monotonic(), float(np.sqrt(np.mean(samples**2)))))

    async def _run(self) -> None:
        pc = RTCPeerConnection()
        tasks: list[asyncio.Task[None]] = []
        pc.createDataChannel("landmarks", ordered=False, maxRetransmits=0)
        pc.addTransceiver("audio", direction="recvonly")
        pc.on("track", lambda track: tasks.append(asyncio.create_task(self._listen(track))))
        try:
            async with ws_connect(self.url, open_timeout=30) as ws:
                await ws.send(json.dumps({"type": "join", "role": "operator", "token": self.token}))
                joined = json.loads(await asyncio.wait_for(ws.recv(), 30))
                assert joined["type"] == "joined", joined
                await pc.setLocalDescription(await pc.createOffer())
                await ws.send(json.dumps({"type": "offer", "sdp": pc.localDescription.sdp}))
                answer = json.loads(await asyncio.wait_for(ws.recv(), 60))
                assert answer["type"] == "answer", answer
                await pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))
                self.joined.set()
                while not self._stop.is_set():
                    await asyncio.sleep(0.1)
        finally:
            await pc.close()
            for task in tasks:
                task.cancel()

    def loudest(self, seconds: float) -> tuple[int, float]:
        """How many frames came in the last ``seconds``, and the loudest of them."""
        since = time.monotonic() - seconds
        recent = [level for at, level in list(self.levels) if at >= since]
        return len(recent), max(recent, default=0.0)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


def heard(ear: OperatorEar, voice: bool, window_s: float = 3.0, timeout_s: float = 45.0) -> tuple[int, float]:
    """Waits until the last ``window_s`` of what the operator hears is the voice (loudest above
    0.01) or silence (frames, none above 0.001); returns that window's count and loudest level."""
    deadline = time.monotonic() + timeout_s
    while True:
        assert ear.error is None, ear.error
        frames, loudest = ear.loudest(window_s)
        if frames > 0 and (loudest > 0.01 if voice else loudest < 0.001):
            return frames, loudest
        assert time.monotonic() < deadline, (
            f"{'voice' if voice else 'silence'} never heard: {frames}, {loudest}"
        )
        time.sleep(0.25)


def test_the_operator_hears_silence_while_the_customer_is_muted(
    media_browser: Browser, server: str, data_dir: Path
) -> None:
    care = consultation(server, data_dir, "Ottica Muta", {"scene": "boutique"})
    context = media_browser.new_context(viewport={"width": 900, "height": 700}, locale="en-US")
    page = context.new_page()
    page.goto(care.link)
    sid = care.accept()
    with httpx.Client(base_url=server, timeout=10) as http:
        sessions: list[dict[str, Any]] = http.get("/api/queue", headers=care.operator).json()["sessions"]
    room_id = next(s["live_room_id"] for s in sessions if s["session_id"] == sid)
    token = care.operator["Authorization"].removeprefix("Bearer ")
    ear = OperatorEar(f"{server.replace('http', 'ws', 1)}/ws/rooms/{room_id}", token)
    try:
        assert ear.joined.wait(60) and ear.error is None, ear.error
        page.wait_for_function("window.avatarCare && window.avatarCare.microphoneSending", timeout=60000)
        heard(ear, voice=True)  # the customer's reading voice reaches the operator

        mute = page.get_by_role("button", name="Mute my microphone")
        mute.focus()
        page.keyboard.press("Enter")
        expect(mute).to_have_attribute("aria-pressed", "true")
        page.wait_for_timeout(1000)  # what was on its way before the press
        frames, _ = heard(ear, voice=False)
        assert frames > 50, frames  # silence still arrives (3 s of 20 ms frames): the line stays up

        page.keyboard.press("Space")
        expect(mute).to_have_attribute("aria-pressed", "false")
        heard(ear, voice=True)
    finally:
        ear.close()
        context.close()

"""The customer page in Debian's chromium, run inside the customer's namespace.

``python -m tests.network.browser_customer URL connect --seconds S`` opens the page, waits until
it is connected, counts the motion packets it gets over ``S`` seconds, reads the candidate pair
the browser selected (``getStats``) and how much of the operator's voice it heard, and prints one
JSON line. ``... URL blocked`` waits for the page to say that the network blocks the call and
prints what it says, in Italian and in English.

Playwright launches chromium from this process, so the browser's sockets are in this namespace.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from playwright.sync_api import Page, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.browser.conftest import launch_chromium

#: Keeps every RTCPeerConnection the page makes, so the test can ask it which pair it selected.
RECORD_PEERS = """
(() => {
  const Native = window.RTCPeerConnection;
  window.__peers = [];
  window.RTCPeerConnection = class extends Native {
    constructor(...args) { super(...args); window.__peers.push(this); }
  };
})();
"""

#: Messages the browser's data channel received so far (counted where WebRTC receives them, apart
#: from the page's own handler, which a busy main thread delays).
CHANNEL_MESSAGES = """
async () => {
  const pc = window.__peers[window.__peers.length - 1];
  let n = 0;
  (await pc.getStats()).forEach((s) => { if (s.type === "data-channel" && s.label === "motion") n += s.messagesReceived; });
  return n;
}
"""

#: The motion packets the server's demo room sent so far (its /metrics, fetched by the page).
SERVER_SENT = """
async (token) => {
  const text = await (await fetch("/metrics", {headers: {Authorization: `Bearer ${token}`}})).text();
  const line = text.split("\\n").find((l) => l.startsWith('avatar_care_motion_packets_sent_total{room="demo"}'));
  return line ? Number(line.split(" ").pop()) : null;
}
"""

SELECTED_PAIR = """
async () => {
  const pc = window.__peers[window.__peers.length - 1];
  const stats = await pc.getStats();
  let pair = null;
  stats.forEach((s) => { if (s.type === "transport" && s.selectedCandidatePairId) pair = stats.get(s.selectedCandidatePairId); });
  if (!pair) stats.forEach((s) => { if (s.type === "candidate-pair" && s.nominated && s.state === "succeeded") pair = s; });
  if (!pair) return null;
  const local = stats.get(pair.localCandidateId), remote = stats.get(pair.remoteCandidateId);
  return {local: local.candidateType, remote: remote.candidateType, relay_transport: local.relayProtocol || "-",
          local_address: `${local.address}:${local.port}`, remote_address: `${remote.address}:${remote.port}`};
}
"""


def connect(page: Page, seconds: float, metrics_token: str) -> dict[str, Any]:
    page.wait_for_function("window.avatarCare && window.avatarCare.connected", timeout=90000)
    page.wait_for_function("window.avatarCare.packetsReceived > 0", timeout=30000)
    page.wait_for_timeout(500)
    channel_before, sent_before = page.evaluate(CHANNEL_MESSAGES), page.evaluate(SERVER_SENT, metrics_token)
    before, t0 = page.evaluate("window.avatarCare.packetsReceived"), time.monotonic()
    levels = []
    while time.monotonic() < t0 + seconds:  # the voice's level now and then (speech has pauses)
        levels.append(page.evaluate("window.avatarCare.audioLevel"))
        page.wait_for_timeout(200)
    after, t1 = page.evaluate("window.avatarCare.packetsReceived"), time.monotonic()
    channel_after, sent_after = page.evaluate(CHANNEL_MESSAGES), page.evaluate(SERVER_SENT, metrics_token)
    # the page's own handler runs on its main thread, which a busy machine delays: has it handled
    # every message the channel had received, a few seconds later?
    try:
        page.wait_for_function(f"window.avatarCare.packetsReceived >= {channel_after}", timeout=10000)
        page_caught_up = True
    except PlaywrightTimeout:
        page_caught_up = False
    return {
        "connected": True,
        "packets_per_s": (after - before) / (t1 - t0),
        "channel_messages_per_s": (channel_after - channel_before) / (t1 - t0),
        "server_sent_per_s": (sent_after - sent_before) / (t1 - t0),
        "page_caught_up": page_caught_up,
        "pair": page.evaluate(SELECTED_PAIR),
        "audio_bytes": page.evaluate("window.avatarCare.audioBytesReceived"),
        "audio_level_max": max(levels),
        "peer_connections": page.evaluate("window.avatarCare.peerConnections"),
    }


def blocked(page: Page) -> dict[str, Any]:
    page.wait_for_function("window.avatarCare && window.avatarCare.connection === 'blocked'", timeout=150000)
    italian = page.locator(".room-status").inner_text()
    page.locator("#language").select_option("en")
    english = page.locator(".room-status").inner_text()
    return {
        "blocked": True,
        "it": italian,
        "en": english,
        "peer_connections": page.evaluate("window.avatarCare.peerConnections"),
        "ever_connected": page.evaluate("window.avatarCare.packetsReceived") > 0,
    }


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.network.browser_customer")
    parser.add_argument("url")
    parser.add_argument("expect", choices=["connect", "blocked"])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--metrics-token", default="", help="the server's AVATAR_CARE_METRICS_TOKEN")
    args = parser.parse_args()
    with sync_playwright() as p:
        browser = launch_chromium(p.chromium)
        try:
            context = browser.new_context(viewport={"width": 320, "height": 240}, locale="it-IT")
            context.add_init_script(RECORD_PEERS)
            page = context.new_page()
            page.goto(args.url)
            result = (
                connect(page, args.seconds, args.metrics_token) if args.expect == "connect" else blocked(page)
            )
        except Exception as exc:  # the test reads what went wrong
            result = {"error": f"{type(exc).__name__}: {exc}"}
        finally:
            browser.close()
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

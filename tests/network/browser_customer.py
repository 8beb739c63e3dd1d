"""The customer page in Debian's chromium, run inside the customer's namespace.

``python -m tests.network.browser_customer URL connect --seconds S`` opens the page, waits until
it is connected, counts the motion packets it gets over ``S`` seconds, reads the candidate pair
the browser selected (``getStats``) and how much of the operator's voice it heard, and prints one
JSON line. ``... URL blocked`` waits for the page to say that the network blocks the call and
prints what it says, in Italian and in English. ``... URL gather --ice JSON --seconds S`` opens
``URL`` (any page of the server), makes a peer connection with that RTCConfiguration and prints
when each candidate and each ICE server's error came during ``S`` seconds of gathering.

Playwright launches chromium from this process, so the browser's sockets are in this namespace.
Chromium on Linux trusts, beside its own roots, the authorities in the NSS database of the user it
runs as (``$HOME/.pki/nssdb``): :func:`trusting_home` makes a home whose database trusts a test
authority, for a relay whose ``turns:`` certificate that authority signed.
"""

from __future__ import annotations

import argparse
import itertools
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.browser.conftest import launch_chromium

#: Keeps every RTCPeerConnection the page makes, so the test can ask it which pair it selected;
#: the ICE servers each one could not use (``icecandidateerror``: URL, code, text); and each motion
#: packet's arrival (page time, the packet's sequence number: bytes 2-3, docs/motion-codec.md).
RECORD_PEERS = """
(() => {
  const Native = window.RTCPeerConnection;
  window.__peers = [];
  window.__candidateErrors = [];
  window.__motion = [];
  window.RTCPeerConnection = class extends Native {
    constructor(...args) {
      super(...args);
      window.__peers.push(this);
      this.addEventListener("icecandidateerror", (e) =>
        window.__candidateErrors.push({url: e.url, code: e.errorCode, text: e.errorText}));
    }
    createDataChannel(label, ...rest) {
      const channel = super.createDataChannel(label, ...rest);
      if (label === "motion") {
        channel.addEventListener("message", (e) => {
          if (e.data instanceof ArrayBuffer && e.data.byteLength >= 4) {
            window.__motion.push([performance.now(), new DataView(e.data).getUint16(2, true)]);
          }
        });
      }
      return channel;
    }
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
  // the demo room's line, whatever other labels (the process it came from) it has
  const line = text.split("\\n").find((l) => l.startsWith("avatar_care_motion_packets_sent_total{") && l.includes('room="demo"'));
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
    page_t0 = page.evaluate("performance.now()")
    levels = []
    while time.monotonic() < t0 + seconds:  # the voice's level now and then (speech has pauses)
        levels.append(page.evaluate("window.avatarCare.audioLevel"))
        page.wait_for_timeout(200)
    after, t1 = page.evaluate("window.avatarCare.packetsReceived"), time.monotonic()
    page_t1 = page.evaluate("performance.now()")
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
        "delivered": delivered(
            [seq for t, seq in page.evaluate("window.__motion") if page_t0 <= t < page_t1]
        ),
        "pair": page.evaluate(SELECTED_PAIR),
        "audio_bytes": page.evaluate("window.avatarCare.audioBytesReceived"),
        "audio_level_max": max(levels),
        "peer_connections": page.evaluate("window.avatarCare.peerConnections"),
        "candidate_errors": candidate_errors(page),
    }


def delivered(seqs: list[int]) -> float:
    """Of the motion packets the room sent between the first and the last of ``seqs`` (sequence
    numbers in arrival order, 16 bits that wrap), the share that arrived."""
    if not seqs:
        return 0.0
    unwrapped, offset = [seqs[0]], 0
    for previous, seq in itertools.pairwise(seqs):
        step = (seq - previous) % 65536
        if step < 32768 and seq < previous:  # forward across the wrap
            offset += 65536
        elif step >= 32768 and seq > previous:  # a late packet from before the wrap
            offset -= 65536
        unwrapped.append(seq + offset)
    return len(set(unwrapped)) / (max(unwrapped) - min(unwrapped) + 1)


def candidate_errors(page: Page) -> list[dict[str, Any]]:
    """The ``icecandidateerror`` events of every peer connection so far, each (URL, code, text) once."""
    seen: dict[str, dict[str, Any]] = {}
    for error in page.evaluate("window.__candidateErrors"):
        seen.setdefault(f"{error['url']} {error['code']} {error['text']}", error)
    return list(seen.values())


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
        "candidate_errors": candidate_errors(page),
    }


#: One peer connection's ICE gathering for ``seconds``: each candidate (type, the server's URL) and
#: each ``icecandidateerror`` with its time (ms from the offer), and the gathering state at the end.
GATHER = """
async ([config, seconds]) => {
  const pc = new RTCPeerConnection(config);
  pc.createDataChannel("motion");
  const events = [];
  const t0 = performance.now();
  const at = () => Math.round(performance.now() - t0);
  pc.addEventListener("icecandidate", (e) => { if (e.candidate) events.push({ms: at(), type: e.candidate.type, url: e.candidate.url || ""}); });
  pc.addEventListener("icecandidateerror", (e) => events.push({ms: at(), error: e.errorCode, url: e.url}));
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((resolve) => {
    const end = setTimeout(resolve, seconds * 1000);
    pc.addEventListener("icegatheringstatechange", () => {
      if (pc.iceGatheringState === "complete") { clearTimeout(end); resolve(); }
    });
  });
  const state = pc.iceGatheringState;
  pc.close();
  return {events, state, ms: at()};
}
"""


def trusting_home(folder: Path, *authorities: Path) -> Path:
    """A home folder (``HOME`` for chromium) whose NSS database trusts ``authorities`` to sign server
    certificates, made with ``certutil`` (Debian's libnss3-tools)."""
    certutil = shutil.which("certutil")
    assert certutil is not None, (
        "certutil is needed to trust the test authorities in chromium's NSS database: "
        "apt-get install libnss3-tools (scripts/setup.sh --dev)"
    )
    database = folder / ".pki" / "nssdb"
    database.mkdir(parents=True, exist_ok=True)
    commands = [["-N", "--empty-password"]] + [
        ["-A", "-n", f"avatar-care test authority {n}", "-t", "C,,", "-i", str(authority)]
        for n, authority in enumerate(authorities)
    ]
    for args in commands:
        done = subprocess.run(
            [certutil, "-d", f"sql:{database}", *args], capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, f"certutil {' '.join(args)}: {done.stderr.strip()}"
    return folder


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.network.browser_customer")
    parser.add_argument("url")
    parser.add_argument("expect", choices=["connect", "blocked", "gather"])
    parser.add_argument("--ice", default="{}", help="gather: the RTCConfiguration (JSON)")
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
            if args.expect == "connect":
                result = connect(page, args.seconds, args.metrics_token)
            elif args.expect == "blocked":
                result = blocked(page)
            else:
                result = page.evaluate(GATHER, [json.loads(args.ice), args.seconds])
        except Exception as exc:  # the test reads what went wrong
            result = {"error": f"{type(exc).__name__}: {exc}"}
        finally:
            browser.close()
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

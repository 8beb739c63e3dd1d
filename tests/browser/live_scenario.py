"""The live room in two real browsers, for the end-to-end test and the latency benchmark: a real
`avatar-care demo` server, an operator console whose fake camera is a signing clip and whose fake
microphone is a reading voice, and a customer page; the figures read from /metrics."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import cv2
import httpx
import numpy as np
from playwright.sync_api import Browser, BrowserContext, BrowserType, Page, Route
from prometheus_client.parser import text_string_to_metric_families

from rigging.kinematics import forward
from tests.browser.conftest import launch_chromium
from tests.shared_data import shared
from tests.support import drain, free_port, stop

CLIP = "media/asl/book.mkv"  # a person signing "book" at a webcam: both hands rise in front of the chest
SPEECH = "speech/sense_and_sensibility_01_austen_64kb-0870.wav"
HOPS = ("capture", "solve", "send", "receive", "render")
#: Page loads and first tracking on two cores, with two browsers rendering WebGL in software.
LOAD_TIMEOUT_MS = 180_000
#: the demo server's /metrics asks for it (AVATAR_CARE_METRICS_TOKEN)
METRICS_TOKEN = "live-scenario-metrics"


def make_y4m(clip: Path, out: Path) -> Path:
    """Chromium's fake camera plays a .y4m in a loop: the clip's frames, once, as 640x480 I420."""
    capture = cv2.VideoCapture(str(clip))
    n = 0
    with out.open("wb") as f:
        f.write(b"YUV4MPEG2 W640 H480 F30:1 Ip A1:1 C420jpeg\n")
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            frame = cv2.resize(frame, (640, 480), interpolation=cv2.INTER_AREA)
            f.write(b"FRAME\n" + cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420).tobytes())
            n += 1
    capture.release()
    assert n > 30, f"{clip}: only {n} frames decoded"
    return out


def launch_media_browser(browser_type: BrowserType, workdir: Path) -> Browser:
    """A Chromium whose camera is the signing clip and whose microphone is a reading voice."""
    y4m = make_y4m(shared(CLIP), workdir / "book.y4m")
    return launch_chromium(
        browser_type,
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={y4m}",
        f"--use-file-for-fake-audio-capture={shared(SPEECH)}",
    )


@contextmanager
def demo_server(data_dir: Path) -> Iterator[dict[str, str]]:
    """`avatar-care demo` on a free port; yields its printed links and its /metrics URL."""
    port = free_port()
    env = os.environ | {"AVATAR_CARE_DATA_DIR": str(data_dir), "AVATAR_CARE_METRICS_TOKEN": METRICS_TOKEN}
    proc = subprocess.Popen(
        [sys.executable, "-m", "avatar_care.cli", "demo", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        links = dict(proc.stdout.readline().strip().split(": ", 1) for _ in range(2))
        drain(proc.stdout)
        assert set(links) == {"customer", "operator"}, links
        deadline = time.monotonic() + 120
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=5)
                break
            except httpx.TransportError:
                assert proc.poll() is None, "avatar-care demo exited"
                assert time.monotonic() < deadline, "avatar-care demo did not come up in 120 s"
                time.sleep(0.2)
        links["metrics"] = f"http://127.0.0.1:{port}/metrics"
        yield links
    finally:
        stop(proc, timeout=30)


def hold_models(context: BrowserContext) -> list[Route]:
    """Hold back every avatar model the context's pages ask for; the test continues the routes
    returned (``route.continue_()``) when it has seen what happens without the model."""
    held: list[Route] = []

    def hold(route: Route) -> None:
        held.append(route)

    context.route("**/*.vrm", hold)
    return held


def open_page(browser: Browser, url: str, viewport: tuple[int, int]) -> Page:
    context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]}, locale="en-US")
    context.set_default_timeout(LOAD_TIMEOUT_MS)
    context.set_default_navigation_timeout(LOAD_TIMEOUT_MS)
    page = context.new_page()
    page.goto(url)
    page.wait_for_function("window.avatarCare && window.avatarCare.connected", timeout=LOAD_TIMEOUT_MS)
    return page


def open_console(browser: Browser, links: dict[str, str], mode: str) -> Page:
    """The operator's console in ``mode``, once its capture drives the avatar (the mirror's packets)."""
    page = open_page(browser, f"{links['operator']}&mode={mode}", (1100, 900))
    page.wait_for_function("window.avatarCare.packetsReceived > 5", timeout=LOAD_TIMEOUT_MS)
    return page


def metrics(links: dict[str, str]) -> str:
    return httpx.get(links["metrics"], headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=60).text


def metric(text: str, name: str, labels: str = 'room="demo"') -> float:
    """The sample of ``name`` whose labels include ``labels`` (others, such as the process the
    figure came from, may be there too)."""
    want = dict(pair.split("=", 1) for pair in labels.split(",")) if labels else {}
    want = {k: v.strip('"') for k, v in want.items()}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and want.items() <= sample.labels.items():
                return float(sample.value)
    raise AssertionError(f"{name}{{{labels}}} not in /metrics")


def has_metric(text: str, name: str, labels: str) -> bool:
    try:
        metric(text, name, labels)
    except AssertionError:
        return False
    return True


def hop_quantiles(text: str, room: str = "demo") -> dict[str, tuple[float, float]]:
    """``{hop: (p50, p95)}`` for every hop /metrics has samples of."""
    out: dict[str, tuple[float, float]] = {}
    for hop in HOPS:
        try:
            p50 = metric(text, "avatar_care_hop_ms", f'room="{room}",hop="{hop}",quantile="0.5"')
            p95 = metric(text, "avatar_care_hop_ms", f'room="{room}",hop="{hop}",quantile="0.95"')
        except AssertionError:
            continue
        out[hop] = (p50, p95)
    if has_metric(text, "avatar_care_capture_transit_ms", f'room="{room}"'):  # edge capture sends no video
        out["transit"] = (
            metric(text, "avatar_care_capture_transit_ms", f'room="{room}",quantile="0.5"'),
            metric(text, "avatar_care_capture_transit_ms", f'room="{room}",quantile="0.95"'),
        )
    return out


WHAT = {
    "capture": "camera frame to landmarks at the server's hub",
    "transit": "server capture: camera frame to decoded at the server (part of capture)",
    "solve": "landmarks at the hub to pose solved",
    "send": "... to packet sent",
    "receive": "... to packet at the customer (half the report's round trip)",
    "render": "... to the pose first drawn at the customer",
}


def hop_table(runs: dict[str, dict[str, tuple[float, float]]], notes: dict[str, str] | None = None) -> str:
    """The per-hop p50/p95 table, one pair of columns a mode, and the camera-to-customer total
    (capture, which ends where the server's hops start, plus render, which runs from there to the
    customer's screen: p50s added, and p95s added as an upper bound)."""
    modes = list(runs)
    head = "hop      | " + " | ".join(f"{m} p50 | {m} p95" for m in modes) + " | what"
    lines = [head, "-" * len(head)]
    for hop in (*HOPS[:1], "transit", *HOPS[1:]):
        cells = []
        for m in modes:
            p50, p95 = runs[m].get(hop, (math.nan, math.nan))
            cells.append(f"{p50:8.1f} | {p95:8.1f}")
        lines.append(f"{hop:8} | " + " | ".join(cells) + f" | {WHAT[hop]}")
    cells = []
    for m in modes:
        r = runs[m]
        total50 = r.get("capture", (math.nan,))[0] + r.get("render", (math.nan,))[0]
        total95 = r.get("capture", (0, math.nan))[1] + r.get("render", (0, math.nan))[1]
        cells.append(f"{total50:8.1f} | <={total95:6.1f}")
    lines.append("total    | " + " | ".join(cells) + " | camera to customer: capture + render")
    for key, note in (notes or {}).items():
        lines.append(f"{key}: {note}")
    return "\n".join(lines) + "\n"


@dataclass
class Window:
    """What the customer got over a window of time."""

    seconds: float
    frames_solved: int
    packets_received: int
    poses: list[dict[str, list[float]]]  # one per packet seen while sampling (distinct packets)


# Runs in the customer's page: keeps the avatar's bones each time a new packet has been received,
# checked every 20 ms in the page itself (a round trip from the test per sample would miss most of
# them on a busy machine).
COLLECT_POSES = """() => {
  window.__poses = [];
  let seen = window.avatarCare.packetsReceived;
  window.__collector = setInterval(() => {
    const s = window.avatarCare;
    if (s.packetsReceived !== seen) {
      seen = s.packetsReceived;
      window.__poses.push(s.lastBones);
    }
  }, 20);
}"""


def watch_customer(
    customer: Page,
    links: dict[str, str],
    min_frames: int,
    min_poses: int,
    timeout_s: float,
    min_seconds: float = 0.0,
) -> Window:
    """Watch the customer's avatar until the server has solved ``min_frames`` frames, the page has
    shown ``min_poses`` distinct packets' poses and ``min_seconds`` have passed (or the time is up):
    counts over a window, not a rate, as the machine may be busy."""
    frames_before = metric(metrics(links), "avatar_care_motion_frames_total")
    received_before = customer.evaluate("window.avatarCare.packetsReceived")
    customer.evaluate(COLLECT_POSES)
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        customer.wait_for_timeout(1000)
        solved = metric(metrics(links), "avatar_care_motion_frames_total") - frames_before
        if (
            solved >= min_frames
            and customer.evaluate("window.__poses.length") >= min_poses
            and time.monotonic() - started >= min_seconds
        ):
            break
    customer.wait_for_timeout(500)  # the last packets' way to the customer
    solved = int(metric(metrics(links), "avatar_care_motion_frames_total") - frames_before)
    received = customer.evaluate("window.avatarCare.packetsReceived") - received_before
    poses = customer.evaluate("clearInterval(window.__collector), window.__poses")
    return Window(time.monotonic() - started, solved, received, poses)


def frames_drawn_per_second(page: Page, seconds: float = 2.0) -> float:
    """How often the page gets to draw (requestAnimationFrame callbacks a second): with software
    WebGL on a busy machine this, not the network, sets most of the render hop."""
    count = page.evaluate(
        """(ms) => new Promise((resolve) => {
          let n = 0;
          const end = performance.now() + ms;
          const tick = (t) => (t < end ? (n += 1, requestAnimationFrame(tick)) : resolve(n));
          requestAnimationFrame(tick);
        })""",
        seconds * 1000,
    )
    return float(count) / seconds


SIDES = ("left", "right")


def hands_raised_in_front(bones: dict[str, list[float]]) -> bool:
    """Both of the avatar's hands well above hanging and in front of its chest (forward kinematics
    on the rest skeleton, a T-pose: hanging hands are about 0.6 m below their rest height), as the
    person's are through most of the "book" sign; the thresholds of
    tests/avatar_care/capture/test_capture_to_avatar.py."""
    _, joints, _ = forward({b: np.array(q, dtype=np.float64) for b, q in bones.items()})
    _, rest, _ = forward({})
    chest = joints["upperChest"]
    return all(
        joints[f"{s}Hand"][1] > rest[f"{s}Hand"][1] - 0.35 and joints[f"{s}Hand"][2] > chest[2] + 0.05
        for s in SIDES
    )

"""Behind the shipped deploy/Caddyfile (Debian's caddy in front, TLS from its own local CA here
instead of a public one): pages and API over HTTPS with HSTS, the signaling WebSocket upgraded
through the proxy, and a customer's peer connecting through it to the demo's avatar."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from aiortc import RTCSessionDescription
from websockets.asyncio.client import connect

from avatar_care.live.ice import use_loopback_only
from avatar_care.live.room import wait_open
from tests.avatar_care.api.test_live_rooms import Watching
from tests.support import free_port, running_server

ROOT = Path(__file__).resolve().parents[2]
CADDY = "/usr/bin/caddy"


@pytest.fixture
def behind_caddy(tmp_path: Path) -> Iterator[str]:
    """``avatar-care demo`` trusting forwarded headers from loopback, behind Caddy; yields Caddy's origin."""
    assert shutil.which(CADDY), "Debian's caddy is needed: apt-get install caddy (scripts/setup.sh --dev)"
    trusted = {"AVATAR_CARE_TRUSTED_PROXIES": "127.0.0.1"}
    with running_server("demo", tmp_path / "data", env=trusted) as (base, _):
        https, http = free_port(), free_port()
        config = tmp_path / "Caddyfile"
        # the test's own global options (ports, a local CA, nothing installed system-wide), then
        # the shipped site block, unchanged
        config.write_text(
            "{\n\tadmin off\n\tskip_install_trust\n\tlocal_certs\n"
            f"\thttp_port {http}\n\thttps_port {https}\n"
            f"\tstorage file_system {tmp_path / 'caddy'}\n}}\n"
            f"import {ROOT / 'deploy' / 'Caddyfile'}\n",
            encoding="utf-8",
        )
        env = os.environ | {
            "AVATAR_CARE_DOMAIN": "localhost",
            "AVATAR_CARE_UPSTREAM": base.removeprefix("http://"),
            "XDG_DATA_HOME": str(tmp_path / "xdg"),
            "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
        }
        log = (tmp_path / "caddy.log").open("w")
        proc = subprocess.Popen(
            [CADDY, "run", "--adapter", "caddyfile", "--config", str(config)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        origin = f"https://localhost:{https}"
        try:
            deadline = time.monotonic() + 30
            while True:
                assert proc.poll() is None, (tmp_path / "caddy.log").read_text()
                try:
                    httpx.get(f"{origin}/api/health", verify=False, timeout=2).raise_for_status()
                    break
                except (httpx.TransportError, httpx.HTTPStatusError):
                    assert time.monotonic() < deadline, (tmp_path / "caddy.log").read_text()[-3000:]
                    time.sleep(0.2)
            yield origin
        finally:
            proc.terminate()
            proc.wait(timeout=10)
            log.close()


def test_a_customer_connects_through_caddy(behind_caddy: str) -> None:
    r = httpx.get(f"{behind_caddy}/app/room/customer.html", verify=False, timeout=10)
    assert r.status_code == 200 and r.headers["strict-transport-security"] == "max-age=31536000"
    insecure = ssl.create_default_context()
    insecure.check_hostname = False
    insecure.verify_mode = ssl.CERT_NONE
    use_loopback_only()
    try:
        asyncio.run(_watch_the_demo(behind_caddy.replace("https", "wss") + "/ws/rooms/demo", insecure))
    finally:
        use_loopback_only(False)


async def _watch_the_demo(url: str, context: ssl.SSLContext) -> None:
    watcher = Watching()
    await watcher.pc.setLocalDescription(await watcher.pc.createOffer())
    async with connect(url, ssl=context) as ws:  # the signaling WebSocket, upgraded through Caddy
        await ws.send(json.dumps({"type": "join", "role": "customer"}))
        joined = json.loads(await asyncio.wait_for(ws.recv(), 20))
        assert joined["type"] == "joined" and joined["ice"]["iceTransportPolicy"] == "all"
        await ws.send(json.dumps({"type": "offer", "sdp": watcher.pc.localDescription.sdp}))
        answer = json.loads(await asyncio.wait_for(ws.recv(), 30))
        assert answer["type"] == "answer", answer
        await watcher.pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))
        await wait_open(watcher.channel, timeout=20)
        deadline = time.monotonic() + 20
        while len(watcher.packets) < 30:  # the demo operator's motion arrives
            assert time.monotonic() < deadline, len(watcher.packets)
            await asyncio.sleep(0.1)
    await watcher.close()

"""TURN over TLS on port 443 beside Caddy's HTTPS, for customers whose network lets out only TCP to 443.

The VM has two addresses (docs/deploy.md, "TURN over TLS on 443"): Debian's caddy on the shipped
deploy/Caddyfile binds the first (``default_bind`` in its global options) and passes the pages and
the signaling WebSocket to ``avatar-care demo``; Debian's coturn on the shipped
deploy/turnserver-443.conf listens on the second only, with TURN over TLS on 443. Debian's caddy
has no layer-4 routing (no ``layer4`` module: ``caddy list-modules``), so the two cannot share one
address's 443. The customer's network drops all UDP and every TCP connection but to port 443.
Needs root, iproute2, nftables, coturn and caddy: without them these tests fail saying so.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.network.browser_customer import trusting_home
from tests.network.coturn import Coturn, running_coturn
from tests.network.netns import (
    HTTPS_PORT,
    SERVER_IP,
    TURN_IP,
    WEB_PORT,
    Network,
    NetworkUnavailable,
    Policy,
    simulated_network,
)
from tests.network.servers import Server, run_browser, running_avatar_care, start_peer

ROOT = Path(__file__).resolve().parents[2]
CADDY = "/usr/bin/caddy"
TURN_SECRET = "the-secret-of-the-443-relay"
#: As in test_customer_networks.py: of the motion packets the room sent while the customer was
#: connected, the share that must arrive.
MIN_DELIVERED = 0.95
ORIGIN = f"https://{SERVER_IP}"


@pytest.fixture(scope="module")
def net() -> Iterator[Network]:
    try:
        with simulated_network() as network:
            network.add_server_address(TURN_IP)
            yield network
    except NetworkUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="module")
def turn(net: Network, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Coturn]:
    with running_coturn(
        net,
        tmp_path_factory.mktemp("coturn-443"),
        TURN_SECRET,
        shipped="turnserver-443.conf",
        address=TURN_IP,
        tls_port=HTTPS_PORT,
    ) as relay:
        yield relay


@pytest.fixture(scope="module")
def server(net: Network, turn: Coturn, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    settings = turn.settings() | {"AVATAR_CARE_TRUSTED_PROXIES": SERVER_IP, "AVATAR_CARE_PUBLIC_URL": ORIGIN}
    with running_avatar_care(
        net, tmp_path_factory.mktemp("care-data-443"), settings, command="demo"
    ) as running:
        yield running


@pytest.fixture(scope="module")
def caddy(net: Network, server: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Caddy on the first address's 443 (and 80) in front of avatar-care; yields its local
    authority's root certificate (a public authority's place on a real VM)."""
    assert shutil.which(CADDY), "Debian's caddy is needed: apt-get install caddy (scripts/setup.sh --dev)"
    folder = tmp_path_factory.mktemp("caddy")
    config = folder / "Caddyfile"
    # the global options docs/deploy.md has a brand add (default_bind) and the test's own (no admin
    # endpoint, a local authority installed nowhere, storage here), then the shipped site block
    config.write_text(
        "{\n"
        f"\tdefault_bind {SERVER_IP}\n"
        "\tadmin off\n\tskip_install_trust\n\tlocal_certs\n"
        f"\tstorage file_system {folder / 'storage'}\n"
        "}\n"
        f"import {ROOT / 'deploy' / 'Caddyfile'}\n",
        encoding="utf-8",
    )
    env = os.environ | {
        "AVATAR_CARE_DOMAIN": SERVER_IP,
        "AVATAR_CARE_UPSTREAM": f"{SERVER_IP}:{WEB_PORT}",
        "XDG_DATA_HOME": str(folder / "xdg"),
        "XDG_CONFIG_HOME": str(folder / "xdg"),
    }
    log_path = folder / "caddy.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            net.command("server", CADDY, "run", "--adapter", "caddyfile", "--config", str(config)),
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    root = folder / "storage" / "pki" / "authorities" / "local" / "root.crt"
    try:
        deadline = time.monotonic() + 60
        while not net.call_in("operator", lambda: _answers(f"{ORIGIN}/api/health")):
            assert process.poll() is None, log_path.read_text()[-3000:]
            assert time.monotonic() < deadline, (
                f"caddy not answering within 60 s:\n{log_path.read_text()[-3000:]}"
            )
            time.sleep(0.25)
        assert root.exists(), root
        yield root
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _answers(url: str) -> bool:
    with contextlib.suppress(httpx.TransportError):
        return httpx.get(url, verify=False, timeout=2).status_code == 200
    return False


@pytest.fixture(autouse=True)
def only_443(net: Network) -> None:
    net.set_policy(Policy.ONLY_443)


def listeners_on_443(net: Network) -> list[str]:
    """What listens on TCP 443 in the server's namespace (``ss``): ``address:port process``."""
    done = subprocess.run(
        ["ip", "netns", "exec", net.server, "ss", "-Hltnp", "sport", "=", f":{HTTPS_PORT}"],
        capture_output=True,
        text=True,
        check=True,
    )
    found = set()
    for line in done.stdout.splitlines():
        process = re.search(r'users:\(\("([^"]+)"', line)
        found.add(f"{line.split()[3]} {process.group(1) if process else '?'}")
    return sorted(found)


def test_caddy_and_coturn_each_take_443_on_their_own_address(net: Network, turn: Coturn, caddy: Path) -> None:
    assert listeners_on_443(net) == [f"{SERVER_IP}:443 caddy", f"{TURN_IP}:443 turnserver"], listeners_on_443(
        net
    )


def test_an_aiortc_customer_gets_motion_and_voice_through_turns_on_443(
    net: Network, turn: Coturn, server: Server, caddy: Path, tmp_path: Path
) -> None:
    """Signaling through Caddy (wss on the first address's 443), media through ``turns:`` on the
    second's; the customer trusts both authorities (``SSL_CERT_FILE``)."""
    authorities = tmp_path / "authorities.pem"
    authorities.write_bytes(caddy.read_bytes() + turn.certificate.read_bytes())
    customer = start_peer(
        net,
        "customer",
        "customer",
        f"wss://{SERVER_IP}/ws/rooms/demo",
        "--turn-transport",
        "tls",
        "--seconds",
        "5",
        env={"SSL_CERT_FILE": str(authorities)},
    )
    summary = customer.summary(120)
    assert summary["failures"] == [], summary["failures"]
    pair = summary["connections"][0]["pair"]
    assert (pair["local"], pair["relay_transport"]) == ("relay", "tls"), pair
    start, end = summary["connections"][0]["t"] + 0.5, summary["packets"][-1][0]
    seqs = [p[1] for p in summary["packets"] if start <= p[0] < end]
    assert end - start > 3 and seqs, summary["connections"]
    assert len(set(seqs)) / (max(seqs) - min(seqs) + 1) >= MIN_DELIVERED, (len(seqs), min(seqs), max(seqs))
    assert summary["voiced_frames"] >= 50, summary["voiced_frames"]
    counters = net.counters()
    assert counters["turn_443"][1] > 10_000, counters  # the consultation went through coturn's 443
    assert counters["web_443"][0] > 0, counters  # the signaling through Caddy's


@pytest.mark.browser
def test_chromium_gets_motion_and_voice_through_turns_on_443(
    net: Network, turn: Coturn, server: Server, caddy: Path, tmp_path: Path
) -> None:
    """The demo's customer page over HTTPS from Caddy, in chromium whose NSS database trusts Caddy's
    authority and the relay's."""
    home = trusting_home(tmp_path, caddy, turn.certificate)
    page = run_browser(net, f"{ORIGIN}/app/room/customer.html?room=demo", "connect", seconds=5, home=home)
    pair = page["pair"]
    assert pair is not None and (pair["local"], pair["relay_transport"]) == ("relay", "tls"), page
    assert page["server_sent_per_s"] > 0 and page["delivered"] >= MIN_DELIVERED, page
    assert page["page_caught_up"], page
    assert page["audio_bytes"] > 10_000 and page["audio_level_max"] > 0.01, page
    counters = net.counters()
    assert counters["turn_443"][1] > 10_000 and counters["web_443"][0] > 0, counters

"""The files docs/deploy.md ships: avatar-care's settings and coturn's configuration agree, coturn
runs on the shipped turnserver.conf and allocates relays for credentials minted from the shipped
settings, the 443 variant differs from it only where it listens, and systemd accepts the unit and
the drop-in for coturn's service."""

from __future__ import annotations

import asyncio
import os
import shutil
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from aioice import Candidate, turn
from aiortc import RTCPeerConnection

from avatar_care.core.config import Settings
from avatar_care.live.ice import IceConfig, use_loopback_only
from tests.coturn import TURNSERVER, wait_listening
from tests.support import free_port
from tests.tls_certificate import self_signed

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
#: what a brand writes in place of the placeholders, here pointing at this machine's loopback
FILLED = {
    "<private-ip>": "127.0.0.1",
    "<public-ip>": "203.0.113.7",
    "<turn-secret>": "a-long-random-secret",
    "<db-password>": "pw",
}


def fill(text: str, extra: dict[str, str] | None = None) -> str:
    for placeholder, value in (FILLED | (extra or {})).items():
        text = text.replace(placeholder, value)
    return text


def env_file(text: str) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in text.splitlines() if line.strip() and not line.startswith("#"))
    return {key: value for key, value in pairs}


def conf(text: str) -> list[tuple[str, str]]:
    """coturn's options in order: ``name=value``, or a bare ``name`` (value "")."""
    options = []
    for line in (line.strip() for line in text.splitlines()):
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            options.append((name, value))
    return options


def shipped_settings(tmp_path: Path, host: str = "care.example.com") -> Settings:
    env = env_file(fill((DEPLOY / "avatar-care.env").read_text(encoding="utf-8"), {"care.example.com": host}))
    saved = dict(os.environ)
    unknown = [key for key in env if key.removeprefix("AVATAR_CARE_").lower() not in Settings.model_fields]
    assert unknown == [], f"not settings: {unknown}"
    os.environ.update(env | {"AVATAR_CARE_DATA_DIR": str(tmp_path)})
    try:
        return Settings(_env_file=None)  # type: ignore[call-arg]
    finally:
        os.environ.clear()
        os.environ.update(saved)


def test_the_shipped_settings_are_valid_and_match_coturns(tmp_path: Path) -> None:
    settings = shipped_settings(tmp_path)
    turn = conf((DEPLOY / "turnserver.conf").read_text(encoding="utf-8"))
    options = dict(turn)
    assert "use-auth-secret" in options and "lt-cred-mech" not in options  # minted, never static
    env = env_file((DEPLOY / "avatar-care.env").read_text(encoding="utf-8"))
    assert options["static-auth-secret"] == env["AVATAR_CARE_TURN_SECRET"]  # the same placeholder
    for url in settings.ice_servers:
        host_port = url.split(":", 1)[1].split("?")[0]
        port = options["tls-listening-port"] if url.startswith("turns:") else options["listening-port"]
        assert host_port == f"{options['realm']}:{port}", url
    assert any(u.startswith("turns:") and u.endswith("?transport=tcp") for u in settings.ice_servers)
    assert "no-tls" not in options and options["cert"] == "<tls-cert>" and options["pkey"] == "<tls-key>"
    assert urlsplit(settings.public_url).hostname == options["realm"]
    assert settings.trusted_proxies == ["127.0.0.1"]  # Caddy on the same machine
    assert settings.public_ip == "203.0.113.7"
    denied = [value for key, value in turn if key == "denied-peer-ip"]
    for private in ("10.0.0.0", "172.16.0.0", "192.168.0.0", "127.0.0.0", "169.254.0.0", "100.64.0.0"):
        assert any(d.startswith(private + "-") for d in denied), private
    assert options["allowed-peer-ip"] == "<private-ip>"  # avatar-care itself stays reachable


#: What deploy/turnserver-443.conf changes (coturn on an address of its own, TLS on 443).
ON_ITS_OWN_ADDRESS = {
    "listening-ip": "<turn-private-ip>",
    "relay-ip": "<turn-private-ip>",
    "external-ip": "<turn-public-ip>/<turn-private-ip>",
    "tls-listening-port": "443",
}


def test_the_443_configuration_differs_from_the_shipped_one_only_where_it_listens() -> None:
    """Every option of turnserver.conf (credentials, relay range, denied peers, avatar-care allowed)
    is in turnserver-443.conf in the same order, but the listening ones."""
    shipped = conf((DEPLOY / "turnserver.conf").read_text(encoding="utf-8"))
    on_443 = conf((DEPLOY / "turnserver-443.conf").read_text(encoding="utf-8"))
    assert [name for name, _ in shipped] == [name for name, _ in on_443]
    changed = {name: new for (name, old), (_, new) in zip(shipped, on_443, strict=True) if old != new}
    assert changed == ON_ITS_OWN_ADDRESS, changed
    assert dict(on_443)["allowed-peer-ip"] == "<private-ip>"  # avatar-care on the VM's first address


@pytest.fixture
def shipped_coturn(tmp_path: Path) -> Iterator[tuple[int, int, Path]]:
    """coturn on the shipped turnserver.conf, placeholders filled for loopback, free ports and a
    self-signed certificate: its TURN port, its TLS port and the certificate."""
    assert shutil.which(TURNSERVER), "Debian's coturn is needed: apt-get install coturn"
    port, relay, tls_port = free_port(), free_port(), free_port()
    cert, key = self_signed(tmp_path)
    text = fill(
        (DEPLOY / "turnserver.conf").read_text(encoding="utf-8"),
        {"<tls-cert>": str(cert), "<tls-key>": str(key)},
    )
    text = text.replace("tls-listening-port=5349", f"tls-listening-port={tls_port}")
    text = text.replace("\nlistening-port=3478", f"\nlistening-port={port}")
    text = text.replace("min-port=49160", f"min-port={relay}").replace(
        "max-port=49999", f"max-port={relay + 20}"
    )
    text = text.replace("log-file=syslog", "log-file=stdout")
    (tmp_path / "turnserver.conf").write_text(text, encoding="utf-8")
    log = (tmp_path / "coturn.log").open("w")
    proc = subprocess.Popen(
        [
            TURNSERVER,
            "-c",
            str(tmp_path / "turnserver.conf"),
            f"--db={tmp_path / 'turndb'}",
            f"--pidfile={tmp_path / 'pid'}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_listening(proc, port, tmp_path / "coturn.log")
        wait_listening(proc, tls_port, tmp_path / "coturn.log")
        yield port, tls_port, cert
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


async def test_coturn_on_the_shipped_configuration_relays_for_the_shipped_settings(
    tmp_path: Path, shipped_coturn: tuple[int, int, Path]
) -> None:
    port, tls_port, cert = shipped_coturn
    settings = shipped_settings(tmp_path, host="127.0.0.1")
    ice = IceConfig.from_settings(settings)
    # the shipped settings name port 3478; here coturn listens on a free one
    ice = IceConfig(
        urls=tuple(u.replace(":3478", f":{port}") for u in ice.urls),
        turn_secret=ice.turn_secret,
        ttl_s=ice.ttl_s,
    )
    use_loopback_only()
    try:
        pc = RTCPeerConnection(ice.for_server())
        pc.createDataChannel("motion")
        await pc.setLocalDescription(await pc.createOffer())
        sdp = pc.localDescription.sdp
        await pc.close()
    finally:
        use_loopback_only(False)
    kinds = {
        Candidate.from_sdp(x[len("a=candidate:") :]).type
        for x in sdp.splitlines()
        if x.startswith("a=candidate:")
    }
    assert {"host", "relay"} <= kinds, sdp
    # TURN over TLS on the shipped lines: an allocation through TLS, the certificate checked
    minted = ice.for_page("customer-1")["iceServers"]
    assert isinstance(minted, list)
    credentials = minted[-1]
    context = ssl.create_default_context(cafile=str(cert))
    relay, _ = await asyncio.wait_for(
        turn.create_turn_endpoint(
            asyncio.DatagramProtocol,
            server_addr=("127.0.0.1", tls_port),
            username=credentials["username"],
            password=credentials["credential"],
            ssl=context,
            transport="tcp",
        ),
        20,
    )
    try:
        assert relay.get_extra_info("sockname")[0] == "203.0.113.7"  # relayed, on the public address
        inner = relay._TurnTransport__inner_protocol.transport  # type: ignore[attr-defined]
        assert inner.get_extra_info("ssl_object") is not None  # it went over TLS
    finally:
        relay.close()


def systemd_analyze() -> str:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.fail("systemd-analyze is needed: apt-get install systemd (Debian's systemd provides it)")
    return analyze


def verify(analyze: str, unit: Path, unit_path: Path | None = None) -> str:
    """What ``systemd-analyze verify`` says of ``unit`` (its exit status and output; empty when it
    accepts it silently). ``unit_path`` is searched for units and their drop-in folders."""
    env = os.environ | ({"SYSTEMD_UNIT_PATH": f"{unit_path}:"} if unit_path is not None else {})
    done = subprocess.run(
        [analyze, "verify", str(unit)], capture_output=True, text=True, check=False, env=env
    )
    said = (done.stdout + done.stderr).strip()
    return f"exit status {done.returncode}: {said}" if done.returncode else said


def test_systemd_accepts_the_unit(tmp_path: Path) -> None:
    """``systemd-analyze verify`` runs without systemd running (as in this container); if it could
    not run here, its own message is the failure's."""
    analyze = systemd_analyze()
    unit = (DEPLOY / "avatar-care.service").read_text(encoding="utf-8")
    assert "EnvironmentFile=/etc/avatar-care/avatar-care.env" in unit
    # the installed command, where this checkout's environment has it
    command = Path(sys.executable).with_name("avatar-care")
    assert command.exists(), command
    (tmp_path / "avatar-care.service").write_text(
        unit.replace("/opt/avatar-care/.venv/bin/avatar-care", str(command))
    )
    assert verify(analyze, tmp_path / "avatar-care.service") == ""


#: Debian's coturn package's unit, which deploy/coturn-bind-443.conf extends.
COTURN_UNIT = Path("/lib/systemd/system/coturn.service")


def test_systemd_accepts_the_drop_in_that_lets_coturn_bind_443(tmp_path: Path) -> None:
    """Debian's coturn unit with the shipped drop-in beside it, as /etc/systemd/system/coturn.service.d/
    holds it: accepted silently, and a misspelt copy of it draws a warning (the drop-in is read)."""
    analyze = systemd_analyze()
    assert COTURN_UNIT.exists(), f"{COTURN_UNIT} is Debian's coturn's: apt-get install coturn"
    drop_in = (DEPLOY / "coturn-bind-443.conf").read_text(encoding="utf-8")
    assert "AmbientCapabilities=CAP_NET_BIND_SERVICE" in drop_in
    shutil.copy(COTURN_UNIT, tmp_path / "coturn.service")
    (tmp_path / "coturn.service.d").mkdir()
    (tmp_path / "coturn.service.d" / "bind-443.conf").write_text(drop_in, encoding="utf-8")
    assert verify(analyze, tmp_path / "coturn.service", tmp_path) == ""
    (tmp_path / "coturn.service.d" / "bind-443.conf").write_text(
        drop_in.replace("AmbientCapabilities=", "AmbientCapabilitiez="), encoding="utf-8"
    )
    assert "Unknown key 'AmbientCapabilitiez'" in verify(analyze, tmp_path / "coturn.service", tmp_path)

"""The one ICE configuration: what pages and the server's peers get, TURN credentials coturn
accepts (and refuses when wrong or expired), and the public address behind 1:1 NAT."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterator
from pathlib import Path

import pytest
from aioice import Candidate
from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection

from avatar_care.core.config import Settings
from avatar_care.live.ice import (
    SERVER_ID,
    IceConfig,
    announce_public_address,
    participant_id,
    turn_credentials,
    use_loopback_only,
)
from tests.coturn import running_coturn

SECRET = "north-wind-blows"


def test_pages_get_the_servers_the_policy_and_their_own_credentials(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        ice_servers="stun:turn.example.com:3478,turn:turn.example.com:3478?transport=tcp",  # type: ignore[arg-type]
        turn_secret=SECRET,  # type: ignore[arg-type]
        ice_transport_policy="relay",
        turn_credential_ttl_s=3600,
    )
    ice = IceConfig.from_settings(settings)
    anna, bruno = ice.for_page("session-1", now=1_000_000), ice.for_page("session-2", now=1_000_000)
    assert anna["iceTransportPolicy"] == "relay"
    stun, turn = anna["iceServers"]  # type: ignore[misc]
    assert stun == {"urls": ["stun:turn.example.com:3478"]}
    assert turn["urls"] == ["turn:turn.example.com:3478?transport=tcp"]
    expiry, who = turn["username"].split(":")
    assert int(expiry) == 1_000_000 + 3600 and "session" not in who  # opaque id, no session id
    expected = base64.b64encode(hmac.new(SECRET.encode(), turn["username"].encode(), hashlib.sha1).digest())
    assert turn["credential"] == expected.decode()
    assert bruno["iceServers"][1]["username"] != turn["username"]  # type: ignore[index]
    server = ice.for_server(now=1_000_000)
    assert server.iceTransportPolicy.value == "all"  # the server keeps its host candidates
    assert [s.urls for s in server.iceServers or []] == [[u] for u in settings.ice_servers]
    assert IceConfig().for_page("x") == {"iceServers": [], "iceTransportPolicy": "all"}
    assert IceConfig().for_server().iceServers == []


@pytest.fixture
def loopback() -> Iterator[None]:
    use_loopback_only()
    yield
    use_loopback_only(False)


async def gathered(config: RTCConfiguration) -> list[Candidate]:
    pc = RTCPeerConnection(config)
    pc.createDataChannel("motion")
    await pc.setLocalDescription(await pc.createOffer())
    sdp = pc.localDescription.sdp
    await pc.close()
    return [
        Candidate.from_sdp(line[len("a=candidate:") :])
        for line in sdp.splitlines()
        if line.startswith("a=candidate:")
    ]


async def test_coturn_relays_with_minted_credentials_and_refuses_wrong_or_expired(
    tmp_path: Path, loopback: None
) -> None:
    with running_coturn(tmp_path, SECRET) as port:
        for url in (f"turn:127.0.0.1:{port}", f"turn:127.0.0.1:{port}?transport=tcp"):
            ice = IceConfig(urls=(url,), turn_secret=SECRET, ttl_s=600)
            relays = [c for c in await gathered(ice.for_server()) if c.type == "relay"]
            assert relays and relays[0].host == "127.0.0.1", url  # coturn allocated a relay address
        # a page's credentials, as aiortc would take them, work as well
        page = IceConfig(urls=(f"turn:127.0.0.1:{port}",), turn_secret=SECRET).for_page("session-1")
        turn = page["iceServers"][0]  # type: ignore[index]
        config = RTCConfiguration([RTCIceServer(turn["urls"], turn["username"], turn["credential"])])
        assert any(c.type == "relay" for c in await gathered(config))

        wrong = IceConfig(urls=(f"turn:127.0.0.1:{port}",), turn_secret="another-secret")
        assert not any(c.type == "relay" for c in await gathered(wrong.for_server()))
        expired = turn_credentials(SECRET, "someone", ttl_s=60, now=1_000_000)  # long expired
        config = RTCConfiguration(
            [RTCIceServer(f"turn:127.0.0.1:{port}", expired.username, expired.password)]
        )
        assert not any(c.type == "relay" for c in await gathered(config))
    refused = [
        line for line in (tmp_path / "coturn.log").read_text().splitlines() if "check_stun_auth" in line
    ]
    assert any(expired.username in line for line in refused), refused  # coturn said why
    assert any(participant_id(SERVER_ID) in line for line in refused), refused  # the wrong secret's


ANSWER = "\r\n".join(
    [
        "v=0",
        "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
        "a=candidate:a1 1 udp 2130706431 10.0.0.5 50123 typ host",
        "a=candidate:a2 1 udp 2130706431 127.0.0.1 50124 typ host",
        "a=candidate:a3 1 udp 2130706431 fd00::5 50125 typ host",
        "a=candidate:a4 1 udp 16777215 198.51.100.9 50126 typ relay raddr 10.0.0.5 rport 50123",
        "a=end-of-candidates",
        "",
    ]
)


def test_the_public_address_is_offered_beside_the_private_one() -> None:
    rewritten = announce_public_address(ANSWER, "203.0.113.7")
    candidates = [
        Candidate.from_sdp(x[len("a=candidate:") :])
        for x in rewritten.split("\r\n")
        if x.startswith("a=candidate:")
    ]
    public = [c for c in candidates if c.host == "203.0.113.7"]
    assert len(public) == 1  # only beside the IPv4 host candidate that is not loopback
    (c,) = public
    assert (c.type, c.port, c.related_address, c.related_port) == ("srflx", 50123, "10.0.0.5", 50123)
    assert len(candidates) == 5 and rewritten.endswith("a=end-of-candidates\r\n")
    assert IceConfig(public_ip="203.0.113.7").announce(ANSWER) == rewritten
    assert IceConfig().announce(ANSWER) == ANSWER
    assert "2001:db8::7 50125" in announce_public_address(ANSWER, "2001:db8::7")

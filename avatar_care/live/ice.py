"""The one place that says how WebRTC peers find each other (ICE), for the pages and the server.

Every ICE configuration comes from here: :meth:`IceConfig.for_page` is what a page passes to
``new RTCPeerConnection(...)`` (handed out with the signaling ``joined`` message), and
:meth:`IceConfig.for_server` is the server's own aiortc peers' ``RTCConfiguration``. Both are built
from the settings (``AVATAR_CARE_ICE_SERVERS``, ``AVATAR_CARE_TURN_SECRET``,
``AVATAR_CARE_TURN_CREDENTIAL_TTL_S``, ``AVATAR_CARE_ICE_TRANSPORT_POLICY``, ``AVATAR_CARE_PUBLIC_IP``;
avatar_care/core/config.py). ``tests/avatar_care/live/test_ice_in_one_place.py`` fails if any other
module builds one.

TURN credentials follow the TURN REST API scheme coturn implements with ``use-auth-secret``: the
username is ``expiry:id`` (expiry in Unix seconds), the password base64(HMAC-SHA1(secret,
username)). Each participant gets their own, minted at each join and valid for
``turn_credential_ttl_s``; no static password is ever handed out.

The transport policy applies to the pages. The server's own peers always keep their host
candidates, so a page that may only use the relay reaches the server through coturn in one hop.

Behind 1:1 NAT (a cloud VM whose interface has a private address), aioice only knows the private
address, and it cannot be told of another. :meth:`IceConfig.announce` therefore adds to the
server's answer, beside every IPv4 (or IPv6) host candidate, the same port on the public address as
a server-reflexive candidate: what aioice would have learnt from a STUN server. Checks sent to it
arrive, translated by the NAT, on the host candidate's socket.

aioice also leaves the loopback address out of its host candidates, which is right on a network and
wrong for a server whose peers are all on the same machine (the tests, a one-machine demo).
:func:`use_loopback_only` makes 127.0.0.1 the only candidate (the tests, benchmarks and a demo on
127.0.0.1 call it).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import logging
import time
from dataclasses import dataclass, field
from typing import Literal

from aioice import Candidate, ice
from aioice.candidate import candidate_foundation, candidate_priority
from aiortc import RTCConfiguration, RTCIceServer
from aiortc.rtcconfiguration import RTCIceTransportPolicy

from avatar_care.core.config import Settings, is_turn_url

logger = logging.getLogger(__name__)
_original = ice.get_host_addresses
#: Whose credentials the server's own peers use (coturn logs allocations by username).
SERVER_ID = "avatar-care-server"


@dataclass(frozen=True)
class TurnCredentials:
    username: str
    password: str
    expires_at: int


def turn_credentials(secret: str, participant: str, ttl_s: int, now: float | None = None) -> TurnCredentials:
    """Short-lived TURN credentials for ``participant`` (the TURN REST API scheme coturn checks)."""
    expires_at = int(now if now is not None else time.time()) + ttl_s
    username = f"{expires_at}:{participant}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return TurnCredentials(username, base64.b64encode(digest).decode("ascii"), expires_at)


def participant_id(participant: str) -> str:
    """An opaque id for a TURN username: coturn's logs need not learn session ids."""
    return hashlib.sha256(participant.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class IceConfig:
    """ICE servers, TURN secret, transport policy and public address, as the settings give them."""

    urls: tuple[str, ...] = ()
    turn_secret: str | None = None
    ttl_s: int = 6 * 3600
    policy: Literal["all", "relay"] = "all"
    public_ip: str | None = None
    _stun: tuple[str, ...] = field(init=False, repr=False)
    _turn: tuple[str, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_stun", tuple(u for u in self.urls if not is_turn_url(u)))
        object.__setattr__(self, "_turn", tuple(u for u in self.urls if is_turn_url(u)))
        if self._turn and not self.turn_secret:
            raise ValueError("TURN URLs need a TURN secret")

    @classmethod
    def from_settings(cls, settings: Settings) -> IceConfig:
        secret = settings.turn_secret.get_secret_value() if settings.turn_secret is not None else None
        return cls(
            urls=tuple(settings.ice_servers),
            turn_secret=secret or None,
            ttl_s=settings.turn_credential_ttl_s,
            policy=settings.ice_transport_policy,
            public_ip=settings.public_ip,
        )

    def _servers(self, participant: str, now: float | None) -> list[RTCIceServer]:
        servers = []
        if self._stun:
            servers.append(RTCIceServer(urls=list(self._stun)))
        if self._turn:
            assert self.turn_secret is not None
            minted = turn_credentials(self.turn_secret, participant_id(participant), self.ttl_s, now)
            servers.append(
                RTCIceServer(urls=list(self._turn), username=minted.username, credential=minted.password)
            )
        return servers

    def for_page(self, participant: str, now: float | None = None) -> dict[str, object]:
        """The page's ``RTCConfiguration`` (JSON), with TURN credentials minted for ``participant``."""
        servers: list[dict[str, object]] = []
        for server in self._servers(participant, now):
            entry: dict[str, object] = {"urls": server.urls}
            if server.username is not None:
                entry |= {"username": server.username, "credential": server.credential}
            servers.append(entry)
        return {"iceServers": servers, "iceTransportPolicy": self.policy}

    def for_server(self, now: float | None = None) -> RTCConfiguration:
        """The server's own peers' configuration: the same servers, fresh credentials, policy ``all``."""
        return RTCConfiguration(
            iceServers=self._servers(SERVER_ID, now), iceTransportPolicy=RTCIceTransportPolicy.ALL
        )

    def announce(self, sdp: str) -> str:
        """``sdp`` (the server's answer) with the public address offered beside its host candidates."""
        if self.public_ip is None:
            return sdp
        return announce_public_address(sdp, self.public_ip)


def announce_public_address(sdp: str, public_ip: str) -> str:
    """Add, after each host candidate of the public address's family, the same port on ``public_ip``
    as a server-reflexive candidate (1:1 NAT keeps ports)."""
    public = ipaddress.ip_address(public_ip)
    newline = "\r\n" if "\r\n" in sdp else "\n"
    lines = sdp.split(newline)
    out: list[str] = []
    for line in lines:
        out.append(line)
        if not line.startswith("a=candidate:"):
            continue
        candidate = Candidate.from_sdp(line.removeprefix("a=candidate:"))
        try:
            address = ipaddress.ip_address(candidate.host)
        except ValueError:  # an mDNS name: not ours to translate
            continue
        if (
            candidate.type != "host"
            or address.version != public.version
            or address == public
            or address.is_loopback
            or address.is_link_local
        ):
            continue
        reflexive = Candidate(
            foundation=candidate_foundation("srflx", candidate.transport, candidate.host),
            component=candidate.component,
            transport=candidate.transport,
            priority=candidate_priority(candidate.component, "srflx"),
            host=str(public),
            port=candidate.port,
            type="srflx",
            related_address=candidate.host,
            related_port=candidate.port,
            tcptype=candidate.tcptype,
        )
        out.append("a=candidate:" + reflexive.to_sdp())
    return newline.join(out)


def _loopback(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    return ["127.0.0.1"] if use_ipv4 else []


def use_loopback_only(enabled: bool = True) -> None:
    ice.get_host_addresses = _loopback if enabled else _original
    logger.info("ICE host candidates: %s", "loopback only" if enabled else "all interfaces")

"""Customers on simulated real networks: behind a NAT whose firewall drops UDP to the server's media
ports, with no UDP at all, changing address mid-consultation, with bad TURN credentials.

Everything runs in network namespaces this module creates (tests/network/netns.py): avatar-care and
Debian's coturn in the server's, the operator (aiortc, the recorded landmarks and a 440 Hz voice) in
its own, the customer (aiortc) behind the router's masquerade. Each peer is its own process,
started with ``ip netns exec``. Needs root, iproute2, nftables and coturn: without them these
tests fail saying so (CI runs as root; scripts/setup.sh --dev installs the packages).
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from avatar_care.live.ice import turn_credentials
from tests.network.browser_customer import trusting_home
from tests.network.consultation import Consultation, create_brand, customer_session, metric, open_consultation
from tests.network.coturn import Coturn, running_coturn, try_allocation
from tests.network.netns import (
    CUSTOMER_IP,
    CUSTOMER_MOVED_IP,
    Network,
    NetworkUnavailable,
    Policy,
    simulated_network,
)
from tests.network.servers import (
    METRICS_TOKEN,
    Peer,
    Server,
    joined,
    run_browser,
    running_avatar_care,
    start_peer,
)

TURN_SECRET = "a-secret-only-this-test-knows"
#: Of the motion packets the room sent while the customer was connected (their sequence numbers),
#: the share that must arrive. The room sends 30 a second when the server has the CPU; how many it
#: manages on a loaded machine is the server's speed, not the network's, so the path is judged on
#: what it carried of what was sent (the rate itself is in every failure's message).
MIN_DELIVERED = 0.95
#: After the customer's network changes, motion must be back within this long.
RESUME_WITHIN_S = 5.0


@pytest.fixture(scope="module")
def net() -> Iterator[Network]:
    try:
        with simulated_network() as network:
            yield network
    except NetworkUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="module")
def turn(net: Network, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Coturn]:
    with running_coturn(net, tmp_path_factory.mktemp("coturn"), TURN_SECRET) as relay:
        yield relay


@pytest.fixture(scope="module")
def trusting(turn: Coturn, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Chromium's home whose NSS database trusts the authority that signed the relay's certificate,
    as a browser trusts the public authority that signed a real relay's."""
    return trusting_home(tmp_path_factory.mktemp("chromium-home"), turn.certificate)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("care-data")


@pytest.fixture(scope="module")
def brand(data_dir: Path) -> tuple[int, str]:
    return create_brand(data_dir, "Ottica Rossi")


@pytest.fixture(scope="module")
def server(net: Network, turn: Coturn, data_dir: Path, brand: tuple[int, str]) -> Iterator[Server]:
    with running_avatar_care(net, data_dir, turn.settings(), command="demo") as running:
        yield running


@pytest.fixture(scope="module")
def consultation(net: Network, server: Server, brand: tuple[int, str]) -> Iterator[tuple[Consultation, Peer]]:
    """A consultation whose operator is connected (from the operator's network) and sending."""
    care = net.call_in("operator", lambda: open_consultation(server.base, *brand))
    operator = start_peer(
        net, "operator", "operator", f"{server.ws}/ws/rooms/{care.room_id}", "--token", care.operator_token
    )
    try:
        operator.wait_for("connected", 90)
        yield care, operator
    finally:
        operator.stop()


@pytest.fixture(autouse=True)
def customer_network(net: Network) -> Iterator[Network]:
    """Each test starts with the customer at home, behind the NAT that blocks media ports."""
    if net.customer_ip != CUSTOMER_IP:
        net.move_customer(CUSTOMER_IP)
    net.set_policy(Policy.MEDIA_BLOCKED)
    yield net


def start_customer(
    net: Network, server: Server, care: Consultation, *args: str, env: dict[str, str] | None = None
) -> Peer:
    """An aiortc customer in the customer's namespace, joining the consultation's room with its token."""
    return start_peer(
        net,
        "customer",
        "customer",
        f"{server.ws}/ws/rooms/{care.room_id}",
        "--token",
        care.customer_token,
        *args,
        env=env,
    )


def motion_rate(summary: dict[str, Any], start: float, end: float) -> float:
    """Motion packets a second that arrived between ``start`` and ``end`` (monotonic seconds)."""
    count = sum(1 for t, *_ in summary["packets"] if start <= t < end)
    return count / (end - start)


def delivered(summary: dict[str, Any], start: float, end: float) -> float:
    """The share of the motion packets the room sent (by sequence number) between the first and the
    last that arrived between ``start`` and ``end``."""
    seqs = [p[1] for p in summary["packets"] if start <= p[0] < end]
    return len(set(seqs)) / (max(seqs) - min(seqs) + 1) if seqs else 0.0


def arrivals(summary: dict[str, Any], start: float, end: float) -> str:
    """What came between ``start`` and ``end``, for a failure's message: packets, of how many the
    server sent (sequence numbers), how many tracked, the longest gap."""
    inside = [p for p in summary["packets"] if start <= p[0] < end]
    if not inside:
        return "no packets"
    seqs = [p[1] for p in inside]
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(inside)]
    return (
        f"{len(inside)} packets in {end - start:.1f} s ({len(inside) / (end - start):.1f} a second), "
        f"of {max(seqs) - min(seqs) + 1} sent, "
        f"{sum(p[3] for p in inside)} tracked, longest gap {max(gaps, default=0):.3f} s"
    )


def settled_window(summary: dict[str, Any], connection: int = 0) -> tuple[float, float]:
    """From half a second after the connection opened to the last packet."""
    start = summary["connections"][connection]["t"] + 0.5
    return start, summary["packets"][-1][0]


@pytest.mark.browser
def test_chromium_in_the_customers_network_gets_motion_and_voice_through_the_relay(
    net: Network, turn: Coturn, server: Server
) -> None:
    """The demo room's customer page, in chromium behind the NAT: the ICE configuration is the one
    the server hands out; the direct path is blocked, so the browser selects a relay pair."""
    page = run_browser(net, server.printed("customer:"), "connect", seconds=5)
    pair = page["pair"]
    assert pair is not None and pair["local"] == "relay", pair
    # of the motion packets the room sent in the window (their sequence numbers), the share that
    # arrived on the browser's motion channel, all of it handled by the page
    assert page["server_sent_per_s"] > 0, page
    assert page["delivered"] >= MIN_DELIVERED, page
    # the page may have made a new peer connection (under heavy load here it did, twice in one run):
    # the figures are its last one's
    assert page["page_caught_up"], page
    assert page["audio_bytes"] > 10_000 and page["audio_level_max"] > 0.01, page  # the demo operator's voice
    assert net.counters()["turn_udp"][0] > 0 or net.counters()["turn_tcp"][0] > 0


@pytest.mark.browser
@pytest.mark.parametrize(
    ("policy", "transport", "counter"),
    [(Policy.UDP_BLOCKED, "tcp", "turn_tcp"), (Policy.TLS_ONLY, "tls", "turn_tls")],
    ids=["no-udp", "only-tls"],
)
def test_chromium_without_udp_gets_motion_and_voice_through_turn_over_tcp_or_tls(
    net: Network, turn: Coturn, server: Server, trusting: Path, policy: Policy, transport: str, counter: str
) -> None:
    """No UDP leaves the customer's network; with ``only-tls`` no TCP either but to the web server
    and to ``turns:`` on 5349. The firewall drops the rest silently, so chromium's gathering does not
    complete for tens of seconds: the page offers once it has a relay candidate."""
    net.set_policy(policy)
    page = run_browser(net, server.printed("customer:"), "connect", seconds=5, home=trusting)
    pair = page["pair"]
    assert pair is not None and (pair["local"], pair["relay_transport"]) == ("relay", transport), page
    assert page["server_sent_per_s"] > 0, page
    assert page["delivered"] >= MIN_DELIVERED, page
    assert page["page_caught_up"], page
    assert page["audio_bytes"] > 10_000 and page["audio_level_max"] > 0.01, page
    counters = net.counters()
    assert counters[counter][1] > 10_000, counters  # the consultation went over this relay transport
    assert counters["turn_udp"] == (0, 0), counters
    if policy is Policy.TLS_ONLY:
        assert counters["turn_tcp"] == (0, 0) and counters["tcp_dropped"][0] > 0, counters


@pytest.mark.browser
def test_behind_a_firewall_dropping_3478_silently_chromiums_gathering_outlasts_an_attempt(
    net: Network, turn: Coturn, server: Server, trusting: Path
) -> None:
    """Why the page offers once it has a relay candidate (web_client/room/signaling.js, ``gathered``)
    rather than when gathering completes: on the network letting only TLS out, with the ICE
    configuration the server hands out, chromium has its ``turns:`` relay candidate within
    seconds, and its gathering is still not complete after 20 s, beyond an attempt's 15 s."""
    net.set_policy(Policy.TLS_ONLY)
    ice = net.call_in("customer", lambda: joined(f"{server.ws}/ws/rooms/demo", {"role": "customer"}))["ice"]
    seen = run_browser(net, f"{server.base}/api/health", "gather", 20, trusting, "--ice", json.dumps(ice))
    relays = [e for e in seen["events"] if e.get("type") == "relay"]
    assert relays and relays[0]["url"] == turn.tls_url() and relays[0]["ms"] < 5000, seen
    assert seen["state"] == "gathering" and seen["ms"] >= 20_000, seen


@pytest.mark.browser
def test_chromium_not_trusting_the_relays_certificate_never_connects_through_turns(
    net: Network, turn: Coturn, server: Server, tmp_path: Path
) -> None:
    """The same network letting only TLS out, chromium's NSS database empty: chromium refuses the
    relay's certificate (an ``icecandidateerror`` for the ``turns:`` URL), and with nothing else
    getting out the page says the network blocks the call."""
    net.set_policy(Policy.TLS_ONLY)
    page = run_browser(net, server.printed("customer:"), "blocked", home=tmp_path)
    assert not page["ever_connected"], page
    refused = [e for e in page["candidate_errors"] if e["url"] == turn.tls_url()]
    assert refused and all(e["code"] == 701 for e in refused), page["candidate_errors"]
    assert net.counters()["turn_tls"][0] > 0  # it did reach the relay's TLS port


@pytest.mark.browser
def test_with_credentials_coturn_refuses_the_page_says_the_network_blocks_the_call(
    net: Network, turn: Coturn, server: Server
) -> None:
    """coturn's secret changed, the server's not: every credential the server mints is refused. On
    a network without UDP nothing else gets through, and the page says so in the customer's language."""
    net.set_policy(Policy.UDP_BLOCKED)
    refusals_before = turn.log_text().count("check_stun_auth")
    turn.restart("a-secret-the-server-does-not-know")
    try:
        page = run_browser(net, server.printed("customer:"), "blocked")
    finally:
        turn.restart(TURN_SECRET)
    assert "La rete che stai usando sembra bloccare la chiamata" in page["it"], page
    assert "The network you are on seems to block the call" in page["en"], page
    assert page["peer_connections"] >= 3 and not page["ever_connected"], page
    assert turn.log_text().count("check_stun_auth") > refusals_before  # coturn refused them
    assert net.counters()["turn_tcp"][0] > 0  # the page did reach the relay, over TCP


def test_a_customer_behind_the_nat_gets_motion_and_voice_through_the_relay(
    net: Network, turn: Coturn, server: Server, consultation: tuple[Consultation, Peer]
) -> None:
    care, _ = consultation
    customer = start_customer(
        net,
        server,
        care,
        "--seconds",
        "5",
    )
    summary = customer.summary(120)
    assert summary["failures"] == [] and len(summary["connections"]) == 1
    pair = summary["connections"][0]["pair"]
    assert (pair["local"], pair["relay_transport"]) == ("relay", "udp"), pair
    start, end = settled_window(summary)
    assert end - start > 3, summary["connections"]
    assert delivered(summary, start, end) >= MIN_DELIVERED, arrivals(summary, start, end)
    assert summary["voiced_frames"] >= 50, summary  # a second of the operator's tone at least
    counters = net.counters()
    assert counters["turn_udp"][0] > 0  # the relay carried it...
    assert counters["udp_dropped"][0] > 0  # ...because the direct path was tried and dropped


def test_with_all_udp_blocked_turn_over_tcp_carries_the_consultation(
    net: Network, turn: Coturn, server: Server, consultation: tuple[Consultation, Peer]
) -> None:
    net.set_policy(Policy.UDP_BLOCKED)
    care, _ = consultation
    customer = start_customer(
        net,
        server,
        care,
        "--turn-transport",
        "tcp",
        "--seconds",
        "5",
    )
    summary = customer.summary(120)
    assert summary["failures"] == []
    pair = summary["connections"][0]["pair"]
    assert (pair["local"], pair["relay_transport"]) == ("relay", "tcp"), pair
    start, end = settled_window(summary)
    assert end - start > 3, summary["connections"]
    assert delivered(summary, start, end) >= MIN_DELIVERED, arrivals(summary, start, end)
    assert summary["voiced_frames"] >= 50
    counters = net.counters()
    assert counters["turn_tcp"][1] > 10_000  # the consultation went over TCP to the TURN port
    assert counters["turn_udp"] == (0, 0) and counters["udp_dropped"][0] > 0  # no UDP got out


def test_on_a_network_that_lets_only_tls_out_turn_over_tls_carries_the_consultation(
    net: Network, turn: Coturn, server: Server, consultation: tuple[Consultation, Peer]
) -> None:
    """No UDP, no TCP to 3478: only ``turns:`` (TCP 5349) and the web server get out. The aiortc
    customer (aioice) checks the relay's certificate against the one it is told to trust."""
    net.set_policy(Policy.TLS_ONLY)
    care, _ = consultation
    customer = start_customer(
        net,
        server,
        care,
        "--turn-transport",
        "tls",
        "--seconds",
        "5",
        env={"SSL_CERT_FILE": str(turn.certificate)},
    )
    summary = customer.summary(120)
    assert summary["failures"] == [], summary["failures"]
    pair = summary["connections"][0]["pair"]
    assert (pair["local"], pair["relay_transport"]) == ("relay", "tls"), pair
    start, end = settled_window(summary)
    assert end - start > 3, summary["connections"]
    assert delivered(summary, start, end) >= MIN_DELIVERED, arrivals(summary, start, end)
    assert summary["voiced_frames"] >= 50
    counters = net.counters()
    assert counters["turn_tls"][1] > 10_000  # the consultation went over TLS to 5349
    assert counters["turn_udp"] == (0, 0) and counters["turn_tcp"] == (0, 0)


def test_a_relay_certificate_the_customer_does_not_trust_carries_nothing(
    net: Network, turn: Coturn, server: Server, consultation: tuple[Consultation, Peer]
) -> None:
    """The same network without trusting the relay's self-signed certificate: aioice refuses the
    TLS connection, and with no other way out the customer never connects."""
    net.set_policy(Policy.TLS_ONLY)
    care, _ = consultation
    customer = start_customer(
        net,
        server,
        care,
        "--turn-transport",
        "tls",
        "--seconds",
        "1",
        "--connect-timeout-s",
        "5",
    )
    summary = customer.summary(120)
    assert summary["connections"] == [] and summary["failures"], summary
    assert net.counters()["turn_tls"][0] > 0  # it did reach the relay's TLS port


def test_the_customer_changing_address_gets_motion_back_within_5_s_in_the_same_session(
    net: Network, turn: Coturn, server: Server, consultation: tuple[Consultation, Peer]
) -> None:
    care, _ = consultation
    customer = start_customer(
        net,
        server,
        care,
        "--seconds",
        "10",
        "--stall-s",
        "1.0",
    )
    connected = customer.wait_for("connected", 90)
    time.sleep(max(0.0, connected["t"] + 3.0 - time.monotonic()))  # three seconds of motion first
    changed_at = time.monotonic()
    net.move_customer(CUSTOMER_MOVED_IP)
    reconnected = connection_after(customer, changed_at, 60)
    # while the customer is still there: the same session, still connected, and the room holds one
    # customer (the new peer replaced the old one)
    assert reconnected["t"] - changed_at <= RESUME_WITHIN_S, (
        f"reconnected {reconnected['t'] - changed_at:.2f} s after the change: {reconnected}; "
        f"{events_since(customer, changed_at)}"
    )
    session = net.call_in("customer", lambda: customer_session(server.base, care.customer_token))
    assert session["session_id"] == care.session_id and session["live_room"]["id"] == care.room_id
    in_room: list[float | None] = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and len(in_room) < 50 and in_room[-1:] != [1.0]:
        in_room.append(
            net.call_in(
                "operator", lambda: metric(server.base, "avatar_care_customers", care.room_id, METRICS_TOKEN)
            )
        )
        time.sleep(0.2)
    # one customer: the new peer replaced the old one
    assert in_room[-1] == 1.0, (in_room, events_since(customer, changed_at))
    summary = customer.summary(120)
    assert summary["failures"] == [], summary["failures"]
    first = summary["connections"][0]
    assert any(t < changed_at for t, *_ in summary["packets"]), "no motion before the change"
    # the connections opened after the change (a reconnection a busy machine started just before it
    # may open after it too, but on the old address: the first one on the new address counts)
    new = [
        i
        for i, c in enumerate(summary["connections"])
        if c["t"] >= changed_at and c["pair"]["local_address"] != first["pair"]["local_address"]
    ]
    assert new, f"the customer never reconnected from its new address: {summary['connections']}"
    resumed = min(p[0] for p in summary["packets"] if p[4] in new)
    assert resumed - changed_at <= RESUME_WITHIN_S, f"motion resumed after {resumed - changed_at:.1f} s"
    assert summary["connections"][new[0]]["pair"]["local"] == "relay", summary["connections"][new[0]]
    last = len(summary["connections"]) - 1
    start, end = settled_window(summary, connection=last)
    on_last = [p for p in summary["packets"] if p[4] == last and start <= p[0]]
    assert on_last and delivered({"packets": on_last}, start, end + 1) >= MIN_DELIVERED, (
        arrivals(summary, start, end),
        summary["connections"],
    )


def connection_after(peer: Peer, moment: float, timeout_s: float) -> dict[str, Any]:
    """The first ``connected`` event of ``peer`` after ``moment`` (monotonic), waiting for it."""
    deadline = time.monotonic() + timeout_s
    for n in itertools.count(1):
        event = peer.wait_for_nth("connected", n, max(0.1, deadline - time.monotonic()))
        if event["t"] >= moment:
            return event
    raise AssertionError("unreachable")


def events_since(peer: Peer, moment: float) -> list[tuple[str, float]]:
    """What the peer reported after ``moment``: (event, seconds after it), for a failure's message."""
    return [(e["event"], round(e["t"] - moment, 2)) for e in peer.events if e.get("t", 0) >= moment]


def test_wrong_or_expired_turn_credentials_are_refused_by_coturn(
    net: Network, turn: Coturn, server: Server, consultation: tuple[Consultation, Peer]
) -> None:
    care, _ = consultation
    room = f"{server.ws}/ws/rooms/{care.room_id}"
    minted = net.call_in("customer", lambda: joined(room, {"role": "customer", "token": care.customer_token}))
    handed = minted["ice"]["iceServers"][-1]
    assert handed["urls"] == [turn.udp_url(), turn.tcp_url(), turn.tls_url()]
    expires_at, who = handed["username"].split(":", 1)
    assert 0 < int(expires_at) - time.time() <= 6 * 3600 + 60  # short-lived: the settings' default
    wrong = turn_credentials("not-the-secret", who, 600)
    expired = turn_credentials(turn.secret, who, -60)
    assert (
        net.call_in("customer", lambda: try_allocation(handed["username"], handed["credential"]))
        == "allocated"
    )
    for refused in (wrong, expired):
        for transport in ("udp", "tcp"):
            answer = net.call_in(
                "customer", lambda r=refused, t=transport: try_allocation(r.username, r.password, t)
            )
            assert answer == "401 Unauthorized", (refused, transport, answer)
    # a customer holding them cannot get through a network that lets only the relay pass
    ice = {"iceServers": [{"urls": handed["urls"], "username": wrong.username, "credential": wrong.password}]}
    customer = start_peer(
        net,
        "customer",
        "customer",
        room,
        "--token",
        care.customer_token,
        "--ice",
        json.dumps(ice),
        "--seconds",
        "1",
        "--connect-timeout-s",
        "5",
    )
    summary = customer.summary(120)
    assert summary["connections"] == [] and summary["failures"], summary["failures"]
    assert summary["packets"] == []

"""``AVATAR_CARE_PUBLIC_IP`` behind 1:1 NAT, as on a cloud VM: the server's interface has one address,
customers reach it only at another one the cloud's edge maps to it (nftables DNAT and SNAT; the
namespaces are tests/network/netns.py's ``one_to_one_nat``). The customer sits behind a stateful
firewall (nothing comes in it did not start), so it must reach the server first. No STUN, no TURN:
a customer connects directly only because the server's answer offers the public address beside its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.network.netns import (
    INTERNET_CUSTOMER_IP,
    VM_PRIVATE_IP,
    VM_PUBLIC_IP,
    Network,
    NetworkUnavailable,
    one_to_one_nat,
)
from tests.network.servers import PORT, running_avatar_care, start_peer

NO_RELAY = {"AVATAR_CARE_ICE_SERVERS": "", "AVATAR_CARE_TURN_SECRET": ""}


@pytest.fixture(scope="module")
def cloud() -> Iterator[Network]:
    try:
        with one_to_one_nat() as network:
            yield network
    except NetworkUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)


def demo_customer(net: Network, port: int) -> dict[str, object]:
    """An aiortc customer on the internet side in the demo room at the public address: its summary."""
    customer = start_peer(
        net,
        "customer",
        "customer",
        f"ws://{VM_PUBLIC_IP}:{port}/ws/rooms/demo",
        "--seconds",
        "2",
        "--connect-timeout-s",
        "10",
    )
    return customer.summary(120)


def test_with_the_public_ip_set_the_customer_connects_directly_to_the_mapped_address(
    cloud: Network, tmp_path: Path
) -> None:
    env = NO_RELAY | {"AVATAR_CARE_PUBLIC_IP": VM_PUBLIC_IP}
    with running_avatar_care(
        cloud, tmp_path, env, host=VM_PRIVATE_IP, reached_at=VM_PUBLIC_IP, probe_from="customer"
    ):
        summary = demo_customer(cloud, PORT)
    assert summary["failures"] == [], summary["failures"]
    connections = summary["connections"]
    assert isinstance(connections, list) and len(connections) == 1
    pair = connections[0]["pair"]
    # the customer's own address to the server's public one: no relay, no reflexive address of the
    # customer's (there is no NAT on its side); the server's candidate is the announced one
    assert pair["local"] == "host" and pair["local_address"].startswith(f"{INTERNET_CUSTOMER_IP}:"), pair
    assert pair["remote"] == "srflx" and pair["remote_address"].startswith(f"{VM_PUBLIC_IP}:"), pair
    packets = summary["packets"]
    assert isinstance(packets, list) and len(packets) > 10  # the demo operator's motion arrives
    assert cloud.counters_of("cloud_nat")["to_vm"][0] > 0  # through the edge's mapping


def test_without_the_public_ip_the_customer_cannot_connect(cloud: Network, tmp_path: Path) -> None:
    """The same server without the setting offers only 192.0.2.50, which the customer cannot reach."""
    with running_avatar_care(
        cloud, tmp_path, NO_RELAY, host=VM_PRIVATE_IP, reached_at=VM_PUBLIC_IP, probe_from="customer"
    ):
        summary = demo_customer(cloud, PORT)
    assert summary["connections"] == [] and summary["failures"], summary
    assert summary["packets"] == []
    assert cloud.counters_of("home_firewall", "inet", role="customer")["unsolicited"][0] > 0

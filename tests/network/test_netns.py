"""The simulated network itself: documentation addresses only, nothing left behind, runs apart."""

from __future__ import annotations

import ipaddress
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.network.netns import (
    Network,
    NetworkUnavailable,
    Policy,
    check_tools,
    namespace_names,
    simulated_network,
)

DOCUMENTATION = [ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")]


@pytest.fixture(autouse=True)
def tools() -> None:
    try:
        check_tools()
    except NetworkUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)


def addresses(net: Network) -> list[ipaddress.IPv4Interface]:
    found = []
    for role in net.namespaces:
        for link in json.loads(net.ip(role, "-j", "-4", "addr")):
            for info in link["addr_info"]:
                found.append(ipaddress.ip_interface(f"{info['local']}/{info['prefixlen']}"))
    return [a for a in found if not a.ip.is_loopback]


def test_only_documentation_addresses_and_nothing_left_after_a_failure() -> None:
    with pytest.raises(RuntimeError, match="the test failed"), simulated_network(Policy.UDP_BLOCKED) as net:
        names = set(net.namespaces.values())
        assert names <= namespace_names()
        found = addresses(net)
        assert len(found) == 6  # three veth pairs
        assert all(any(a.ip in n for n in DOCUMENTATION) for a in found), found
        assert not any(a.ip.is_private and not any(a.ip in n for n in DOCUMENTATION) for a in found)
        raise RuntimeError("the test failed")
    assert not names & namespace_names()
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=True).stdout
    assert net.run_id not in links  # no veth end left in the root namespace either


def test_two_runs_at_once_do_not_meet() -> None:
    with simulated_network() as first, simulated_network() as second:
        assert first.run_id != second.run_id
        assert not set(first.namespaces.values()) & set(second.namespaces.values())
        assert first.counters() == second.counters()  # each its own router, its own counters


def test_without_the_tools_it_says_what_to_install(tmp_path: Path) -> None:
    code = "from tests.network.netns import check_tools\ncheck_tools()"
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=os.environ | {"PATH": str(tmp_path)},  # a PATH where none of the tools is
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode != 0
    assert "apt-get install iproute2 nftables coturn" in done.stderr, done.stderr

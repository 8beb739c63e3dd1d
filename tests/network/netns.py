"""A simulated internet in network namespaces: a server, a customer behind a NAT with a firewall, an operator.

```
 operator ns             router ns                                    server ns
 192.0.2.10 ─── veth ─── 192.0.2.1                                    avatar-care, coturn
                         203.0.113.1 (the NAT's public address) ─── veth ─── 203.0.113.10
 customer ns             198.51.100.1
 198.51.100.10 ── veth ──┘  masquerade of 198.51.100.0/24 out of the public side; the forward
                            chain filters what the customer sends (see ``Policy``)
```

Only documentation ranges (RFC 5737) are used, never private ones, and nothing touches the root
namespace: every namespace, veth pair and nftables table is created here and removed by
:func:`simulated_network` on the way out, also when the test fails. Names carry a random run id,
so two runs at once never meet. Needs root, ``ip`` (iproute2) and ``nft`` (nftables).

Code that must open sockets in a namespace runs either as a subprocess (``Network.command``) or in
a thread of this process that joined the namespace (``Network.thread``: ``setns`` acts on the
calling thread only).
"""

from __future__ import annotations

import contextlib
import ctypes
import enum
import json
import os
import secrets
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")

SERVER_IP = "203.0.113.10"
NAT_PUBLIC_IP = "203.0.113.1"
CUSTOMER_GATEWAY = "198.51.100.1"
CUSTOMER_IP = "198.51.100.10"
CUSTOMER_MOVED_IP = "198.51.100.11"
OPERATOR_GATEWAY = "192.0.2.1"
OPERATOR_IP = "192.0.2.10"
TURN_PORT = 3478
TURN_TLS_PORT = 5349
#: The server's second address, coturn's own when it serves TURN over TLS on 443 beside the HTTPS
#: front on SERVER_IP (deploy/turnserver-443.conf; ``Network.add_server_address``).
TURN_IP = "203.0.113.11"
HTTPS_PORT = 443
#: avatar-care's port in the server's namespace (the pages, signaling): 443 on a real deployment.
WEB_PORT = 8000
CLONE_NEWNET = 0x40000000


class Policy(enum.Enum):
    """What the customer's network lets through to the server."""

    #: Nothing filtered (the NAT still translates): the direct path works.
    OPEN = "open"
    #: UDP to the server only to the TURN port; TCP to anything (the web pages, TURN over TCP).
    MEDIA_BLOCKED = "media-blocked"
    #: No UDP at all leaves the customer's network: only TURN over TCP can carry media.
    UDP_BLOCKED = "udp-blocked"
    #: No UDP, and TCP only to the web server and to TURN over TLS (a network that lets only TLS
    #: out): only ``turns:`` can carry media.
    TLS_ONLY = "tls-only"
    #: No UDP, and TCP only to port 443 (a network that lets out only what looks like HTTPS): the
    #: pages through the HTTPS front on SERVER_IP, media only through ``turns:`` on TURN_IP:443.
    ONLY_443 = "only-443"


class NetworkUnavailable(RuntimeError):
    """The machine cannot build namespaces (not root, tools missing); the message says what to do."""


def check_tools() -> None:
    """Raises :class:`NetworkUnavailable` naming what is missing."""
    if os.geteuid() != 0:
        raise NetworkUnavailable(
            "the network-namespace tests need root (ip netns, veth, nftables): run them as root, as CI does"
        )
    missing = [tool for tool, package in TOOLS.items() if shutil.which(tool) is None]
    if missing:
        packages = " ".join(TOOLS[t] for t in missing)
        raise NetworkUnavailable(
            f"missing {', '.join(missing)}: apt-get install {packages} (scripts/setup.sh --dev installs them)"
        )


TOOLS = {"ip": "iproute2", "nft": "nftables", "turnserver": "coturn"}


def _run(*args: str, stdin: str | None = None) -> str:
    done = subprocess.run(list(args), input=stdin, capture_output=True, text=True, timeout=30, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


@dataclass
class Network:
    run_id: str
    namespaces: dict[str, str] = field(default_factory=dict)  # role -> namespace name
    policy: Policy = Policy.MEDIA_BLOCKED
    customer_ip: str = CUSTOMER_IP
    _threads: dict[str, ThreadPoolExecutor] = field(default_factory=dict)

    # -- names ------------------------------------------------------------------------------
    @property
    def server(self) -> str:
        return self.namespaces["server"]

    @property
    def router(self) -> str:
        return self.namespaces["router"]

    @property
    def customer(self) -> str:
        return self.namespaces["customer"]

    @property
    def operator(self) -> str:
        return self.namespaces["operator"]

    #: The nice value of the processes the tests time (server, relay, peers).
    TIMED = -15

    def link(self, side: str) -> str:
        """A veth end's name (at most 15 characters, the kernel's limit)."""
        return f"{self.run_id}-{side}"

    # -- running things inside ----------------------------------------------------------------
    def command(self, role: str, *args: str, priority: int = 0) -> list[str]:
        """``args`` run inside the namespace of ``role`` (``ip netns exec`` execs, so pids are kept).

        ``priority`` is a nice value: the server, the relay and the peers take -15, so that the rates the tests
        check (motion packets a second, resuming within seconds) hold on a machine other jobs load;
        they are functional requirements, not measures of speed."""
        return ["nice", "-n", str(priority), "ip", "netns", "exec", self.namespaces[role], *args]

    def ip(self, role: str, *args: str) -> str:
        return _run("ip", "-n", self.namespaces[role], *args)

    def thread(self, role: str) -> ThreadPoolExecutor:
        """A one-thread executor whose thread lives in ``role``'s namespace: sockets it opens are there."""
        if role not in self._threads:
            path = f"/run/netns/{self.namespaces[role]}"
            self._threads[role] = ThreadPoolExecutor(
                max_workers=1, thread_name_prefix=f"netns-{role}", initializer=_enter, initargs=(path,)
            )
        return self._threads[role]

    def call_in(self, role: str, fn: Callable[[], T]) -> T:
        return self.thread(role).submit(fn).result(timeout=120)

    # -- the customer's network ---------------------------------------------------------------
    def set_policy(self, policy: Policy) -> None:
        """Replaces the router's filter table with ``policy`` (counters start again from zero)."""
        lan = self.link("rc")
        # every byte to and from the customer's network, whatever the policy (what a customer costs)
        counted = [f'oifname "{lan}" counter name to_customer', f'iifname "{lan}" counter name from_customer']
        rules = [f'iifname "{lan}" ip daddr {SERVER_IP} udp dport {TURN_PORT} counter name turn_udp accept']
        rules.append(
            f'iifname "{lan}" ip daddr {SERVER_IP} tcp dport {TURN_PORT} counter name turn_tcp accept'
        )
        rules.append(
            f'iifname "{lan}" ip daddr {SERVER_IP} tcp dport {TURN_TLS_PORT} counter name turn_tls accept'
        )
        if policy is Policy.MEDIA_BLOCKED:
            rules.append(f'iifname "{lan}" meta l4proto udp counter name udp_dropped drop')
        elif policy is Policy.UDP_BLOCKED:
            rules[0] = f'iifname "{lan}" meta l4proto udp counter name udp_dropped drop'
        elif policy is Policy.TLS_ONLY:
            rules[0] = f'iifname "{lan}" meta l4proto udp counter name udp_dropped drop'
            rules[1] = (
                f'iifname "{lan}" ip daddr {SERVER_IP} tcp dport {TURN_PORT} counter name tcp_dropped drop'
            )
            rules.append(f'iifname "{lan}" ip daddr {SERVER_IP} tcp dport {WEB_PORT} accept')
            rules.append(f'iifname "{lan}" meta l4proto tcp ct state new counter name tcp_dropped drop')
        elif policy is Policy.ONLY_443:
            rules = [
                f'iifname "{lan}" meta l4proto udp counter name udp_dropped drop',
                f'iifname "{lan}" ip daddr {TURN_IP} tcp dport {HTTPS_PORT} counter name turn_443 accept',
                f'iifname "{lan}" ip daddr {SERVER_IP} tcp dport {HTTPS_PORT} counter name web_443 accept',
                f'iifname "{lan}" meta l4proto tcp ct state new counter name tcp_dropped drop',
            ]
        script = "\n".join(
            [
                "table inet customer_firewall",
                "delete table inet customer_firewall",
                "table inet customer_firewall {",
                "  counter turn_udp {}",
                "  counter turn_tcp {}",
                "  counter turn_tls {}",
                "  counter turn_443 {}",
                "  counter web_443 {}",
                "  counter tcp_dropped {}",
                "  counter udp_dropped {}",
                "  counter to_customer {}",
                "  counter from_customer {}",
                "  chain forward {",
                "    type filter hook forward priority filter; policy accept;",
                *[f"    {r}" for r in counted + rules],
                "  }",
                "}",
            ]
        )
        _run("ip", "netns", "exec", self.router, "nft", "-f", "-", stdin=script + "\n")
        self.policy = policy

    def counters(self) -> dict[str, tuple[int, int]]:
        """The router's firewall counters: name -> (packets, bytes)."""
        return self.counters_of("customer_firewall", "inet")

    def counters_of(self, table: str, family: str = "ip", role: str = "router") -> dict[str, tuple[int, int]]:
        """The named counters of nftables ``table`` in ``role``'s namespace: name -> (packets, bytes)."""
        namespace = self.namespaces[role]
        out = _run("ip", "netns", "exec", namespace, "nft", "-j", "list", "counters", "table", family, table)
        found: dict[str, tuple[int, int]] = {}
        for item in json.loads(out)["nftables"]:
            if "counter" in item:
                c = item["counter"]
                found[c["name"]] = (int(c["packets"]), int(c["bytes"]))
        return found

    def move_customer(self, new_ip: str) -> None:
        """The customer's address changes (a phone leaving Wi-Fi): old address gone, new one, new route.

        The NAT then maps the customer's flows to new public ports, so every flow the server or the
        relay knew is dead, as after a real change of network."""
        dev = self.link("c")
        self.ip("customer", "addr", "del", f"{self.customer_ip}/24", "dev", dev)
        self.ip("customer", "addr", "add", f"{new_ip}/24", "dev", dev)
        self.ip("customer", "route", "replace", "default", "via", CUSTOMER_GATEWAY)
        self.customer_ip = new_ip

    def add_server_address(self, address: str) -> None:
        """A second address on the server's interface (a VM with two: the HTTPS front on one,
        coturn on the other), reachable from the router's side like the first."""
        self.ip("server", "addr", "add", f"{address}/24", "dev", self.link("s"))

    # -- building and removing ----------------------------------------------------------------
    def build(self) -> None:
        for role in ("server", "router", "customer", "operator"):
            name = f"{self.run_id}-{role}"
            _run("ip", "netns", "add", name)
            self.namespaces[role] = name
            self.ip(role, "link", "set", "lo", "up")
        self._veth("s", "server", SERVER_IP, "rs", "router", NAT_PUBLIC_IP)
        self._veth("c", "customer", CUSTOMER_IP, "rc", "router", CUSTOMER_GATEWAY)
        self._veth("o", "operator", OPERATOR_IP, "ro", "router", OPERATOR_GATEWAY)
        self.ip("customer", "route", "add", "default", "via", CUSTOMER_GATEWAY)
        self.ip("operator", "route", "add", "default", "via", OPERATOR_GATEWAY)
        self.ip("server", "route", "add", "192.0.2.0/24", "via", NAT_PUBLIC_IP)
        _run("ip", "netns", "exec", self.router, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1")
        nat = "\n".join(
            [
                "table ip customer_nat {",
                "  chain postrouting {",
                "    type nat hook postrouting priority srcnat; policy accept;",
                f'    oifname "{self.link("rs")}" ip saddr 198.51.100.0/24 masquerade',
                "  }",
                "}",
            ]
        )
        _run("ip", "netns", "exec", self.router, "nft", "-f", "-", stdin=nat + "\n")
        self.set_policy(self.policy)

    def _veth(
        self, inner: str, inner_role: str, inner_ip: str, outer: str, outer_role: str, outer_ip: str
    ) -> None:
        a, b = self.link(inner), self.link(outer)
        _run(
            "ip",
            "link",
            "add",
            a,
            "netns",
            self.namespaces[inner_role],
            "type",
            "veth",
            "peer",
            "name",
            b,
            "netns",
            self.namespaces[outer_role],
        )
        self.ip(inner_role, "addr", "add", f"{inner_ip}/24", "dev", a)
        self.ip(outer_role, "addr", "add", f"{outer_ip}/24", "dev", b)
        self.ip(inner_role, "link", "set", a, "up")
        self.ip(outer_role, "link", "set", b, "up")

    def remove(self) -> list[str]:
        """Deletes every namespace (their veth ends and nftables tables go with them); problems found."""
        problems: list[str] = []
        for pool in self._threads.values():
            pool.shutdown(wait=True, cancel_futures=True)
        self._threads.clear()
        for role, name in list(self.namespaces.items()):
            leftover = _pids_in(name)
            for pid in leftover:  # anything still running in there would keep the namespace alive
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, 9)
            if leftover:
                problems.append(f"{role}: killed processes left running: {leftover}")
            try:
                _run("ip", "netns", "del", name)
            except RuntimeError as exc:
                problems.append(str(exc))
            del self.namespaces[role]
        return problems


def _pids_in(namespace: str) -> list[int]:
    done = subprocess.run(
        ["ip", "netns", "pids", namespace], capture_output=True, text=True, timeout=10, check=False
    )
    return [int(p) for p in done.stdout.split()]


_libc = ctypes.CDLL(None, use_errno=True)


def _enter(path: str) -> None:
    """Moves the calling thread into the network namespace at ``path``."""
    fd = os.open(path, os.O_RDONLY)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns {path}: {os.strerror(err)}")
    finally:
        os.close(fd)


@contextlib.contextmanager
def simulated_network(policy: Policy = Policy.MEDIA_BLOCKED) -> Iterator[Network]:
    """The namespaces above, built; removed on the way out whatever happened inside."""
    check_tools()
    net = Network(run_id=f"ac{secrets.token_hex(3)}", policy=policy)
    try:
        net.build()
        yield net
    finally:
        problems = net.remove()
        assert not problems, "; ".join(problems)


#: 1:1 NAT (``one_to_one_nat``): the VM's own address, and the public one the edge maps to it.
VM_PRIVATE_IP = "192.0.2.50"
VM_GATEWAY = "192.0.2.1"
VM_PUBLIC_IP = "203.0.113.50"
EDGE_PUBLIC_SIDE = "203.0.113.1"
INTERNET_CUSTOMER_IP = "203.0.113.20"


@contextlib.contextmanager
def one_to_one_nat() -> Iterator[Network]:
    """A cloud VM behind 1:1 NAT, and a customer on the internet side:

    ```
    server ns (the VM)           router ns (the cloud's edge)                 customer ns
    192.0.2.50 ──── veth ──── 192.0.2.1 | 203.0.113.1, 203.0.113.50 ──── veth ──── 203.0.113.20
    ```

    The edge maps 203.0.113.50 to 192.0.2.50 both ways (DNAT in, SNAT out, ports kept); the
    customer has no route to 192.0.2.0/24, so the VM is reachable only at its public address, and
    its stateful firewall drops UDP it did not ask for (the server's checks to it).
    Removed on the way out like :func:`simulated_network`."""
    check_tools()
    net = Network(run_id=f"ad{secrets.token_hex(3)}")
    try:
        for role in ("server", "router", "customer"):
            name = f"{net.run_id}-{role}"
            _run("ip", "netns", "add", name)
            net.namespaces[role] = name
            net.ip(role, "link", "set", "lo", "up")
        net._veth("s", "server", VM_PRIVATE_IP, "rs", "router", VM_GATEWAY)
        net._veth("c", "customer", INTERNET_CUSTOMER_IP, "rc", "router", EDGE_PUBLIC_SIDE)
        net.ip("server", "route", "add", "default", "via", VM_GATEWAY)
        # the edge answers for the public address on the internet side (ARP), then translates it
        net.ip("router", "addr", "add", f"{VM_PUBLIC_IP}/32", "dev", net.link("rc"))
        _run("ip", "netns", "exec", net.router, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1")
        nat = "\n".join(
            [
                "table ip cloud_nat {",
                "  chain prerouting {",
                "    type nat hook prerouting priority dstnat; policy accept;",
                f"    ip daddr {VM_PUBLIC_IP} counter name to_vm dnat to {VM_PRIVATE_IP}",
                "  }",
                "  counter to_vm {}",
                "  chain postrouting {",
                "    type nat hook postrouting priority srcnat; policy accept;",
                f"    ip saddr {VM_PRIVATE_IP} snat to {VM_PUBLIC_IP}",
                "  }",
                "}",
            ]
        )
        _run("ip", "netns", "exec", net.router, "nft", "-f", "-", stdin=nat + "\n")
        # the customer's own stateful firewall, as every home router has: nothing comes in that it
        # did not start, so the server's checks reach it only as answers to its own
        firewall = "\n".join(
            [
                "table inet home_firewall {",
                "  counter unsolicited {}",
                "  chain input {",
                "    type filter hook input priority filter; policy accept;",
                "    ct state established,related accept",
                "    meta l4proto udp counter name unsolicited drop",
                "  }",
                "}",
            ]
        )
        _run("ip", "netns", "exec", net.customer, "nft", "-f", "-", stdin=firewall + "\n")
        yield net
    finally:
        problems = net.remove()
        assert not problems, "; ".join(problems)


def namespace_names() -> set[str]:
    """Every network namespace the system has now (the tests check none of theirs is left)."""
    return {line.split()[0] for line in _run("ip", "netns", "list").splitlines() if line.strip()}


def current_thread_namespace() -> str:
    return os.readlink(f"/proc/self/task/{threading.get_native_id()}/ns/net")

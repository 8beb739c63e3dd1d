"""Direct against through coturn: ``sudo python benchmarks/relay.py [--seconds 15] [--rounds 3]``.

The simulated network of the network tests (tests/network/netns.py, needs root, iproute2, nftables
and coturn): avatar-care's demo server and Debian's coturn in the server's namespace, configured
with avatar-care's own settings (``AVATAR_CARE_ICE_SERVERS``, ``AVATAR_CARE_TURN_SECRET``); an
operator (aiortc, in its own namespace) sending the recorded landmarks (``assets/demo/book.jsonl``)
as landmark packets at 30 a second and a 440 Hz voice; a customer (aiortc) behind the NAT, whose
network lets everything through, so that the only difference between the two paths is the relay:

- ``direct``: the customer has no ICE servers; the pair is host to host through the NAT.
- ``relay``: the customer's ICE policy ``relay``; everything goes through coturn (TURN over UDP).

Customers of the two kinds take turns (``--rounds`` each, ``--seconds`` each), so that the
machine's load falls on both alike. Camera to customer is from the operator's send of a frame's
landmarks to the customer's receipt of that frame's motion packet (``time.monotonic``, which every
namespace shares): the operator's network, the server's solve, and the customer's network. Then
coturn's CPU (``/proc/PID/stat``) while 1 and then ``--customers`` relayed customers are in the room,
per relayed customer, and the bytes a second on the customer's link (router counters), both ways.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.network.coturn import Coturn, running_coturn
from tests.network.netns import Network, NetworkUnavailable, Policy, simulated_network
from tests.network.servers import Server, running_avatar_care, start_peer

SECRET = "relay-benchmark-secret"
T0_MS = 86_400_000.0


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


#: How a customer of each path is configured: direct, no ICE servers at all (the host pair through
#: the NAT is all there is; with the relay offered too, ICE on a loaded machine sometimes nominated
#: the relay pair first); relay, the server's configuration with the policy ``relay``.
PATHS = {"direct": ("--ice", '{"iceServers": []}'), "relay": ("--policy", "relay")}


def customer_run(
    net: Network, server: Server, path: str, seconds: float, count: int = 1
) -> list[dict[str, Any]]:
    """``count`` customers at once for ``seconds``; their summaries."""
    peers = [
        start_peer(
            net,
            "customer",
            "customer",
            f"{server.ws}/ws/rooms/demo",
            *PATHS[path],
            "--seconds",
            str(seconds),
        )
        for _ in range(count)
    ]
    summaries = [peer.summary(seconds + 120) for peer in peers]
    for s in summaries:
        assert not s["failures"], s["failures"]
        expected = "relay" if path == "relay" else "host"
        assert s["connections"][0]["pair"]["local"] == expected, s["connections"][0]["pair"]
    return summaries


def latencies(summary: dict[str, Any], sent: dict[float, float]) -> list[float]:
    """Milliseconds from the operator's send of each frame to the customer's receipt of its packet."""
    return [
        (t - sent[t_ms]) * 1000.0
        for t, _, t_ms, tracked, *_ in summary["packets"]
        if tracked and t_ms in sent
    ]


def measure_cpu(net: Network, server: Server, turn: Coturn, seconds: float, count: int) -> float:
    """coturn's CPU, % of a core, while ``count`` relayed customers are in the room."""
    peers = [
        start_peer(
            net,
            "customer",
            "customer",
            f"{server.ws}/ws/rooms/demo",
            "--policy",
            "relay",
            "--seconds",
            str(seconds),
        )
        for _ in range(count)
    ]
    for peer in peers:
        peer.wait_for("connected", 120)
    time.sleep(1.0)  # every customer's media flowing
    cpu0, t0 = turn.cpu_seconds(), time.monotonic()
    time.sleep(seconds - 2.0)
    cpu1, t1 = turn.cpu_seconds(), time.monotonic()
    for peer in peers:
        peer.summary(seconds + 120)
    return 100.0 * (cpu1 - cpu0) / (t1 - t0)


def link_bytes(net: Network, server: Server, path: str, seconds: float) -> tuple[float, float]:
    """The customer's link, bytes a second down and up, one customer, after its first second."""
    peer = start_peer(
        net,
        "customer",
        "customer",
        f"{server.ws}/ws/rooms/demo",
        *PATHS[path],
        "--seconds",
        str(seconds),
    )
    peer.wait_for("connected", 120)
    time.sleep(1.0)
    c0, t0 = net.counters(), time.monotonic()
    time.sleep(seconds - 2.0)
    c1, t1 = net.counters(), time.monotonic()
    peer.summary(seconds + 120)
    return (
        (c1["to_customer"][1] - c0["to_customer"][1]) / (t1 - t0),
        (c1["from_customer"][1] - c0["from_customer"][1]) / (t1 - t0),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=15.0, help="each customer's stay (default 15)")
    parser.add_argument("--rounds", type=int, default=3, help="turns of each path (default 3)")
    parser.add_argument(
        "--customers", type=int, default=4, help="relayed customers at once for coturn's CPU (default 4)"
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="relay-bench-"))
    try:
        with (
            simulated_network(Policy.OPEN) as net,
            running_coturn(net, work / "coturn", SECRET) as turn,
            running_avatar_care(net, work / "data", turn.settings(), command="demo") as server,
        ):
            key = server.printed("operator:").rsplit("key=", 1)[1]
            # the demo's own operator replays frames from t_ms 0 whenever no operator holds the room:
            # this operator's clock starts a day later, so none of those can pass for its frames
            operator = start_peer(
                net, "operator", "operator", f"{server.ws}/ws/rooms/demo", "--key", key, "--t0-ms", str(T0_MS)
            )
            try:
                operator.wait_for("connected", 120)
                # a first customer warms the room up (the first seconds of a new operator's
                # connection and of the server's first customer are not the steady state)
                customer_run(net, server, "direct", args.seconds)
                runs: dict[str, list[dict[str, Any]]] = {"direct": [], "relay": []}
                for _ in range(args.rounds):
                    for path in ("direct", "relay"):
                        runs[path] += customer_run(net, server, path, args.seconds)
                bytes_direct = link_bytes(net, server, "direct", args.seconds)
                bytes_relay = link_bytes(net, server, "relay", args.seconds)
                cpu_one = measure_cpu(net, server, turn, args.seconds, 1)
                cpu_many = measure_cpu(net, server, turn, args.seconds, args.customers)
            finally:
                operator.process.send_signal(15)
                sent_summary = operator.summary(60)
            sent = {t_ms: t for t_ms, t in sent_summary["sent"]}
    except NetworkUnavailable as exc:
        print(f"benchmarks/relay.py: {exc}", file=sys.stderr)
        return 1
    table(runs, sent, bytes_direct, bytes_relay, cpu_one, cpu_many, args)
    return 0


def table(
    runs: dict[str, list[dict[str, Any]]],
    sent: dict[float, float],
    bytes_direct: tuple[float, float],
    bytes_relay: tuple[float, float],
    cpu_one: float,
    cpu_many: float,
    args: argparse.Namespace,
) -> None:
    rows = {}
    for path, summaries in runs.items():
        samples = [ms for s in summaries for ms in latencies(s, sent)]
        packets = sum(len(s["packets"]) for s in summaries)
        tracked = sum(1 for s in summaries for p in s["packets"] if p[3])
        rows[path] = (statistics.median(samples), quantile(samples, 0.95), len(samples), tracked, packets)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"camera to customer (operator's send to customer's receipt), {args.rounds} x {args.seconds:.0f} s a path;"
    )
    print(f"load average at the end {load} on {os.cpu_count()} cores:")
    print("path   | p50 ms | p95 ms | operator's frames | tracked packets | packets received")
    print("-------+--------+--------+-------------------+-----------------+-----------------")
    for path, (p50, p95, n, tracked, packets) in rows.items():
        print(f"{path:6} | {p50:6.2f} | {p95:6.2f} | {n:17d} | {tracked:15d} | {packets:16d}")
    p50_ratio = rows["relay"][0] / rows["direct"][0]
    p95_ratio = rows["relay"][1] / rows["direct"][1]
    print(f"relay / direct: p50 {p50_ratio:.2f}, p95 {p95_ratio:.2f}")
    print()
    print(
        "one customer's link, bytes a second (motion 30/s, the operator's voice, and back: RTCP, SCTP, ICE):"
    )
    print("path   | down B/s | up B/s")
    print("-------+----------+-------")
    for path, (down, up) in (("direct", bytes_direct), ("relay", bytes_relay)):
        print(f"{path:6} | {down:8.0f} | {up:6.0f}")
    print("coturn receives and sends each of these bytes once more inside the server's network: a relayed")
    print(f"customer costs the relay about {2 * sum(bytes_relay):.0f} B/s of traffic in all.")
    print()
    print("coturn's CPU (user + system, /proc/PID/stat):")
    print("relayed customers | CPU % of a core | per customer")
    print("------------------+-----------------+-------------")
    for count, cpu in ((1, cpu_one), (args.customers, cpu_many)):
        print(f"{count:17d} | {cpu:15.2f} | {cpu / count:12.2f}")


if __name__ == "__main__":
    sys.exit(main())

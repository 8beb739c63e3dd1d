"""A customer and an operator as aiortc peers, each its own process, run inside a namespace.

``python -m tests.network.peers customer URL [options]`` joins a live room through signaling as a
browser page does (join, offer, answer), opens the unordered ``motion`` channel and a receiving
audio line, and prints JSON lines on standard output: ``connected`` (with the nominated candidate
pair) each time a connection opens, and ``summary`` at the end (every motion packet's arrival,
the voice's frames and their energy, the reconnections). With ``--stall-s`` it reconnects with the
same join (the same session token) when motion stops that long, as the customer page does when its
network changes.

``python -m tests.network.peers operator URL [options]`` joins as the operator and sends the
recorded landmarks (``assets/demo/book.jsonl``) as landmark packets at 30 frames a second and a
440 Hz tone as its voice, until it is stopped (SIGTERM) or ``--seconds`` pass; then it prints each
frame's ``t_ms`` with the moment it was sent (``time.monotonic``, which every namespace shares),
so that a customer's arrivals give camera-to-customer times.

ICE: ``--ice JSON`` gives the RTCConfiguration (``{"iceServers": [...], "iceTransportPolicy"}``,
the browser's form); without it the configuration the server hands out with ``joined`` is used.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import fractions
import json
import math
import signal
import sys
import time
from pathlib import Path
from typing import Any

import av
import numpy as np
import websockets
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.rtcconfiguration import RTCIceTransportPolicy

from rigging import landmark_packet
from rigging.codec import packet_header
from rigging.frame import parse_frame

RATE = 48000
SAMPLES = 960
FRAME_S = 1 / 30
#: An audio frame louder than this RMS (of full scale 32767) carries voice, not silence.
VOICE_RMS = 300.0


def emit(event: str, **fields: Any) -> None:
    print(json.dumps({"event": event, **fields}), flush=True)


def rtc_configuration(ice: dict[str, Any], turn_transport: str | None = None) -> RTCConfiguration:
    """The browser's RTCConfiguration JSON as aiortc's.

    aiortc uses only the first TURN URL it is given, where a browser tries them all:
    ``turn_transport`` keeps the TURN URLs of that transport only (``tcp``: what a browser ends up
    using on a network without UDP)."""

    def wanted(url: str) -> bool:
        if turn_transport is None or not url.startswith("turn"):
            return True
        if turn_transport == "tls":
            return url.startswith("turns:")
        if url.startswith("turns:"):
            return False
        return url.endswith(f"?transport={turn_transport}") or (turn_transport == "udp" and "?" not in url)

    servers = []
    for s in ice.get("iceServers", []):
        urls = [u for u in ([s["urls"]] if isinstance(s["urls"], str) else s["urls"]) if wanted(u)]
        if urls:
            servers.append(
                RTCIceServer(urls=urls, username=s.get("username"), credential=s.get("credential"))
            )
    policy = RTCIceTransportPolicy(ice.get("iceTransportPolicy", "all"))
    return RTCConfiguration(iceServers=servers, iceTransportPolicy=policy)


def nominated_pair(pc: RTCPeerConnection) -> dict[str, Any]:
    """The candidate pair ICE selected, from aioice's connection (aiortc has no getStats for it)."""
    ice_transport = pc.sctp.transport.transport  # type: ignore[union-attr]
    connection = ice_transport._connection
    pair = connection._nominated.get(1)
    if pair is None:
        return {}
    relay_transport = "-"
    turn = getattr(pair.protocol, "transport", None)
    inner = getattr(turn, "_TurnTransport__inner_protocol", None)
    if inner is not None:  # a relay candidate: how this peer reaches its TURN server
        relay_transport = "tcp" if type(inner).__name__ == "TurnClientTcpProtocol" else "udp"
        if relay_transport == "tcp" and inner.transport.get_extra_info("ssl_object") is not None:
            relay_transport = "tls"
    return {
        "local": pair.local_candidate.type,
        "remote": pair.remote_candidate.type,
        "local_address": f"{pair.local_candidate.host}:{pair.local_candidate.port}",
        "remote_address": f"{pair.remote_candidate.host}:{pair.remote_candidate.port}",
        "relay_transport": relay_transport,
    }


async def signal_join(url: str, join: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    ws = await websockets.connect(url, open_timeout=30, max_size=2**20)
    await ws.send(json.dumps({"type": "join", **join}))
    reply = json.loads(await asyncio.wait_for(ws.recv(), 30))
    if reply.get("type") != "joined":
        await ws.close()
        raise RuntimeError(f"join refused: {reply}")
    return ws, reply


async def negotiate(ws: Any, pc: RTCPeerConnection) -> None:
    if pc.localDescription is None:
        await pc.setLocalDescription(await pc.createOffer())
    await ws.send(json.dumps({"type": "offer", "sdp": pc.localDescription.sdp}))
    while True:
        reply = json.loads(await asyncio.wait_for(ws.recv(), 60))
        if reply.get("type") == "answer":
            break
        if reply.get("type") in ("error", "left"):
            raise RuntimeError(f"signaling: {reply}")
    await pc.setRemoteDescription(RTCSessionDescription(sdp=reply["sdp"], type="answer"))


def configuration_for(args: argparse.Namespace, joined: dict[str, Any]) -> RTCConfiguration:
    ice = json.loads(args.ice) if args.ice is not None else joined.get("ice") or {"iceServers": []}
    if args.policy is not None:
        ice = ice | {"iceTransportPolicy": args.policy}
    return rtc_configuration(ice, args.turn_transport)


# -- the customer ------------------------------------------------------------------------------
@dataclasses.dataclass
class Received:
    #: arrival (monotonic s), sequence number, t_ms, tracked, which connection (index in ``connections``)
    packets: list[tuple[float, int, float, bool, int]] = dataclasses.field(default_factory=list)
    audio_frames: int = 0
    voiced_frames: int = 0
    audio_rms_max: float = 0.0
    first_audio_t: float | None = None
    connections: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    failures: list[str] = dataclasses.field(default_factory=list)
    retries: list[str] = dataclasses.field(default_factory=list)


async def listen(track: MediaStreamTrack, got: Received) -> None:
    with contextlib.suppress(Exception):  # the track ends with its connection
        while True:
            frame = await track.recv()
            samples = frame.to_ndarray().astype(np.float64)
            rms = float(np.sqrt(np.mean(samples * samples)))
            got.audio_frames += 1
            got.voiced_frames += rms > VOICE_RMS
            got.audio_rms_max = max(got.audio_rms_max, rms)
            if got.first_audio_t is None:
                got.first_audio_t = time.monotonic()


async def customer_connection(args: argparse.Namespace, got: Received) -> tuple[Any, RTCPeerConnection]:
    join = {"role": "customer"} | ({"token": args.token} if args.token else {})
    started = time.monotonic()
    ws, joined = await signal_join(args.url, join)
    steps = {"joined_s": time.monotonic() - started}
    pc = RTCPeerConnection(configuration_for(args, joined))
    channel = pc.createDataChannel("motion", ordered=False, maxRetransmits=0)
    pc.addTransceiver("audio", direction="recvonly")
    opened = asyncio.Event()
    channel.on("open", opened.set)

    index = len(got.connections)  # this connection's place in ``connections`` once it opens

    @channel.on("message")
    def on_motion(message: bytes) -> None:
        seq, t_ms, tracked = packet_header(message)
        got.packets.append((time.monotonic(), seq, t_ms, tracked, index))

    tasks: list[asyncio.Task[None]] = []

    @pc.on("track")
    def on_track(track: MediaStreamTrack) -> None:
        if track.kind == "audio":
            tasks.append(asyncio.create_task(listen(track, got)))

    try:
        await pc.setLocalDescription(await pc.createOffer())  # gathers the candidates (TURN allocation)
        steps["gathered_s"] = time.monotonic() - started
        await negotiate(ws, pc)
        steps["answered_s"] = time.monotonic() - started  # the server gathered its own
        await asyncio.wait_for(opened.wait(), args.connect_timeout_s)
    except BaseException:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.gather(pc.close(), ws.close()), 3)
        raise
    pair = nominated_pair(pc)
    info = {
        "t": time.monotonic(),
        "seconds_to_open": time.monotonic() - started,
        "steps": steps,
        "pair": pair,
    }
    got.connections.append(info)
    emit("connected", **info)
    return ws, pc


async def reconnect(
    args: argparse.Namespace, got: Received, end: float
) -> tuple[Any, RTCPeerConnection] | tuple[None, None]:
    """A new connection with the same join, tried again (a bounded number of times, until ``end``)
    while the network is still settling, as the page does: a phone's new route may not be there yet."""
    for attempt in range(1, 11):
        try:
            return await customer_connection(args, got)
        except Exception as exc:
            reason = f"reconnect #{attempt}: {type(exc).__name__}: {exc}"
            got.retries.append(reason)
            emit("retry", t=time.monotonic(), reason=reason)
            if time.monotonic() + 0.5 >= end:
                got.failures.append(reason)
                emit("failed", reason=reason)
                break
            await asyncio.sleep(0.5)
    return None, None


async def run_customer(args: argparse.Namespace) -> int:
    got = Received()
    closing: set[asyncio.Task[None]] = set()
    try:
        ws, pc = await customer_connection(args, got)
    except Exception as exc:  # the test reads why in the summary
        got.failures.append(f"{type(exc).__name__}: {exc}")
        emit("failed", reason=got.failures[-1])
        ws = pc = None
    end = time.monotonic() + args.seconds
    while pc is not None and time.monotonic() < end:
        await asyncio.sleep(0.05)
        last = max(got.packets[-1][0] if got.packets else 0.0, got.connections[-1]["t"])
        if args.stall_s > 0 and time.monotonic() - last > args.stall_s:
            emit("stalled", t=time.monotonic(), since=last)
            old_ws, old_pc = ws, pc
            # the old connection is dead: let it go in the background (closing a TURN allocation
            # through a network that is gone waits for its retransmissions)
            for old in (old_pc.close(), old_ws.close()):
                task = asyncio.ensure_future(old)
                closing.add(task)
                task.add_done_callback(closing.discard)
            ws, pc = await reconnect(args, got, end)
    emit(
        "summary",
        packets=got.packets,
        audio_frames=got.audio_frames,
        voiced_frames=got.voiced_frames,
        audio_rms_max=got.audio_rms_max,
        first_audio_t=got.first_audio_t,
        connections=got.connections,
        failures=got.failures,
        retries=got.retries,
    )
    if pc is not None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(pc.close(), 5)
            await ws.close()
    return 0


# -- the operator ------------------------------------------------------------------------------
class Tone(MediaStreamTrack):
    """A microphone that sings one frequency, paced like a real one."""

    kind = "audio"

    def __init__(self, hz: float) -> None:
        super().__init__()
        self.hz = hz
        self.n = 0
        self.start = 0.0

    async def recv(self) -> av.AudioFrame:
        if self.n == 0:
            self.start = time.monotonic()
        await asyncio.sleep(max(0.0, self.start + self.n * SAMPLES / RATE - time.monotonic()))
        t = (np.arange(SAMPLES) + self.n * SAMPLES) / RATE
        samples = (0.3 * 32767 * np.sin(2 * math.pi * self.hz * t)).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = RATE
        frame.pts = self.n * SAMPLES
        frame.time_base = fractions.Fraction(1, RATE)
        self.n += 1
        return frame


async def run_operator(args: argparse.Namespace) -> int:
    lines = Path(args.frames).read_text(encoding="utf-8").splitlines()
    frames = [parse_frame(json.loads(line)) for line in lines if line.strip()]
    join = {"role": "operator"} | ({"token": args.token} if args.token else {"operator_key": args.key})
    ws, joined = await signal_join(args.url, join)
    pc = RTCPeerConnection(configuration_for(args, joined))
    channel = pc.createDataChannel("landmarks", ordered=False, maxRetransmits=0)
    pc.addTrack(Tone(440.0))
    opened = asyncio.Event()
    channel.on("open", opened.set)
    await negotiate(ws, pc)
    await asyncio.wait_for(opened.wait(), 60)
    emit("connected", t=time.monotonic(), pair=nominated_pair(pc))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    sent: list[tuple[float, float]] = []
    start = time.monotonic()
    n = 0
    while not stop.is_set() and time.monotonic() - start < args.seconds:
        t_ms = args.t0_ms + n * FRAME_S * 1000.0
        frame = dataclasses.replace(frames[n % len(frames)], t_ms=t_ms)
        if channel.readyState == "open":
            channel.send(landmark_packet.encode(frame))
            sent.append((t_ms, time.monotonic()))
        n += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), max(0.0, start + n * FRAME_S - time.monotonic()))
    emit("summary", sent=sent)
    with contextlib.suppress(Exception):
        await asyncio.wait_for(pc.close(), 5)
        await ws.close()
    return 0


def add_ice_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ice", help="RTCConfiguration JSON; default: what the server hands out with joined")
    parser.add_argument("--policy", choices=["all", "relay"], help="override the ICE transport policy")
    parser.add_argument(
        "--turn-transport",
        choices=["udp", "tcp", "tls"],
        help="use only TURN URLs of this transport (tls: turns: URLs; trust their certificate with SSL_CERT_FILE)",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.network.peers")
    sub = parser.add_subparsers(dest="role", required=True)
    c = sub.add_parser("customer")
    c.add_argument("url", help="the room's signaling WebSocket, ws://HOST:PORT/ws/rooms/ROOM")
    c.add_argument("--token", help="the customer's session access token (none in the demo room)")
    add_ice_options(c)
    c.add_argument("--seconds", type=float, default=10.0, help="how long to stay once connected")
    c.add_argument("--stall-s", type=float, default=0.0, help="reconnect after this long without motion")
    c.add_argument("--connect-timeout-s", type=float, default=30.0)
    o = sub.add_parser("operator")
    o.add_argument("url")
    o.add_argument("--token", help="the operator's bearer token")
    o.add_argument("--key", help="the demo room's operator key")
    add_ice_options(o)
    o.add_argument("--frames", default=str(Path(__file__).resolve().parents[2] / "assets/demo/book.jsonl"))
    o.add_argument("--seconds", type=float, default=300.0, help="stop after this long at the latest")
    o.add_argument(
        "--t0-ms",
        type=float,
        default=0.0,
        help="the first frame's t_ms (far from 0, no other operator's frame in the room can share one)",
    )
    args = parser.parse_args(argv)
    run = run_customer if args.role == "customer" else run_operator
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())

"""How many 1:1 live rooms one server process holds on this machine before voice or motion falls behind.

    python benchmarks/capacity.py [--rooms 10,20,40,60] [--plain]

The server is the real application (FastAPI on uvicorn, signaling WebSocket, aiortc) in its own
process, with the rooms opened in it. Another process plays, for every room, an operator (the demo
recording's landmarks at 30 frames a second and a voice of 20 ms Opus packets) and a customer (its
own voice back, and it counts what it gets). The client process sends pre-encoded voice and does
not decode what it hears, so that its own cost stays small; both share the machine's two cores, so
the figures are a lower bound for a server on a machine of its own.

A room keeps up when its customer gets at least 90 % of the motion (27 packets a second) and of the
voice (45 packets a second), and the operator gets the customer's voice likewise. ``--plain``
measures the plain relay for comparison: the server decodes every voice packet and encodes it again
for each listener. Prints a table; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MEASURE_S = 6.0
SETTLE_S = 3.0


def serve(port: int, rooms: int, plain: bool) -> None:
    """The server process: the application with ``rooms`` live rooms; prints their operator keys."""
    import uvicorn

    from avatar_care.app import create_app
    from avatar_care.core.config import Settings
    from avatar_care.live.ice import use_loopback_only
    from avatar_care.live.room import LiveRoom

    use_loopback_only()
    data = Path(os.environ.get("TMPDIR", "/tmp")) / f"capacity-{port}"
    app = create_app(Settings(data_dir=data))
    registry = app.state.live_rooms
    keys = {}
    for i in range(rooms):
        room_id = f"room-{i}"
        registry.open(room_id)
        registry.rooms[room_id] = LiveRoom(room_id, relay_encoded=not plain)
        keys[room_id] = registry.operator_keys[room_id]
    print(json.dumps(keys), flush=True)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


async def negotiate(port: int, room_id: str, pc: Any, join: dict[str, Any]) -> Any:
    """Offer and answer over the signaling socket, which stays open as long as the peer (as in a browser)."""
    import websockets
    from aiortc import RTCSessionDescription

    ws = await websockets.connect(f"ws://127.0.0.1:{port}/ws/rooms/{room_id}")
    if True:
        await ws.send(json.dumps(join))
        assert json.loads(await ws.recv())["type"] == "joined"
        await pc.setLocalDescription(await pc.createOffer())
        await ws.send(json.dumps({"type": "offer", "sdp": pc.localDescription.sdp}))
        answer = json.loads(await ws.recv())
        assert answer["type"] == "answer", answer
        await pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))
    return ws


class Counter:
    def __init__(self) -> None:
        self.motion = 0
        self.audio = 0


async def clients(
    port: int, keys: dict[str, str], frames: list[str], voice: list[bytes]
) -> list[tuple[int, int, int]]:
    from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection

    from avatar_care.live.audio_relay import install_audio_passthrough
    from avatar_care.live.demo_voice import RecordedVoice
    from avatar_care.live.ice import use_loopback_only

    use_loopback_only()
    install_audio_passthrough()  # the clients count packets; decoding them would only load the machine

    class Voice(MediaStreamTrack):
        kind = "audio"

        def __init__(self) -> None:
            super().__init__()
            self.source = RecordedVoice(voice)

        async def recv(self) -> Any:
            return await self.source.recv()

    async def drain(track: MediaStreamTrack, counter: Counter) -> None:
        try:
            while True:
                await track.recv()
                counter.audio += 1
        except Exception:
            return

    pcs = []
    counters: list[tuple[Counter, Counter]] = []
    channels = []
    sockets = []
    tasks = []
    for room_id, key in keys.items():
        op_count, cu_count = Counter(), Counter()
        operator = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        operator.addTrack(Voice())
        landmarks = operator.createDataChannel("landmarks", ordered=False, maxRetransmits=0)
        customer = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        customer.addTrack(Voice())
        motion = customer.createDataChannel("motion", ordered=False, maxRetransmits=0)

        def on_motion(_: bytes, c: Counter = cu_count) -> None:
            c.motion += 1

        motion.on("message", on_motion)
        operator.on("track", lambda t, c=op_count: tasks.append(asyncio.create_task(drain(t, c))))
        customer.on("track", lambda t, c=cu_count: tasks.append(asyncio.create_task(drain(t, c))))
        sockets.append(
            await negotiate(
                port, room_id, operator, {"type": "join", "role": "operator", "operator_key": key}
            )
        )
        sockets.append(await negotiate(port, room_id, customer, {"type": "join", "role": "customer"}))
        pcs += [operator, customer]
        channels.append(landmarks)
        counters.append((op_count, cu_count))

    async def feed() -> None:
        start = time.monotonic()
        n = 0
        while True:
            for channel in channels:
                if channel.readyState == "open":
                    frame = json.loads(frames[n % len(frames)])
                    frame["t_ms"] = n * 1000 / 30
                    channel.send(json.dumps(frame))
            n += 1
            await asyncio.sleep(max(0.0, start + n / 30 - time.monotonic()))

    feeder = asyncio.create_task(feed())
    await asyncio.sleep(SETTLE_S)
    before = [(o.audio, c.motion, c.audio) for o, c in counters]
    await asyncio.sleep(MEASURE_S)
    after = [(o.audio, c.motion, c.audio) for o, c in counters]
    feeder.cancel()
    for task in tasks:
        task.cancel()
    for pc in pcs:
        await pc.close()
    for ws in sockets:
        await ws.close()
    return [
        (round((a[0] - b[0]) / MEASURE_S), round((a[1] - b[1]) / MEASURE_S), round((a[2] - b[2]) / MEASURE_S))
        for a, b in zip(after, before, strict=True)
    ]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(rooms: int, plain: bool) -> tuple[int, float, float, float, float, float]:
    from tests.support import free_port

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(port), "--rooms", str(rooms)]
        + (["--plain"] if plain else []),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert server.stdout is not None
        keys = json.loads(server.stdout.readline())
        time.sleep(1.5)  # uvicorn starts listening
        frames = [x for x in (ROOT / "assets" / "demo" / "book.jsonl").read_text().splitlines() if x.strip()]
        from avatar_care.live.demo_voice import encode_opus

        voice = encode_opus(
            ROOT.parent / "shared" / "speech" / "sense_and_sensibility_01_austen_64kb-0870.wav"
        )
        cpu0, own0, t0 = cpu_seconds(server.pid), time.process_time(), time.monotonic()
        rates = asyncio.run(clients(port, keys, frames, voice))
        elapsed = time.monotonic() - t0
        cpu = (cpu_seconds(server.pid) - cpu0) / elapsed
        client_cpu = (time.process_time() - own0) / elapsed
    finally:
        server.terminate()
        server.wait(timeout=20)
    keeping_up = sum(1 for op_a, mo, cu_a in rates if mo >= 27 and cu_a >= 45 and op_a >= 45)
    worst = min(rates, key=lambda r: (r[1], r[2]))
    return keeping_up, cpu * 100, client_cpu * 100, float(worst[1]), float(worst[2]), float(worst[0])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--serve", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--rooms", default="10,20,40")
    parser.add_argument("--plain", action="store_true", help="the plain relay: decode and re-encode voice")
    args = parser.parse_args()
    if args.serve is not None:
        serve(args.serve, int(args.rooms), args.plain)
        return
    relay = "plain (decode + encode)" if args.plain else "encoded (no decode, no encode)"
    header = (
        "rooms",
        "rooms keeping up",
        "server CPU %",
        "client CPU %",
        "worst motion pkt/s",
        "worst voice pkt/s (to customer)",
        "worst voice pkt/s (to operator)",
    )
    rows = [header]
    for n in (int(x) for x in args.rooms.split(",")):
        ok, cpu, client_cpu, motion, voice_c, voice_o = run(n, args.plain)
        rows.append(
            (
                str(n),
                f"{ok}/{n}",
                f"{cpu:.0f}",
                f"{client_cpu:.0f}",
                f"{motion:.0f}",
                f"{voice_c:.0f}",
                f"{voice_o:.0f}",
            )
        )
        print(f"  {n} rooms done", file=sys.stderr, flush=True)
    print(
        f"audio relay: {relay}; each room: 1 operator, 1 customer, 30 motion packets/s, 50 voice packets/s each way"
    )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for k, r in enumerate(rows):
        print(" | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))
        if k == 0:
            print("-+-".join("-" * w for w in widths))


if __name__ == "__main__":
    main()

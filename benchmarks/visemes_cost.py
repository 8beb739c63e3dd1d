"""Where a voice-only operator's mouth is computed, by what it costs the server per room.

    python benchmarks/visemes_cost.py [--rooms 10] [--seconds 8] [--runs 2]

Two ways the avatar of an operator without a camera gets a mouth that follows the voice:

* ``server``: the console sends its microphone, as it does anyway; the server decodes the Opus
  and analyses it (``avatar_care/live/voice_visemes.py``, what the room does), and its output
  clock sends the avatar at rest, alive and speaking, 30 times a second.
* ``console``: the console analyses its own microphone and sends the mouth 30 times a second as a
  landmark packet with face blendshapes only (no body), which the server solves like any frame.

Both relay the voice and send customers 30 motion packets a second. The rooms run in this process
(``LiveRoom``, as the server holds them); every room's operator and customer are aiortc peers in a
child process, so that this process's CPU time is the server's alone. The modes alternate, ``--runs``
times each; the table gives the medians. A second table times the pieces in this process, without a
network: one Opus packet decoded, one motion frame's window analysed, one face-only landmark packet
decoded and solved. Prints tables; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SPEECH = ROOT.parent / "shared" / "speech" / "sense_and_sensibility_01_austen_64kb-0870.wav"
SETTLE_S = 3.0
MODES = ("server", "console")


def face_only_frame(t_ms: float, mouth: float) -> Any:
    """What a console without a camera would send for its mouth: no body, the face's mouth."""
    from rigging.frame import TrackingFrame

    return TrackingFrame(
        t_ms=t_ms,
        pose_world=None,
        face_blendshapes={"jawOpen": mouth, "mouthFunnel": 0.3 * mouth, "mouthPucker": 0.1 * mouth},
    )


# -- the peers' process ------------------------------------------------------------------------
async def peers(mode: str, rooms: int, seconds: float) -> None:
    """Every room's operator (voice, and in ``console`` mode the mouth as landmark packets) and
    customer (counts motion packets); offers out on stdout, answers in on stdin."""
    from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection, RTCSessionDescription

    from avatar_care.live.audio_relay import install_audio_passthrough
    from avatar_care.live.demo_voice import RecordedVoice, encode_opus
    from avatar_care.live.ice import use_loopback_only
    from rigging import landmark_packet

    use_loopback_only()
    install_audio_passthrough()  # the customers count packets; decoding them would load the machine
    voice = encode_opus(SPEECH)
    loop = asyncio.get_running_loop()

    class Voice(MediaStreamTrack):
        kind = "audio"

        def __init__(self) -> None:
            super().__init__()
            self.source = RecordedVoice(voice)

        async def recv(self) -> Any:
            return await self.source.recv()

    async def answer(room: int, role: str, pc: Any) -> None:
        await pc.setLocalDescription(await pc.createOffer())
        print(json.dumps({"room": room, "role": role, "sdp": pc.localDescription.sdp}), flush=True)
        line = await loop.run_in_executor(None, sys.stdin.readline)
        await pc.setRemoteDescription(RTCSessionDescription(sdp=json.loads(line)["sdp"], type="answer"))

    motion = [0] * rooms
    pcs, channels = [], []
    for r in range(rooms):
        operator = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        operator.addTrack(Voice())
        channels.append(operator.createDataChannel("landmarks", ordered=False, maxRetransmits=0))
        await answer(r, "operator", operator)
        customer = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        customer.addTransceiver("audio", direction="recvonly")
        channel = customer.createDataChannel("motion", ordered=False, maxRetransmits=0)
        channel.on("message", lambda _, r=r: motion.__setitem__(r, motion[r] + 1))
        await answer(r, "customer", customer)
        pcs += [operator, customer]

    async def feed() -> None:
        start = time.monotonic()
        n = 0
        while True:
            packet = landmark_packet.encode(face_only_frame(n * 1000 / 30, abs(((n % 20) - 10) / 10)))
            for channel in channels:
                if channel.readyState == "open":
                    channel.send(packet)
            n += 1
            await asyncio.sleep(max(0.0, start + n / 30 - time.monotonic()))

    feeder = asyncio.create_task(feed()) if mode == "console" else None
    await asyncio.sleep(SETTLE_S)
    before = list(motion)
    print(json.dumps({"measure": "start"}), flush=True)
    await asyncio.sleep(seconds)
    rates = [(a - b) / seconds for a, b in zip(motion, before, strict=True)]
    print(json.dumps({"measure": "end", "worst_motion_per_s": min(rates)}), flush=True)
    if feeder is not None:
        feeder.cancel()
    for pc in pcs:
        await pc.close()


# -- the server's process ----------------------------------------------------------------------
async def serve(mode: str, rooms: int, seconds: float) -> dict[str, float]:
    from avatar_care.live.ice import use_loopback_only
    from avatar_care.live.room import LiveRoom

    use_loopback_only()
    opened = {r: LiveRoom(f"room-{r}") for r in range(rooms)}
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--peers",
        mode,
        "--rooms",
        str(rooms),
        "--seconds",
        str(seconds),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert child.stdin is not None and child.stdout is not None
    cpu: dict[str, float] = {}
    result: dict[str, float] = {}
    while line := await child.stdout.readline():
        msg = json.loads(line)
        if "sdp" in msg:
            room = opened[msg["room"]]
            offer = (
                room.operator_offer
                if msg["role"] == "operator"
                else (lambda s, room=room: room.customer_offer("c", s))
            )
            child.stdin.write((json.dumps({"sdp": await offer(msg["sdp"])}) + "\n").encode())
            await child.stdin.drain()
        elif msg.get("measure") == "start":
            cpu["start"], cpu["wall"] = time.process_time(), time.monotonic()
            voiced = sum(r.hub.stats.packets_voiced for r in opened.values())
            decoded = sum(r.hub.voice.decoded for r in opened.values())
        elif msg.get("measure") == "end":
            wall = time.monotonic() - cpu["wall"]
            result = {
                "cpu_pct": 100 * (time.process_time() - cpu["start"]) / wall,
                "worst_motion_per_s": msg["worst_motion_per_s"],
                "voiced_per_s": (sum(r.hub.stats.packets_voiced for r in opened.values()) - voiced)
                / wall
                / rooms,
                "decoded_per_s": (sum(r.hub.voice.decoded for r in opened.values()) - decoded) / wall / rooms,
            }
    await child.wait()
    for room in opened.values():
        await room.close()
    return result


def pieces(repeats: int = 600) -> list[tuple[str, float, float]]:
    """Per piece: microseconds, median of ``repeats``, and what that is per room-second."""
    import av
    import numpy as np

    from avatar_care.live.demo_voice import encode_opus
    from avatar_care.live.voice_visemes import VoiceVisemes
    from rigging import landmark_packet
    from rigging.solver import Retargeter, SolverOptions

    voice = encode_opus(SPEECH)
    mouth = VoiceVisemes()
    decode_us, analyse_us = [], []
    for i in range(repeats):
        packet = av.Packet(voice[i % len(voice)])
        mouth.push(packet)
        t0 = time.perf_counter()
        mouth._decode(mouth._waiting.popleft())  # the decode alone
        t1 = time.perf_counter()
        mouth.push(packet)
        mouth._waiting.clear()
        mouth._samples = np.random.default_rng(i).normal(0, 0.1, mouth._samples.size).astype(np.float32)
        t2 = time.perf_counter()
        mouth._analyser.window(mouth._samples)
        t3 = time.perf_counter()
        decode_us.append((t1 - t0) * 1e6)
        analyse_us.append((t3 - t2) * 1e6)
    solver = Retargeter(SolverOptions(filter=False))
    solve_us = []
    for i in range(repeats):
        message = landmark_packet.encode(face_only_frame(i * 1000 / 30, (i % 10) / 10))
        t0 = time.perf_counter()
        frame, _ = landmark_packet.decode(message)
        solver.solve(frame)
        solve_us.append((time.perf_counter() - t0) * 1e6)
    d, a, s = (statistics.median(x) for x in (decode_us, analyse_us, solve_us))
    return [
        ("server: decode one 20 ms Opus packet", d, 50 * d),
        ("server: analyse one motion frame's window (1/30 s)", a, 30 * a),
        ("console: decode and solve one face-only landmark packet", s, 30 * s),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rooms", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--peers", choices=MODES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.peers:
        asyncio.run(peers(args.peers, args.rooms, args.seconds))
        return
    rows = []
    for p in pieces():
        rows.append(p)
    print("piece                                                    | us (median) | us per room-second")
    for name, us, per_s in rows:
        print(f"{name:56} | {us:11.1f} | {per_s:8.0f} ({per_s / 1e4:.2f} % of a core)")
    print()
    runs: dict[str, list[dict[str, float]]] = {m: [] for m in MODES}
    for _ in range(args.runs):
        for mode in MODES:
            runs[mode].append(asyncio.run(serve(mode, args.rooms, args.seconds)))
    print(f"{args.rooms} rooms, voice only, {args.seconds:.0f} s a run, {args.runs} runs each (medians)")
    print(
        "mode    | server CPU % | CPU % per room | worst motion pkt/s | voiced pkt/s/room | Opus decoded/s/room"
    )
    for mode in MODES:
        med = {k: statistics.median(r[k] for r in runs[mode]) for k in runs[mode][0]}
        print(
            f"{mode:7} | {med['cpu_pct']:12.1f} | {med['cpu_pct'] / args.rooms:14.2f} | "
            f"{med['worst_motion_per_s']:18.1f} | {med['voiced_per_s']:17.1f} | {med['decoded_per_s']:19.1f}"
        )
    server, console = (statistics.median(r["cpu_pct"] for r in runs[m]) for m in MODES)
    print(f"ratio server / console: {server / console:.2f}")


if __name__ == "__main__":
    main()

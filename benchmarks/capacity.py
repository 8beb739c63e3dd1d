"""How many live rooms one server process holds on this machine before voice or motion falls behind.

    python benchmarks/capacity.py [--rooms 10,20,40,60] [--customers 3] [--plain] [--workers 1,2]
    python benchmarks/capacity.py --mix-cost

The server is the real application (FastAPI on uvicorn, signaling WebSocket, aiortc) in its own
process, with the rooms opened in it. Another process plays, for every room, an operator (the demo
recording's landmarks at 30 frames a second and a voice of 20 ms Opus packets) and one customer, or
``--customers N`` customers all speaking at once (each its own voice back, from another point of
the recording, and each counts what it gets); with two or more the server mixes what the operator
hears, and reports what the mixing cost (its thread time, per mixed stream). The client process sends pre-encoded voice and does
not decode what it hears, so that its own cost stays small; both share the machine's two cores, so
the figures are a lower bound for a server on a machine of its own.

A room keeps up when each customer gets at least 90 % of the motion (27 packets a second) and of the
voice (45 packets a second), and the operator gets the customers' voice likewise. ``--plain``
measures the plain relay for comparison: the server decodes every voice packet and encodes it again
for each listener. ``--workers 1,2``: the same room counts with the rooms spread over one, then two
server processes (each the live-room code a room worker runs: its own event loop, aiortc, motion
hub and scheduler, voice relay), in one run; the server CPU is the sum over them, and the CPU per
room is that sum over the rooms. Signaling goes straight to each process: the API process's relay
(docs/scale.md) is crossed once per join and is measured by benchmarks/signaling_proxy.py. ``--mix-cost`` measures the mixer alone, in this process, without a network:
its thread time per 20 ms frame for 1 to 4 voices. Prints tables; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import profile_groups  # noqa: E402
from benchmarks.motion_trace import MotionTrace, save  # noqa: E402

MEASURE_S = 6.0
SETTLE_S = 3.0


def serve(port: int, rooms: int, plain: bool, first: int = 0) -> None:
    """The server process: the application with ``rooms`` live rooms; prints their operator keys,
    and when it is stopped, what mixing the operators' voices cost."""
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
    for i in range(first, first + rooms):
        room_id = f"room-{i}"
        registry.open(room_id)
        registry.rooms[room_id] = LiveRoom(room_id, relay_encoded=not plain)
        keys[room_id] = registry.operator_keys[room_id]
    print(json.dumps(keys), flush=True)
    opened = list(registry.rooms.values())

    def report() -> None:
        # uvicorn ends the process with the signal that stopped it, so the mixers' figures are
        # printed as they go (a line a second); the parent takes the two around its measurement
        while True:
            mixes = [room.operator_hears.stats for room in opened]
            totals = {
                "t": time.monotonic(),
                "mixed": sum(m.mixed for m in mixes),
                "behind": sum(m.behind for m in mixes),
                "late": sum(m.late for m in mixes),
                "dropped": sum(m.dropped for m in mixes),
                "mix_cpu_s": sum(m.mix_cpu_s for m in mixes),
                # where the customers' motion packets come from: tracked, carried forward, or
                # made from the voice alone (no frame for FILL_FOR_S: the mouth decodes the voice)
                **{
                    k: sum(getattr(room.hub.stats, k) for room in opened)
                    for k in ("packets_sent", "packets_filled", "packets_idle", "packets_voiced")
                },
            }
            print(json.dumps(totals), flush=True)
            time.sleep(0.5)

    threading.Thread(target=report, daemon=True).start()
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
    ports: dict[str, int],
    keys: dict[str, str],
    frames: list[str],
    voice: list[bytes],
    customers: int,
    window: list[float],
    json_frames: bool = False,
    traces: list[MotionTrace] | None = None,
    measuring: Callable[[], None] = lambda: None,
) -> list[tuple[int, int, int]]:
    """Per room: the operator's voice packets a second, and the worst customer's motion and voice.
    With ``traces``, every customer's motion arrivals in the measurement window are added to it;
    ``measuring`` is called as the measurement window opens."""
    from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection

    from avatar_care.live.audio_relay import install_audio_passthrough
    from avatar_care.live.demo_voice import RecordedVoice
    from avatar_care.live.ice import use_loopback_only
    from rigging import landmark_packet
    from rigging.frame import parse_frame

    use_loopback_only()
    install_audio_passthrough()  # the clients count packets; decoding them would only load the machine

    class Voice(MediaStreamTrack):
        kind = "audio"

        def __init__(self, start: int = 0) -> None:
            super().__init__()
            self.source = RecordedVoice(voice)
            self.source._n = start  # another sentence of the recording than the other speakers

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
    counters: list[tuple[Counter, list[Counter]]] = []
    channels = []
    sockets = []
    tasks = []
    for room_id, key in keys.items():
        op_count = Counter()
        operator = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        operator.addTrack(Voice())
        landmarks = operator.createDataChannel("landmarks", ordered=False, maxRetransmits=0)
        operator.on("track", lambda t, c=op_count: tasks.append(asyncio.create_task(drain(t, c))))
        sockets.append(
            await negotiate(
                ports[room_id], room_id, operator, {"type": "join", "role": "operator", "operator_key": key}
            )
        )
        pcs.append(operator)
        cu_counts = []
        for k in range(customers):
            cu_count = Counter()
            customer = RTCPeerConnection(RTCConfiguration(iceServers=[]))
            customer.addTrack(Voice(start=97 * k))
            motion = customer.createDataChannel("motion", ordered=False, maxRetransmits=0)

            trace = MotionTrace()
            if traces is not None:
                traces.append(trace)

            def on_motion(m: bytes, c: Counter = cu_count, trace: MotionTrace = trace) -> None:
                c.motion += 1
                trace.record(m)

            motion.on("message", on_motion)
            customer.on("track", lambda t, c=cu_count: tasks.append(asyncio.create_task(drain(t, c))))
            sockets.append(
                await negotiate(ports[room_id], room_id, customer, {"type": "join", "role": "customer"})
            )
            pcs.append(customer)
            cu_counts.append(cu_count)
        channels.append(landmarks)
        counters.append((op_count, cu_counts))

    async def feed() -> None:
        start = time.monotonic()
        n = 0
        while True:
            frame = json.loads(frames[n % len(frames)])
            frame["t_ms"] = n * 1000 / 30
            # as the consoles send it (one SCTP chunk), or the JSON form with --json
            message: str | bytes = (
                json.dumps(frame) if json_frames else landmark_packet.encode(parse_frame(frame))
            )
            for channel in channels:
                if channel.readyState == "open":
                    channel.send(message)
            n += 1
            await asyncio.sleep(max(0.0, start + n / 30 - time.monotonic()))

    feeder = asyncio.create_task(feed())
    await asyncio.sleep(SETTLE_S)
    window[0] = time.monotonic()
    measuring()
    for trace in traces or []:
        trace.recording = True
    before = [(o.audio, [(c.motion, c.audio) for c in cs]) for o, cs in counters]
    await asyncio.sleep(MEASURE_S)
    after = [(o.audio, [(c.motion, c.audio) for c in cs]) for o, cs in counters]
    window[1] = time.monotonic()
    for trace in traces or []:
        trace.recording = False
    feeder.cancel()
    for task in tasks:
        task.cancel()
    for pc in pcs:
        await pc.close()
    for ws in sockets:
        await ws.close()
    rates = []
    for (op_after, cu_after), (op_before, cu_before) in zip(after, before, strict=True):
        worst_motion = min(a[0] - b[0] for a, b in zip(cu_after, cu_before, strict=True))
        worst_voice = min(a[1] - b[1] for a, b in zip(cu_after, cu_before, strict=True))
        rates.append(
            (
                round((op_after - op_before) / MEASURE_S),
                round(worst_motion / MEASURE_S),
                round(worst_voice / MEASURE_S),
            )
        )
    return rates


def mix_in(reports: list[dict[str, Any]], window: list[float]) -> dict[str, float]:
    """The mixers' figures over the measurement window, from the server's running totals."""
    inside = [r for r in reports if window[0] <= r["t"] <= window[1]]
    if len(inside) < 2:
        return {}
    first, last = inside[0], inside[-1]
    seconds = last["t"] - first["t"]
    return {key: (last[key] - first[key]) / seconds for key in first if key != "t"} | {"seconds": seconds}


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(
    rooms: int,
    plain: bool,
    customers: int,
    json_frames: bool = False,
    trace_dir: Path | None = None,
    workers: int = 1,
    profile_dir: Path | None = None,
) -> tuple[int, float, float, float, float, float, dict[str, Any]]:
    from tests.support import drain, free_port

    servers: list[subprocess.Popen[str]] = []
    ports: dict[str, int] = {}
    keys: dict[str, str] = {}
    try:
        share = [rooms // workers + (1 if w < rooms % workers else 0) for w in range(workers)]
        for w in range(workers):
            port = free_port()
            server = subprocess.Popen(
                [sys.executable, __file__, "--serve", str(port), "--rooms", str(share[w])]
                + ["--first", str(sum(share[:w]))]
                + (["--plain"] if plain else []),
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
            servers.append(server)
            assert server.stdout is not None
            opened = json.loads(server.stdout.readline())
            keys |= opened
            ports |= {room_id: port for room_id in opened}
        reports: list[deque[str]] = []
        for server in servers:
            assert server.stdout is not None
            reports.append(drain(server.stdout))
        time.sleep(1.5)  # uvicorn starts listening
        frames = [x for x in (ROOT / "assets" / "demo" / "book.jsonl").read_text().splitlines() if x.strip()]
        voice = speech()
        cpu0 = sum(cpu_seconds(s.pid) for s in servers)
        own0, t0 = time.process_time(), time.monotonic()
        window = [0.0, 0.0]  # when the measurement began and ended, on the machine's monotonic clock
        traces: list[MotionTrace] | None = [] if trace_dir else None
        profilers: list[subprocess.Popen[bytes]] = []

        def profile() -> None:
            # each server sampled by py-spy over the measurement window only (not the set-up)
            if profile_dir is None:
                return
            profile_dir.mkdir(parents=True, exist_ok=True)
            for w, server in enumerate(servers):
                out = profile_dir / f"capacity-{workers}w-{rooms}r-{w}.raw"
                profilers.append(
                    subprocess.Popen(
                        [
                            *(
                                str(Path(sys.executable).with_name("py-spy")),
                                "record",
                                "--pid",
                                str(server.pid),
                            ),
                            *("--duration", str(int(MEASURE_S)), "--rate", "100", "--nonblocking"),
                            *("--format", "raw", "--output", str(out)),
                        ],
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                )

        rates = asyncio.run(
            clients(ports, keys, frames, voice, customers, window, json_frames, traces, profile)
        )
        for profiler in profilers:
            profiler.wait(timeout=MEASURE_S + 30)
        if trace_dir and traces is not None:
            label = f"{rooms} rooms of {customers} customer(s), operators at 30 frames/s"
            save(trace_dir / f"capacity-{rooms}-rooms.json", label, traces)
        elapsed = time.monotonic() - t0
        cpu = (sum(cpu_seconds(s.pid) for s in servers) - cpu0) / elapsed
        client_cpu = (time.process_time() - own0) / elapsed
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(timeout=20)
    mix: dict[str, float] = {}
    for lines in reports:  # what each server printed, read on its own thread (tests.support.drain)
        for key, value in mix_in([json.loads(x) for x in list(lines) if x.startswith("{")], window).items():
            mix[key] = mix.get(key, 0.0) + value if key != "seconds" else value
    keeping_up = sum(1 for op_a, mo, cu_a in rates if mo >= 27 and cu_a >= 45 and op_a >= 45)
    worst = min(rates, key=lambda r: (r[1], r[2]))
    return keeping_up, cpu * 100, client_cpu * 100, float(worst[1]), float(worst[2]), float(worst[0]), mix


def speech() -> list[bytes]:
    from avatar_care.live.demo_voice import encode_opus

    return encode_opus(ROOT.parent / "shared" / "speech" / "sense_and_sensibility_01_austen_64kb-0870.wav")


def mix_cost(voice: list[bytes], frames: int = 500, repeats: int = 5) -> list[tuple[str, float, float]]:
    """Per 20 ms frame of one room's voice to the operator, with 1 to 4 voices at once: the event
    loop's thread time and the mixing thread's (medians of ``repeats`` runs of ``frames`` frames)."""
    import statistics

    import av

    from avatar_care.live.audio_mix import VoiceMix
    from avatar_care.live.audio_relay import FRAME_TICKS, OPUS_TIME_BASE, AudioFanout

    async def one(voices: int) -> tuple[float, float]:
        output = AudioFanout("cost")
        ear = output.subscribe()
        mix = VoiceMix("cost", output)
        started = time.thread_time()
        for i in range(frames):
            for k in range(voices):
                packet = av.Packet(voice[(i + 97 * k) % len(voice)])
                packet.pts, packet.time_base = i * FRAME_TICKS, OPUS_TIME_BASE
                mix.push(f"voice-{k}", packet)
            if mix.mixing:
                mix.tick()  # what the mix's clock does every 20 ms
                await mix.settled()
        loop_s = time.thread_time() - started
        assert (mix.stats.mixed if voices > 1 else mix.stats.passed) >= frames - 2, mix.stats
        ear.stop()
        mix.close()
        return loop_s / frames, mix.stats.mix_cpu_s / frames

    rows = []
    for voices in (1, 2, 3, 4):
        runs = [asyncio.run(one(voices)) for _ in range(repeats)]
        loop_s = statistics.median(r[0] for r in runs)
        thread_s = statistics.median(r[1] for r in runs)
        rows.append((f"{voices} voice{'s' if voices > 1 else ''}", loop_s, thread_s))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--serve", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--rooms", default="10,20,40")
    parser.add_argument("--customers", type=int, default=1, help="customers per room, all speaking at once")
    parser.add_argument("--plain", action="store_true", help="the plain relay: decode and re-encode voice")
    parser.add_argument(
        "--workers",
        default="1",
        help="server processes the rooms are spread over, e.g. 1,2 (one table row each)",
    )
    parser.add_argument("--first", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--mix-cost", action="store_true", help="the mixer alone: thread time per frame")
    parser.add_argument(
        "--json", action="store_true", help="operators send JSON frames, not landmark packets"
    )
    parser.add_argument(
        "--trace",
        type=Path,
        default=None,
        metavar="DIR",
        help="write every customer's motion arrivals to DIR (for benchmarks/jitter_buffer.mjs)",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        metavar="DIR",
        help="sample every server with py-spy over the measurement window, write the samples to DIR"
        " and print where the time goes (benchmarks/profile_groups.py)",
    )
    args = parser.parse_args()
    if args.serve is not None:
        serve(args.serve, int(args.rooms), args.plain, args.first)
        return
    if args.mix_cost:
        print("voice to the operator, per 20 ms frame (medians of 5 runs of 500 frames)")
        print("voices   | event loop us | mixing thread us | mixing thread % of a core")
        for what, loop_s, thread_s in mix_cost(speech()):
            print(f"{what:<8} | {loop_s * 1e6:13.0f} | {thread_s * 1e6:16.0f} | {thread_s / 0.02 * 100:.2f}")
        return
    relay = "plain (decode + encode)" if args.plain else "encoded (no decode, no encode)"
    header = (
        "workers",
        "rooms",
        "rooms keeping up",
        "server CPU %",
        "server CPU % per room",
        "client CPU %",
        "worst motion pkt/s",
        "worst voice pkt/s (to customer)",
        "worst voice pkt/s (to operator)",
        "mixed frames/s",
        "mix inputs late/s",
        "mix CPU % of a core",
        "mix us per frame",
    )
    rows = [header]
    profiles: dict[str, dict[str, float]] = {}
    for workers in (int(x) for x in args.workers.split(",")):
        for n in (int(x) for x in args.rooms.split(",")):
            ok, cpu, client_cpu, motion, voice_c, voice_o, mix = run(
                n, args.plain, args.customers, args.json, args.trace, workers, args.profile
            )
            mixed, mix_s = mix.get("mixed", 0.0), mix.get("mix_cpu_s", 0.0)  # per second
            rows.append(
                (
                    str(workers),
                    str(n),
                    f"{ok}/{n}",
                    f"{cpu:.0f}",
                    f"{cpu / n:.2f}",
                    f"{client_cpu:.0f}",
                    f"{motion:.0f}",
                    f"{voice_c:.0f}",
                    f"{voice_o:.0f}",
                    f"{mixed:.0f}",
                    f"{mix.get('behind', 0.0) + mix.get('late', 0.0):.0f}",
                    f"{mix_s * 100:.1f}",
                    f"{mix_s / mixed * 1e6:.0f}" if mixed else "-",
                )
            )
            # where the customers' motion came from: tracked frames, or the server's fillers (the
            # newest pose carried forward; the avatar at rest with the voice's mouth, which costs a
            # voice decode per packet)
            per_room = {k: mix.get(k, 0.0) / n for k in ("packets_sent", "packets_filled", "packets_idle")}
            print(
                f"  {workers} worker(s), {n} rooms done; motion packets a second per room:"
                f" {per_room['packets_sent']:.1f} sent, {per_room['packets_filled']:.1f} filled,"
                f" {per_room['packets_idle']:.1f} at rest with the voice",
                file=sys.stderr,
                flush=True,
            )
            if args.profile:
                found, _ = profile_groups.shares(args.profile.glob(f"capacity-{workers}w-{n}r-*.raw"))
                profiles[f"{workers}w {n}r"] = found
    print(
        f"audio relay: {relay}; each room: 1 operator, {args.customers} customer(s) speaking at once,"
        " 30 motion packets/s, 50 voice packets/s each way"
    )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for k, r in enumerate(rows):
        print(" | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))
        if k == 0:
            print("-+-".join("-" * w for w in widths))
    if profiles:
        print("\nwhere the servers' time goes, share of py-spy's samples over the measurement window (%)")
        groups = sorted(
            {g for found in profiles.values() for g in found},
            key=lambda g: -max(found.get(g, 0.0) for found in profiles.values()),
        )
        runs = list(profiles)
        print(f"{'part of the server':<34} | " + " | ".join(f"{r:>9}" for r in runs))
        print("-" * 35 + "+" + "+".join("-" * 11 for _ in runs))
        for g in groups:
            print(f"{g:<34} | " + " | ".join(f"{profiles[r].get(g, 0.0) * 100:9.1f}" for r in runs))


if __name__ == "__main__":
    main()

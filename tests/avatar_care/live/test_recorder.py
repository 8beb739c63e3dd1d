"""A recording's files: both voices as Ogg Opus on the recording's clock (gaps filled with silence,
pauses left out), the motion packets with their times, the chat."""

from __future__ import annotations

import fractions
import json
from pathlib import Path

import av
import numpy as np
import pytest

from avatar_care.live.recorder import FRAME_TICKS, Recorder, opus_ticks, read_motion
from rigging.codec import HopTiming, encode, packet_header
from rigging.pose import AvatarPose

#: the hop times a tracked pose's packet carries (the filled and resting ones carry none)
TRACKED = HopTiming(0.5, 2.0, 3.0)


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def first_channel(frame: av.AudioFrame) -> np.ndarray:
    samples = frame.to_ndarray()
    return samples[0] if frame.format.is_planar else samples.reshape(-1, len(frame.layout.channels))[:, 0]


def tone_packets(n: int) -> list[av.Packet]:
    """``n`` 20 ms Opus packets of a 440 Hz tone, as a browser's microphone sends them."""
    encoder = av.CodecContext.create("libopus", "w")
    encoder.sample_rate = 48000
    encoder.layout = "stereo"
    encoder.format = "s16"
    encoder.open()
    out: list[av.Packet] = []
    i = 0
    while len(out) < n:
        t = (np.arange(FRAME_TICKS) + i * FRAME_TICKS) / 48000
        x = (np.sin(2 * np.pi * 440 * t) * 8000).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(np.stack([x, x]).T.reshape(1, -1), format="s16", layout="stereo")
        frame.sample_rate, frame.pts, frame.time_base = 48000, i * FRAME_TICKS, fractions.Fraction(1, 48000)
        for packet in encoder.encode(frame):
            packet.pts = len(out) * FRAME_TICKS + 12345  # the sender's RTP time, its own origin
            out.append(packet)
        i += 1
    return out[:n]


def decoded(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        chunks = [first_channel(f) for f in container.decode(audio=0)]
    samples = np.concatenate(chunks).astype(np.float64)
    return samples * 32768.0 if np.abs(samples).max() <= 1.0 else samples  # in 16-bit units


def loud(samples: np.ndarray, start_s: float, end_s: float) -> float:
    return float(np.sqrt(np.mean(samples[int(start_s * 48000) : int(end_s * 48000)] ** 2)))


def test_voices_motion_and_chat_are_on_the_recording_clock(tmp_path: Path) -> None:
    clock = Clock()
    rec = Recorder(tmp_path / "r", clock)
    packets = tone_packets(100)
    # the operator speaks from 0.5 s for 1 s; the customer from 1.0 s for 1 s; motion every 1/30 s
    for i in range(50):
        clock.t = 100.5 + i * 0.02
        rec.voice("operator", packets[i])
        clock.t = 101.0 + i * 0.02
        rec.voice("customer", packets[50 + i])
    for m in range(60):
        clock.t = 100.0 + m / 30
        rec.motion(bytes([m]) * 245)
    clock.t = 102.0
    rec.chat("customer", "buongiorno")
    clock.t = 102.5
    summary = rec.close()
    assert summary.duration_s == pytest.approx(2.5)
    assert summary.voice_packets == {"operator": 50, "customer": 50}
    op, cu = decoded(tmp_path / "r" / "operator.ogg"), decoded(tmp_path / "r" / "customer.ogg")
    # each voice sounds where it was heard and is silent before, to within a frame
    assert loud(op, 0.0, 0.48) < 50 < loud(op, 0.55, 1.45)
    assert loud(cu, 0.0, 0.98) < 50 < loud(cu, 1.05, 1.95)
    motion = read_motion(tmp_path / "r" / "motion.bin")
    assert len(motion) == 60 == summary.motion_packets
    assert [ms for ms, _ in motion[:3]] == [0, 33, 67] and motion[59][1] == bytes([59]) * 245
    chat = [json.loads(line) for line in (tmp_path / "r" / "chat.jsonl").read_text().splitlines()]
    assert chat == [{"t_ms": 2000, "sender": "customer", "text": "buongiorno"}]


def test_a_pause_records_nothing_and_leaves_its_time_out(tmp_path: Path) -> None:
    clock = Clock()
    rec = Recorder(tmp_path / "r", clock)
    packets = tone_packets(150)
    for i in range(150):  # the operator speaks for 3 s; the recording is paused from 1 s to 1.3 s
        clock.t = 100.0 + i * 0.02
        if i == 50:
            rec.pause()
            rec.chat("customer", "4111 1111 1111 1111")
        if i == 65:
            rec.resume()
        rec.voice("operator", packets[i])
        rec.motion(b"m")
    clock.t = 103.0
    summary = rec.close()
    assert summary.duration_s == pytest.approx(2.7, abs=0.03)
    assert summary.voice_packets["operator"] == 135
    assert len(read_motion(tmp_path / "r" / "motion.bin")) == 135
    assert (tmp_path / "r" / "chat.jsonl").read_text() == ""
    # the voice goes on from the pause without the paused time in it (no silence for it)
    operator = decoded(tmp_path / "r" / "operator.ogg")
    assert len(operator) == pytest.approx(2.7 * 48000, abs=2 * FRAME_TICKS)
    assert loud(operator, 0.9, 1.1) > 1000
    # the customer never spoke: their file is silence, as long as the recording
    silent = decoded(tmp_path / "r" / "customer.ogg")
    assert len(silent) == pytest.approx(2.7 * 48000, abs=2 * FRAME_TICKS) and loud(silent, 0, 2.7) < 1


def test_a_hold_up_on_the_way_moves_neither_the_voice_nor_the_motion(tmp_path: Path) -> None:
    """Voice and motion spoken together stay together when both are held up for 300 ms and then
    arrive at once (a stalled sender, network or server)."""
    clock = Clock()
    rec = Recorder(tmp_path / "r", clock)
    packets = tone_packets(150)
    motion = [encode(AvatarPose(i * 1000 / 30, (0.0, 0.0, 0.0), {}, {}), i, TRACKED) for i in range(90)]
    held = 0.3
    events = []
    for i in range(150):  # spoken at i * 20 ms; those spoken in [1.0, 1.3) s arrive at 1.3 s
        spoken = i * 0.02
        events.append((max(spoken, 1.0 + held) if 1.0 <= spoken < 1.0 + held else spoken, 0, i))
    for m in range(90):
        spoken = m / 30
        events.append((max(spoken, 1.0 + held) if 1.0 <= spoken < 1.0 + held else spoken, 1, m))
    for at, kind, i in sorted(events):
        clock.t = 100.0 + at
        if kind == 0:
            rec.voice("operator", packets[i])
        else:
            rec.motion(motion[i])
    clock.t = 103.0
    rec.close()
    placed = [ms for ms, _ in read_motion(tmp_path / "r" / "motion.bin")]
    assert placed == [
        round(m * 1000 / 30) for m in range(90)
    ]  # each where it was posed, not where it arrived
    operator = decoded(tmp_path / "r" / "operator.ogg")
    assert len(operator) == pytest.approx(3.0 * 48000, abs=2 * FRAME_TICKS)  # no silence for the hold-up


def test_a_voice_whose_first_packets_came_late_keeps_the_motion_with_it(tmp_path: Path) -> None:
    """The voice's first packets were held 100 ms (sent before the connection was up), so the voice
    is placed 100 ms late in its file; the motion spoken with it is moved as much when done."""
    clock = Clock()
    rec = Recorder(tmp_path / "r", clock)
    packets = tone_packets(100)
    motion = [encode(AvatarPose(m * 1000 / 30, (0.0, 0.0, 0.0), {}, {}), m, TRACKED) for m in range(60)]
    events = [(max(i * 0.02, 0.1), 0, i) for i in range(100)] + [(m / 30, 1, m) for m in range(60)]
    for at, kind, i in sorted(events):
        clock.t = 100.0 + at
        if kind == 0:
            rec.voice("operator", packets[i])
        else:
            rec.motion(motion[i])
    clock.t = 102.0
    rec.close()
    assert rec.motion_shift_ms == pytest.approx(100.0, abs=1.0)
    # the voice lasts as long as the motion moved with it
    assert len(decoded(tmp_path / "r" / "operator.ogg")) == pytest.approx(2.1 * 48000, abs=2 * FRAME_TICKS)
    placed = [ms for ms, _ in read_motion(tmp_path / "r" / "motion.bin")]
    assert all(abs(ms - (m * 1000 / 30 + rec.motion_shift_ms)) <= 1 for m, ms in enumerate(placed))
    assert not list((tmp_path / "r").glob("*.moving"))


def test_resting_poses_before_the_first_tracked_one_do_not_set_the_motions_clock(tmp_path: Path) -> None:
    """Before tracking starts, the room sends the avatar at rest (its voice alone moves it), timed
    by the server's own clock; the tracked poses that follow are placed by theirs."""
    clock = Clock()
    rec = Recorder(tmp_path / "r", clock)
    for i in range(36):  # at rest for 1.2 s, on a clock 200 ms from the operator's
        clock.t = 100.0 + i / 30
        rec.motion(encode(AvatarPose(i * 1000 / 30 - 1000.0, (0.0, 0.0, 0.0), {}, {}), i))
    for m in range(30):  # then tracked poses from the operator's clock's 0, arriving from 1.2 s
        clock.t = 101.2 + m / 30
        rec.motion(encode(AvatarPose(m * 1000 / 30, (0.0, 0.0, 0.0), {}, {}), 36 + m, TRACKED))
    clock.t = 102.5
    rec.close()
    placed = [ms for ms, _ in read_motion(tmp_path / "r" / "motion.bin")]
    assert placed[:36] == [round(i * 1000 / 30) for i in range(36)]  # where they arrived
    assert placed[36:] == [round(1200 + m * 1000 / 30) for m in range(30)]


@pytest.mark.parametrize("stall", [6, 36])  # 200 ms, 1.2 s
def test_poses_carried_forward_that_tracked_ones_overtake_are_dropped(tmp_path: Path, stall: int) -> None:
    """Tracking stalls: the room carries the pose forward meanwhile, then the held-up tracked
    poses arrive at once; the file keeps them, in order and at their own times, and drops the
    guesses."""
    clock = Clock()
    rec = Recorder(tmp_path / "r", clock)
    pose = lambda t: AvatarPose(t, (0.0, 0.0, 0.0), {}, {})  # noqa: E731
    for m in range(10):  # tracked, on time
        clock.t = 100.0 + m / 30
        rec.motion(encode(pose(m * 1000 / 30), m, TRACKED))
    for k in range(1, stall + 1):  # carried forward from the 10th while nothing comes
        clock.t = 100.3 + k / 30
        rec.motion(encode(pose(300 + k * 1000 / 30), 9 + k))
    for m in range(10, 10 + stall):  # the held-up tracked poses, all at once
        rec.motion(encode(pose(m * 1000 / 30), 100 + m, TRACKED))
    for m in range(10 + stall, 20 + stall):  # and on time again
        clock.t = 100.0 + m / 30
        rec.motion(encode(pose(m * 1000 / 30), 100 + m, TRACKED))
    clock.t = 110.0
    rec.close()
    records = read_motion(tmp_path / "r" / "motion.bin")
    assert [ms for ms, _ in records] == [round(m * 1000 / 30) for m in range(20 + stall)]
    assert all(packet_header(p)[2] for _, p in records)  # only the tracked ones
    assert rec.motion_packets == 20 + stall


def test_a_gap_in_the_voice_is_filled_with_silence(tmp_path: Path) -> None:
    clock = Clock()
    rec = Recorder(tmp_path / "r", clock)
    packets = tone_packets(100)
    for i in range(50, 100):  # the sender's clock went on through the gap
        packets[i].pts += 48000
    for i in range(100):  # 1 s of voice, 1 s without a packet (a dropped connection), 1 s of voice
        clock.t = 100.0 + i * 0.02 + (1.0 if i >= 50 else 0.0)
        rec.voice("operator", packets[i])
    clock.t = 103.0
    rec.close()
    op = decoded(tmp_path / "r" / "operator.ogg")
    assert loud(op, 1.05, 1.95) < 50 < loud(op, 2.05, 2.95)
    assert len(op) == pytest.approx(3.0 * 48000, abs=2 * FRAME_TICKS)


def test_a_packet_overtaken_by_a_later_one_is_dropped_and_time_holds(tmp_path: Path) -> None:
    clock = Clock()
    rec = Recorder(tmp_path / "r", clock)
    packets = tone_packets(100)
    order = list(range(100))
    order[40], order[41] = 41, 40  # 40 comes after 41: its place is taken, it is dropped
    for n, i in enumerate(order):
        clock.t = 100.0 + n * 0.02
        rec.voice("operator", packets[i])
    clock.t = 102.0
    summary = rec.close()
    assert summary.voice_packets["operator"] == 99
    assert len(decoded(tmp_path / "r" / "operator.ogg")) == pytest.approx(2.0 * 48000, abs=FRAME_TICKS)


def test_nothing_is_written_after_close_and_close_again_changes_nothing(tmp_path: Path) -> None:
    clock = Clock()
    rec = Recorder(tmp_path / "r", clock)
    rec.motion(b"m")
    clock.t = 101.0
    first = rec.close()
    rec.motion(b"m")
    rec.chat("operator", "late")
    rec.voice("operator", tone_packets(1)[0])
    clock.t = 105.0
    assert rec.close() == first and first.duration_s == pytest.approx(1.0)
    assert len(read_motion(tmp_path / "r" / "motion.bin")) == 1


def test_another_source_is_placed_where_it_arrives(tmp_path: Path) -> None:
    """The operator connects again after 3 s away: the relay's times run on as if nothing happened
    (its timeline is continuous for the listeners), the recorder is told and places the new voice
    where it is heard."""
    clock = Clock()
    rec = Recorder(tmp_path / "r", clock)
    packets = tone_packets(100)
    for i in range(100):
        clock.t = 100.0 + i * 0.02 + (3.0 if i >= 50 else 0.0)
        if i == 50:
            rec.new_voice_timeline("operator")
        rec.voice("operator", packets[i])
    clock.t = 105.0
    rec.close()
    op = decoded(tmp_path / "r" / "operator.ogg")
    assert loud(op, 1.05, 3.95) < 50 < loud(op, 4.05, 4.95)


def test_the_length_of_an_opus_packet_is_read_from_its_toc() -> None:
    assert opus_ticks(bytes([0xFC, 0])) == 960  # CELT FB 20 ms, one frame
    assert opus_ticks(bytes([0x7D, 0])) == 1920  # hybrid FB 20 ms, two frames
    assert opus_ticks(bytes([0x5B, 0x03])) == 3 * 2880  # SILK WB 60 ms, code 3 with 3 frames

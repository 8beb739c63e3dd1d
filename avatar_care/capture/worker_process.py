"""The capture worker: a process of its own that runs the holistic landmarker on the newest frame.

Started by the server (multiprocessing, spawn context) for a room that uses server capture. It
lowers its own priority first, so that when both want the CPU the server's event loop wins: a late
landmark costs one frame of motion, a late event loop costs every room's motion and voice.

Protocol, both ways over one-way pipes the server made:

- ``wake`` (server to worker): an empty message each time a frame is written to the slot. The
  worker drains whatever wake-ups piled up and reads the slot once: only the newest frame counts.
  End of file means the server is done with this worker (or gone): the worker ends.
- ``results`` (worker to server): one message per event, its first byte the kind:
  ``R`` ready (the model is loaded), ``F`` a frame's landmarks (``RESULT`` header: the frame's
  number and ``origin_ms``, then the tracking frame, checked here as the hub checks a console's and
  pickled, so that the server's event loop neither parses JSON nor checks it again: a trusted
  child of the server's own), ``E`` a frame that failed (the header, then the error's text).
"""

from __future__ import annotations

import logging
import os
import pickle
import struct
from multiprocessing.connection import Connection
from typing import Final

logger = logging.getLogger(__name__)

READY: Final = b"R"
FRAME: Final = b"F"
FAILED: Final = b"E"
RESULT: Final = struct.Struct("<Qd")  # frame number, origin_ms
NICENESS: Final = 5
IDLE_POLL_S: Final = 1.0


def run_worker(slot_name: str, wake: Connection, results: Connection, size: int, niceness: int) -> None:
    """The worker's main: until ``wake`` ends, landmarks for the newest frame in the slot."""
    logging.basicConfig(level=logging.WARNING, format="capture worker %(process)d: %(message)s")
    if niceness:
        os.nice(niceness)
    from avatar_care.capture.frame_slot import FrameSlot
    from avatar_care.capture.holistic import HolisticCapture
    from rigging.frame import parse_frame

    slot = FrameSlot.attach(slot_name)
    try:
        with HolisticCapture(size=size) as capture:
            results.send_bytes(READY)
            last = 0
            while True:
                try:
                    if not wake.poll(IDLE_POLL_S):
                        continue
                    while wake.poll():
                        wake.recv_bytes()
                except (EOFError, OSError):
                    return  # the server closed its end: this worker is no longer wanted
                frame = slot.read(last)
                if frame is None:
                    continue
                last = frame.number
                header = RESULT.pack(frame.number, frame.origin_ms)
                try:
                    # the contract's own check, as for any console's frame (finite, shapes, ranges)
                    tracked = parse_frame(capture.process_i420(frame.i420, frame.t_ms).to_json())
                except Exception as exc:  # one bad frame must not end the room's capture
                    logger.exception("frame %d failed", frame.number)
                    results.send_bytes(FAILED + header + str(exc).encode("utf-8", "replace")[:500])
                    continue
                results.send_bytes(FRAME + header + pickle.dumps(tracked, protocol=pickle.HIGHEST_PROTOCOL))
    except (BrokenPipeError, EOFError):
        return  # the server went away while a result was on its way
    finally:
        slot.close()

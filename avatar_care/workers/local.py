"""The room workers ``avatar-care serve --workers N`` runs on its own machine: N child processes
(``avatar-care worker`` on a free loopback port), each started again a second after it ends, and
stopped with the server. Their ICE offers every interface, as the server's own rooms do (behind a
reverse proxy the server listens on loopback while the pages' media comes from outside). Each child asks to end with the server even if the server is killed (Linux's parent-death
signal, set by the worker itself as it starts: ``--parent-pid``), so no worker outlives it unseen."""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import sys
import threading

logger = logging.getLogger(__name__)

RESTART_DELAY_S = 1.0
PR_SET_PDEATHSIG = 1


def end_with_parent(parent_pid: int) -> bool:
    """Called by a worker as it starts: SIGTERM to it when the process that started it ends,
    however it ends. False when that process has already ended (the worker should not start)."""
    with contextlib.suppress(OSError, AttributeError):  # not Linux: the server's stop() still ends it
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    return os.getppid() == parent_pid


class LocalWorkers:
    def __init__(self, count: int) -> None:
        self.count = count
        self.command = [
            sys.executable,
            "-m",
            "avatar_care.cli",
            "worker",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--parent-pid",
            str(os.getpid()),
        ]
        self.procs: list[subprocess.Popen[bytes] | None] = [None] * count
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.count == 0:
            return
        for i in range(self.count):
            self._spawn(i)
        self._thread = threading.Thread(target=self._watch, name="room-workers", daemon=True)
        self._thread.start()
        logger.info("started %d room workers", self.count)

    def _spawn(self, i: int) -> None:
        self.procs[i] = subprocess.Popen(self.command, env=os.environ.copy())

    def _watch(self) -> None:
        while not self._stopping.wait(RESTART_DELAY_S):
            for i, proc in enumerate(self.procs):
                if proc is not None and proc.poll() is not None and not self._stopping.is_set():
                    logger.warning(
                        "room worker (pid %d) ended with %s; starting another", proc.pid, proc.returncode
                    )
                    self._spawn(i)

    def stop(self, timeout_s: float = 20.0) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        live = [p for p in self.procs if p is not None and p.poll() is None]
        for proc in live:
            proc.terminate()
        for proc in live:
            try:
                proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

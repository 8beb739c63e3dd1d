"""Helpers the tests share: running the command line, and a real server on a free loopback port."""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import httpx


def run_cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """``avatar-care ARGS`` as a user runs it, with its output captured."""
    return subprocess.run(
        [sys.executable, "-m", "avatar_care.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def drain(stream: IO[str], keep: int = 500) -> deque[str]:
    """Reads a child's output to its end on a thread of its own and keeps the last ``keep`` lines.

    A pipe that nobody reads fills (64 KiB), and the child then blocks on its next write: a server
    whose access log goes to stdout (uvicorn's does) stops answering partway through a test run."""
    lines: deque[str] = deque(maxlen=keep)

    def read() -> None:
        for line in stream:
            lines.append(line.rstrip("\n"))

    threading.Thread(target=read, daemon=True).start()
    return lines


def stop(proc: subprocess.Popen[str], timeout: float = 20) -> None:
    """SIGTERM, and SIGKILL when the process has not ended within ``timeout`` seconds."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise


@contextmanager
def running_server(
    command: str,
    data_dir: Path,
    database_url: str = "",
    *,
    args: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
    tls_cert: Path | None = None,
) -> Iterator[tuple[str, str]]:
    """``avatar-care COMMAND`` (serve or demo) on a free port; yields its base URL and first output line.

    ``database_url`` empty means the embedded SQLite file in ``data_dir``; ``args`` go on the command
    line, ``env`` into the environment; with ``tls_cert`` (the server's, self-signed) it is https."""
    port = free_port()
    env = (
        os.environ
        | {"AVATAR_CARE_DATA_DIR": str(data_dir), "AVATAR_CARE_DATABASE_URL": database_url}
        | (env or {})
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "avatar_care.cli", command, "--host", "127.0.0.1", "--port", str(port), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    first_line = proc.stdout.readline().strip()
    drain(proc.stdout)
    base = f"{'https' if tls_cert else 'http'}://127.0.0.1:{port}"
    verify = ssl.create_default_context(cafile=str(tls_cert)) if tls_cert else True
    deadline = time.monotonic() + 60
    try:
        while True:
            try:
                httpx.get(f"{base}/api/health", timeout=2, verify=verify)
                break
            except httpx.TransportError:
                assert proc.poll() is None, f"avatar-care {command} exited"
                assert time.monotonic() < deadline, f"avatar-care {command} did not come up within 60 s"
                time.sleep(0.2)
        yield base, first_line
    finally:
        stop(proc)
